"""Push/pull round trips against a plain registry and OCI layouts."""
import json
import os
import time

import pytest

from floe_testlib import (COMPILED_TYPE, EXIT_CONFLICT, OCI_MANIFEST, TITLE, UNPACK,
                          assert_error, digest_of, file_digest, get_manifest, http,
                          layout_blob, layout_tags, ok, out_json, repo_for, snapshot,
                          write_product, write_tree)

MODEL_FILES = {
    "a.txt": "model a\n",
    "sub/b.bin": bytes(range(256)) * 40,
    "sub/deeper/c.sql": "select 1;\n",
    "empty-dir": None,
}


@pytest.fixture
def repo(request, registry_anon):
    return f"{registry_anon.host}/{repo_for(request)}"


@pytest.fixture
def src(tmp_path):
    """compiled_artifacts.json + notes.txt + models/ (nested, no symlinks)."""
    root = tmp_path / "src"
    write_product(root)
    (root / "notes.txt").write_text("release notes\n")
    write_tree(root / "models", MODEL_FILES)
    return root


def push(run_floe, ref, *paths, env=None, extra=()):
    return out_json(run_floe("artifact", "push", ref, *map(str, paths), *extra, "--json", env=env))


def inspect(run_floe, ref):
    return out_json(run_floe("artifact", "inspect", ref, "--json"))


def test_round_trip_file_second_file_and_nested_directory(run_floe, repo, src, tmp_path):
    os.symlink("../a.txt", src / "models" / "sub" / "link-to-a")  # relative, stays inside
    pushed = push(run_floe, f"{repo}:1.0.0", src / "compiled_artifacts.json",
                  src / "notes.txt", src / "models")
    assert pushed["tag"] == "1.0.0" and pushed["mediaType"] == OCI_MANIFEST
    out = tmp_path / "out"
    ok(run_floe("artifact", "pull", f"{repo}:1.0.0", "-o", out))
    assert sorted(os.listdir(out)) == ["compiled_artifacts.json", "models", "notes.txt"]
    assert snapshot(out / "models") == snapshot(src / "models")
    for name in ("compiled_artifacts.json", "notes.txt"):
        assert (out / name).read_bytes() == (src / name).read_bytes()


@pytest.mark.parametrize("links", [
    {"sub/link": ("link", "../a.txt")},           # nested, points up but stays inside
    {"link": ("link", "a.txt")},                   # top level
    {"sub/deeper/up": ("link", "../b.bin"), "dirlink": ("link", "sub")},
], ids=["nested-dotdot", "top-level", "nested-and-dir"])
def test_directory_with_relative_symlinks_round_trips(run_floe, repo, tmp_path, links):
    models = write_tree(tmp_path / "src" / "models", {**MODEL_FILES, **links})
    ok(run_floe("artifact", "push", f"{repo}:dev", models))
    out = tmp_path / "out"
    ok(run_floe("artifact", "pull", f"{repo}:dev", "-o", out))
    assert snapshot(out / "models") == snapshot(models)


def test_compiled_artifacts_layer_digest_is_sha256_of_file(run_floe, registry_anon, request, src):
    name = repo_for(request)
    ref = f"{registry_anon.host}/{name}:1.0.0"
    want = file_digest(src / "compiled_artifacts.json")
    pushed = push(run_floe, ref, src / "compiled_artifacts.json", src / "notes.txt")

    info = inspect(run_floe, ref)
    assert info["digest"] == pushed["digest"]
    assert info["artifactType"] == COMPILED_TYPE
    layer = info["layers"][0]
    assert layer["digest"] == want and layer["title"] == "compiled_artifacts.json"
    assert layer["size"] == (src / "compiled_artifacts.json").stat().st_size
    ann = info["annotations"]
    assert ann["io.floe.product.name"] == "sales-insights"
    assert ann["io.floe.product.version"] == "1.4.0"
    assert ann["io.floe.artifacts.version"] == "0.3.0"
    assert "org.opencontainers.image.created" in ann

    # The same, straight from the registry's HTTP API.
    digest, body = get_manifest(registry_anon, name, "1.0.0")
    assert digest == pushed["digest"] == digest_of(body)
    assert len(body) == pushed["size"]
    manifest = json.loads(body)
    assert manifest["artifactType"] == COMPILED_TYPE
    assert manifest["layers"][0]["digest"] == want
    assert manifest["layers"][0]["annotations"][TITLE] == "compiled_artifacts.json"
    assert manifest["layers"][1]["digest"] == file_digest(src / "notes.txt")
    status, _, blob = http(registry_anon, "GET", f"/v2/{name}/blobs/{want}")
    assert status == 200 and blob == (src / "compiled_artifacts.json").read_bytes()


