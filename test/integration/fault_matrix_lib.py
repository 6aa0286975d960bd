"""Helpers for test_fault_matrix.py (stdlib only): the source artifact, running floe with a
hang guard, resetting the FaultProxy between runs, the fault plan, and the end-state checks
that decide whether a run ended "ok", "clean-fail" or "BAD".

    build_source(root)                  -> Source (6 layers: 3 x 64 KiB, 2 + 3 MiB, one directory)
    run(floe, args, env, cwd)           -> Result (rc, stdout, stderr, elapsed, hung)
    Background(floe, args, env, cwd)    -> floe in the background (stderr to a file), .kill()
    quiesce(proxy)                      -> clear faults, wait for idle connections, zero counters
    Fault                               -> one planned fault: .arm(proxy), .describe(), .row
    check_pull_ok / check_pull_failed / check_push_state / check_layout(...)
                                        -> lists of problems (empty: fine)
    Matrix                              -> outcomes per fault x operation, printed as a table

The checks never look at floe's own account of what happened: files are compared byte for
byte, the registry is asked directly (HTTP, not through the proxy), layouts are re-hashed.
"""
import collections
import dataclasses
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import time

import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "faultproxy"))
from faultproxy import FaultProxy  # noqa: E402
from floe_testlib import OCI_INDEX, OCI_MANIFEST, TITLE, http, snapshot  # noqa: E402

KiB = 1 << 10
MiB = 1 << 20

CLEAN_FAIL_CODES = (1, 5, 6)          # other, verification, network
HANG_GUARD = 60.0                      # seconds: a floe still running then is a hang (BAD)
QUIESCE_TIMEOUT = 8.0                  # the longest stall (4 s) plus the proxy's FIN drain
TAG = "dev"                            # an environment tag: it may move, reruns are allowed
CONFIG_SIZE = 2                        # floe's empty config, "{}"

# The artifact every run moves. Fixed seed: the same bytes (and digests) on every run.
DATA_SEED = 20251129
LAYOUT = [("small-0.bin", 64 * KiB), ("small-1.bin", 64 * KiB), ("small-2.bin", 64 * KiB),
          ("mid-a.bin", 2 * MiB), ("mid-b.bin", 3 * MiB)]
TREE = "tree"  # the directory layer


