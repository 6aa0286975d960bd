"""Failures: exit codes, one-line messages, and nothing written when verification fails."""
import gzip
import io
import json
import os
import socket
import tarfile

import pytest

from floe_testlib import (EXIT_INVALID, error_lines, EXIT_NETWORK, EXIT_NOT_FOUND, EXIT_USAGE, EXIT_VERIFY,
                          TITLE, UNPACK, assert_error, digest_of, ok, out_json, push_artifact,
                          repo_for, snapshot, write_product, write_tree)

FILE_TYPE = "application/vnd.floe.file.v1"
TGZ = "application/vnd.oci.image.layer.v1.tar+gzip"


@pytest.fixture
def repo(request, registry_anon):
    return f"{registry_anon.host}/{repo_for(request)}"


@pytest.fixture
def sandbox(tmp_path):
    """An empty directory whose only child will be the pull's output dir, so anything
    written next to (or above, via '..') the output dir shows up in it."""
    box = tmp_path / "box" / "inner"
    box.mkdir(parents=True)
    return box


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


# -- network / not found / usage ----------------------------------------------------------

@pytest.mark.parametrize("command", ["inspect", "pull", "push"])
def test_unreachable_registry_is_network_error(run_floe, tmp_path, command):
    ref = f"127.0.0.1:{closed_port()}/floe-it/unreachable:dev"
    args = {"inspect": ["inspect", ref], "pull": ["pull", ref, "-o", tmp_path / "out"],
            "push": ["push", ref, write_product(tmp_path / "src")]}[command]
    assert_error(run_floe("--timeout", "5", "artifact", *args), EXIT_NETWORK)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["inspect", "pull", "copy"])
def test_unknown_tag_is_not_found(run_floe, repo, tmp_path, command):
    ok(run_floe("artifact", "push", f"{repo}:dev", write_product(tmp_path / "src")))
    ref = f"{repo}:no-such-tag"
    args = {"inspect": ["inspect", ref], "pull": ["pull", ref, "-o", tmp_path / "out"],
            "copy": ["copy", ref, f"ocidir://{tmp_path / 'layout'}"]}[command]
    assert_error(run_floe("artifact", *args), EXIT_NOT_FOUND, "no-such-tag")
    assert not (tmp_path / "out").exists()


def test_unknown_repository_and_digest_are_not_found(run_floe, repo, tmp_path):
    assert_error(run_floe("artifact", "inspect", f"{repo}-never-pushed:dev"), EXIT_NOT_FOUND)
    ok(run_floe("artifact", "push", f"{repo}:dev", write_product(tmp_path / "src")))
    assert_error(run_floe("artifact", "inspect", f"{repo}@{digest_of(b'nothing')}"), EXIT_NOT_FOUND)


def test_unknown_tag_in_ocidir_is_not_found(run_floe, tmp_path):
    layout = tmp_path / "store"
    ok(run_floe("artifact", "push", f"ocidir://{layout}:v1", write_product(tmp_path / "src")))
    assert_error(run_floe("artifact", "inspect", f"ocidir://{layout}:v2"), EXIT_NOT_FOUND)


@pytest.mark.parametrize("suffix", [
    "/floe-it/UpperCase:dev",
    "/floe-it/bad:a+b",
    "/floe-it/bad:-leading-dash",
    "/floe-it/bad:" + "t" * 129,
    "/floe-it/bad@sha256:abc",
    "/floe-it/bad@sha256:" + "g" * 64,
    "/floe-it/bad@md5:" + "0" * 32,
    "/floe-it//double-slash:dev",
    "/floe-it/bad:dev:again",
], ids=["uppercase-repo", "plus-in-tag", "tag-leading-dash", "tag-too-long", "short-digest",
        "non-hex-digest", "unknown-algorithm", "empty-component", "two-tags"])
@pytest.mark.parametrize("command", ["inspect", "push"])
def test_malformed_reference_is_usage_error(run_floe, registry_anon, tmp_path, suffix, command):
    ref = registry_anon.host + suffix
    args = ["inspect", ref] if command == "inspect" else ["push", ref, write_product(tmp_path)]
    assert_error(run_floe("artifact", *args), EXIT_USAGE, "reference")


@pytest.mark.parametrize("ref", ["", "127.0.0.1:5000/", "ocidir://", "http://127.0.0.1:5000/x:y"],
                         ids=["empty", "no-repository", "ocidir-no-path", "http-scheme"])
def test_reference_without_repository_or_with_bad_scheme_is_usage_error(run_floe, tmp_path, ref):
    assert_error(run_floe("artifact", "pull", ref, "-o", tmp_path / "out"), EXIT_USAGE)
    assert not (tmp_path / "out").exists()


