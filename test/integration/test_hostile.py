"""floe against a hostile registry (hostile_registry.py): one test per class of attack.

Every test runs floe against fakes on loopback (127.0.0.1 is the registry; 127.0.0.2 and
127.0.0.3 play other hosts), then checks the exit code and the one-line error, that no secret
reached a server it does not belong to (from what each fake recorded), and for pulls that
nothing outside the output directory changed and nothing appeared under a final name in it.

 1. blob redirect to another origin          7. hostile manifests (titles, nesting, loops)
 2. upload Location on another host          8. hostile tar layers (links, devices)
 3. https registry handing out http URLs     9. decompression bomb
 4. secrets and escapes echoed in errors    10. trickling server (minimum transfer rate)
 5. escapes in annotations, titles, names   11. 429/503 + Retry-After on every step
 6. lies (Content-Length, digest, size)     12. a token that expires mid-upload

Tests collect every problem they find and fail once with all of them, so one run tells the
whole story. The generic unsafe names and tar entries are in test_bad_input.py; here they come
from a registry that also lies, redirects and echoes.
"""
import json
import os
import re
import resource
import subprocess
import tarfile
import threading
import time

import pytest

from conftest import hermetic_env
from floe_testlib import (EXIT_AUTH, EXIT_INVALID, EXIT_NETWORK, EXIT_OTHER, EXIT_VERIFY,
                          TITLE, UNPACK, error_lines, snapshot, write_tree)
from hostile_registry import (SECRET_SIG, TERMINAL_ESCAPES, HostileRegistry, RawListener,
                              basic_header, digest_of, tgz_infos, write_bomb)
from registry import make_ca_and_server_cert
from test_bad_input import make_tgz

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
REPO = "hostile/app"
FILE_TYPE = "application/vnd.floe.file.v1"
TGZ = "application/vnd.oci.image.layer.v1.tar+gzip"

USER = "hostile-user"
PASSWORD = "Pw-h0stile-31337"
STATIC_TOKEN = "static-token-b7e1c0ffee42"
BASIC_B64 = basic_header(USER, PASSWORD).split(" ", 1)[1]
FIXED_SECRETS = [PASSWORD, BASIC_B64, STATIC_TOKEN]

HANG_GUARD = 120  # seconds: a floe still running then is killed (a hang, not a measurement)


# -- running floe --------------------------------------------------------------------------

class Result:
    def __init__(self, cmd, returncode, stdout, stderr, elapsed, rss_mb=None):
        self.cmd, self.returncode, self.stdout, self.stderr = cmd, returncode, stdout, stderr
        self.elapsed, self.rss_mb = elapsed, rss_mb

    @property
    def ended(self):
        return "killed (still running at the guard)" if self.returncode is None \
            else f"exit {self.returncode}"

    def facts(self):
        return (f"{self.ended} after {self.elapsed:.1f} s, stderr {self.stderr[-1500:]!r}"
                + (f", peak RSS {self.rss_mb:.0f} MB" if self.rss_mb is not None else ""))