def test_pull_by_digest(run_floe, repo, src, tmp_path):
    digest = push(run_floe, f"{repo}:dev", src / "notes.txt", src / "models")["digest"]
    ok(run_floe("artifact", "push", f"{repo}:dev", src / "compiled_artifacts.json"))  # move dev
    out = tmp_path / "out"
    ok(run_floe("artifact", "pull", f"{repo}@{digest}", "-o", out))
    assert sorted(os.listdir(out)) == ["models", "notes.txt"]
    assert snapshot(out / "models") == snapshot(src / "models")
    assert inspect(run_floe, f"{repo}@{digest}")["digest"] == digest


@pytest.mark.parametrize("tag", ["dev", "1.0.0"])
def test_second_push_skips_every_blob(run_floe, repo, src, tag):
    paths = (src / "compiled_artifacts.json", src / "notes.txt", src / "models")
    first = push(run_floe, f"{repo}:{tag}", *paths)
    assert first["blobsPushed"] == 4 and first["blobsSkipped"] == 0 and first["bytesPushed"] > 0
    second = push(run_floe, f"{repo}:{tag}", *paths)
    assert second["blobsSkipped"] == 4 and second["blobsPushed"] == 0
    assert second["bytesPushed"] == 0
    if tag == "1.0.0":  # a release keeps its manifest (even if a second has passed since)
        assert second["digest"] == first["digest"]
        assert inspect(run_floe, f"{repo}:{tag}")["digest"] == first["digest"]


def test_source_date_epoch_makes_pushes_reproducible(run_floe, registry_anon, request, src):
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    paths = (src / "compiled_artifacts.json", src / "notes.txt", src / "models")
    one = push(run_floe, f"{registry_anon.host}/{repo_for(request, 'one')}:1.0.0", *paths, env=env)
    # Newer mtimes must not matter (clamped to SOURCE_DATE_EPOCH).
    later = time.time() + 3600
    for root, dirs, files in os.walk(src):
        for n in dirs + files:
            os.utime(os.path.join(root, n), (later, later))
    two = push(run_floe, f"{registry_anon.host}/{repo_for(request, 'two')}:1.0.0", *paths, env=env)
    assert one["digest"] == two["digest"]
    info = inspect(run_floe, f"{registry_anon.host}/{repo_for(request, 'two')}:1.0.0")
    assert info["annotations"]["org.opencontainers.image.created"] == "2023-11-14T22:13:20Z"


def test_annotations_show_up_in_inspect(run_floe, repo, src):
    ok(run_floe("artifact", "push", f"{repo}:dev", src / "notes.txt",
                "--annotation", "team=data", "--annotation", "io.example.ticket=DATA-42=x"))
    ann = inspect(run_floe, f"{repo}:dev")["annotations"]
    assert ann["team"] == "data"
    assert ann["io.example.ticket"] == "DATA-42=x"


def test_artifact_type_flag_overrides_detection(run_floe, repo, src):
    ok(run_floe("artifact", "push", f"{repo}:dev", src / "notes.txt",
                "--artifact-type", "application/vnd.example.thing.v1"))
    assert inspect(run_floe, f"{repo}:dev")["artifactType"] == "application/vnd.example.thing.v1"


def test_zstd_directory_layer_round_trips(run_floe, registry_anon, request, src, tmp_path):
    name = repo_for(request)
    ok(run_floe("artifact", "push", f"{registry_anon.host}/{name}:dev", src / "models", "--zstd"))
    layer = inspect(run_floe, f"{registry_anon.host}/{name}:dev")["layers"][0]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+zstd"
    assert layer["title"] == "models" and layer["annotations"][UNPACK] == "true"
    _, _, blob = http(registry_anon, "GET", f"/v2/{name}/blobs/{layer['digest']}")
    assert blob[:4] == b"\x28\xb5\x2f\xfd"  # zstd frame magic
    out = tmp_path / "out"
    ok(run_floe("artifact", "pull", f"{registry_anon.host}/{name}:dev", "-o", out))
    assert snapshot(out / "models") == snapshot(src / "models")