def test_unknown_option_is_usage_error(run_floe, repo):
    assert_error(run_floe("artifact", "inspect", f"{repo}:dev", "--no-such-flag"), EXIT_USAGE)


# -- invalid input ---------------------------------------------------------------------------

@pytest.mark.parametrize("content, field", [
    ("this is not json", "JSON"),
    ('["an", "array"]', "object"),
    ('{"metadata": {"product_name": "p", "product_version": "1.0.0"}}', "version"),
    ('{"version": "1", "metadata": {"product_version": "1.0.0"}}', "metadata.product_name"),
    ('{"version": "1", "metadata": {"product_name": "p"}}', "metadata.product_version"),
    ('{"version": "1"}', "metadata"),
], ids=["not-json", "not-object", "no-version", "no-product-name", "no-product-version",
        "no-metadata"])
def test_invalid_compiled_artifacts_is_invalid_input(run_floe, repo, tmp_path, content, field):
    path = tmp_path / "compiled_artifacts.json"
    path.write_text(content)
    line = assert_error(run_floe("artifact", "push", f"{repo}:dev", path), EXIT_INVALID, field)
    assert "compiled_artifacts.json" in line
    assert_error(run_floe("artifact", "inspect", f"{repo}:dev"), EXIT_NOT_FOUND)  # nothing pushed


def test_invalid_compiled_artifacts_at_default_path(run_floe, repo, tmp_path):
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "compiled_artifacts.json").write_text('{"metadata": {}}')
    assert_error(run_floe("artifact", "push", f"{repo}:dev"), EXIT_INVALID, "version")


@pytest.mark.parametrize("args", [["missing.txt"], ["present.txt", "missing-dir/"], []],
                         ids=["missing-file", "one-of-two-missing", "no-default-file"])
def test_missing_input_path_is_invalid_input(run_floe, repo, tmp_path, args):
    (tmp_path / "present.txt").write_text("here\n")
    line = assert_error(run_floe("artifact", "push", f"{repo}:dev", *args), EXIT_INVALID)
    assert (args[-1].rstrip("/") if args else "compiled_artifacts.json") in line
    assert_error(run_floe("artifact", "inspect", f"{repo}:dev"), EXIT_NOT_FOUND)


def test_bad_annotation_is_usage_error(run_floe, repo, tmp_path):
    (tmp_path / "f.txt").write_text("x")
    assert_error(run_floe("artifact", "push", f"{repo}:dev", tmp_path / "f.txt",
                          "--annotation", "no-equals-sign"), EXIT_USAGE, "annotation")


# -- verification: corrupted blobs -------------------------------------------------------------

def corrupt(path):
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(bytes(b ^ 0xFF for b in data))  # same length, every byte different


@pytest.fixture
def corrupted(registry_factory, tmp_path, run_floe):
    """A fresh registry holding six files + models/, with the blob of the third file (a layer
    in the middle, so other transfers are in flight when it fails) corrupted on disk.
    Returns (registry, ref, inspect JSON, digest of the corrupted layer)."""
    reg = registry_factory("anon")
    src = tmp_path / "src"
    names = [f"data{i}.bin" for i in range(1, 6)] + ["notes.txt"]
    write_tree(src, {**{n: os.urandom(40_000) for n in names[:-1]}, "notes.txt": "notes\n",
                     "models/a.txt": "a\n"})
    ref = f"{reg.host}/floe-it/corrupt:dev"
    ok(run_floe("artifact", "push", ref, *(src / n for n in names), src / "models"))
    info = out_json(run_floe("artifact", "inspect", ref, "--json"))
    bad = info["layers"][2]["digest"]
    corrupt(reg.blob_path(bad))
    return reg, ref, info, bad


def test_corrupted_blob_fails_pull_and_leaves_no_output_dir(run_floe, corrupted, sandbox):
    reg, ref, info, bad = corrupted
    line = assert_error(run_floe("artifact", "pull", ref, "-o", sandbox / "out"), EXIT_VERIFY)
    assert bad in line or "data3.bin" in line
    assert os.listdir(sandbox) == []


def test_corrupted_blob_fails_pull_and_leaves_existing_dir_empty(run_floe, corrupted, sandbox):
    reg, ref, info, bad = corrupted
    out = sandbox / "out"
    out.mkdir()
    assert_error(run_floe("artifact", "pull", ref, "-o", out), EXIT_VERIFY)
    assert os.listdir(sandbox) == ["out"] and os.listdir(out) == []


def test_corrupted_blob_fails_pull_and_keeps_existing_files(run_floe, corrupted, sandbox):
    reg, ref, info, bad = corrupted
    out = sandbox / "out"
    write_tree(out, {"notes.txt": "mine\n", "keep/me.txt": "keep\n"})
    before = snapshot(out)
    assert_error(run_floe("artifact", "pull", ref, "-o", out, "--overwrite"), EXIT_VERIFY)
    assert snapshot(out) == before