@pytest.fixture
def floe_run(floe, tmp_path):
    """floe_run(*args, env=None, timeout=HANG_GUARD, rss=False, fsize=None) -> Result.
    Output is decoded with surrogateescape so raw bytes survive; rss=True measures the peak
    RSS with /usr/bin/time; fsize caps the size of any file floe writes (RLIMIT_FSIZE), so a
    floe without a bomb limit cannot fill the disk."""
    base = hermetic_env(tmp_path / "home")

    def run(*args, env=None, timeout=HANG_GUARD, rss=False, fsize=None):
        full = dict(base)
        full.update({k: str(v) for k, v in (env or {}).items()})
        cmd = [floe, *map(str, args)]
        rss_file = tmp_path / f"rss-{time.monotonic_ns()}.txt"
        argv = ["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *cmd] if rss else cmd

        def limits():
            if fsize:
                resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

        start = time.monotonic()
        proc = subprocess.Popen(argv, env=full, cwd=tmp_path, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=limits if fsize else None)
        try:
            out, err = proc.communicate(timeout=timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            rc = None
        elapsed = time.monotonic() - start
        rss_mb = None
        if rss and rss_file.exists():
            text = rss_file.read_text().strip().splitlines()
            if text and text[-1].isdigit():
                rss_mb = int(text[-1]) / 1024
            killed = re.search(r"terminated by signal (\d+)", " ".join(text))
            if killed and rc is not None:
                rc = -int(killed[1])
        res = Result(cmd, rc, out.decode("utf-8", "surrogateescape"),
                     err.decode("utf-8", "surrogateescape"), elapsed, rss_mb)
        print(f"$ {' '.join(map(repr, cmd))}\n-> {res.ended} after {elapsed:.1f} s\n"
              f"--- stdout\n{res.stdout[-3000:]}--- stderr\n{res.stderr[-3000:]}")
        return res

    return run


@pytest.fixture
def fakes():
    """fakes(host="127.0.0.1", **HostileRegistry kwargs) -> a started fake, stopped after."""
    started = []

    def make(host="127.0.0.1", **kw):
        started.append(HostileRegistry(host, **kw).start())
        return started[-1]

    yield make
    for reg in reversed(started):
        reg.stop()


@pytest.fixture
def raw_listener():
    started = []

    def make(host="127.0.0.2"):
        started.append(RawListener(host).start())
        return started[-1]

    yield make
    for listener in started:
        listener.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """(ca, cert, key) of a throwaway CA and a server certificate for 127.0.0.1."""
    return make_ca_and_server_cert(str(tmp_path_factory.mktemp("hostile-tls")))


def registry(fakes, kind, **kw):
    """The registry on 127.0.0.1 for a kind of credentials."""
    if kind == "basic":
        return fakes(auth="basic", username=USER, password=PASSWORD, **kw)
    if kind == "bearer":  # username/password exchanged at the registry's own token realm
        return fakes(auth="bearer", username=USER, password=PASSWORD, **kw)
    if kind == "static-token":  # FLOE_REGISTRY_TOKEN, used as it is
        return fakes(auth="bearer", static_token=STATIC_TOKEN, **kw)
    return fakes(**kw)


def creds(kind):
    if kind in ("basic", "bearer"):
        return {"FLOE_REGISTRY_USERNAME": USER, "FLOE_REGISTRY_PASSWORD": PASSWORD}
    if kind == "static-token":
        return {"FLOE_REGISTRY_TOKEN": STATIC_TOKEN}
    return {}


def ref(reg, tag):
    return f"{reg.host}/{REPO}:{tag}"


def flag_position(floe, flag):
    """'global' when `floe --help` lists the flag, 'pull' when `floe artifact pull --help` does;
    'global' otherwise (a floe without the flag then fails with a usage error)."""
    for where, argv in (("global", [floe, "--help"]), ("pull", [floe, "artifact", "pull", "--help"])):
        help_text = subprocess.run(argv, capture_output=True, text=True).stdout
        if flag in help_text:
            return where
    return "global"


# -- what must never happen ----------------------------------------------------------------

def all_secrets(*regs):
    out = list(FIXED_SECRETS)
    for reg in regs:
        out.extend(reg.issued_tokens)
    return out


def leaks(server, secrets, what):
    """Requests `server` received carrying an Authorization header or any secret."""
    found = []
    for r in server.snapshot_requests():
        if r.header("Authorization"):
            found.append(f"{what} received {r.method} {r.path} with Authorization "
                         f"{r.header('Authorization')[:24]!r}...")
        blob = r.blob()
        for s in secrets:
            if s.encode() in blob:
                found.append(f"{what} received {r.method} {r.path} carrying the secret "
                             f"{s[:10]!r}...")
    return found


def control_chars(text, allow="\n"):
    """C0 controls (but `allow`), DEL and C1 controls found in `text`."""
    return sorted({repr(c) for c in text
                   if (ord(c) < 0x20 and c not in allow) or 0x7f <= ord(c) <= 0x9f})


def output_problems(name, text, secrets):
    problems = []
    bad = control_chars(text)
    if bad:
        problems.append(f"{name} holds raw control characters {bad}")
    for s in [*secrets, SECRET_SIG]:
        if s and s in text:
            problems.append(f"{name} holds the secret {s[:10]!r}...")
    return problems


def one_error_line(res, code, *fragments):
    """Problems with: exit code, exactly one 'floe: ' line (indented progress lines aside)."""
    problems = []
    if res.returncode != code:
        problems.append(f"want exit {code}, got {res.facts()}")
    lines = [l for l in error_lines(res) if not l.startswith("{")]
    if len(lines) != 1 or not lines[0].startswith("floe: ") or not res.stderr.endswith("\n"):
        problems.append(f"want exactly one 'floe: ' line on stderr, got {res.stderr[-1500:]!r}")
    elif fragments:
        for f in fragments:
            if f.lower() not in lines[0].lower():
                problems.append(f"{f!r} not in the error line {lines[0]!r}")
    return problems


def snap(path, skip=()):
    """snapshot() that never descends into `skip` (absolute paths) and describes files over
    64 MiB by size instead of reading them (a bomb left behind must not fill the test's RAM)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in skip]
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, path)
            if os.path.islink(full):
                out[rel] = ("link", os.readlink(full))
            elif os.path.isdir(full):
                out[rel] = ("dir",)
            elif os.path.getsize(full) > 64 * MiB:
                out[rel] = ("big file", os.path.getsize(full))
            else:
                with open(full, "rb") as f:
                    out[rel] = ("file", f.read())
    return out


def visible(snap):
    """A snapshot() without hidden dot-entries at the top (.floe-partial, staging dirs)."""
    return {rel: v for rel, v in snap.items() if not rel.split(os.sep, 1)[0].startswith(".")}


class Sandbox:
    """tmp_path/box/inner/{out, victim}: `victim` holds known files beside the output dir; it,
    and everything else under tmp_path except out/ and home/, is compared before and after."""

    def __init__(self, tmp_path, existing_out=False):
        self.tmp = tmp_path
        self.root = tmp_path / "box" / "inner"
        self.out = self.root / "out"
        self.victim = self.root / "victim"
        write_tree(self.victim, {"precious.txt": "precious\n", "sub/keep.txt": "keep\n"})
        if existing_out:
            write_tree(self.out, {"unrelated.txt": "not floe's: must survive\n"})
        self.out_before = visible(snap(self.out)) if self.out.exists() else {}
        self.victim_before = snapshot(self.victim)
        self.outside_before = self.outside()

    def outside(self):
        skip = (str(self.out), str(self.tmp / "home"))
        return {rel: v for rel, v in snap(self.tmp, skip).items()
                if rel != "home" and not rel.startswith("rss-")}

    def problems(self, failed=True):
        problems = []
        if snapshot(self.victim) != self.victim_before:
            problems.append(f"the victim directory {self.victim} changed")
        after = self.outside()
        if after != self.outside_before:
            changed = sorted(k for k in set(after) | set(self.outside_before)
                             if after.get(k) != self.outside_before.get(k))
            problems.append(f"outside the output dir, these changed: {changed}")
        if failed:
            now = visible(snap(self.out)) if self.out.exists() else {}
            if now != self.out_before:
                changed = sorted(k for k in set(now) | set(self.out_before)
                                 if now.get(k) != self.out_before.get(k))
                problems.append(f"the failed pull left or changed final names in {self.out}: "
                                f"{changed}")
        return problems


def check(problems, res=None):
    assert not problems, "\n".join(problems) + (f"\n(floe: {res.facts()})" if res else "")


# -- 1. blob redirect to another origin ----------------------------------------------------

@pytest.mark.parametrize("other", ["serves", "own-realm"])
@pytest.mark.parametrize("kind", ["basic", "bearer", "static-token"])
def test_blob_redirect_to_another_origin_carries_no_credentials(floe_run, fakes, tmp_path,
                                                                kind, other):
    reg = registry(fakes, kind)
    if other == "serves":  # object storage that serves the signed URL
        cdn = fakes("127.0.0.2", store=reg.store)
    else:  # another origin that wants its own token, from its own realm
        cdn = fakes("127.0.0.3", auth="bearer", username="cdn-user", password="cdn-pass",
                    store=reg.store)
        cdn.always_401 = True
    reg.redirect_blobs = cdn.url
    payload = os.urandom(64 * KiB)
    reg.add_artifact(REPO, "v1", [(payload, FILE_TYPE, {TITLE: "payload.bin"})])
    box = Sandbox(tmp_path)

    res = floe_run("artifact", "pull", ref(reg, "v1"), "-o", box.out, env=creds(kind))

    problems = []
    if other == "serves":
        if res.returncode != 0:
            problems.append(f"want exit 0 (the other origin serves the blob): {res.facts()}")
        elif (box.out / "payload.bin").read_bytes() != payload:
            problems.append("payload.bin differs from the blob")
        problems += box.problems(failed=False)
    else:
        problems += one_error_line(res, EXIT_AUTH)
        problems += box.problems()
    if not any(r.header("Authorization") for r in reg.snapshot_requests()):
        problems.append("the registry never received credentials: the test proves nothing")
    if cdn.count("blob_get") == 0:
        problems.append(f"the redirect was not followed to {cdn.url}: {cdn.requests}")
    problems += leaks(cdn, all_secrets(reg), f"the other origin {cdn.host}")
    problems += output_problems("stderr", res.stderr, all_secrets(reg))
    check(problems, res)


# -- 2. upload Location on another host ----------------------------------------------------

@pytest.mark.parametrize("answer", ["accepts", "401"])
@pytest.mark.parametrize("where", ["post", "patch"])
@pytest.mark.parametrize("kind", ["basic", "bearer"])
def test_upload_location_on_another_host_gets_no_credentials(floe_run, fakes, tmp_path, kind,
                                                            where, answer):
    reg = registry(fakes, kind)
    if answer == "accepts":
        sink = fakes("127.0.0.2", store=reg.store)
    else:
        sink = fakes("127.0.0.2", auth=kind, username="sink-user", password="sink-pass",
                     store=reg.store)
        sink.always_401 = True
    setattr(reg, f"upload_location_{where}", sink.url)
    src = tmp_path / "src" / "data.bin"
    src.parent.mkdir()
    src.write_bytes(os.urandom(2 * MiB + 512 * KiB))

    res = floe_run("--chunk-size", "1M", "artifact", "push", ref(reg, "dev"), src,
                   env=creds(kind))

    problems = []
    if answer == "accepts":
        if res.returncode != 0:
            problems.append(f"want exit 0 (the upload host takes the bytes): {res.facts()}")
        elif reg.store.blobs.get(digest_of(src.read_bytes())) != src.read_bytes():
            problems.append("the blob did not arrive intact")
    else:  # exit 4 (authentication) or 1 (refused as a protocol error)
        problems += one_error_line(res, res.returncode if res.returncode in (1, 4) else EXIT_AUTH)
    if sink.count("upload_patch") + sink.count("upload_put") == 0:
        problems.append(f"nothing went to the upload host {sink.host}: the test proves nothing")
    problems += leaks(sink, all_secrets(reg), f"the upload host {sink.host}")
    problems += output_problems("stderr", res.stderr, all_secrets(reg))
    check(problems, res)


# -- 3. https registry handing out plain http URLs -------------------------------------------

@pytest.mark.parametrize("case", ["post-location", "patch-location", "blob-redirect"])
def test_https_registry_never_downgrades_to_plain_http(floe_run, fakes, raw_listener, tls_files,
                                                       tmp_path, case):
    ca, cert, key = tls_files
    reg = fakes(tls=(cert, key), auth="basic", username=USER, password=PASSWORD)
    listener = raw_listener("127.0.0.2")
    plain = f"http://{listener.host}"
    if case == "blob-redirect":
        reg.redirect_blobs = plain
        reg.add_artifact(REPO, "v1", [(os.urandom(32 * KiB), FILE_TYPE, {TITLE: "a.bin"})])
        box = Sandbox(tmp_path)
        res = floe_run("--ca-file", ca, "artifact", "pull", ref(reg, "v1"), "-o", box.out,
                       env=creds("basic"))
    else:
        setattr(reg, "upload_location_" + case.split("-")[0], plain)
        src = tmp_path / "src" / "data.bin"
        src.parent.mkdir()
        src.write_bytes(os.urandom(2 * MiB + 512 * KiB))
        box = Sandbox(tmp_path)
        res = floe_run("--ca-file", ca, "--chunk-size", "1M", "artifact", "push",
                       ref(reg, "dev"), src, env=creds("basic"))

    problems = one_error_line(res, EXIT_OTHER)
    problems += box.problems()
    if listener.connections or listener.received:
        problems.append(f"the plain-http listener got {listener.connections} connection(s) and "
                        f"{len(listener.received)} bytes: {bytes(listener.received[:300])!r}")
    step = {"post-location": "upload_post", "patch-location": "upload_patch",
            "blob-redirect": "blob_get"}[case]
    if reg.count(step) == 0:
        problems.append(f"floe never reached the {step} step: the test proves nothing")
    problems += output_problems("stderr", res.stderr, all_secrets(reg))
    check(problems, res)


# -- 4. secrets and escapes echoed in error messages -----------------------------------------

@pytest.mark.parametrize("output", ["default", "verbose-json"])
@pytest.mark.parametrize("op", ["push-basic", "pull-token"])
def test_error_messages_never_print_secrets_or_escapes(floe_run, fakes, tmp_path, op, output):
    extra = ["-v", "--progress", "json"] if output == "verbose-json" else []
    if op == "push-basic":
        reg = registry(fakes, "basic")
        reg.signed_locations = True
        reg.echo_errors = {"upload_put": 400}
        src = tmp_path / "src" / "notes.txt"
        src.parent.mkdir()
        src.write_text("notes\n")
        box = Sandbox(tmp_path)
        res = floe_run(*extra, "artifact", "push", ref(reg, "dev"), src, env=creds("basic"))
    else:
        reg = registry(fakes, "static-token")
        reg.add_artifact(REPO, "v1", [(b"data\n", FILE_TYPE, {TITLE: "data.txt"})])
        reg.echo_errors = {"blob_get": 500}  # retried, then reported
        box = Sandbox(tmp_path)
        res = floe_run(*extra, "artifact", "pull", ref(reg, "v1"), "-o", box.out,
                       env=creds("static-token"))

    secrets = all_secrets(reg)
    problems = []
    if output == "default":
        problems += one_error_line(res, EXIT_OTHER)
    elif res.returncode != EXIT_OTHER:
        problems.append(f"want exit {EXIT_OTHER}: {res.facts()}")
    problems += output_problems("stderr", res.stderr, secrets)
    problems += output_problems("stdout", res.stdout, secrets)
    problems += box.problems()
    step = "upload_put" if op == "push-basic" else "blob_get"
    if reg.count(step) == 0:
        problems.append(f"floe never reached the {step} step: the test proves nothing")
    check(problems, res)


# -- 5. escape sequences in annotations, titles and file names ---------------------------------

HOSTILE_ANNOTATIONS = {
    "org.opencontainers.image.description": "fine" + TERMINAL_ESCAPES,
    "org.example.key\x1b[8m": "bell\x07back\x08\x08del\x7f",
    "org.example.c1": "csi\u009b31mred",
}


@pytest.mark.parametrize("case", ["inspect-text", "inspect-json", "pull-title", "push-filename"])
def test_control_characters_from_the_registry_are_never_printed_raw(floe_run, fakes, tmp_path,
                                                                    case):
    reg = fakes()
    problems = []
    if case.startswith("inspect"):
        reg.add_artifact(REPO, "v1", [
            (b"one\n", FILE_TYPE, {TITLE: "report\x1b]0;pwned\x07.txt",
                                   "org.example.note": "\x1b[31mred\x1b[0m"}),
            (b"two\n", FILE_TYPE, {TITLE: "ok.txt"})],
            annotations=HOSTILE_ANNOTATIONS, artifact_type="application/vnd.evil\x1b[2J")
        args = ["--json"] if case == "inspect-json" else []
        res = floe_run("artifact", "inspect", ref(reg, "v1"), *args)
        if res.returncode != 0:
            problems.append(f"want exit 0: {res.facts()}")
        if case == "inspect-json" and res.returncode == 0:
            try:
                json.loads(res.stdout)
            except ValueError as e:
                problems.append(f"--json output is not JSON: {e}")
    elif case == "pull-title":
        reg.add_artifact(REPO, "v1", [
            (b"good\n", FILE_TYPE, {TITLE: "good.txt"}),
            (b"evil\n", FILE_TYPE, {TITLE: "evil\x1b]0;pwned\x07.txt"})])
        box = Sandbox(tmp_path)
        res = floe_run("artifact", "pull", ref(reg, "v1"), "-o", box.out)
        problems += one_error_line(res, EXIT_VERIFY)
        problems += box.problems()
        if reg.count("blob_get"):
            problems.append(f"{reg.count('blob_get')} blob(s) fetched for an artifact whose "
                            f"names are refused")
    else:
        src = tmp_path / "src"
        src.mkdir()
        bad = src / "bad\x1bname.txt"
        bad.write_text("x\n")
        res = floe_run("artifact", "push", ref(reg, "dev"), bad)
        problems += one_error_line(res, EXIT_INVALID)
        if reg.requests:
            problems.append(f"requests were sent before the name was refused: {reg.requests}")
    problems += output_problems("stdout", res.stdout, [])
    problems += output_problems("stderr", res.stderr, [])
    check(problems, res)


# -- 6. lies: sizes and digests ----------------------------------------------------------------

@pytest.mark.parametrize("lie", ["content-length", "manifest-digest", "huge-size"])
def test_lying_registry_is_a_verification_failure(floe_run, fakes, tmp_path, lie):
    reg = fakes()
    box = Sandbox(tmp_path)
    payload = os.urandom(256 * KiB)
    sizes = None
    if lie == "content-length":
        reg.extra_body_bytes = 64 * KiB  # Content-Length and body both longer than the blob
    elif lie == "manifest-digest":
        reg.lie_manifest_digest = True
    else:
        sizes = [None, 2 ** 50]  # the second layer claims a petabyte; it holds 256 KiB
    reg.add_artifact(REPO, "v1", [(b"small\n", FILE_TYPE, {TITLE: "small.txt"}),
                                  (payload, FILE_TYPE, {TITLE: "big.bin"})], layer_sizes=sizes)

    res = floe_run("artifact", "pull", ref(reg, "v1"), "-o", box.out, rss=True)

    problems = one_error_line(res, EXIT_VERIFY)
    problems += box.problems()
    if lie == "huge-size":
        if res.rss_mb is None or res.rss_mb >= 200:
            problems.append(f"peak RSS {res.rss_mb} MB (bound 200 MB)")
        if box.out.exists():
            used = du(box.out)
            if used > 50 * MiB:
                problems.append(f"{used} bytes on disk under {box.out} after the failure")
    if res.elapsed > 30:
        problems.append(f"took {res.elapsed:.1f} s")
    check(problems, res)


def du(path):
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for n in dirnames + filenames:
            try:
                total += os.lstat(os.path.join(dirpath, n)).st_blocks * 512
            except OSError:
                pass
    return total


# -- 7. hostile manifests ----------------------------------------------------------------------

@pytest.mark.parametrize("case", ["title-dotdot-to-victim", "title-absolute-victim",
                                  "index-nested-20-deep", "index-contains-itself"])
def test_hostile_manifests_fail_fast_and_bounded(floe_run, fakes, tmp_path, case):
    reg = fakes()
    box = Sandbox(tmp_path)  # the copies go to tmp_path/mirror: only the titles pull
    problems = []
    if case.startswith("title"):
        title = ("../victim/precious.txt" if case == "title-dotdot-to-victim"
                 else str(box.victim / "precious.txt"))
        reg.add_artifact(REPO, "v1", [(b"fine\n", FILE_TYPE, {TITLE: "fine.txt"}),
                                      (b"pwned\n", FILE_TYPE, {TITLE: title})])
        res = floe_run("artifact", "pull", ref(reg, "v1"), "-o", box.out)
        problems += one_error_line(res, EXIT_VERIFY)
        problems += box.problems()
    else:
        if case == "index-nested-20-deep":
            reg.add_nested_index(REPO, "deep", 20, [(b"leaf\n", FILE_TYPE, {TITLE: "leaf.txt"})])
            tag, want, words = "deep", (EXIT_OTHER,), ("nest",)
        else:
            reg.add_self_referencing_index(REPO, "loop")
            # exit 1 for the loop, or 5 when the lie about the digest is caught first
            tag, want, words = "loop", (EXIT_OTHER, EXIT_VERIFY), ()
        res = floe_run("artifact", "copy", ref(reg, tag), f"ocidir://{tmp_path / 'mirror'}")
        problems += one_error_line(res, res.returncode if res.returncode in want else want[0],
                                   *words)
    requests = len(reg.requests)
    if requests > 60:
        problems.append(f"{requests} requests to the registry for one small artifact: "
                        f"{reg.steps()[:80]}")
    if res.elapsed > 10:
        problems.append(f"took {res.elapsed:.1f} s (bound 10 s)")
    print(f"measured: {requests} requests, {res.elapsed:.2f} s")
    check(problems, res)


# -- 8. hostile tar layers ---------------------------------------------------------------------

def chain_entries(with_file):
    # "s" -> "." and "a" -> "s/s/s/../../..": each lexically inside, together three levels up.
    entries = [("s", ("link", ".")), ("a", ("link", "s/s/s/../../.."))]
    if with_file:
        entries.append(("a/escape.txt", b"escaped through a symlink chain\n"))
    return entries


@pytest.mark.parametrize("case", ["symlink-chain", "two-layer-chain", "hardlink-outside",
                                  "char-device"])
def test_hostile_tar_layers_are_refused_and_leave_everything_as_it_was(floe_run, fakes, tmp_path,
                                                                       case):
    reg = fakes()
    box = Sandbox(tmp_path, existing_out=True)
    unpack = {TITLE: "pkg", UNPACK: "true"}
    good = (b"fine\n", FILE_TYPE, {TITLE: "good.txt"})
    words = ()
    if case == "symlink-chain":
        layers = [good, (make_tgz([("ok.txt", b"ok\n"), *chain_entries(True)]), TGZ, unpack)]
    elif case == "two-layer-chain":
        layers = [(make_tgz([("ok.txt", b"ok\n"), *chain_entries(False)]), TGZ, unpack),
                  (b"escaped through a title\n", FILE_TYPE, {TITLE: "pkg/a/escape.txt"})]
    elif case == "hardlink-outside":
        # a hard link to the victim's file that carries data: extracting it would rewrite it
        link = tarfile.TarInfo("h")
        link.type, link.linkname = tarfile.LNKTYPE, str(box.victim / "precious.txt")
        data = b"PWNED through a hard link\n"
        link.size = len(data)
        ok_info = tarfile.TarInfo("ok.txt")
        ok_info.size = 3
        layers = [good, (tgz_infos([(ok_info, b"ok\n"), (link, data)]), TGZ, unpack)]
        words = ("hard link",)
    else:
        dev = tarfile.TarInfo("null")
        dev.type, dev.devmajor, dev.devminor, dev.mode = tarfile.CHRTYPE, 1, 3, 0o666
        ok_info = tarfile.TarInfo("ok.txt")
        ok_info.size = 3
        layers = [good, (tgz_infos([(ok_info, b"ok\n"), (dev, None)]), TGZ, unpack)]
    reg.add_artifact(REPO, "v1", layers)

    res = floe_run("artifact", "pull", ref(reg, "v1"), "-o", box.out)

    problems = one_error_line(res, EXIT_VERIFY, *words)
    problems += box.problems()
    for p in (box.root / "escape.txt", box.root.parent / "escape.txt",
              box.root.parent.parent / "escape.txt", box.out / "escape.txt"):
        if os.path.lexists(p):
            problems.append(f"{p} was written")
    check(problems, res)


# -- 9. decompression bomb ---------------------------------------------------------------------

def test_write_bomb_makes_a_valid_gzip_tar(tmp_path):
    """Control for the bomb builder: a small one is a valid gzip tar of the claimed size."""
    path = write_bomb(tmp_path / "small.tgz", unpacked=8 * MiB, chunk=1 * MiB)
    with tarfile.open(path, "r:gz") as tar:
        [member] = tar.getmembers()
        assert member.name == "zeros.bin" and member.size == 8 * MiB
        assert tar.extractfile(member).read() == bytes(8 * MiB)


@pytest.fixture(scope="session")
def bomb(tmp_path_factory):
    path = write_bomb(tmp_path_factory.mktemp("bomb") / "bomb.tgz")
    return path.read_bytes()


@pytest.mark.parametrize("limit", [None, "1G"], ids=["default-limit", "max-unpacked-size-1G"])
def test_decompression_bomb_is_refused_quickly_and_leaves_nothing(floe_run, floe, fakes,
                                                                 tmp_path, bomb, limit):
    assert 9 * MiB < len(bomb) < 12 * MiB
    reg = fakes()
    reg.add_artifact(REPO, "v1", [(bomb, TGZ, {TITLE: "pkg", UNPACK: "true"})])
    box = Sandbox(tmp_path)
    args = ["artifact", "pull", ref(reg, "v1"), "-o", box.out]
    if limit:
        flag = ["--max-unpacked-size", limit]
        args = flag + args if flag_position(floe, "--max-unpacked-size") == "global" \
            else args + flag

    # RLIMIT_FSIZE: a floe without a limit is stopped at 2 GiB rather than filling the disk.
    res = floe_run(*args, timeout=90, fsize=2 * GiB)

    problems = one_error_line(res, EXIT_VERIFY, "unpack", "limit", "--max-unpacked-size")
    if res.returncode is not None and res.returncode < 0:
        problems.append(f"floe was killed by signal {-res.returncode} (SIGXFSZ = 25: it wrote a "
                        f"file of 2 GiB, the test's cap)")
    if res.elapsed > 60:
        problems.append(f"took {res.elapsed:.1f} s (bound 60 s)")
    problems += box.problems()
    used = du(box.out) if box.out.exists() else 0
    if used > 50 * MiB:
        problems.append(f"{used / MiB:.0f} MiB left on disk under {box.out}")
    check(problems, res)


# -- 10. trickling server ----------------------------------------------------------------------

SLOW_WORDS = re.compile(r"slow|speed|rate|bytes/s|B/s", re.I)


def test_trickling_server_is_cut_off_by_the_minimum_rate(floe_run, floe, fakes, tmp_path):
    reg = fakes()
    reg.trickle_blobs = True  # headers at once, then one byte per second
    reg.add_artifact(REPO, "v1", [(os.urandom(1 * MiB), FILE_TYPE, {TITLE: "slow.bin"})])
    flags = ["--speed-time", "3", "--speed-limit", "1024"]
    where = flag_position(floe, "--speed-time")
    args = ["artifact", "pull", ref(reg, "v1"), "-o"]
    with_flags = (flags + args if where == "global" else args[:3] + flags + args[3:])
    results = {}

    def run(name, argv, guard):
        results[name] = floe_run(*argv, tmp_path / name, timeout=guard)

    threads = [threading.Thread(target=run, args=("flags", with_flags, 45)),
               threading.Thread(target=run, args=("default", args, 60))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flagged, default = results["flags"], results["default"]

    problems = one_error_line(flagged, EXIT_NETWORK)
    if flagged.returncode == EXIT_NETWORK and not SLOW_WORDS.search(flagged.stderr):
        problems.append(f"the error does not say the transfer was too slow: {flagged.stderr!r}")
    if flagged.elapsed > 30:
        problems.append(f"with --speed-time 3 --speed-limit 1024 it took {flagged.elapsed:.1f} s "
                        f"(bound 30 s)")
    if default.returncode is None:
        print(f"observed: without the flags floe was still running after {default.elapsed:.0f} s "
              f"(not asserted: the default rule may take longer than 60 s)")
    else:
        print(f"observed: without the flags floe ended with {default.ended} after "
              f"{default.elapsed:.1f} s")
        problems += [f"default rule: {p}" for p in one_error_line(default, EXIT_NETWORK)]
    for name in ("flags", "default"):
        out = tmp_path / name
        if out.exists() and visible(snap(out)):
            problems.append(f"{out} holds {sorted(visible(snap(out)))} after the failure")
    check(problems, flagged)


# -- 11. 429 / 503 with Retry-After on every step -------------------------------------------------

PUSH_STEPS = ["upload_post", "upload_patch", "upload_put", "manifest_put"]
PULL_STEPS = ["blob_get", "manifest_head"]


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("step", PUSH_STEPS + PULL_STEPS)
def test_busy_answers_with_retry_after_are_waited_out(floe_run, fakes, tmp_path, step, status):
    reg = registry(fakes, "basic")
    src = tmp_path / "src"
    write_tree(src, {"big.bin": os.urandom(2 * MiB + 300 * KiB), "small.txt": "small\n"})
    if step in PUSH_STEPS:
        reg.busy = {step: (status, 1)}
    # PATCH only happens in chunked uploads; the others use the monolithic PUT with a body.
    chunk = ["--chunk-size", "1M"] if step == "upload_patch" else []
    pushed = floe_run(*chunk, "artifact", "push", ref(reg, "dev"), src / "big.bin",
                      src / "small.txt", env=creds("basic"))
    if step in PULL_STEPS:
        reg.busy = {step: (status, 1)}
    box = Sandbox(tmp_path)
    pulled = floe_run("artifact", "pull", ref(reg, "dev"), "-o", box.out, env=creds("basic"))

    problems = []
    if pushed.returncode != 0:
        problems.append(f"push: want exit 0, got {pushed.facts()}")
    if pulled.returncode != 0:
        problems.append(f"pull: want exit 0, got {pulled.facts()}")
    else:
        for name in ("big.bin", "small.txt"):
            if (box.out / name).read_bytes() != (src / name).read_bytes():
                problems.append(f"{name} pulled back differs from the file pushed")
    if reg.busy_hits.get(step) != 1:
        problems.append(f"the busy answer on {step} fired {reg.busy_hits.get(step, 0)} times: "
                        f"the test proves nothing ({reg.steps()})")
    problems += box.problems(failed=False)
    check(problems)


# -- 12. a token that expires in the middle of an upload ---------------------------------------------

@pytest.mark.parametrize("mode", ["chunked", "streamed"])
def test_token_expiring_mid_upload_is_renewed_and_the_upload_goes_on(floe_run, fakes, tmp_path,
                                                                     mode):
    reg = registry(fakes, "bearer")
    src = tmp_path / "src" / "data.bin"
    src.parent.mkdir()
    if mode == "chunked":  # PATCHes of 1 MiB; the token expires once 2 MiB are held
        size, args, reg.token_expire_after_bytes = 4 * MiB, ["--chunk-size", "1M"], 2 * MiB
    else:  # files over 16 MiB go up hashed on the way: one PATCH with the whole body
        size, args, reg.token_expire_after_bytes = 20 * MiB, [], 0
    data = os.urandom(size)
    src.write_bytes(data)

    res = floe_run(*args, "artifact", "push", ref(reg, "dev"), src, env=creds("bearer"))

    problems = []
    if res.returncode != 0:
        problems.append(f"want exit 0: {res.facts()}")
    if "upload source ended" in res.stderr:
        problems.append("floe replayed a consumed upload body ('upload source ended')")
    if reg.expired_at is None:
        problems.append(f"the token never expired: the test proves nothing ({reg.steps()})")
    else:
        received = reg.store.upload_bytes
        bound = size + (size - reg.expired_at) + 4 * KiB  # + the 2-byte config blob
        print(f"measured: {received} upload bytes received for a {size}-byte blob; the token "
              f"expired with {reg.expired_at} bytes held; {reg.count('token')} token fetches")
        if res.returncode == 0 and received > bound:
            problems.append(f"the registry received {received} upload bytes for a {size}-byte "
                            f"blob whose session held {reg.expired_at} when the token expired "
                            f"(bound {bound}): the upload started over")
        if reg.count("token") < 2 and res.returncode == 0:
            problems.append("no fresh token was fetched after the expiry")
    if res.returncode == 0 and reg.store.blobs.get(digest_of(data)) != data:
        problems.append("the blob the registry stored is not the file")
    check(problems, res)