def test_gzip_directory_layer_is_annotated_for_unpacking(run_floe, repo, src):
    ok(run_floe("artifact", "push", f"{repo}:dev", src / "models"))
    layer = inspect(run_floe, f"{repo}:dev")["layers"][0]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    assert layer["title"] == "models" and layer["annotations"][UNPACK] == "true"


def test_default_path_and_tag(run_floe, repo, tmp_path):
    write_product(tmp_path / "proj" / "target")
    ok(run_floe("artifact", "push", repo, cwd=tmp_path / "proj"))
    info = inspect(run_floe, f"{repo}:latest")
    assert [l["title"] for l in info["layers"]] == ["compiled_artifacts.json"]
    assert info["layers"][0]["digest"] == file_digest(tmp_path / "proj/target/compiled_artifacts.json")


def test_ocidir_round_trip(run_floe, src, tmp_path):
    layout = tmp_path / "store"
    pushed = push(run_floe, f"ocidir://{layout}:v1", src / "compiled_artifacts.json",
                  src / "notes.txt", src / "models")
    assert (layout / "oci-layout").is_file()
    assert layout_tags(layout) == {"v1": pushed["digest"]}
    assert digest_of(layout_blob(layout, pushed["digest"])) == pushed["digest"]
    assert inspect(run_floe, f"ocidir://{layout}:v1")["layers"][0]["digest"] == \
        file_digest(src / "compiled_artifacts.json")
    out = tmp_path / "out"
    ok(run_floe("artifact", "pull", f"ocidir://{layout}:v1", "-o", out))
    assert snapshot(out / "models") == snapshot(src / "models")
    assert (out / "notes.txt").read_bytes() == (src / "notes.txt").read_bytes()
    assert (out / "compiled_artifacts.json").read_bytes() == \
        (src / "compiled_artifacts.json").read_bytes()


def test_copy_registry_to_ocidir_to_registry_keeps_digest(run_floe, registry_anon, request, src,
                                                           tmp_path):
    first = f"{registry_anon.host}/{repo_for(request, 'src')}"
    second = f"{registry_anon.host}/{repo_for(request, 'dst')}"
    digest = push(run_floe, f"{first}:1.0.0", src / "compiled_artifacts.json", src / "models")["digest"]
    layout = tmp_path / "mirror"
    copied = out_json(run_floe("artifact", "copy", f"{first}:1.0.0", f"ocidir://{layout}", "--json"))
    assert copied["digest"] == digest
    assert layout_tags(layout) == {"1.0.0": digest}  # the tag defaults to the source's
    copied = out_json(run_floe("artifact", "copy", f"ocidir://{layout}:1.0.0", f"{second}:1.0.0",
                               "--json"))
    assert copied["digest"] == digest
    assert inspect(run_floe, f"{second}:1.0.0")["digest"] == digest
    out = tmp_path / "out"
    ok(run_floe("artifact", "pull", f"{second}:1.0.0", "-o", out))
    assert snapshot(out / "models") == snapshot(src / "models")


@pytest.mark.parametrize("tag", ["1.2.3", "v1.2.3", "1.2.3-rc.1"])
def test_release_tag_is_immutable(run_floe, repo, tmp_path, tag):
    f = tmp_path / "data.txt"
    f.write_text("first\n")
    first = push(run_floe, f"{repo}:{tag}", f)["digest"]
    f.write_text("second\n")
    proc = run_floe("artifact", "push", f"{repo}:{tag}", f)
    assert_error(proc, EXIT_CONFLICT, tag)
    assert proc.stdout == ""
    assert inspect(run_floe, f"{repo}:{tag}")["digest"] == first


