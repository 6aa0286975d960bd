"""Cancellation and deadlines: how fast, and how cleanly, floe stops.

This file proves, against real registries (and tiny fake servers on 127.0.0.1 for what a real
registry will not do), that:

  * Ctrl-C (SIGINT) in the middle of a pull or a push ends floe with exit 130 within
    INTERRUPT_BOUND seconds, leaves no file under a final name (only hidden dot-entries such as
    .floe-partial), leaves no tag naming a half-pushed manifest, and that the next run continues
    from what the interrupted one completed (fewer bytes over the wire, byte-identical result);
    two SIGINTs in a row behave the same;
  * a registry that sends a blob's headers and then never its body, and a host that never
    answers at all, make `floe --timeout 2` fail with exit 6 and a one-line "timed out" error
    within NETWORK_BOUND seconds, the https probe and every retry included;
  * a layer that fails (404) cancels its siblings: the pull ends with exit 3 at once, not when
    a slow sibling download finishes.

The progress of a running floe is read from `--progress json` on stderr: "operation" events
carry doneBytes/totalBytes (sampled, a few per second); per-blob events ("done", "skipped",
"resumed", ...) carry digest, size, title and bytes. Bytes on the wire are counted by the
FaultProxy (test/faultproxy) that floe talks to."""
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import hermetic_env
from floe_testlib import (EXIT_NETWORK, EXIT_NOT_FOUND, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST,
                          TITLE, digest_of, http, ok, repo_for, snapshot)

MiB = 1 << 20
KiB = 1 << 10

EXIT_INTERRUPTED = 130
# The documented bound for Ctrl-C is 1 s from the signal to the exit; 1.5 s more of slack for a
# loaded 2-core machine.
INTERRUPT_BOUND = 1.0 + 1.5
# `--timeout 2` against a host that stalls: at most the retry policy's attempts (about 4 x 2 s
# plus backoff, 10-12 s), with room for a loaded machine, and well under the ~22 s or more that
# retrying without an overall budget takes.
NETWORK_BOUND = 15.0
# A sibling's 404 ends the pull "within about 3 s of the start"; the slow sibling needs ~8 s.
SIBLING_FAILURE_BOUND = 3.0
HANG_GUARD = 60  # seconds: a floe still running then is killed (a hang, not a measurement)
HTTP_OVERHEAD = 64 * KiB  # request/response headers, probes and manifests, with room to spare

TIMEOUT_WORDS = re.compile(r"timed?[ -]?out|timeout", re.I)


# -- helpers -------------------------------------------------------------------------------

def random_file(path, size):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return path


def sha256_file(path):
    with open(path, "rb") as f:
        return "sha256:" + hashlib.sha256(f.read()).hexdigest()


def visible(snap):
    """A snapshot() without hidden dot-entries (.floe-partial, staging directories, ...)."""
    return {rel: v for rel, v in snap.items() if not rel.split(os.sep, 1)[0].startswith(".")}


def how_it_ended(rc):
    if rc is None:
        return "still running"
    if rc < 0:
        return f"killed by {signal.Signals(-rc).name} (no handler: rc {rc})"
    return f"exit {rc}"


def progress_events(stderr):
    return [json.loads(l) for l in stderr.splitlines() if l.startswith("{")]


def own_lines(proc_stderr):
    """The command's own lines on stderr: not the indented per-blob lines, not progress JSON."""
    return [l for l in proc_stderr.splitlines() if not l.startswith(("  ", "{"))]


