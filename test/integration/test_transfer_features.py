"""Bulk pushes, ranged pulls, cross-repository mounts and the file digest cache."""
import json
import os
import time

from floe_testlib import ok, repo_for
from test_transfer import MiB, progress_events, random_file, sha256_file


def test_push_products_pushes_each_product_under_one_bound(run_floe, registry_anon, tmp_path, request):
    prefix = f"{registry_anon.host}/{repo_for(request, 'team')}"
    for name in ("alpha", "beta", "gamma"):
        d = tmp_path / "products" / name / "target"
        d.mkdir(parents=True)
        (d / "compiled_artifacts.json").write_text(json.dumps(
            {"version": "1", "metadata": {"product_name": name, "product_version": "2.0.0"}}))
    proc = ok(run_floe("--concurrency", "2", "--progress=json", "artifact", "push", prefix,
                       "--products", tmp_path / "products", "--json"))
    results = json.loads(proc.stdout)
    assert [r["reference"] for r in results] == [f"{prefix}/{n}:2.0.0" for n in ("alpha", "beta", "gamma")]
    ops = [e for e in progress_events(proc.stderr) if e["event"] == "operation"]
    assert max(e["inFlight"] for e in ops) <= 2
    for r in results:
        info = json.loads(ok(run_floe("artifact", "inspect", r["reference"], "--json")).stdout)
        assert info["digest"] == r["digest"]
        assert info["annotations"]["io.floe.product.version"] == "2.0.0"


def test_push_products_refuses_a_tagged_prefix_and_an_empty_directory(run_floe, registry_anon, tmp_path):
    (tmp_path / "empty").mkdir()
    proc = run_floe("artifact", "push", f"{registry_anon.host}/x", "--products", tmp_path / "empty")
    assert proc.returncode == 7 and "no data products" in proc.stderr
    proc = run_floe("artifact", "push", f"{registry_anon.host}/x:1", "--products", tmp_path / "empty")
    assert proc.returncode == 2


def test_large_blob_pulls_as_concurrent_ranges(run_floe, registry_anon, tmp_path, request):
    src = random_file(tmp_path / "src" / "big.bin", 80 * MiB)
    ref = f"{registry_anon.host}/{repo_for(request)}:1"
    ok(run_floe("artifact", "push", ref, src))
    proc = ok(run_floe("-v", "--range-parts", "4", "artifact", "pull", ref, "-o", tmp_path / "out"))
    assert sha256_file(tmp_path / "out" / "big.bin") == sha256_file(src)
    ranged = [l for l in proc.stderr.splitlines() if "GET" in l and "/blobs/" in l and "-> 206" in l]
    assert len(ranged) == 4, proc.stderr


def test_mount_from_links_blobs_instead_of_uploading(run_floe, registry_anon, tmp_path, request):
    src = random_file(tmp_path / "data.bin", 2 * MiB)
    a = f"{registry_anon.host}/{repo_for(request, 'a')}"
    b = f"{registry_anon.host}/{repo_for(request, 'b')}"
    ok(run_floe("artifact", "push", f"{a}:1", src))
    proc = ok(run_floe("--mount-from", repo_for(request, "a"), "--progress=json", "artifact", "copy",
                       f"{a}:1", f"{b}:1", "--json"))
    assert json.loads(proc.stdout)["bytesCopied"] == 0
    assert any(e["event"] == "mounted" for e in progress_events(proc.stderr))
    ok(run_floe("artifact", "pull", f"{b}:1", "-o", tmp_path / "out"))
    assert sha256_file(tmp_path / "out" / "data.bin") == sha256_file(src)


def test_large_new_file_is_sent_in_one_pass_and_its_digest_remembered(run_floe, registry_anon, tmp_path, request):
    src = random_file(tmp_path / "stream.bin", 20 * MiB)  # over the 16 MiB one-pass threshold
    time.sleep(1.2)  # floe does not remember files written in the last second (racy stat)
    cache = tmp_path / "cache"
    env = {"FLOE_CACHE_DIR": str(cache), "SOURCE_DATE_EPOCH": "1700000000"}  # same manifest twice
    first = json.loads(ok(run_floe("artifact", "push", f"{registry_anon.host}/{repo_for(request, 'a')}:1",
                                   src, "--json", env=env)).stdout)
    entries = (cache / "file-digests").read_text().split()
    assert sha256_file(src) in entries  # learned while uploading
    again = json.loads(ok(run_floe("artifact", "push", f"{registry_anon.host}/{repo_for(request, 'a')}:1",
                                   src, "--json", env=env)).stdout)
    assert again["digest"] == first["digest"] and again["bytesPushed"] == 0
    # a changed file is not mistaken for the cached one, even changed at once (same clock tick)
    with open(src, "r+b") as f:
        f.write(os.urandom(16))
    fresh = tmp_path / "fresh.bin"
    fresh.write_bytes(os.urandom(1024))
    ok(run_floe("artifact", "push", f"{registry_anon.host}/{repo_for(request, 'c')}:1", fresh, env=env))
    assert sha256_file(fresh) not in (cache / "file-digests").read_text()  # racily new: not kept
    changed = json.loads(ok(run_floe("artifact", "push", f"{registry_anon.host}/{repo_for(request, 'b')}:1",
                                     src, "--json", env=env)).stdout)
    layer = json.loads(ok(run_floe("artifact", "inspect", f"{registry_anon.host}/{repo_for(request, 'b')}:1",
                                   "--json")).stdout)["layers"][0]
    assert layer["digest"] == sha256_file(src) and changed["digest"] != first["digest"]