def test_release_tag_accepts_the_same_files_again(run_floe, repo, src):
    """Only the creation time differs (SOURCE_DATE_EPOCH pins it to two different values)."""
    paths = (src / "compiled_artifacts.json", src / "notes.txt")
    first = push(run_floe, f"{repo}:2.0.0", *paths, env={"SOURCE_DATE_EPOCH": "1700000000"})
    again = push(run_floe, f"{repo}:2.0.0", *paths, env={"SOURCE_DATE_EPOCH": "1700000000"})
    assert again["digest"] == first["digest"]
    later = push(run_floe, f"{repo}:2.0.0", *paths, env={"SOURCE_DATE_EPOCH": "1800000000"})
    assert later["digest"] == first["digest"] and later["blobsPushed"] == 0
    info = inspect(run_floe, f"{repo}:2.0.0")
    assert info["digest"] == first["digest"]
    assert info["annotations"]["org.opencontainers.image.created"] == "2023-11-14T22:13:20Z"


def test_release_tag_refuses_changed_annotations(run_floe, repo, src):
    ok(run_floe("artifact", "push", f"{repo}:3.0.0", src / "notes.txt", "--annotation", "a=1"))
    assert_error(run_floe("artifact", "push", f"{repo}:3.0.0", src / "notes.txt",
                          "--annotation", "a=2"), EXIT_CONFLICT)


@pytest.mark.parametrize("tag", ["dev", "1.2.3-prod", "latest"])
def test_environment_tag_moves(run_floe, repo, tmp_path, tag):
    f = tmp_path / "data.txt"
    f.write_text("first\n")
    first = push(run_floe, f"{repo}:{tag}", f)["digest"]
    f.write_text("second\n")
    second = push(run_floe, f"{repo}:{tag}", f)["digest"]
    assert second != first
    assert inspect(run_floe, f"{repo}:{tag}")["digest"] == second


def test_pull_refuses_to_overwrite_without_flag(run_floe, repo, src, tmp_path):
    ok(run_floe("artifact", "push", f"{repo}:dev", src / "notes.txt"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("local edit\n")
    assert_error(run_floe("artifact", "pull", f"{repo}:dev", "-o", out), EXIT_CONFLICT)
    assert snapshot(out) == {"notes.txt": ("file", b"local edit\n")}
    ok(run_floe("artifact", "pull", f"{repo}:dev", "-o", out, "--overwrite"))
    assert snapshot(out) == {"notes.txt": ("file", b"release notes\n")}


def test_large_file_round_trip(run_floe, repo, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(6 * 1024 * 1024 + 123))
    pushed = push(run_floe, f"{repo}:dev", big)
    assert pushed["bytesPushed"] >= big.stat().st_size
    ok(run_floe("artifact", "pull", f"{repo}:dev", "-o", tmp_path / "out"))
    assert (tmp_path / "out" / "big.bin").read_bytes() == big.read_bytes()


def test_ocidir_release_tag_is_immutable(run_floe, tmp_path):
    layout, f = tmp_path / "store", tmp_path / "data.txt"
    f.write_text("first\n")
    first = push(run_floe, f"ocidir://{layout}:1.0.0", f)["digest"]
    f.write_text("second\n")
    assert_error(run_floe("artifact", "push", f"ocidir://{layout}:1.0.0", f), EXIT_CONFLICT)
    assert layout_tags(layout) == {"1.0.0": first}


@pytest.mark.parametrize("dst_kind", ["registry", "ocidir"])
def test_copy_does_not_overwrite_a_release_tag(run_floe, registry_anon, request, tmp_path,
                                               dst_kind):
    """Release tags are immutable whichever command writes them."""
    f = tmp_path / "data.txt"
    f.write_text("released\n")
    dst = (f"{registry_anon.host}/{repo_for(request, 'dst')}:1.0.0" if dst_kind == "registry"
           else f"ocidir://{tmp_path / 'store'}:1.0.0")
    released = push(run_floe, dst, f)["digest"]
    f.write_text("something else\n")
    src = f"{registry_anon.host}/{repo_for(request, 'src')}:dev"
    push(run_floe, src, f)
    assert_error(run_floe("artifact", "copy", src, dst), EXIT_CONFLICT, "1.0.0")
    assert inspect(run_floe, dst)["digest"] == released