class Floe:
    """floe running in the background; stderr is read line by line and its progress JSON
    parsed as it arrives, so a test can act at a given point of the transfer."""

    def __init__(self, floe, args, tmp_path):
        self.cmd = [floe, *map(str, args)]
        self.proc = subprocess.Popen(
            self.cmd, env=hermetic_env(tmp_path / "home"), cwd=tmp_path,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, bufsize=1)
        self.started = time.monotonic()
        self.lines, self.events, self.stdout = [], [], ""
        self.eof = False
        self.cond = threading.Condition()
        self._threads = [threading.Thread(target=self._read_stderr, daemon=True),
                         threading.Thread(target=self._read_stdout, daemon=True)]
        for t in self._threads:
            t.start()

    def _read_stderr(self):
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append(line)
                if line.startswith("{"):
                    try:
                        self.events.append(json.loads(line))
                    except ValueError:
                        pass  # reported by the test through self.stderr if it matters
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def _read_stdout(self):
        self.stdout = self.proc.stdout.read()

    @property
    def stderr(self):
        with self.cond:
            return "".join(self.lines)

    def wait_until(self, predicate, what, timeout=30):
        """Blocks until predicate(events) is truthy; returns its value. Fails the test if floe
        ends first or `timeout` passes."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                value = predicate(self.events)
                if value:
                    return value
                if self.eof:
                    self.proc.wait()
                    pytest.fail(f"$ {' '.join(self.cmd)}\n-> {how_it_ended(self.proc.returncode)} "
                                f"before {what}:\n{''.join(self.lines)}")
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"no {what} after {timeout} s:\n{''.join(self.lines)}")
                self.cond.wait(min(left, 0.5))

    def interrupt(self, times=1, gap=0.05):
        """SIGINT (what Ctrl-C sends), `times` times `gap` seconds apart. Returns
        (exit status, seconds from the first signal to the exit)."""
        sent = time.monotonic()
        for i in range(times):
            if i:
                time.sleep(gap)
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=HANG_GUARD)
        except subprocess.TimeoutExpired:
            pass
        elapsed = time.monotonic() - sent
        return self.proc.returncode, elapsed

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for t in self._threads:
            t.join(timeout=10)
        print(f"$ {' '.join(self.cmd)}\n-> {how_it_ended(self.proc.returncode)}\n"
              f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def last_operation(events):
    ops = [e for e in events if e.get("event") == "operation" and e.get("totalBytes")]
    return ops[-1] if ops else None


def at_least_half(events):
    op = last_operation(events)
    return op if op and 2 * op["doneBytes"] >= op["totalBytes"] else None


def check_not_past(op, fraction, hint):
    assert op["doneBytes"] <= fraction * op["totalBytes"], (
        f"the transfer was already at {op['doneBytes']} of {op['totalBytes']} bytes when first "
        f"seen at 50% or more: {hint}")


def check_interrupted(problems, rc, elapsed):
    if rc != EXIT_INTERRUPTED:
        problems.append(f"SIGINT ended floe with {how_it_ended(rc)}, want exit "
                        f"{EXIT_INTERRUPTED}")
    if elapsed > INTERRUPT_BOUND:
        problems.append(f"floe took {elapsed:.2f} s from SIGINT to its exit (bound "
                        f"{INTERRUPT_BOUND} s)")


# -- fake servers on 127.0.0.1 -------------------------------------------------------------

class _FakeRegistryHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as floe pools connections

    def log_message(self, *args):
        pass

    def handle(self):
        # floe probes a loopback registry with https first: answer a TLS ClientHello the way a
        # plain-http server does (an HTTP 400), so the probe fails fast as a TLS error.
        try:
            first = self.connection.recv(1, socket.MSG_PEEK)
        except OSError:
            return
        if first == b"\x16":
            self.server.owner.record("TLS", "(ClientHello)")
            try:
                self.connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                        b"Connection: close\r\n\r\n")
            except OSError:
                pass
            return
        try:
            super().handle()
        except OSError:
            pass  # floe went away

    def do_GET(self):
        self.server.owner.serve(self, with_body=True)

    def do_HEAD(self):
        self.server.owner.serve(self, with_body=False)


class FakeRegistry:
    """A read-only registry holding one artifact, repo:tag -> manifest (empty config, the given
    layers). Blobs in `stall` answer 200 with their headers and then never send a byte of the
    body (every request, so retries stall too); blobs in `missing` answer 404 BLOB_UNKNOWN."""

    def __init__(self, repo, tag, layers, stall=(), missing=()):
        self.repo, self.tag = repo, tag
        config = b"{}"
        self.blobs = {digest_of(config): config}
        descs = []
        for title, data in layers:
            self.blobs[digest_of(data)] = data
            descs.append({"mediaType": "application/octet-stream", "digest": digest_of(data),
                          "size": len(data), "annotations": {TITLE: title}})
        self.manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "artifactType": "application/vnd.floe.bundle.v1",
            "config": {"mediaType": OCI_EMPTY, "digest": digest_of(config), "size": len(config)},
            "layers": descs}).encode()
        self.manifest_digest = digest_of(self.manifest)
        self.stall = {digest_of(d) for title, d in layers if title in stall}
        self.missing = {digest_of(d) for title, d in layers if title in missing}
        self.requests = []  # (time, method, path)
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.server = self.thread = None
        self.host = None

    def record(self, method, path):
        with self._lock:
            self.requests.append((time.monotonic(), method, path))

    def blob_gets(self, digest):
        with self._lock:
            return [r for r in self.requests if r[1] == "GET" and r[2].endswith("/" + digest)]

    def start(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeRegistryHandler)
        self.server.daemon_threads = True
        self.server.owner = self
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1}, daemon=True,
                                       name="fake-registry")
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()  # releases the stalled handlers
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=10)
            self.server = None

    @staticmethod
    def _reply(h, status, body, content_type, with_body, extra=None):
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        for k, v in (extra or {}).items():
            h.send_header(k, v)
        h.end_headers()
        if with_body:
            h.wfile.write(body)

    def _error(self, h, status, code, with_body):
        body = json.dumps({"errors": [{"code": code, "message": code.lower().replace("_", " "),
                                       "detail": None}]}).encode()
        self._reply(h, status, body, "application/json", with_body)

    def serve(self, h, with_body):
        path = urllib.parse.urlsplit(h.path).path
        self.record(h.command, path)
        if path in ("/v2/", "/v2"):
            return self._reply(h, 200, b"{}", "application/json", with_body)
        m = re.fullmatch(r"/v2/(.+)/(manifests|blobs)/([^/]+)", path)
        if not m or m[1] != self.repo:
            return self._error(h, 404, "NAME_UNKNOWN", with_body)
        kind, ref = m[2], m[3]
        if kind == "manifests":
            if ref not in (self.tag, self.manifest_digest):
                return self._error(h, 404, "MANIFEST_UNKNOWN", with_body)
            return self._reply(h, 200, self.manifest, OCI_MANIFEST, with_body,
                               {"Docker-Content-Digest": self.manifest_digest})
        if ref in self.missing or ref not in self.blobs:
            return self._error(h, 404, "BLOB_UNKNOWN", with_body)
        data = self.blobs[ref]
        if ref in self.stall and with_body:
            h.send_response(200)
            h.send_header("Content-Type", "application/octet-stream")
            h.send_header("Content-Length", str(len(data)))
            h.send_header("Docker-Content-Digest", ref)
            h.send_header("Docker-Distribution-Api-Version", "registry/2.0")
            h.end_headers()  # sent now (wfile is unbuffered); the body never follows
            self.stopping.wait()
            h.close_connection = True
            return
        self._reply(h, 200, data, "application/octet-stream", with_body,
                    {"Docker-Content-Digest": ref})


class Blackhole:
    """A TCP port on 127.0.0.1 that never answers. accept=False: listening with a backlog,
    never accepting (the kernel completes the handshake, nobody reads). accept=True: accepts
    every connection and never sends a byte (nor closes it) until stop()."""

    def __init__(self, accept):
        self.accept = accept
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.host = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted = []
        self.stopping = threading.Event()
        self.thread = None

    def start(self):
        if self.accept:
            self.sock.settimeout(0.1)
            self.thread = threading.Thread(target=self._accept_loop, daemon=True,
                                           name="blackhole")
            self.thread.start()
        return self

    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted.append(conn)

    def stop(self):
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
        for c in self.accepted:
            c.close()
        self.sock.close()


@pytest.fixture
def fake_registry():
    started = []

    def make(*args, **kw):
        started.append(FakeRegistry(*args, **kw).start())
        return started[-1]

    yield make
    for reg in started:
        reg.stop()


@pytest.fixture
def blackhole():
    started = []

    def make(accept):
        started.append(Blackhole(accept).start())
        return started[-1]

    yield make
    for b in started:
        b.stop()


# -- 1. Ctrl-C during a pull ---------------------------------------------------------------

def test_sigint_during_pull_exits_130_and_the_rerun_resumes(floe, run_floe, registry_anon,
                                                             fault_proxy, tmp_path, request):
    size = 12 * MiB  # ~6 s at 2M/s: SIGINT at ~3 s
    src = random_file(tmp_path / "src" / "payload.bin", size)
    digest = sha256_file(src)
    repo = repo_for(request)
    ok(run_floe("artifact", "push", f"{registry_anon.host}/{repo}:1", src))
    proxy = fault_proxy(registry_anon)
    ref = f"{proxy.host}/{repo}:1"
    out = tmp_path / "out"
    out.mkdir()
    (out / "unrelated.txt").write_text("not floe's: must survive\n")
    before = snapshot(out)

    with Floe(floe, ["--limit-rate", "2M", "--progress", "json", "artifact", "pull", ref,
                     "-o", out], tmp_path) as first:
        op = first.wait_until(at_least_half, "operation event at 50% of the bytes")
        check_not_past(op, 0.8, "--limit-rate 2M not applied?")
        rc, elapsed = first.interrupt()
    print(f"measured: SIGINT at {op['doneBytes']}/{op['totalBytes']} bytes, "
          f"{how_it_ended(rc)} after {elapsed:.2f} s")

    problems = []
    check_interrupted(problems, rc, elapsed)
    after = visible(snapshot(out))
    if after != visible(before):
        problems.append(f"the interrupted pull left or changed final names in {out}: "
                        f"{sorted(set(after) ^ set(visible(before)))}")

    # The rerun, without the limit: it continues from what the first run wrote.
    proxy.reset_counters()
    second = run_floe("--progress", "json", "artifact", "pull", ref, "-o", out)
    if second.returncode != 0:
        problems.append(f"the rerun failed ({second.returncode}): {second.stderr[-500:]}")
    else:
        if sha256_file(out / src.name) != digest:
            problems.append("the rerun's payload.bin is not the pushed file")
        resumed = [e for e in progress_events(second.stderr)
                   if e["event"] == "resumed" and e.get("digest") == digest]
        offset = resumed[0]["bytes"] if resumed else 0
        print(f"measured: rerun resumed from {offset}, fetched {proxy.bytes_down} bytes through "
              f"the proxy for a {size}-byte blob")
        if not resumed or offset <= 0:
            problems.append(f"no 'resumed' event with bytes > 0 for {digest} in the rerun: "
                            f"{resumed}")
        if proxy.bytes_down >= size or proxy.bytes_down > size - offset + HTTP_OVERHEAD:
            problems.append(f"the rerun fetched {proxy.bytes_down} bytes for a {size}-byte blob "
                            f"it said it resumed from {offset}: it did not resume")
    assert not problems, "\n".join(problems)


# -- 2. Ctrl-C during a push ---------------------------------------------------------------

def test_sigint_during_push_exits_130_leaves_no_tag_and_the_rerun_skips_finished_layers(
        floe, run_floe, registry_anon, fault_proxy, tmp_path, request):
    layer_size, count = 4 * MiB, 4
    files = [random_file(tmp_path / "src" / f"layer-{i}.bin", layer_size) for i in range(count)]
    total = layer_size * count
    repo = repo_for(request)
    proxy = fault_proxy(registry_anon)
    ref = f"{proxy.host}/{repo}:1"

    def half_and_a_layer(events):
        # --concurrency 2: two layers go up together and finish at ~50%; a layer that finished
        # is what the rerun must not send again.
        op = at_least_half(events)
        done = [e for e in events if e["event"] == "done" and e.get("size") == layer_size]
        return (op, done) if op and done else None

    with Floe(floe, ["--concurrency", "2", "--limit-rate", "2M", "--progress", "json",
                     "artifact", "push", ref, *files], tmp_path) as first:
        op, _ = first.wait_until(half_and_a_layer, "50% of the bytes and a finished layer")
        check_not_past(op, 0.85, "--limit-rate 2M not applied?")
        rc, elapsed = first.interrupt()
        events = list(first.events)
    finished = {e["digest"] for e in events if e["event"] == "done" and e["size"] == layer_size}
    print(f"measured: SIGINT at {op['doneBytes']}/{op['totalBytes']} bytes with "
          f"{len(finished)} layer(s) done, {how_it_ended(rc)} after {elapsed:.2f} s")

    problems = []
    check_interrupted(problems, rc, elapsed)
    status, _, body = http(registry_anon, "GET", f"/v2/{repo}/manifests/1",
                           headers={"Accept": f"{OCI_MANIFEST}, {OCI_INDEX}"})
    if status != 404:
        problems.append(f"after the interrupted push the tag answers {status} (want 404): "
                        f"{body[:300]!r}")

    proxy.reset_counters()
    second = run_floe("--progress", "json", "artifact", "push", ref, *files)
    if second.returncode != 0:
        problems.append(f"the rerun failed ({second.returncode}): {second.stderr[-500:]}")
    else:
        events2 = progress_events(second.stderr)
        skipped = {e["digest"] for e in events2 if e["event"] == "skipped"}
        skipped_layers = {e["digest"] for e in events2
                          if e["event"] == "skipped" and e["size"] == layer_size}
        print(f"measured: rerun sent {proxy.bytes_up} bytes up for {total} bytes of layers, "
              f"skipped {len(skipped_layers)} layer(s)")
        if finished - skipped:
            problems.append(f"the rerun sent again {len(finished - skipped)} layer(s) the "
                            f"interrupted run had finished: {sorted(finished - skipped)}")
        resend = total - layer_size * len(skipped_layers)
        if proxy.bytes_up >= total or proxy.bytes_up > resend + HTTP_OVERHEAD:
            problems.append(f"the rerun sent {proxy.bytes_up} bytes up, more than the "
                            f"{resend} bytes of the layers it did not skip")
        out = tmp_path / "out"
        pulled = run_floe("artifact", "pull", f"{registry_anon.host}/{repo}:1", "-o", out)
        if pulled.returncode != 0:
            problems.append(f"pulling the rerun's result failed: {pulled.stderr[-500:]}")
        else:
            for f in files:
                if (out / f.name).read_bytes() != f.read_bytes():
                    problems.append(f"{f.name} pulled back differs from the file pushed")
    assert not problems, "\n".join(problems)


# -- 3. a blob whose body never comes --------------------------------------------------------

def test_stalled_blob_body_times_out_within_the_retry_budget(run_floe, fake_registry, tmp_path,
                                                              request):
    repo = repo_for(request)
    reg = fake_registry(repo, "1", [("stalled.bin", os.urandom(256 * KiB))],
                        stall={"stalled.bin"})
    [stalled] = reg.stall
    start = time.monotonic()
    proc = run_floe("--timeout", "2", "artifact", "pull", f"{reg.host}/{repo}:1",
                    "-o", tmp_path / "out", timeout=HANG_GUARD)
    elapsed = time.monotonic() - start
    gets = reg.blob_gets(stalled)
    lines = own_lines(proc.stderr)
    facts = (f"{how_it_ended(proc.returncode)} after {elapsed:.1f} s, {len(gets)} GETs of the "
             f"stalled blob, error {lines!r}")
    print("measured:", facts)
    assert proc.returncode == EXIT_NETWORK, f"want exit {EXIT_NETWORK}: {facts}"
    assert len(lines) == 1 and lines[0].startswith("floe: ") and TIMEOUT_WORDS.search(lines[0]), \
        f"want one 'floe: ...' line saying it timed out: {facts}"
    assert elapsed <= NETWORK_BOUND, f"took longer than {NETWORK_BOUND} s: {facts}"


# -- 4. a host that never answers ------------------------------------------------------------

@pytest.mark.parametrize("accept", [False, True], ids=["never-accepts", "accepts-then-silent"])
def test_blackholed_host_times_out(run_floe, blackhole, tmp_path, request, accept):
    hole = blackhole(accept)
    start = time.monotonic()
    proc = run_floe("--timeout", "2", "artifact", "pull", f"{hole.host}/{repo_for(request)}:1",
                    "-o", tmp_path / "out", timeout=HANG_GUARD)
    elapsed = time.monotonic() - start
    lines = own_lines(proc.stderr)
    facts = f"{how_it_ended(proc.returncode)} after {elapsed:.1f} s, error {lines!r}"
    print("measured:", facts)
    assert proc.returncode == EXIT_NETWORK, f"want exit {EXIT_NETWORK}: {facts}"
    assert len(lines) == 1 and lines[0].startswith("floe: ") and TIMEOUT_WORDS.search(lines[0]), \
        f"want one 'floe: ...' line naming a timeout: {facts}"
    assert elapsed <= NETWORK_BOUND, f"took longer than {NETWORK_BOUND} s: {facts}"


# -- 5. a failing layer cancels its siblings ---------------------------------------------------

def test_missing_layer_cancels_the_slow_sibling(run_floe, registry_anon, tmp_path, request):
    big = random_file(tmp_path / "src" / "big.bin", 8 * MiB)  # ~8 s at --limit-rate 1M
    small = tmp_path / "src" / "small.txt"
    small.write_bytes(b"gone from the registry " + os.urandom(16).hex().encode() + b"\n")
    repo = repo_for(request)
    ok(run_floe("artifact", "push", f"{registry_anon.host}/{repo}:1", big, small))
    small_digest = digest_of(small.read_bytes())
    status, _, body = http(registry_anon, "DELETE", f"/v2/{repo}/blobs/{small_digest}")
    assert status == 202, f"could not delete {small_digest}: {status} {body!r}"
    status, _, _ = http(registry_anon, "GET", f"/v2/{repo}/blobs/{small_digest}")
    assert status == 404, f"the deleted blob still answers {status}"

    out = tmp_path / "out"
    out.mkdir()
    (out / "unrelated.txt").write_text("not floe's: must survive\n")
    before = visible(snapshot(out))
    start = time.monotonic()
    proc = run_floe("--limit-rate", "1M", "artifact", "pull", f"{registry_anon.host}/{repo}:1",
                    "-o", out, timeout=HANG_GUARD)
    elapsed = time.monotonic() - start
    lines = own_lines(proc.stderr)
    facts = f"{how_it_ended(proc.returncode)} after {elapsed:.1f} s, error {lines!r}"
    print("measured:", facts)

    problems = []
    if proc.returncode != EXIT_NOT_FOUND:
        problems.append(f"want exit {EXIT_NOT_FOUND} (not found): {facts}")
    if elapsed > SIBLING_FAILURE_BOUND:
        problems.append(f"the pull ended {elapsed:.1f} s after its start (bound "
                        f"{SIBLING_FAILURE_BOUND} s): the 8 MiB sibling was not cancelled when "
                        f"small.txt's blob answered 404")
    after = visible(snapshot(out))
    if after != before:
        problems.append(f"the failed pull left or changed final names in {out}: "
                        f"{sorted(set(after) ^ set(before))}")
    assert not problems, "\n".join(problems)


# -- 6. Ctrl-C twice -----------------------------------------------------------------------

def test_double_sigint_during_pull_exits_130_and_the_rerun_succeeds(floe, run_floe,
                                                                   registry_anon, tmp_path,
                                                                   request):
    size = 8 * MiB
    src = random_file(tmp_path / "src" / "twice.bin", size)
    repo = repo_for(request)
    ref = f"{registry_anon.host}/{repo}:1"
    ok(run_floe("artifact", "push", ref, src))
    out = tmp_path / "out"
    out.mkdir()
    (out / "unrelated.txt").write_text("not floe's: must survive\n")
    before = visible(snapshot(out))

    with Floe(floe, ["--limit-rate", "2M", "--progress", "json", "artifact", "pull", ref,
                     "-o", out], tmp_path) as first:
        op = first.wait_until(
            lambda ev: (o := last_operation(ev)) and o["doneBytes"] >= MiB and o,
            "operation event past the first MiB")
        rc, elapsed = first.interrupt(times=2, gap=0.05)
    print(f"measured: 2 x SIGINT at {op['doneBytes']}/{op['totalBytes']} bytes, "
          f"{how_it_ended(rc)} after {elapsed:.2f} s")

    problems = []
    check_interrupted(problems, rc, elapsed)
    after = visible(snapshot(out))
    if after != before:
        problems.append(f"the interrupted pull left or changed final names in {out}: "
                        f"{sorted(set(after) ^ set(before))}")
    second = run_floe("artifact", "pull", ref, "-o", out)
    if second.returncode != 0:
        problems.append(f"the rerun failed ({second.returncode}): {second.stderr[-500:]}")
    elif (out / src.name).read_bytes() != src.read_bytes():
        problems.append("the rerun's twice.bin is not the pushed file")
    assert not problems, "\n".join(problems)