def sha256_bytes(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(MiB):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


# -- the source artifact ---------------------------------------------------------------------

@dataclasses.dataclass
class Source:
    root: str
    paths: list            # what `floe artifact push` gets, in order
    tree: dict             # snapshot() of root: what a pull must reproduce exactly
    file_digests: dict     # title -> digest of the file layers
    layer_bytes: int = 0   # sum of the layer sizes (set once the directory layer is known)
    manifest: dict = None  # the reference push's manifest (set by the fixture)
    manifest_digest: str = None
    repo: str = None       # where the reference artifact lives (pulls and copies read it)

    @property
    def layer_digests(self):
        return {l["digest"] for l in self.manifest["layers"]}

    @property
    def layer_sizes(self):
        return {l["digest"]: l["size"] for l in self.manifest["layers"]}

    @property
    def tree_digest(self):
        return next(l["digest"] for l in self.manifest["layers"]
                    if l.get("annotations", {}).get(TITLE) == TREE)

    @property
    def top_level(self):
        return {rel for rel in self.tree if os.sep not in rel}


def build_source(root):
    rng = random.Random(DATA_SEED)
    os.makedirs(root, exist_ok=True)
    for name, size in LAYOUT:
        with open(os.path.join(root, name), "wb") as f:
            f.write(rng.randbytes(size))
    tree = os.path.join(root, TREE)
    files = {
        "readme.txt": b"the directory layer of the fault matrix\n",
        "conf/app.yaml": b"name: matrix\nreplicas: 3\n" * 40,
        "conf/empty.cfg": b"",
        "data/part-0.bin": rng.randbytes(40 * KiB),
        "data/part-1.bin": rng.randbytes(24 * KiB),
        "data/deep/er/leaf.csv": b"".join(b"%d,%d\n" % (i, i * i) for i in range(3000)),
        "models/m.json": json.dumps({"w": [rng.random() for _ in range(300)]}).encode(),
    }
    for rel, data in files.items():
        path = os.path.join(tree, *rel.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    os.makedirs(os.path.join(tree, "empty-dir"), exist_ok=True)
    paths = [os.path.join(root, n) for n, _ in LAYOUT] + [tree]
    return Source(root=root, paths=paths, tree=snapshot(root),
                  file_digests={n: sha256_file(os.path.join(root, n)) for n, _ in LAYOUT})


# -- running floe --------------------------------------------------------------------------

@dataclasses.dataclass
class Result:
    cmd: list
    rc: int
    stdout: str
    stderr: str
    elapsed: float
    hung: bool = False

    def own_lines(self):
        """floe's own lines on stderr: not the indented per-blob lines, not progress JSON."""
        return [l for l in self.stderr.splitlines() if l and not l.startswith(("  ", "{"))]

    def events(self):
        out = []
        for line in self.stderr.splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out


BINARY_WAIT = 180.0  # seconds to wait for a floe binary that is being rebuilt


def _spawn(fn, cmd):
    """fn() retried while the binary cannot be executed (missing or busy: a rebuild is
    replacing it); other errors propagate."""
    deadline = time.monotonic() + BINARY_WAIT
    while True:
        try:
            return fn()
        except OSError as e:
            if time.monotonic() > deadline or e.errno not in (2, 8, 13, 26):
                raise
            print(f"(cannot execute {cmd[0]}: {e}; waiting for the rebuild)")
            time.sleep(2)


def run(floe, args, env, cwd, timeout=HANG_GUARD):
    cmd = [floe, *map(str, args)]
    proc = None

    def go():
        nonlocal start
        start = time.monotonic()
        return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    start = time.monotonic()
    try:
        proc = _spawn(go, cmd)
        return Result(cmd, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)
    except subprocess.TimeoutExpired as e:
        def text(b):
            return b.decode(errors="replace") if isinstance(b, bytes) else (b or "")
        return Result(cmd, None, text(e.stdout), text(e.stderr), time.monotonic() - start,
                      hung=True)


class Background:
    """floe in the background, stdout/stderr to files (so what it printed before a SIGKILL
    is kept)."""

    def __init__(self, floe, args, env, cwd, log_prefix):
        self.cmd = [floe, *map(str, args)]
        self.out_path, self.err_path = log_prefix + ".stdout", log_prefix + ".stderr"
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = _spawn(lambda: subprocess.Popen(
                self.cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err),
                self.cmd)
        self.started = time.monotonic()

    def kill_after(self, delay):
        """SIGKILL `delay` seconds after the start, unless floe ended before. Returns
        (killed, seconds from the start to the kill or the exit)."""
        try:
            self.proc.wait(timeout=max(0.0, self.started + delay - time.monotonic()))
            return False, time.monotonic() - self.started
        except subprocess.TimeoutExpired:
            pass
        self.proc.send_signal(signal.SIGKILL)
        at = time.monotonic() - self.started
        self.proc.wait(timeout=30)
        return True, at

    def result(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        with open(self.out_path) as o, open(self.err_path) as e:
            return Result(self.cmd, self.proc.returncode, o.read(), e.read(),
                          time.monotonic() - self.started)


# -- the proxy between runs ----------------------------------------------------------------

class MatrixProxy(FaultProxy):
    """A FaultProxy with one more fault: http_error_after_cut() queues HTTP errors that are
    armed in the proxy's own thread the instant a cut fires, so they answer the requests floe
    sends on its fresh connections right after the cut (a blob GET, an upload PATCH or PUT...),
    not the first request of the run. (A watcher thread in the test loses that race.)"""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self._after_cut = []

    def http_error_after_cut(self, status, retry_after=None, count=1):
        with self._lock:
            self._after_cut = [(int(status), retry_after)] * int(count)
        return self

    def clear_faults(self):
        super().clear_faults()
        with self._lock:
            self._after_cut = []

    def _record(self, fault, direction, at):  # called with self._lock held
        super()._record(fault, direction, at)
        if fault == "cut" and self._after_cut:
            self._http_errors.extend(self._after_cut)
            self._after_cut = []


def quiesce(proxy, timeout=QUIESCE_TIMEOUT):
    """Disarms every fault, waits until the proxy has no connection left (a stalled pump
    wakes up and forwards its bytes late: they must not count towards the next run's offsets,
    nor trip its faults), then zeroes the counters. Returns the index of the next event."""
    proxy.clear_faults()
    deadline = time.monotonic() + timeout
    while proxy._conns and time.monotonic() < deadline:  # noqa: SLF001 (test helper)
        time.sleep(0.01)
    lingering = len(proxy._conns)  # noqa: SLF001
    proxy.clear_faults()
    proxy.reset_counters()
    with proxy._lock:  # noqa: SLF001
        return len(proxy.events), lingering


def new_events(proxy, start):
    with proxy._lock:  # noqa: SLF001
        return list(proxy.events[start:])


# -- the faults ----------------------------------------------------------------------------

@dataclasses.dataclass
class Fault:
    kind: str                # cut-down, cut-up, cut-req, stall, flip-down, http, cut+http
    how: str = None          # fin | rst (cuts)
    offset: int = None       # bytes of that direction since the fault was armed
    seconds: float = None    # stall
    status: int = None       # http
    retry_after: str = None  # http: None, "0", "1"
    count: int = 1           # http: how many requests in a row get `status`
    direction: str = "down"  # cut+http: which bytes the cut counts

    @property
    def row(self):
        """The row of the outcome table."""
        if self.kind in ("cut-down", "cut-up", "cut-req"):
            return f"{self.kind}-{self.how}"
        if self.kind == "stall":
            return f"stall-{self.seconds:g}s"
        if self.kind == "http":
            return f"http-{self.status}"
        if self.kind == "cut+http":
            return "cut+http"
        return self.kind

    def describe(self):
        if self.kind in ("cut-down", "cut-up", "cut-req"):
            return f"{self.kind}({self.how}) at {self.offset}"
        if self.kind == "stall":
            return f"stall {self.seconds:g}s at down byte {self.offset}"
        if self.kind == "flip-down":
            return f"flip down byte {self.offset}"
        ra = "" if self.retry_after is None else f" Retry-After: {self.retry_after}"
        if self.kind == "http":
            return f"http {self.status}{ra} x{self.count}"
        return (f"cut-{self.direction}({self.how}) at {self.offset}, then http "
                f"{self.status}{ra} x{self.count} on the reconnect (--concurrency 1)")

    def flags(self):
        """Global floe options this fault runs with."""
        flags = ["--timeout", self.timeout_flag()]
        if self.kind == "cut+http":
            # One connection at a time: after the cut floe must open a fresh one, which is
            # the only kind of request the proxy can answer with an HTTP error.
            flags += ["--concurrency", "1"]
        return flags

    def timeout_flag(self):
        # Stalls and flipped bytes (a flipped header can leave floe waiting for a body that
        # never ends) get --timeout 2; elsewhere --timeout 5 bounds a hang that should not
        # happen (such a run shows up as slow).
        return "2" if self.kind in ("stall", "flip-down") else "5"

    def expected_extra_seconds(self):
        """How long this fault may legitimately delay a run."""
        if self.kind == "stall":
            return self.seconds + 2 * 2 + 2.5
        if self.kind in ("http", "cut+http"):
            wait = 1.0 if self.retry_after == "1" else 0.0
            return self.count * (wait + 1.2) + 1.5
        return 2.5

    def arm(self, proxy):
        """Arms the fault on `proxy` (a MatrixProxy)."""
        if self.kind == "cut-down":
            proxy.cut_down_after(self.offset, self.how)
        elif self.kind == "cut-up":
            proxy.cut_up_after(self.offset, self.how)
        elif self.kind == "cut-req":
            proxy.cut_up_at_next_request_after(self.offset, self.how)
        elif self.kind == "stall":
            proxy.stall_down_after(self.offset, self.seconds)
        elif self.kind == "flip-down":
            proxy.flip_down_byte_at(self.offset)
        elif self.kind == "http":
            proxy.http_error_next(self.status, self.retry_after, self.count)
        elif self.kind == "cut+http":
            proxy.http_error_after_cut(self.status, self.retry_after, self.count)
            if self.direction == "up":
                proxy.cut_up_after(self.offset, self.how)
            else:
                proxy.cut_down_after(self.offset, self.how)
        else:
            raise ValueError(self.kind)


def pick_offset(rng, total, early_share=0.25, early=16 * KiB):
    """A byte offset in [0, total): a quarter of them in the first 16 KiB (probes, manifests,
    request heads), the rest spread over the whole transfer."""
    total = max(1, int(total))
    if total > early and rng.random() < early_share:
        return rng.randrange(0, early)
    return rng.randrange(0, max(1, int(total * 0.98)))


def plan(rng, ops, totals, per_op):
    """The fault cases: [(op, Fault)]. totals: op -> (bytes_down, bytes_up) of a clean run;
    per_op: how many of each fault (see the test module)."""
    cases = []
    for op in ops:
        down, up = totals[op]
        for how in ("fin", "rst"):
            for _ in range(per_op["cut"]):
                cases.append((op, Fault("cut-down", how=how, offset=pick_offset(rng, down))))
                cases.append((op, Fault("cut-up", how=how, offset=pick_offset(rng, up))))
                cases.append((op, Fault("cut-req", how=how, offset=pick_offset(rng, up))))
        for i in range(per_op["stall"]):
            cases.append((op, Fault("stall", offset=pick_offset(rng, down),
                                    seconds=(1.0, 3.0)[i % 2])))
        for _ in range(per_op["flip"]):
            cases.append((op, Fault("flip-down", offset=pick_offset(rng, down, 0.4))))
        for status in (429, 500, 502, 503, 504):
            for _ in range(per_op["http"]):
                cases.append((op, Fault("http", status=status,
                                        retry_after=rng.choice([None, "0", "1"]),
                                        count=rng.randint(1, 3))))
        for _ in range(per_op["cut+http"]):
            # the cut lands in the bulk of the transfer: uploads for a push, downloads else
            direction = "up" if up > down else "down"
            cases.append((op, Fault("cut+http", how=rng.choice(["fin", "rst"]),
                                    direction=direction,
                                    offset=pick_offset(rng, max(up, down), 0.0),
                                    status=rng.choice([429, 500, 502, 503, 504]),
                                    retry_after=rng.choice([None, "0"]),
                                    count=rng.randint(1, 2))))
    return cases


# -- end-state checks ----------------------------------------------------------------------

def check_clean_error(res):
    """A clean failure: exit 1, 5 or 6 and exactly one 'floe: ' line saying why."""
    problems = []
    if res.rc not in CLEAN_FAIL_CODES:
        problems.append(f"exit {res.rc}, want one of {CLEAN_FAIL_CODES} for a failure")
    lines = res.own_lines()
    if len(lines) != 1 or not lines[0].startswith("floe: "):
        problems.append(f"want exactly one 'floe: ' line on stderr, got {lines!r}")
    return problems


def visible(snap):
    return {rel: v for rel, v in snap.items() if not rel.split(os.sep, 1)[0].startswith(".")}


def misnamed_blobs(root):
    """Files under any blobs/sha256/ directory below `root` (hidden ones included) whose
    content does not hash to their name: wrong bytes under a final name."""
    bad = []
    for dirpath, _, filenames in os.walk(root):
        if os.path.basename(dirpath) != "sha256" or \
                os.path.basename(os.path.dirname(dirpath)) != "blobs":
            continue
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or len(name) != 64:
                continue
            got = sha256_file(path)
            if got != "sha256:" + name:
                bad.append(f"{os.path.relpath(path, root)} holds {os.path.getsize(path)} bytes "
                           f"hashing to {got}")
    return bad


def describe_diff(want, got):
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    differ = sorted(k for k in set(want) & set(got) if want[k] != got[k])
    out = []
    if missing:
        out.append(f"missing {missing[:8]}")
    if extra:
        out.append(f"unexpected {extra[:8]}")
    if differ:
        out.append(f"different content {differ[:8]}")
    return "; ".join(out)


def check_pull_ok(out, source):
    """After exit 0: exactly the source tree under final names, byte for byte."""
    problems = []
    got = visible(snapshot(out))
    if got != source.tree:
        problems.append(f"pulled tree differs from the source: {describe_diff(source.tree, got)}")
    problems += [f"wrong bytes under a final name: {b}" for b in misnamed_blobs(out)]
    return problems


def pull_leftovers(out, source):
    """Hidden entries left in the output directory after a successful pull (a warning)."""
    if not os.path.isdir(out):
        return []
    return sorted(set(os.listdir(out)) - source.top_level)


def check_pull_failed(out, source):
    """After a failure: nothing under a final name (hidden dot-entries aside), and no blob in
    the hidden partial layout with bytes that do not match its name."""
    problems = []
    if os.path.exists(out):
        got = visible(snapshot(out))
        if got:
            wrong = sorted(k for k, v in got.items() if source.tree.get(k) != v)
            problems.append(f"a failed pull left final names {sorted(got)[:10]}"
                            + (f", with WRONG content: {wrong[:10]}" if wrong else ""))
        problems += [f"wrong bytes under a final name: {b}" for b in misnamed_blobs(out)]
    return problems


def head_blobs(reg, repo, manifest):
    """Every blob the manifest names exists in the registry with its size (HEAD, directly)."""
    problems = []
    for desc in [manifest["config"], *manifest.get("layers", [])]:
        status, headers, _ = http(reg, "HEAD", f"/v2/{repo}/blobs/{desc['digest']}")
        if status != 200:
            problems.append(f"blob {desc['digest']} ({desc.get('annotations', {}).get(TITLE, 'config')}) "
                            f"answers HEAD {status}")
        elif int(headers.get("Content-Length", -1)) != desc["size"]:
            problems.append(f"blob {desc['digest']} has Content-Length "
                            f"{headers.get('Content-Length')}, manifest says {desc['size']}")
    return problems


def tag_state(reg, repo, tag=TAG):
    """(status, digest, manifest dict or None, problems) of repo:tag, asked directly."""
    status, headers, body = http(reg, "GET", f"/v2/{repo}/manifests/{tag}",
                                 headers={"Accept": f"{OCI_MANIFEST}, {OCI_INDEX}"})
    if status == 404:
        return status, None, None, []
    if status != 200:
        return status, None, None, [f"GET manifest {repo}:{tag} answered {status}: {body[:200]!r}"]
    problems = []
    digest = headers.get("Docker-Content-Digest")
    if digest != sha256_bytes(body):
        problems.append(f"{repo}:{tag} Docker-Content-Digest {digest} but the body hashes to "
                        f"{sha256_bytes(body)}")
    try:
        manifest = json.loads(body)
    except ValueError as e:
        return status, digest, None, problems + [f"{repo}:{tag} is not JSON ({e})"]
    return status, digest, manifest, problems


def check_push_state(reg, repo, source, must_exist, stdout_digest=None):
    """must_exist: the push succeeded, so repo:dev must name a manifest with all its blobs whose
    layers are the source's. Otherwise the tag may be absent, but if it exists, it must be a
    complete artifact: never a tag to missing blobs."""
    status, digest, manifest, problems = tag_state(reg, repo)
    if status == 404:
        if must_exist:
            problems.append(f"the push said ok but {repo}:{TAG} does not exist (404)")
        return problems
    if manifest is None:
        return problems
    problems += head_blobs(reg, repo, manifest)
    if problems and not must_exist:
        problems.insert(0, f"a failed push left {repo}:{TAG} -> {digest} naming missing blobs")
    if must_exist:
        if stdout_digest and stdout_digest != digest:
            problems.append(f"floe printed {stdout_digest} but {repo}:{TAG} is {digest}")
    # Either way, if a tag exists, it must be the source's content.
    titles = {l.get("annotations", {}).get(TITLE): l["digest"] for l in manifest.get("layers", [])}
    want = dict(source.file_digests, **{TREE: source.tree_digest})
    if titles != want:
        problems.append(f"{repo}:{TAG} layers {titles} are not the source's {want}")
    return problems


def check_layout(root, source, must_exist):
    """An OCI layout after `copy`: every blob file hashes to its name; every manifest in
    index.json exists with all its blobs; on success the tag names the source manifest."""
    problems = [f"wrong bytes under a final name: {b}" for b in misnamed_blobs(root)] \
        if os.path.isdir(root) else []
    index_path = os.path.join(root, "index.json")
    if not os.path.exists(index_path):
        if must_exist:
            problems.append(f"copy said ok but {index_path} does not exist")
        return problems
    try:
        with open(index_path) as f:
            index = json.load(f)
    except ValueError as e:
        return problems + [f"index.json is not JSON ({e})"]
    tags = {}
    for m in index.get("manifests", []):
        tags[m.get("annotations", {}).get("org.opencontainers.image.ref.name")] = m["digest"]
        mpath = os.path.join(root, "blobs", *m["digest"].split(":", 1))
        if not os.path.isfile(mpath):
            problems.append(f"index.json names manifest {m['digest']}, which is missing")
            continue
        with open(mpath, "rb") as f:
            manifest = json.loads(f.read())
        for desc in [manifest["config"], *manifest.get("layers", [])]:
            bpath = os.path.join(root, "blobs", *desc["digest"].split(":", 1))
            if not os.path.isfile(bpath):
                problems.append(f"index.json -> {m['digest']} names blob {desc['digest']}, "
                                f"which is missing from the layout")
            elif os.path.getsize(bpath) != desc["size"]:
                problems.append(f"blob {desc['digest']} is {os.path.getsize(bpath)} bytes, "
                                f"the manifest says {desc['size']}")
    if must_exist and tags.get(TAG) != source.manifest_digest:
        problems.append(f"layout tags {tags}, want {TAG} -> {source.manifest_digest}")
    return problems


# -- the outcome table -----------------------------------------------------------------------

class Matrix:
    OUTCOMES = ("ok", "clean-fail", "BAD")

    def __init__(self, ops):
        self.ops = ops
        self.cells = collections.defaultdict(collections.Counter)  # (row, op) -> outcome counts
        self.fired = collections.Counter()       # row -> faults that fired
        self.unfired = collections.Counter()     # row -> faults armed that never fired
        self.exit_codes = collections.defaultdict(collections.Counter)  # row -> rc counts
        self.rows = []
        self.records = []

    def add(self, record):
        row = record["fault"].row
        if row not in self.rows:
            self.rows.append(row)
        self.cells[(row, record["op"])][record["outcome"]] += 1
        self.fired[row] += record["fired"]
        self.unfired[row] += record["unfired"]
        self.exit_codes[row][record["rc"]] += 1
        self.records.append(record)

    @property
    def total_fired(self):
        return sum(self.fired.values())

    def count(self, outcome):
        return sum(c[outcome] for c in self.cells.values())

    def table(self):
        w = 16
        head = f"{'fault':<16}" + "".join(f"{op:>{w}}" for op in self.ops) + \
            f"{'faults fired':>14}{'not fired':>11}  exit codes"
        lines = ["cells: ok / clean-fail / BAD", head, "-" * len(head)]
        for row in self.rows:
            cells = []
            for op in self.ops:
                c = self.cells.get((row, op))
                cells.append("-" if not c else f"{c['ok']}/{c['clean-fail']}/{c['BAD']}")
            codes = ",".join(f"{rc}:{n}" for rc, n in sorted(self.exit_codes[row].items(),
                                                              key=lambda kv: str(kv[0])))
            lines.append(f"{row:<16}" + "".join(f"{c:>{w}}" for c in cells)
                         + f"{self.fired[row]:>14}{self.unfired[row]:>11}  {codes}")
        lines.append("-" * len(head))
        tot = []
        for op in self.ops:
            c = collections.Counter()
            for row in self.rows:
                c.update(self.cells.get((row, op), {}))
            tot.append(f"{c['ok']}/{c['clean-fail']}/{c['BAD']}")
        lines.append(f"{'total':<16}" + "".join(f"{c:>{w}}" for c in tot)
                     + f"{self.total_fired:>14}{sum(self.unfired.values()):>11}")
        return "\n".join(lines)


def rmtree(path):
    shutil.rmtree(path, ignore_errors=True)


def tail(text, n=40):
    lines = text.splitlines()
    return "\n".join(lines[-n:])
