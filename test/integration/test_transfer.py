"""The transfer engine under faults: resumed downloads and uploads, a killed pull continued by
the next run, the concurrency bound, the bandwidth limit, progress events and Retry-After.

floe talks to a FaultProxy (test/faultproxy) in front of the shared anonymous registry; the
proxy counts the bytes it forwards, which is how "resumed, not restarted" is measured."""
import hashlib
import json
import os
import re
import signal
import subprocess
import time
import types

import pytest

from conftest import hermetic_env
from floe_testlib import EXIT_VERIFY, assert_error, ok, repo_for

MiB = 1 << 20
KiB = 1 << 10
HTTP_OVERHEAD = 64 * KiB  # headers of the requests a resume needs, with room to spare
HEADER_SLACK = 16 * KiB   # what goes down before the blob body: probes, manifest, headers
CONFIG_SIZE = 2           # floe's empty config, "{}"


# -- helpers -------------------------------------------------------------------------------

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 * MiB):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def random_file(path, size):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 8 * MiB)
            f.write(os.urandom(n))
            left -= n
    return path


def progress_events(stderr):
    """Every stderr line starting with '{', parsed (each one must be JSON)."""
    events = []
    for line in stderr.splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError as e:
                pytest.fail(f"progress line is not JSON ({e}): {line!r}")
    return events


def blob_events(events, digest, kind=None):
    return [e for e in events if e.get("digest") == digest and kind in (None, e["event"])]


def final_operation(events):
    ops = [e for e in events if e["event"] == "operation"]
    assert ops, "no operation events"
    return ops[-1]


def cut_event(proxy):
    cuts = [e for e in proxy.events if e["fault"] == "cut"]
    assert len(cuts) == 1, f"the proxy's cut did not fire exactly once: {proxy.events}"
    return cuts[0]


def assert_partial_dir_gone(out):
    assert not (out / ".floe-partial").exists(), \
        f".floe-partial left behind: {os.listdir(out / '.floe-partial')}"


