"""Whatever floe pushes it pulls back identical, and what it pushes is what was on disk.

A seeded property test over random trees (identical contents in several layers, empty files,
nested directories, names with spaces and non-ASCII letters), the same blob needed by two layers,
and a file rewritten in place while it is hashed-and-sent (the push must fail, not publish bytes
that never existed on disk)."""
import json
import os
import random
import subprocess
import threading
import time

import pytest

from conftest import hermetic_env
from floe_testlib import assert_error, http, ok, repo_for, snapshot
from test_transfer import MiB, random_file

EXIT_IO = 9


def build_tree(rng, root):
    """A random set of inputs under root: files (some with identical bytes, some empty) and
    directories (nested, with links inside). Returns the list of paths to push."""
    root.mkdir(parents=True)
    shared = os.urandom(rng.randint(1, 64 * 1024))
    inputs = []
    for i in range(rng.randint(1, 5)):
        name = rng.choice(["data", "model weights", "größe", "notes.v2", "x"]) + f"-{i}.bin"
        kind = rng.random()
        content = shared if kind < 0.4 else b"" if kind < 0.5 else os.urandom(rng.randint(1, 200_000))
        (root / name).write_bytes(content)
        inputs.append(root / name)
    if rng.random() < 0.7:
        d = root / f"dir-{rng.randint(0, 99)}"
        for j in range(rng.randint(0, 6)):
            sub = d / "/".join(f"level{k}" for k in range(rng.randint(0, 3)))
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"f{j}.txt").write_bytes(shared if rng.random() < 0.3 else os.urandom(rng.randint(0, 5000)))
        d.mkdir(exist_ok=True)
        if rng.random() < 0.5 and any(d.rglob("*.txt")):
            target = next(iter(sorted(d.rglob("*.txt"))))
            os.symlink(os.path.relpath(target, d), d / "link-to-first")
        inputs.append(d)
    return inputs


def expected_snapshot(inputs):
    out = {}
    for p in inputs:
        if p.is_dir():
            out.update({f"{p.name}/{k}": v for k, v in snapshot(p).items()})
            out[p.name] = ("dir",)
        else:
            out[p.name] = ("file", p.read_bytes())
    return out


@pytest.mark.parametrize("seed", range(8))
def test_anything_pushed_is_pulled_back_identical(run_floe, registry_anon, request, tmp_path, seed):
    rng = random.Random(seed)
    inputs = build_tree(rng, tmp_path / "src")
    pinned = {"SOURCE_DATE_EPOCH": "1700000000"}  # the same files make the same manifest
    for target in (f"{registry_anon.host}/{repo_for(request)}:dev", f"ocidir://{tmp_path / 'layout'}:dev"):
        digest = ok(run_floe("artifact", "push", target, *inputs, env=pinned)).stdout.strip()
        out = tmp_path / ("out-" + ("layout" if target.startswith("ocidir") else "registry"))
        ok(run_floe("artifact", "pull", target, "-o", out))
        assert snapshot(out) == expected_snapshot(inputs), f"seed {seed}, {target}"
        # pushing the same files again is the same artifact
        again = ok(run_floe("artifact", "push", target, *inputs, env=pinned)).stdout.strip()
        assert again == digest


def test_a_blob_needed_twice_is_fetched_once_and_placed_twice(run_floe, registry_anon, request,
                                                              tmp_path, fault_proxy):
    same = os.urandom(3 * MiB)
    for name in ("a.bin", "b.bin", "c.bin"):
        (tmp_path / "src").mkdir(exist_ok=True)
        (tmp_path / "src" / name).write_bytes(same)
    ref = f"{registry_anon.host}/{repo_for(request)}:dev"
    ok(run_floe("artifact", "push", ref, *sorted((tmp_path / "src").iterdir())))
    proxy = fault_proxy(registry_anon)
    ok(run_floe("artifact", "pull", ref.replace(registry_anon.host, proxy.host), "-o", tmp_path / "out"))
    for name in ("a.bin", "b.bin", "c.bin"):
        assert (tmp_path / "out" / name).read_bytes() == same
    assert proxy.bytes_down < 2 * len(same), f"{proxy.bytes_down} bytes down for one 3 MiB blob"


def test_a_file_rewritten_while_pushed_fails_the_push(floe, registry_anon, request, tmp_path):
    # Over 16 MiB: hashed while it is sent (one read), so only a check of the file itself can
    # tell that the bytes sent never existed on disk together.
    big = random_file(tmp_path / "src" / "growing.bin", 48 * MiB)
    repo = repo_for(request)
    cmd = [floe, "--limit-rate", "12M", "--progress", "json", "artifact", "push",
           f"{registry_anon.host}/{repo}:dev", str(big)]
    proc = subprocess.Popen(cmd, env=hermetic_env(tmp_path / "home"), cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Rewrite once the first MiBs are on their way (not at a fixed time: a slow start, under
    # a sanitizer or a loaded machine, would rewrite the file before it was read at all).
    seen = []
    for raw in proc.stderr:
        seen.append(raw)
        if raw.startswith("{"):
            event = json.loads(raw)
            if event["event"] == "bytes" and event.get("title") == "growing.bin" \
                    and event["bytes"] >= 2 * MiB:
                with open(big, "r+b") as f:  # in place: same inode, new bytes already sent
                    f.write(os.urandom(MiB))
                break
    out, err = proc.communicate(timeout=120)
    err = "".join(line + "\n" for line in ("".join(seen) + err).splitlines()
                  if not line.startswith("{"))  # the error line, without the progress events
    line = assert_error(subprocess.CompletedProcess(cmd, proc.returncode, out, err), EXIT_IO,
                        "changed while it was being pushed")
    assert "growing.bin" in line
    status, _, _ = http(registry_anon, "GET", f"/v2/{repo}/manifests/dev")
    assert status == 404, "a tag was written for content that never existed on disk"