@pytest.mark.parametrize("concurrency", ["1", "4"])
def test_corrupted_blob_fails_copy_to_layout(run_floe, corrupted, tmp_path, concurrency):
    reg, ref, info, bad = corrupted
    for attempt in range(3):  # the outcome must not depend on scheduling
        proc = run_floe("--concurrency", concurrency, "artifact", "copy", ref,
                        f"ocidir://{tmp_path / f'mirror{attempt}'}")
        line = assert_error(proc, EXIT_VERIFY)
        assert bad in line or "corrupt" in line


def test_corrupted_blob_fails_copy_to_registry(run_floe, corrupted):
    reg, ref, info, bad = corrupted
    dst = f"{reg.host}/floe-it/corrupt-copy:dev"
    assert_error(run_floe("artifact", "copy", ref, dst), EXIT_VERIFY)
    assert_error(run_floe("artifact", "inspect", dst), EXIT_NOT_FOUND)  # no tag to a broken copy


def test_two_corrupted_blobs_still_verification_error(run_floe, corrupted, sandbox):
    reg, ref, info, bad = corrupted
    corrupt(reg.blob_path(info["layers"][4]["digest"]))
    assert_error(run_floe("artifact", "pull", ref, "-o", sandbox / "out"), EXIT_VERIFY)
    assert os.listdir(sandbox) == []


# -- verification: unsafe names ----------------------------------------------------------------

def unsafe_titles(tmp_path):
    return ["../escape", str(tmp_path / "abs-escape"), "a/../../b", "sub/../../../c", "..", ".",
            "a\\..\\..\\d", ".floe-partial/blobs/x", "tab\tname"]


@pytest.mark.parametrize("index", range(9),
                         ids=["dotdot", "absolute", "inner-dotdot", "deep-dotdot", "just-dotdot",
                              "dot", "backslashes", "floe-staging", "control-character"])
def test_unsafe_layer_title_is_refused(run_floe, registry_anon, request, tmp_path, sandbox, index):
    title = unsafe_titles(tmp_path)[index]
    repo = repo_for(request)
    good = (b"fine\n", FILE_TYPE, {TITLE: "good.txt"})
    bad = (b"escaped!\n", FILE_TYPE, {TITLE: title})
    push_artifact(registry_anon, repo, "dev", [good, bad])
    before = snapshot(tmp_path)
    proc = run_floe("artifact", "pull", f"{registry_anon.host}/{repo}:dev", "-o", sandbox / "out")
    assert_error(proc, EXIT_VERIFY)
    assert os.listdir(sandbox) == []
    assert snapshot(tmp_path) == before  # nothing written anywhere under tmp_path
    assert not os.path.exists(os.path.join(os.path.dirname(str(sandbox)), "escape"))


def test_duplicate_layer_titles_are_refused(run_floe, registry_anon, request, sandbox):
    repo = repo_for(request)
    push_artifact(registry_anon, repo, "dev", [(b"one\n", FILE_TYPE, {TITLE: "same.txt"}),
                                               (b"two\n", FILE_TYPE, {TITLE: "same.txt"})])
    proc = run_floe("artifact", "pull", f"{registry_anon.host}/{repo}:dev", "-o", sandbox / "out")
    assert proc.returncode != 0 and len(proc.stderr.splitlines()) == 1
    assert os.listdir(sandbox) == []