@pytest.fixture(scope="module")
def big(floe, registry_anon, tmp_path_factory):
    """A 64 MiB random file pushed (directly, no proxy) as <registry>/<repo>:1."""
    root = tmp_path_factory.mktemp("big")
    path = random_file(root / "big.bin", 64 * MiB)
    repo = "floe-it/transfer/big"
    proc = subprocess.run([floe, "artifact", "push", f"{registry_anon.host}/{repo}:1", str(path)],
                          env=hermetic_env(root / "home"), cwd=root, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, f"pushing the 64 MiB fixture failed: {proc.stderr}"
    return types.SimpleNamespace(path=path, repo=repo, title="big.bin", size=64 * MiB,
                                 digest=sha256_file(path))


def push_file(run_floe, registry, request, path, suffix=""):
    ref = f"{registry.host}/{repo_for(request, suffix)}:1"
    ok(run_floe("artifact", "push", ref, path))
    return repo_for(request, suffix)


# -- a. a connection cut half-way through a download -----------------------------------------

@pytest.mark.parametrize("how, lost", [("fin", 1 * MiB), ("rst", 8 * MiB)])
def test_pull_cut_at_half_resumes_from_the_cut(run_floe, registry_anon, fault_proxy, big,
                                               tmp_path, how, lost):
    # "lost": what may go down twice. After a FIN the client has every byte sent before it
    # (1 MiB is one read buffer of slack); a reset also discards what the client's socket
    # had received but floe had not read yet.
    proxy = fault_proxy(registry_anon)
    proxy.cut_down_after(32 * MiB + HEADER_SLACK, how)
    out = tmp_path / "out"
    ok(run_floe("artifact", "pull", f"{proxy.host}/{big.repo}:1", "-o", out))
    assert sha256_file(out / big.title) == big.digest
    assert_partial_dir_gone(out)

    cut = cut_event(proxy)
    after_cut = proxy.bytes_down - cut["bytes_down"]
    remainder = big.size - 32 * MiB
    assert after_cut <= remainder + lost + HTTP_OVERHEAD, (
        f"after the {how} cut floe fetched {after_cut} bytes for the {remainder} it was "
        f"missing: it did not resume from where the connection broke")


# -- b. a pull killed with SIGKILL, continued by the next run --------------------------------

def test_pull_killed_midway_is_continued_by_the_next_run(floe, run_floe, registry_anon,
                                                        fault_proxy, big, tmp_path):
    proxy = fault_proxy(registry_anon)
    ref = f"{proxy.host}/{big.repo}:1"
    out = tmp_path / "out"
    partial = out / ".floe-partial" / "ingest" / ("sha256-" + big.digest.split(":", 1)[1])
    cmd = [floe, "--limit-rate", "16M", "artifact", "pull", ref, "-o", str(out)]
    log = tmp_path / "first-run.stderr"
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, env=hermetic_env(tmp_path / "home"), cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 120  # a hang guard, not a performance bound
        while True:
            if proc.poll() is not None:
                pytest.fail(f"$ {' '.join(cmd)}\n-> exit {proc.returncode} before the partial "
                            f"file reached 30%:\n{log.read_text()}")
            try:
                seen = partial.stat().st_size
            except FileNotFoundError:
                seen = 0
            if 0.3 * big.size <= seen <= 0.7 * big.size:
                break
            assert seen < 0.7 * big.size, \
                f"the partial file jumped from <30% to {seen} bytes in 20 ms: --limit-rate 16M?"
            assert time.monotonic() < deadline, f"partial file stuck at {seen} bytes"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    at_kill = partial.stat().st_size
    named = [os.path.join(d, f) for d, _, fs in os.walk(out) for f in fs if f == big.title]
    assert named == [], f"a killed pull left files with the final name: {named}"

    proxy.reset_counters()
    second = ok(run_floe("--progress=json", "artifact", "pull", ref, "-o", out))
    assert sha256_file(out / big.title) == big.digest
    assert_partial_dir_gone(out)
    assert proxy.bytes_down <= (big.size - at_kill) + 1 * MiB + HTTP_OVERHEAD, (
        f"the second run fetched {proxy.bytes_down} bytes although {at_kill} of {big.size} "
        f"were already in {partial}")
    events = progress_events(second.stderr)
    resumed = blob_events(events, big.digest, "resumed")
    assert resumed, "no 'resumed' progress event on the second run"
    assert at_kill - 1 * MiB <= resumed[0]["bytes"] <= at_kill, resumed

    # Secondary checks, all reported together.
    problems = []
    last = final_operation(events)
    if not last["doneBytes"] == last["totalBytes"] == big.size:
        problems.append(f"final operation event of the resumed pull (the {at_kill} bytes "
                        f"already on disk are part of doneBytes too): {last}")
    leftovers = sorted(set(os.listdir(out)) - {big.title})
    if leftovers:
        problems.append(f"the killed run's {leftovers} stayed in the output directory "
                        f"after the resumed pull")
    assert not problems, "\n".join(problems)


# -- c. the concurrency bound ----------------------------------------------------------------

def check_concurrency(proc, limit):
    events = progress_events(proc.stderr)
    in_flight = [e["inFlight"] for e in events if e["event"] == "operation"]
    assert in_flight, "no operation events"
    assert max(in_flight) <= limit, f"inFlight reached {max(in_flight)} with --concurrency {limit}"
    running, peak = 0, 0
    for e in events:
        if e["event"] == "started":
            running += 1
        elif e["event"] in ("done", "failed"):
            running -= 1
        assert running <= limit, f"{running} blobs between started and done at t={e['t']}"
        peak = max(peak, running)
    assert running == 0, f"{running} blobs started but never done/failed"
    assert max(in_flight) > 1 and peak > 1, \
        f"never more than one blob in flight (operation max {max(in_flight)}, counted {peak})"


def test_concurrency_bounds_blobs_in_flight(run_floe, registry_anon, tmp_path, request):
    files = [random_file(tmp_path / "src" / f"part-{i:02}.bin", 1 * MiB) for i in range(16)]
    ref = f"{registry_anon.host}/{repo_for(request)}:1"
    # JSON operation events are sampled (a few per second): the rate limit stretches each
    # transfer to about a second, so the samples catch blobs in flight.
    flags = ("--concurrency", "4", "--progress=json", "--limit-rate", "16M")
    check_concurrency(ok(run_floe(*flags, "artifact", "push", ref, *files)), 4)
    out = tmp_path / "out"
    check_concurrency(ok(run_floe(*flags, "artifact", "pull", ref, "-o", out)), 4)
    for f in files:
        assert (out / f.name).read_bytes() == f.read_bytes()


# -- d. the bandwidth limit ------------------------------------------------------------------

def test_limit_rate_throttles_a_pull(run_floe, registry_anon, tmp_path, request):
    src = random_file(tmp_path / "src" / "thirty-two.bin", 32 * MiB)
    repo = push_file(run_floe, registry_anon, request, src)
    start = time.monotonic()
    ok(run_floe("--limit-rate", "8M", "artifact", "pull", f"{registry_anon.host}/{repo}:1",
                "-o", tmp_path / "out"))
    elapsed = time.monotonic() - start
    assert elapsed >= 3.5, f"32 MiB at --limit-rate 8M took only {elapsed:.2f} s"
    assert sha256_file(tmp_path / "out" / src.name) == sha256_file(src)


# -- e. progress events ----------------------------------------------------------------------

def check_progress(proc, sizes):
    """sizes: digest -> size of every blob the operation moves."""
    events = progress_events(proc.stderr)
    assert events, f"no JSON progress lines in {proc.stderr!r}"
    per_blob = [e for e in events if e["event"] != "operation"]
    # A blob uploaded in one pass (hashed while sent) has no digest until it is done: its
    # events before that name it by title only. Give them the digest its later events carry.
    digest_of_title = {e["title"]: e["digest"] for e in per_blob if "digest" in e and "title" in e}
    for e in per_blob:
        if "digest" not in e:
            assert e.get("title") in digest_of_title, f"event with neither digest nor known title: {e}"
            e["digest"] = digest_of_title[e["title"]]
    malformed = [e for e in per_blob if not re.fullmatch(r"sha256:[0-9a-f]{64}", e["digest"])]
    assert not malformed, f"{len(malformed)} per-blob events with a malformed digest, e.g. {malformed[0]}"
    assert {e["digest"] for e in per_blob} == set(sizes)
    for digest, size in sizes.items():
        mine = blob_events(events, digest)
        assert all(e["size"] == size for e in mine), mine
        done = [e for e in mine if e["event"] == "done"]
        assert len(done) == 1 and done[0]["bytes"] == size, mine
        moved = [e for e in mine if e["event"] == "bytes"]
        if moved:
            assert moved[-1]["bytes"] == size, f"last 'bytes' event of {digest}: {moved[-1]}"
    last = [e for e in events if e["event"] == "operation"][-1]
    total = sum(sizes.values())
    assert last["doneBytes"] == last["totalBytes"] == total, last
    assert last["doneBlobs"] == last["totalBlobs"] == len(sizes) and last["inFlight"] == 0, last


def test_progress_json_accounts_for_every_byte(run_floe, registry_anon, tmp_path, request):
    # one.bin is over 16 MiB: floe uploads such files in one pass, hashing while it sends
    contents = {"one.bin": os.urandom(17 * MiB + 17), "two.txt": b"x" * 100_000,
                "three.json": b'{"a":1}'}
    paths = []
    for name, data in contents.items():
        (tmp_path / "src").mkdir(exist_ok=True)
        (tmp_path / "src" / name).write_bytes(data)
        paths.append(tmp_path / "src" / name)
    layers = {"sha256:" + hashlib.sha256(d).hexdigest(): len(d) for d in contents.values()}
    config = {"sha256:" + hashlib.sha256(b"{}").hexdigest(): CONFIG_SIZE}
    ref = f"{registry_anon.host}/{repo_for(request)}:1"

    pushed = ok(run_floe("--progress=json", "artifact", "push", ref, *paths))
    check_progress(pushed, {**layers, **config})
    # pull writes the layers only; the config blob is never fetched
    pulled = ok(run_floe("--progress=json", "artifact", "pull", ref, "-o", tmp_path / "out"))
    check_progress(pulled, layers)
    for name, data in contents.items():
        assert (tmp_path / "out" / name).read_bytes() == data


# -- f. a chunked upload cut half-way ----------------------------------------------------------

@pytest.mark.parametrize("where", ["mid-chunk", "between-chunks"])
def test_chunked_push_cut_midway_resumes_the_upload(run_floe, registry_anon, fault_proxy,
                                                    tmp_path, request, where):
    # 24 MiB in 4 MiB PATCHes; the connection is lost once 10 MiB have gone up.
    #   mid-chunk: inside the third PATCH (the brief's cut_up_after(10 MiB)). The registry
    #     keeps the truncated PATCH's bytes, and distribution 2.8 cancels a session whose
    #     status is asked with the previous _state ("upload resumed at wrong offset", 404
    #     BLOB_UPLOAD_INVALID), so no client can continue it: a new session, sending the
    #     whole blob once more, is the best there is.
    #   between-chunks: before the first PATCH that starts after 10 MiB (the fourth); the
    #     session is intact and floe must continue it from 12 MiB.
    src = random_file(tmp_path / "src" / "twenty-four.bin", 24 * MiB)
    size, chunk = 24 * MiB, 4 * MiB
    proxy = fault_proxy(registry_anon)
    if where == "mid-chunk":
        proxy.cut_up_after(10 * MiB, "fin")
    else:
        proxy.cut_up_at_next_request_after(10 * MiB, "fin")
    repo = repo_for(request)
    pushed = ok(run_floe("--chunk-size", "4M", "--progress=json", "artifact", "push",
                         f"{proxy.host}/{repo}:1", src))
    out = tmp_path / "out"
    ok(run_floe("artifact", "pull", f"{registry_anon.host}/{repo}:1", "-o", out))
    digest = sha256_file(src)
    assert sha256_file(out / src.name) == digest

    cut = cut_event(proxy)
    after_cut = proxy.bytes_up - cut["bytes_up"]
    events = progress_events(pushed.stderr)
    mine = [e for e in events if e.get("title") == src.name]
    if where == "between-chunks":
        remainder = size - 10 * MiB
        assert after_cut <= remainder + chunk + HTTP_OVERHEAD, (
            f"after the cut floe sent {after_cut} bytes for the {remainder} left: more than "
            f"resending one {chunk}-byte chunk")
        resumed = [e for e in mine if e["event"] == "resumed"]
        assert resumed, "no 'resumed' progress event for the cut upload"
        assert 0 < resumed[0]["bytes"] <= 12 * MiB, resumed
    else:
        assert after_cut <= size + chunk + HTTP_OVERHEAD, \
            f"after the cut floe sent {after_cut} bytes: more than the whole blob once more"

    # Secondary checks, all reported together.
    problems = []
    wrong = sorted({e.get("digest", digest) for e in mine} - {digest})  # no digest: not known yet
    if wrong:
        problems.append(f"per-blob events of {src.name} carry digests {wrong}, not {digest}")
    moved = [e["bytes"] for e in mine if e["event"] == "bytes"]
    if moved and moved[-1] != size:
        problems.append(f"the last 'bytes' event of {src.name} says {moved[-1]}, not {size}")
    kinds = [e["event"] for e in mine]
    if "resumed" in kinds:
        offset = mine[kinds.index("resumed")]["bytes"]
        after = [e["bytes"] for e in mine[kinds.index("resumed"):] if e["event"] == "bytes"]
        if after and min(after) <= offset:
            problems.append(f"'bytes' events after 'resumed' from {offset} start again at "
                            f"{min(after)}: {after[:3]}...")
    last = final_operation(events)
    if not last["doneBytes"] == last["totalBytes"] == size + CONFIG_SIZE:
        problems.append(f"final operation event after the cut upload: {last} "
                        f"(want doneBytes == totalBytes == {size + CONFIG_SIZE})")
    assert not problems, "\n".join(problems)


# -- g. 503 with Retry-After -----------------------------------------------------------------

@pytest.fixture
def small(run_floe, registry_anon, tmp_path, request):
    src = tmp_path / "src" / "small.txt"
    src.parent.mkdir()
    src.write_bytes(b"small but important\n" * 100)
    return types.SimpleNamespace(path=src, repo=push_file(run_floe, registry_anon, request, src))


def check_pull_waited(run_floe, proxy, small, tmp_path, *flags):
    proxy.http_error_next(503, retry_after=1)
    out = tmp_path / "out"
    start = time.monotonic()
    ok(run_floe(*flags, "artifact", "pull", f"{proxy.host}/{small.repo}:1", "-o", out))
    elapsed = time.monotonic() - start
    assert (out / "small.txt").read_bytes() == small.path.read_bytes()
    [hit] = [e for e in proxy.events if e["fault"] == "http_error"]
    assert elapsed >= 1.0, (f"the pull took {elapsed:.2f} s although the registry answered "
                            f"{hit['at']!r} with 503 and Retry-After: 1")
    return hit


def test_503_with_retry_after_on_the_first_request_of_a_pull(run_floe, registry_anon,
                                                             fault_proxy, small, tmp_path):
    check_pull_waited(run_floe, fault_proxy(registry_anon), small, tmp_path)


def test_503_with_retry_after_on_the_first_api_request(run_floe, registry_anon, fault_proxy,
                                                       small, tmp_path):
    # --plain-http: no https/http probe of /v2/, so the 503 hits the manifest request itself
    hit = check_pull_waited(run_floe, fault_proxy(registry_anon), small, tmp_path,
                            "--plain-http")
    assert "/manifests/" in hit["at"], hit


# -- a flipped byte is caught ----------------------------------------------------------------

def test_pull_of_a_corrupted_stream_is_fetched_again_and_verified(run_floe, registry_anon,
                                                                  fault_proxy, tmp_path, request):
    # One byte flipped on the way (a faulty proxy): the digest check catches it and the blob is
    # fetched once more from byte zero. (Content corrupt at the source fails: test_bad_input.)
    src = random_file(tmp_path / "src" / "data.bin", 2 * MiB)
    repo = push_file(run_floe, registry_anon, request, src)
    proxy = fault_proxy(registry_anon)
    proxy.flip_down_byte_at(HEADER_SLACK + 1 * MiB)  # well inside the blob's body
    out = tmp_path / "out"
    proc = ok(run_floe("--progress=json", "artifact", "pull", f"{proxy.host}/{repo}:1", "-o", out))
    assert [e["fault"] for e in proxy.events] == ["flip"]
    assert sha256_file(out / src.name) == sha256_file(src)
    retried = [e for e in progress_events(proc.stderr) if e["event"] == "retried"]
    assert retried, "the corrupt copy was not fetched again"
    assert_partial_dir_gone(out)
