"""floe and skopeo read each other's registry pushes and OCI layouts."""
import gzip
import json
import subprocess

import pytest

from conftest import hermetic_env
from floe_testlib import (COMPILED_TYPE, TITLE, digest_of, file_digest, layout_blob, layout_tags,
                          ok, out_json, repo_for, snapshot, write_layout, write_product, write_tree)

TGZ = "application/vnd.oci.image.layer.v1.tar+gzip"


def skopeo(*args, home):
    proc = subprocess.run(["skopeo", *map(str, args)], env=hermetic_env(home),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"skopeo {' '.join(map(str, args))}\n{proc.stderr}"
    return proc


@pytest.fixture
def src(tmp_path):
    root = tmp_path / "src"
    write_product(root)
    (root / "notes.txt").write_text("release notes\n")
    write_tree(root / "models", {"a.txt": "a\n", "sub/b.txt": "b\n"})
    return root


def test_skopeo_copies_floe_push_to_oci_layout(run_floe, registry_anon, request, src, tmp_path):
    ref = f"{registry_anon.host}/{repo_for(request)}:1.0.0"
    digest = ok(run_floe("artifact", "push", ref, src / "compiled_artifacts.json",
                         src / "notes.txt", src / "models")).stdout.strip()
    layout = tmp_path / "skopeo-layout"
    skopeo("copy", "--src-tls-verify=false", f"docker://{ref}", f"oci:{layout}:1.0.0",
           home=tmp_path / "home")
    assert layout_tags(layout) == {"1.0.0": digest}
    manifest = json.loads(layout_blob(layout, digest))
    assert manifest["artifactType"] == COMPILED_TYPE
    want = file_digest(src / "compiled_artifacts.json")
    assert manifest["layers"][0]["digest"] == want
    blob = layout_blob(layout, want)
    assert digest_of(blob) == want and blob == (src / "compiled_artifacts.json").read_bytes()
    assert layout_blob(layout, manifest["layers"][1]["digest"]) == (src / "notes.txt").read_bytes()

    # ... and floe reads the layout skopeo wrote.
    out = tmp_path / "out"
    ok(run_floe("artifact", "pull", f"ocidir://{layout}:1.0.0", "-o", out))
    assert (out / "compiled_artifacts.json").read_bytes() == \
        (src / "compiled_artifacts.json").read_bytes()
    assert (out / "notes.txt").read_bytes() == (src / "notes.txt").read_bytes()
    assert snapshot(out / "models") == snapshot(src / "models")


def test_floe_pulls_image_pushed_by_skopeo(run_floe, registry_anon, request, tiny_oci_layout,
                                           tmp_path):
    # tiny_oci_layout's blobs, with titles on the layers so floe writes them as files.
    layout = tmp_path / "titled"
    # Gzip media types only: skopeo would gzip an uncompressed layer (dropping its annotations).
    readme = gzip.compress(b"plain file next to the tarball\n", mtime=0)
    digest, _ = write_layout(layout, "v1", [
        (tiny_oci_layout.layer, TGZ, {TITLE: "hello.tar.gz"}),
        (readme, TGZ, {TITLE: "readme.txt.gz"}),
    ], config=tiny_oci_layout.config, config_type="application/vnd.oci.image.config.v1+json")
    ref = f"{registry_anon.host}/{repo_for(request)}:v1"
    skopeo("copy", "--dest-tls-verify=false", f"oci:{layout}:v1", f"docker://{ref}",
           home=tmp_path / "home")

    info = out_json(run_floe("artifact", "inspect", ref, "--json"))
    assert info["digest"] == digest
    out = tmp_path / "out"
    ok(run_floe("artifact", "pull", ref, "-o", out))
    assert snapshot(out) == {"hello.tar.gz": ("file", tiny_oci_layout.layer),
                             "readme.txt.gz": ("file", readme)}
    # Straight from the layout too.
    out2 = tmp_path / "out2"
    ok(run_floe("artifact", "pull", f"ocidir://{layout}:v1", "-o", out2))
    assert snapshot(out2) == snapshot(out)


def test_floe_copies_container_image_pushed_by_skopeo(run_floe, registry_anon, request,
                                                      tiny_oci_layout, tmp_path):
    ref = f"{registry_anon.host}/{repo_for(request)}:v1"
    skopeo("copy", "--dest-tls-verify=false", f"oci:{tiny_oci_layout.path}:v1", f"docker://{ref}",
           home=tmp_path / "home")
    mirror = tmp_path / "mirror"
    copied = out_json(run_floe("artifact", "copy", ref, f"ocidir://{mirror}:v1", "--json"))
    assert copied["digest"] == tiny_oci_layout.manifest_digest
    assert layout_blob(mirror, tiny_oci_layout.layer_digest) == tiny_oci_layout.layer
    raw = skopeo("inspect", "--raw", f"oci:{mirror}:v1", home=tmp_path / "home").stdout
    assert raw.encode() == tiny_oci_layout.manifest


def test_skopeo_reads_floe_ocidir_layout(run_floe, registry_anon, request, src, tmp_path):
    layout = tmp_path / "floe-layout"
    digest = ok(run_floe("artifact", "push", f"ocidir://{layout}:v1",
                         src / "compiled_artifacts.json", src / "models")).stdout.strip()
    raw = skopeo("inspect", "--raw", f"oci:{layout}:v1", home=tmp_path / "home").stdout
    assert digest_of(raw.encode()) == digest
    manifest = json.loads(raw)
    assert manifest["layers"][0]["digest"] == file_digest(src / "compiled_artifacts.json")

    # skopeo can also push it on, unchanged.
    ref = f"{registry_anon.host}/{repo_for(request)}:v1"
    skopeo("copy", "--dest-tls-verify=false", f"oci:{layout}:v1", f"docker://{ref}",
           home=tmp_path / "home")
    assert out_json(run_floe("artifact", "inspect", ref, "--json"))["digest"] == digest