def make_tgz(entries):
    """entries: [(name, bytes | ("link", target) | ("hardlink", target) | None for a dir)]."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in entries:
            info = tarfile.TarInfo(name)
            info.mtime, info.mode = 0, 0o644
            if content is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif isinstance(content, tuple):
                info.type = tarfile.SYMTYPE if content[0] == "link" else tarfile.LNKTYPE
                info.linkname = content[1]
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return gzip.compress(buf.getvalue(), mtime=0)


def evil_tars(tmp_path):
    return {
        "dotdot": [("ok.txt", b"ok\n"), ("../evil", b"evil\n")],
        "inner-dotdot": [("ok.txt", b"ok\n"), ("sub/../../evil", b"evil\n")],
        "absolute": [("ok.txt", b"ok\n"), (str(tmp_path / "abs-evil"), b"evil\n")],
        "symlink-out": [("ok.txt", b"ok\n"), ("link", ("link", "../../outside"))],
        "symlink-abs": [("ok.txt", b"ok\n"), ("link", ("link", str(tmp_path)))],
        "write-through-symlink": [("link", ("link", "..")), ("link/evil", b"evil\n")],
        "hardlink-out": [("ok.txt", b"ok\n"), ("hard", ("hardlink", "../../outside"))],
    }


@pytest.mark.parametrize("case", ["dotdot", "inner-dotdot", "absolute", "symlink-out",
                                  "symlink-abs", "write-through-symlink", "hardlink-out"])
def test_unsafe_tar_entry_is_refused(run_floe, registry_anon, request, tmp_path, sandbox, case):
    repo = repo_for(request)
    layer = make_tgz(evil_tars(tmp_path)[case])
    push_artifact(registry_anon, repo, "dev", [
        (b"fine\n", FILE_TYPE, {TITLE: "good.txt"}),
        (layer, TGZ, {TITLE: "pkg", UNPACK: "true"}),
    ])
    before = snapshot(tmp_path)
    proc = run_floe("artifact", "pull", f"{registry_anon.host}/{repo}:dev", "-o", sandbox / "out")
    assert_error(proc, EXIT_VERIFY)
    assert os.listdir(sandbox) == []
    assert snapshot(tmp_path) == before


def test_safe_tar_layer_made_by_hand_unpacks(run_floe, registry_anon, request, tmp_path, sandbox):
    """Control for the test above: the same construction with safe names works."""
    repo = repo_for(request)
    layer = make_tgz([("./", None), ("ok.txt", b"ok\n"), ("sub/", None), ("sub/x.txt", b"x\n"),
                      ("sub/link", ("link", "../ok.txt"))])
    push_artifact(registry_anon, repo, "dev", [(layer, TGZ, {TITLE: "pkg", UNPACK: "true"})])
    ok(run_floe("artifact", "pull", f"{registry_anon.host}/{repo}:dev", "-o", sandbox / "out"))
    assert snapshot(sandbox / "out" / "pkg") == {
        "ok.txt": ("file", b"ok\n"), "sub": ("dir",), "sub/x.txt": ("file", b"x\n"),
        "sub/link": ("link", "../ok.txt")}


def test_not_a_tar_layer_is_verification_error(run_floe, registry_anon, request, sandbox):
    repo = repo_for(request)
    push_artifact(registry_anon, repo, "dev", [(gzip.compress(b"\x01" * 5000, mtime=0), TGZ,
                                                {TITLE: "pkg", UNPACK: "true"})])
    proc = run_floe("artifact", "pull", f"{registry_anon.host}/{repo}:dev", "-o", sandbox / "out")
    assert_error(proc, EXIT_VERIFY)
    assert os.listdir(sandbox) == []


def test_manifest_that_is_not_json_in_ocidir_is_an_error(run_floe, tmp_path):
    layout = tmp_path / "store"
    ok(run_floe("artifact", "push", f"ocidir://{layout}:v1", write_product(tmp_path / "src")))
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"]
    blob = layout / "blobs" / "sha256" / digest.split(":")[1]
    blob.write_bytes(b"x" * blob.stat().st_size)  # same size, wrong digest
    assert_error(run_floe("artifact", "inspect", f"ocidir://{layout}:v1"), EXIT_VERIFY)


def test_two_inputs_with_the_same_name_are_invalid_input(run_floe, repo, tmp_path):
    write_tree(tmp_path, {"a/x.txt": "1\n", "b/x.txt": "2\n"})
    assert_error(run_floe("artifact", "push", f"{repo}:dev", tmp_path / "a/x.txt",
                          tmp_path / "b/x.txt"), EXIT_INVALID, "x.txt")
    assert_error(run_floe("artifact", "inspect", f"{repo}:dev"), EXIT_NOT_FOUND)


@pytest.mark.parametrize("overwrite", [False, True], ids=["plain", "overwrite"])
def test_pull_never_writes_through_symlinks_in_output_dir(run_floe, repo, tmp_path, overwrite):
    src = write_tree(tmp_path / "src", {"notes.txt": "new\n", "models/a.txt": "a\n"})
    ok(run_floe("artifact", "push", f"{repo}:dev", src / "notes.txt", src / "models"))
    victim = write_tree(tmp_path / "victim", {"notes.txt": "precious\n", "a.txt": "precious\n"})
    out = tmp_path / "box" / "out"
    write_tree(out, {"notes.txt": ("link", str(victim / "notes.txt")),
                     "models": ("link", str(victim))})
    before = snapshot(victim)
    proc = run_floe("artifact", "pull", f"{repo}:dev", "-o", out,
                    *(["--overwrite"] if overwrite else []))
    assert snapshot(victim) == before
    if proc.returncode == 0:  # replacing the links themselves would be fine too
        assert snapshot(out)["notes.txt"] == ("file", b"new\n")
    else:
        assert len(error_lines(proc)) == 1
