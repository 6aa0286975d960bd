"""Attacks on floe's credential code (issue 8): hostile registries, token services, credential
helpers, Kubernetes and cloud endpoints, and hostile local files.

Each test passes when floe behaves safely and fails when it does not: a credential reaching a
host it does not belong to, a secret in floe's output (with -v too), a hang or a crash, or a
credential file written where or how it should not be. The first run found three (header
injection through a token or a registrytoken, a forged line in `auth which`, the ECR cache
written through a planted symlink); their tests stay here as regressions.

Non-loopback hosts: floe treats 127.x.y.z, localhost and ::1 as this machine (plain http allowed
there by design), so attacks that need "another host over plain http" bind a fake to this
machine's own non-loopback address (NON_LOOPBACK below); they are skipped when there is none.
"""
import base64
import hashlib
import json
import os
import shutil
import socket
import ssl
import stat
import subprocess
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from floe_testlib import repo_for
from hostile_registry import HostileRegistry, RawListener, basic_header
from registry import make_ca_and_server_cert

USER, PASSWORD = "attacked-user", "Pw-never-leaves-127-0-0-1-x9Q"
BASIC = basic_header(USER, PASSWORD).split(" ", 1)[1]
NO_ENV = {"FLOE_REGISTRY_USERNAME": None, "FLOE_REGISTRY_PASSWORD": None,
          "FLOE_REGISTRY_TOKEN": None}
CREDS = {"FLOE_REGISTRY_USERNAME": USER, "FLOE_REGISTRY_PASSWORD": PASSWORD}
ESC = "\x1b"


def _non_loopback_address():
    """An address of this machine that is not loopback (floe must treat it as a foreign host)."""
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
        addr = s.getsockname()[0]
        s.close()
    except OSError:
        return None
    if addr.startswith("127.") or addr == "0.0.0.0":
        return None
    try:
        probe = socket.socket()
        probe.bind((addr, 0))
        probe.close()
    except OSError:
        return None
    return addr


NON_LOOPBACK = _non_loopback_address()
needs_non_loopback = pytest.mark.skipif(NON_LOOPBACK is None,
                                        reason="no non-loopback address to bind a fake to")


# -- a tiny programmable HTTP(S) fake ---------------------------------------------------------

class Fake:
    """An HTTP server whose answers come from `answer(req) -> (status, headers, body)`; records
    every request as a dict (method, path, headers {lowercase name: value}, body)."""

    def __init__(self, answer, host="127.0.0.1", tls=None):
        self.answer = answer
        self.requests = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                req = {"method": self.command, "path": self.path, "body": body,
                       "headers": {k.lower(): v for k, v in self.headers.items()},
                       "raw_headers": self.headers.items()}
                with fake.lock:
                    fake.requests.append(req)
                status, headers, data = fake.answer(req)
                if isinstance(data, str):
                    data = data.encode()
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    try:
                        self.wfile.write(data)
                    except OSError:
                        pass

            do_GET = do_POST = do_PUT = do_HEAD = do_PATCH = do_DELETE = _any

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        port = self.server.server_address[1]
        self.host = f"{host}:{port}"
        self.url = f"{'https' if tls else 'http'}://{self.host}"
        self.valid_tokens = set()  # so that a HostileRegistry may name this fake as its realm
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def authorizations(self):
        with self.lock:
            return [r["headers"].get("authorization") for r in self.requests]


@pytest.fixture
def servers():
    started = []

    def make(kind, *a, **kw):
        obj = kind(*a, **kw)
        if hasattr(obj, "start") and not isinstance(obj, Fake):
            obj = obj.start() or obj
        started.append(obj)
        return obj

    yield make
    for s in reversed(started):
        s.stop()


def wire_text(fake_or_reg):
    """Everything a fake received, as text (headers and bodies), to search for secrets."""
    out = []
    if isinstance(fake_or_reg, Fake):
        for r in fake_or_reg.requests:
            out.append(r["method"] + " " + r["path"])
            out.extend(f"{k}: {v}" for k, v in r["raw_headers"])
            out.append(r["body"].decode("latin-1"))
    elif isinstance(fake_or_reg, RawListener):
        out.append(bytes(fake_or_reg.received).decode("latin-1"))
    else:
        for r in fake_or_reg.snapshot_requests():
            out.append(r.method + " " + r.target)
            out.extend(f"{k}: {v}" for k, v in r.headers)
            out.append((r.body or b"").decode("latin-1"))
    return "\n".join(out)


def assert_not_leaked(text, *secrets):
    for s in secrets:
        if s:
            assert s not in text, f"secret {s[:12]!r}... leaked"


def assert_clean_exit(proc):
    """floe ended by itself with one of its exit codes: no signal, no 'unexpected error'."""
    assert proc.returncode >= 0, f"floe was killed by signal {-proc.returncode}: {proc.stderr}"
    assert proc.returncode in (0, 1, 3, 4, 5, 6, 7, 8, 9), (proc.returncode, proc.stderr)
    assert "unexpected error" not in proc.stderr, proc.stderr


def output(proc):
    return proc.stdout + proc.stderr


def write_config(home, doc):
    d = home / ".docker"
    d.mkdir(parents=True, exist_ok=True)
    p = d / "config.json"
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return p


def which(run_floe, registry, *flags, env=None, timeout=60):
    proc = run_floe(*flags, "auth", "which", registry, "--json", env={**NO_ENV, **(env or {})},
                    timeout=timeout)
    return proc


def which_json(run_floe, registry, *flags, env=None):
    proc = which(run_floe, registry, *flags, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc


def bearer_registry(servers, realm):
    """A 127.0.0.1 registry whose Bearer challenge names `realm` and that accepts the
    static token "good-token" (what the realm fakes below hand out)."""
    reg = servers(HostileRegistry, "127.0.0.1", auth="bearer", static_token="good-token")
    reg.realm_server = realm
    reg.add_artifact("team/app", "1.0", [(b"hello\n", "text/plain", {
        "org.opencontainers.image.title": "hello.txt"})])
    return reg


def token_answer(req):
    return 200, {"Content-Type": "application/json"}, json.dumps(
        {"token": "good-token", "expires_in": 300})


# == a registry names a token realm on another host ==========================================

@needs_non_loopback
def test_plain_http_realm_on_a_foreign_host_is_asked_anonymously(run_floe, servers, tmp_path):
    realm = servers(Fake, token_answer, host=NON_LOOPBACK)
    reg = bearer_registry(servers, realm)
    proc = run_floe("-v", "artifact", "pull", f"{reg.host}/team/app:1.0", "-o", tmp_path / "o",
                    env=CREDS)
    assert realm.requests, "the realm was never asked (test set-up)"
    assert all(a is None for a in realm.authorizations()), realm.authorizations()
    assert_not_leaked(wire_text(realm), PASSWORD, BASIC)
    assert_not_leaked(output(proc), PASSWORD, BASIC)


def test_token_service_redirect_to_another_host_drops_the_password(run_floe, servers, tmp_path):
    # The registry's own realm (same host) answers 307 to a token service on 127.0.0.2.
    elsewhere = servers(Fake, token_answer, host="127.0.0.2")
    realm = servers(Fake, lambda req: (307, {"Location": elsewhere.url + req["path"]}, b""))
    reg = bearer_registry(servers, realm)
    proc = run_floe("-v", "artifact", "pull", f"{reg.host}/team/app:1.0", "-o", tmp_path / "o",
                    env=CREDS)
    assert realm.requests and realm.authorizations()[0] == basic_header(USER, PASSWORD)
    assert elsewhere.requests, proc.stderr
    assert all(a is None for a in elsewhere.authorizations()), elsewhere.authorizations()
    assert_not_leaked(wire_text(elsewhere), PASSWORD, BASIC)


def test_token_service_redirect_to_plain_http_is_not_followed(run_floe, servers, tmp_path):
    ca_dir = tmp_path / "ca"
    ca_dir.mkdir()
    ca, cert, key = make_ca_and_server_cert(str(ca_dir))
    plain = servers(Fake, token_answer, host="127.0.0.2")
    realm = servers(Fake, lambda req: (307, {"Location": plain.url + req["path"]}, b""),
                    tls=(cert, key))
    reg = bearer_registry(servers, realm)
    proc = run_floe("artifact", "pull", f"{reg.host}/team/app:1.0", "-o", tmp_path / "o",
                    env={**CREDS, "FLOE_CA_FILE": ca})
    assert_clean_exit(proc)
    assert_not_leaked(wire_text(plain), PASSWORD, BASIC)


# == hostile token answers =====================================================================

ECHO = f"you sent Basic {BASIC} password={PASSWORD}"


@pytest.mark.parametrize("status,headers,body", [
    (401, {"WWW-Authenticate": f'Basic realm="{ECHO}"'}, ECHO),
    (403, {"X-Echo": ECHO}, json.dumps({"errors": [{"code": "DENIED", "message": ECHO}]})),
    (500, {}, json.dumps({"error": ECHO, "details": ECHO})),
    (200, {}, "not json " + ECHO),
    (200, {}, json.dumps({"token": "", "access_token": "", "error": ECHO})),
    (302, {"Location": f"http://127.0.0.3:1/{PASSWORD}?auth={BASIC}"}, ECHO),
], ids=["401", "403", "500", "not-json", "no-token", "redirect-with-secret"])
def test_token_service_that_echoes_the_credentials_is_not_printed(run_floe, servers, tmp_path,
                                                                  status, headers, body):
    realm = servers(Fake, lambda req: (status, headers, body))
    reg = bearer_registry(servers, realm)
    proc = run_floe("-v", "artifact", "pull", f"{reg.host}/team/app:1.0", "-o", tmp_path / "o",
                    env=CREDS)
    assert proc.returncode != 0
    assert_clean_exit(proc)
    assert_not_leaked(output(proc), PASSWORD, BASIC)
    assert ESC not in output(proc)


def test_registry_challenge_that_echoes_the_authorization_is_not_printed(run_floe, servers,
                                                                         tmp_path):
    def answer(req):
        got = req["headers"].get("authorization", "none")
        return 401, {"WWW-Authenticate": f'Basic realm="you sent {got}"',
                     "Content-Type": "application/json"}, json.dumps(
            {"errors": [{"code": "UNAUTHORIZED", "message": f"{got} {ESC}[31m"}]})

    reg = servers(Fake, answer)
    proc = run_floe("-v", "artifact", "pull", f"{reg.host}/team/app:1.0", "-o", tmp_path / "o",
                    env=CREDS)
    assert proc.returncode == 4, proc.stderr
    assert any(a for a in reg.authorizations()), "floe never answered the challenge (set-up)"
    assert_not_leaked(output(proc), PASSWORD, BASIC)
    assert ESC not in output(proc)


@pytest.mark.parametrize("token", [
    "tok\r\nX-Injected: yes",
    "tok\nX-Injected: yes",
    "tok\x00X-Injected",
    "tok\x1b[2J",
], ids=["crlf", "lf", "nul", "escape"])
def test_token_with_control_characters_cannot_inject_headers(run_floe, servers, tmp_path, token):
    realm = servers(Fake, lambda req: (200, {}, json.dumps({"token": token})))
    reg = bearer_registry(servers, realm)
    proc = run_floe("-v", "artifact", "pull", f"{reg.host}/team/app:1.0", "-o", tmp_path / "o",
                    env=CREDS, timeout=60)
    assert_clean_exit(proc)
    for r in reg.snapshot_requests():
        names = [k.lower() for k, _ in r.headers]
        assert "x-injected" not in names, r.headers
    assert ESC not in output(proc)
    assert "X-Injected" not in output(proc) or "\r" not in output(proc)


@pytest.mark.parametrize("body", [
    json.dumps({"token": "t" * (20 << 20)}),
    "[" * 200000 + "]" * 200000,
    json.dumps({"token": "good-token", "expires_in": -5}),
    json.dumps({"token": "good-token", "expires_in": 2 ** 70}),
    json.dumps({"token": "good-token", "expires_in": "soon"}),
    json.dumps({"token": ["x"]}),
], ids=["20MiB-token", "deep-nesting", "negative-expiry", "huge-expiry", "string-expiry",
        "token-not-a-string"])
def test_malformed_token_answers_end_cleanly(run_floe, servers, tmp_path, body):
    realm = servers(Fake, lambda req: (200, {"Content-Type": "application/json"}, body))
    reg = bearer_registry(servers, realm)
    started = time.monotonic()
    proc = run_floe("artifact", "pull", f"{reg.host}/team/app:1.0", "-o", tmp_path / "o",
                    env=CREDS, timeout=60)
    assert time.monotonic() - started < 30
    assert_clean_exit(proc)
    assert len(proc.stderr) < 4096, proc.stderr[:500]


# == a 401 from somewhere that is not the registry ===========================================

def test_foreign_401_behind_a_blob_redirect_gets_no_credentials(run_floe, servers, tmp_path):
    reg = servers(HostileRegistry, "127.0.0.1", auth="basic", username=USER, password=PASSWORD)
    reg.add_artifact("team/app", "1.0", [(b"x" * 1000, "text/plain", {
        "org.opencontainers.image.title": "x.txt"})])
    cdn = servers(Fake, lambda req: (401, {"WWW-Authenticate": 'Basic realm="cdn"'}, b"no"),
                  host="127.0.0.2")
    reg.redirect_blobs = cdn.url
    proc = run_floe("artifact", "pull", f"{reg.host}/team/app:1.0", "-o", tmp_path / "o",
                    env=CREDS)
    assert proc.returncode != 0
    assert cdn.requests, "the redirect was not followed (set-up)"
    assert all(a is None for a in cdn.authorizations()), cdn.authorizations()


# == credential helpers ==========================================================================

def helper_dir(tmp_path, name, script, subdir="bin"):
    d = tmp_path / subdir
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"docker-credential-{name}"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("#!/bin/sh\n" + textwrap.dedent(script))
    p.chmod(0o755)
    return d


@pytest.mark.parametrize("name", ["sub/evil", "../evilbin/evil", "x/../../evilbin/evil"])
def test_helper_name_with_path_separators_is_never_run(run_floe, tmp_path, name):
    marker = tmp_path / "ran"
    bindir = tmp_path / "bin"
    (bindir / "docker-credential-sub").mkdir(parents=True)
    (bindir / "docker-credential-..").mkdir(parents=True)
    (bindir / "docker-credential-x").mkdir(parents=True)
    evil = f"#!/bin/sh\necho ran > {marker}\necho '{{\"Username\":\"u\",\"Secret\":\"s\"}}'\n"
    for p in (bindir / "docker-credential-sub" / "evil", tmp_path / "evilbin" / "evil"):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(evil)
        p.chmod(0o755)
    home = tmp_path / "home"
    for doc in ({"credHelpers": {"127.0.0.1:5999": name}}, {"credsStore": name}):
        write_config(home, doc)
        proc = which(run_floe, "127.0.0.1:5999",
                     env={"PATH": f"{bindir}:/usr/bin:/bin"})
        assert_clean_exit(proc)
        assert not marker.exists(), f"helper name {name!r} ran a program outside PATH"


def test_helper_is_never_taken_from_a_relative_path_entry(run_floe, tmp_path):
    marker = tmp_path / "ran"
    cwd = tmp_path / "work"
    helper_dir(tmp_path, "evilrel", f"echo ran > {marker}\n"
               "echo '{\"Username\":\"u\",\"Secret\":\"s\"}'\n", subdir="work")
    write_config(tmp_path / "home", {"credsStore": "evilrel"})
    for path in (f".:/usr/bin:/bin", f"/usr/bin::/bin", "work:/usr/bin:/bin"):
        proc = run_floe("auth", "which", "127.0.0.1:5999", "--json",
                        env={**NO_ENV, "PATH": path},
                        cwd=cwd if "work:" not in path else tmp_path)
        assert_clean_exit(proc)
        assert not marker.exists(), f"PATH={path!r}: a helper was run from a relative entry"


HELPER_SECRET = "helper-secret-Zq81-never-printed"


@pytest.mark.parametrize("script,expect_warning", [
    # megabytes of output, then exit 0
    ("head -c 30000000 /dev/zero | tr '\\0' 'a'\n", True),
    # a valid answer followed by megabytes of junk
    (f"printf '{{\"Username\":\"u\",\"Secret\":\"{HELPER_SECRET}\"}}'\n"
     "head -c 5000000 /dev/zero\n", True),
    # the secret on stderr and stdout, then a failure
    (f"echo 'oops {HELPER_SECRET}' >&2\necho 'secret={HELPER_SECRET}'\nexit 1\n", True),
    # a secret in a not-found answer
    (f"echo 'credentials not found in native keychain {HELPER_SECRET}' >&2\nexit 1\n", False),
    # answer JSON that is deeply nested
    ("python3 -c \"print('['*100000 + ']'*100000)\"\n", True),
    # killed by a signal
    ("kill -9 $$\n", True),
], ids=["flood", "answer-then-flood", "secret-on-stderr", "not-found-with-secret",
        "deep-json", "killed"])
def test_misbehaving_helper_warns_without_printing_its_output(run_floe, tmp_path, script,
                                                               expect_warning):
    bindir = helper_dir(tmp_path, "hostile", script)
    write_config(tmp_path / "home", {"credsStore": "hostile"})
    started = time.monotonic()
    proc = run_floe("-v", "auth", "which", "127.0.0.1:5999", "--json",
                    env={**NO_ENV, "PATH": f"{bindir}:/usr/bin:/bin"}, timeout=60)
    assert time.monotonic() - started < 20
    assert_clean_exit(proc)
    assert_not_leaked(output(proc), HELPER_SECRET)
    assert len(proc.stderr) < 4096
    if expect_warning:
        assert "docker-credential-hostile" in proc.stderr, proc.stderr


def test_helper_whose_grandchild_keeps_the_pipe_open_does_not_hang(run_floe, tmp_path):
    pidfile = tmp_path / "grandchild.pid"
    # The helper answers, exits, and leaves a grandchild holding stdout and stderr open.
    bindir = helper_dir(tmp_path, "forker", f"""\
        (sleep 300 & echo $! > {pidfile}; wait) &
        echo '{{"Username":"u","Secret":"{HELPER_SECRET}"}}'
        exit 0
        """)
    write_config(tmp_path / "home", {"credsStore": "forker"})
    try:
        started = time.monotonic()
        proc = run_floe("auth", "which", "127.0.0.1:5999", "--json",
                        env={**NO_ENV, "PATH": f"{bindir}:/usr/bin:/bin"}, timeout=60)
        elapsed = time.monotonic() - started
    finally:
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text()), 9)
            except (ProcessLookupError, ValueError):
                pass
    assert_clean_exit(proc)
    assert elapsed < 20, elapsed
    assert_not_leaked(output(proc), HELPER_SECRET)


def test_helper_username_with_terminal_escapes_is_shown_inert(run_floe, tmp_path):
    user = f"evil{ESC}]0;pwned\x07{ESC}[2J\r\nsource    injected"
    bindir = helper_dir(tmp_path, "escapes",
                        "cat > /dev/null\n"
                        f"printf '%s' '{json.dumps({'Username': user, 'Secret': HELPER_SECRET})}'\n")
    write_config(tmp_path / "home", {"credsStore": "escapes"})
    env = {**NO_ENV, "PATH": f"{bindir}:/usr/bin:/bin"}
    text = run_floe("auth", "which", "127.0.0.1:5999", env=env)
    js = run_floe("auth", "which", "127.0.0.1:5999", "--json", env=env)
    for proc in (text, js):
        assert proc.returncode == 0, proc.stderr
        assert ESC not in output(proc) and "\x07" not in output(proc)
        assert_not_leaked(output(proc), HELPER_SECRET)
    assert "\nsource    injected" not in text.stdout
    assert json.loads(js.stdout)["kind"] == "basic"


# == hostile config.json =========================================================================

def _fifo(p):
    os.mkfifo(p)


def _dev_zero(p):
    os.symlink("/dev/zero", p)


def _huge(p):
    with open(p, "w") as f:
        f.write('{"auths": {"x": {"auth": "' + "A" * (20 << 20) + '"}}}')


def _deep(p):
    p.write_text('{"auths": ' + "[" * 500000 + "]" * 500000 + "}")


def _deep_objects(p):
    p.write_text('{"x": ' + '{"a": ' * 100000 + "1" + "}" * 100000 + "}")


def _dir(p):
    p.mkdir()


def _dangling(p):
    os.symlink("/nonexistent/floe/config.json", p)


def _loop(p):
    os.symlink(p, p)


def _binary(p):
    p.write_bytes(b"\xff\xfe\x00{\x1b[2J" + os.urandom(256))


@pytest.mark.parametrize("make", [_fifo, _dev_zero, _huge, _deep, _deep_objects, _dir,
                                  _dangling, _loop, _binary],
                         ids=["fifo", "dev-zero", "20MiB", "deep-arrays", "deep-objects",
                              "directory", "dangling-symlink", "symlink-loop", "binary"])
def test_hostile_config_json_never_hangs_or_crashes(run_floe, tmp_path, make):
    d = tmp_path / "home" / ".docker"
    d.mkdir(parents=True)
    make(d / "config.json")
    started = time.monotonic()
    proc = run_floe("auth", "which", "127.0.0.1:5999", "--json", env=NO_ENV, timeout=60)
    assert time.monotonic() - started < 20
    assert_clean_exit(proc)
    assert proc.returncode == 0, proc.stderr  # the chain goes on: anonymous
    assert json.loads(proc.stdout)["kind"] == "anonymous"
    assert len(proc.stderr) < 4096 and ESC not in proc.stderr


def test_hostile_config_json_for_login_is_left_alone(run_floe, servers, tmp_path):
    # login must not follow a FIFO or /dev/zero in config.json's place, nor replace a file it
    # could not parse.
    reg = servers(HostileRegistry, "127.0.0.1", auth="basic", username=USER, password=PASSWORD)
    d = tmp_path / "home" / ".docker"
    d.mkdir(parents=True)
    cfg = d / "config.json"
    cfg.write_text('{"auths": {"other": {"auth": "bad"}}, "credsStore": ')  # truncated
    before = cfg.read_bytes()
    proc = run_floe("login", reg.host, "-u", USER, "--password-stdin", input=PASSWORD,
                    env=NO_ENV)
    assert proc.returncode in (2, 7, 9), proc.stderr  # refused, whatever the exit code
    assert "unexpected error" not in proc.stderr
    assert cfg.read_bytes() == before
    assert_not_leaked(output(proc), PASSWORD, BASIC)


# == host matching: ports, lookalikes, Docker Hub ==============================================

LOOKALIKES = [
    ("127.0.0.1", "127.0.0.1:5999"),
    ("127.0.0.1:59", "127.0.0.1:5999"),
    ("127.0.0.1:5999", "127.0.0.1:59"),
    ("127.0.0.1:5999", "127.0.0.1"),
    ("http://127.0.0.1", "127.0.0.1:5999"),
    ("registry.example.com", "registry.example.com.evil.io"),
    ("registry.example.com", "evilregistry.example.com"),
    ("registry.example.com", "evil.registry.example.com"),
    ("registry.example", "registry.example.com"),
    ("https://registry.example.com.evil.io/v1/", "registry.example.com"),
    ("registry.example.com.evil.io", "registry.example.com"),
    ("registry.example.com/team", "registry.example.com"),
    ("registry.example.com:443", "registry.example.com:4430"),
    ("https://index.docker.io/v1/", "docker.io.evil.com"),
    ("https://index.docker.io/v1/", "index.docker.io.evil.com"),
    ("docker.io", "ghcr.io"),
    ("evil.com/docker.io", "docker.io"),
    ("https://evil.com/index.docker.io/v1/", "docker.io"),
    ("*.example.com", "registry.example.com"),
    ("registry.example.com@evil.io", "registry.example.com"),
    ("registry.example.com#", "registry.example.com"),
]


@pytest.mark.parametrize("key,registry", LOOKALIKES)
def test_config_auths_entry_answers_only_its_own_host(run_floe, tmp_path, key, registry):
    write_config(tmp_path / "home", {"auths": {key: {"auth": base64.b64encode(
        f"{USER}:{PASSWORD}".encode()).decode()}}})
    answer, proc = which_json(run_floe, registry)
    assert answer["kind"] == "anonymous", (key, registry, answer)
    assert_not_leaked(output(proc), PASSWORD, BASIC)


@pytest.mark.parametrize("key,registry", LOOKALIKES)
def test_pull_secret_server_answers_only_its_own_host(run_floe, tmp_path, key, registry):
    cfg = {"auths": {key: {"username": USER, "password": PASSWORD,
                           "auth": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}}}
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": "regcred"},
        "data": {".dockerconfigjson": base64.b64encode(json.dumps(cfg).encode()).decode()}}))
    answer, proc = which_json(run_floe, registry, "--pull-secret", str(secret))
    assert answer["kind"] == "anonymous", (key, registry, answer)
    assert_not_leaked(output(proc), PASSWORD, BASIC)


@pytest.mark.parametrize("key,registry", [("127.0.0.1", "127.0.0.1:5999"),
                                          ("registry.example.com", "registry.example.com.evil.io"),
                                          ("https://index.docker.io/v1/", "docker.io.evil.com")])
def test_cred_helpers_key_answers_only_its_own_host(run_floe, tmp_path, key, registry):
    marker = tmp_path / "ran"
    bindir = helper_dir(tmp_path, "scoped", f"echo ran > {marker}\n"
                        f"echo '{{\"Username\":\"u\",\"Secret\":\"{HELPER_SECRET}\"}}'\n")
    write_config(tmp_path / "home", {"credHelpers": {key: "scoped"}})
    answer, _ = which_json(run_floe, registry, env={"PATH": f"{bindir}:/usr/bin:/bin"})
    assert answer["kind"] == "anonymous"
    assert not marker.exists()


def test_port_specific_entry_is_not_sent_to_the_same_host_on_another_port(run_floe, servers,
                                                                         tmp_path):
    """Two registries on one IP: the config.json entry for one port never reaches the other."""
    a = servers(HostileRegistry, "127.0.0.1", auth="basic", username=USER, password=PASSWORD)
    b = servers(HostileRegistry, "127.0.0.1", auth="basic", username="b", password="pw-b")
    b.add_artifact("team/app", "1.0", [(b"b\n", "text/plain", {
        "org.opencontainers.image.title": "b.txt"})])
    write_config(tmp_path / "home", {"auths": {
        a.host: {"auth": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()},
        "127.0.0.1": {"auth": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}}})
    proc = run_floe("-v", "artifact", "pull", f"{b.host}/team/app:1.0", "-o", tmp_path / "o",
                    env=NO_ENV)
    assert proc.returncode == 4, proc.stderr
    assert_not_leaked(wire_text(b), PASSWORD, BASIC)


# == floe login ==================================================================================

def test_login_to_a_registry_that_never_asks_sends_no_password(run_floe, servers, tmp_path):
    """A registry answering 200 to everything: login has nothing to check, and the password
    must not go out unasked (Basic only after a 401)."""
    reg = servers(Fake, lambda req: (200, {"Docker-Distribution-API-Version": "registry/2.0"},
                                     b"{}"))
    proc = run_floe("-v", "login", reg.host, "-u", USER, "--password-stdin", input=PASSWORD,
                    env=NO_ENV)
    assert_clean_exit(proc)
    assert reg.requests
    assert all(a is None for a in reg.authorizations()), reg.authorizations()
    assert_not_leaked(wire_text(reg), PASSWORD, BASIC)
    assert_not_leaked(output(proc), PASSWORD, BASIC)
    # ... and it says so instead of claiming a successful check.
    assert "not checked" in proc.stderr and "login succeeded" not in proc.stderr


def test_login_whose_check_is_redirected_elsewhere_sends_the_password_nowhere_else(
        run_floe, servers, tmp_path):
    other = servers(Fake, lambda req: (401, {"WWW-Authenticate": 'Basic realm="x"'}, b""),
                    host="127.0.0.2")

    def answer(req):
        if req["headers"].get("authorization"):
            return 307, {"Location": other.url + "/v2/"}, b""
        return 401, {"WWW-Authenticate": 'Basic realm="reg"'}, b""

    reg = servers(Fake, answer)
    proc = run_floe("login", reg.host, "-u", USER, "--password-stdin", input=PASSWORD,
                    env=NO_ENV)
    assert_clean_exit(proc)
    assert all(a is None for a in other.authorizations()), other.authorizations()
    assert_not_leaked(wire_text(other), PASSWORD, BASIC)
    assert not (tmp_path / "home" / ".docker" / "config.json").exists() or proc.returncode == 0


def test_login_through_a_symlinked_config_keeps_the_link_and_mode_0600(run_floe, servers,
                                                                       tmp_path):
    reg = servers(HostileRegistry, "127.0.0.1", auth="basic", username=USER, password=PASSWORD)
    real_dir = tmp_path / "dotfiles"
    real_dir.mkdir()
    real = real_dir / "docker-config.json"
    real.write_text(json.dumps({"auths": {}, "kept": 1}))
    real.chmod(0o644)
    d = tmp_path / "home" / ".docker"
    d.mkdir(parents=True)
    link = d / "config.json"
    link.symlink_to(real)
    proc = run_floe("login", reg.host, "-u", USER, "--password-stdin", input=PASSWORD,
                    env=NO_ENV)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert json.loads(real.read_text())["kept"] == 1
    assert not [p for p in list(real_dir.iterdir()) + list(d.iterdir())
                if p.name.startswith(".floe")], "temporary files left behind"


def test_login_creates_private_directories_and_file(run_floe, servers, tmp_path):
    reg = servers(HostileRegistry, "127.0.0.1", auth="basic", username=USER, password=PASSWORD)
    cfgdir = tmp_path / "fresh" / "nested" / "docker"
    proc = subprocess.run(["sh", "-c", 'umask 000; exec "$@"', "sh", os.environ["FLOE_BIN"],
                           "login", reg.host, "-u", USER, "--password-stdin"],
                          input=PASSWORD, text=True, capture_output=True, timeout=60,
                          env={**{k: v for k, v in os.environ.items()
                                  if not k.startswith(("FLOE_REGISTRY", "DOCKER_"))},
                               "HOME": str(tmp_path / "h"), "DOCKER_CONFIG": str(cfgdir),
                               "NO_PROXY": "*"})
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE((cfgdir / "config.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(cfgdir.stat().st_mode) & 0o077 == 0
    assert_not_leaked(output(proc), PASSWORD, BASIC)


# == Kubernetes API server =====================================================================

@pytest.fixture
def tls_files(tmp_path):
    d = tmp_path / "tls"
    d.mkdir()
    return make_ca_and_server_cert(str(d))  # (ca, cert, key) for 127.0.0.1 and localhost


def k8s_env(tmp_path, api, ca, token):
    sa = tmp_path / "sa"
    sa.mkdir(exist_ok=True)
    (sa / "token").write_text(token)
    (sa / "namespace").write_text("ci")
    shutil.copy(ca, sa / "ca.crt")
    host, port = api.host.rsplit(":", 1)
    return {"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port,
            "FLOE_K8S_SERVICEACCOUNT_DIR": str(sa)}


SA_TOKEN = "sa-token-Kq2-never-leaves-the-api-server"


@pytest.mark.parametrize("answer", [
    lambda other: (307, {"Location": other + "/api/v1/namespaces/ci/secrets/regcred"}, b""),
    lambda other: (401, {"WWW-Authenticate": 'Basic realm="k8s"'},
                   json.dumps({"kind": "Status", "message": SA_TOKEN + ESC + "[2J"})),
    lambda other: (500, {}, json.dumps({"kind": "Status", "message": SA_TOKEN})),
    lambda other: (200, {}, json.dumps({"kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                                        "data": {".dockerconfigjson": SA_TOKEN + ESC}})),
], ids=["redirect", "basic-challenge", "500-echo", "garbage-secret"])
def test_k8s_api_server_cannot_pull_the_service_account_token_elsewhere(
        run_floe, servers, tmp_path, tls_files, answer):
    ca, cert, key = tls_files
    other = servers(Fake, lambda req: (200, {}, b"{}"), host="127.0.0.1", tls=(cert, key))
    other_url = other.url.replace("127.0.0.1", "localhost")
    api = servers(Fake, lambda req: answer(other_url), tls=(cert, key))
    env = k8s_env(tmp_path, api, ca, SA_TOKEN)
    proc = which(run_floe, "127.0.0.1:5999", "-v", "--pull-secret", "k8s:ci/regcred", env=env)
    assert_clean_exit(proc)
    assert len(api.requests) == 1, api.requests
    assert api.requests[0]["headers"]["authorization"] == "Bearer " + SA_TOKEN
    assert not other.requests, "the service-account token followed a redirect"
    assert_not_leaked(output(proc), SA_TOKEN)
    assert ESC not in output(proc)


@needs_non_loopback
def test_k8s_api_server_is_https_only(run_floe, servers, tmp_path, tls_files):
    ca, _, _ = tls_files
    raw = servers(RawListener, NON_LOOPBACK)
    env = k8s_env(tmp_path, raw, ca, SA_TOKEN)
    proc = which(run_floe, "127.0.0.1:5999", "--pull-secret", "k8s:ci/regcred", env=env)
    assert_clean_exit(proc)
    assert SA_TOKEN not in bytes(raw.received).decode("latin-1")


# == cloud endpoints pointed at a foreign plain-http host =====================================

ECR_HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
AWS_SECRET = "fLoE/Attack+Key0123456789abcdefghijklmno"


@needs_non_loopback
@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL"])
def test_ecr_endpoint_override_to_foreign_plain_http_is_refused(run_floe, servers, tmp_path,
                                                                variable):
    raw = servers(RawListener, NON_LOOPBACK)
    env = {"AWS_ACCESS_KEY_ID": "AKIDATTACK", "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
           "AWS_SESSION_TOKEN": "session-" + AWS_SECRET, variable: f"http://{raw.host}",
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = which(run_floe, ECR_HOST, "-v", env=env)
    assert_clean_exit(proc)
    time.sleep(0.2)
    assert raw.connections == 0 and not raw.received, bytes(raw.received)[:300]
    assert_not_leaked(output(proc), AWS_SECRET)


@needs_non_loopback
def test_sts_endpoint_override_to_foreign_plain_http_is_refused(run_floe, servers, tmp_path):
    raw = servers(RawListener, NON_LOOPBACK)
    token_file = tmp_path / "web-identity"
    token_file.write_text("web-identity-token-SECRET-77")
    env = {"AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/x",
           "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file),
           "AWS_ENDPOINT_URL_STS": f"http://{raw.host}", "XDG_CACHE_HOME": str(tmp_path / "c")}
    proc = which(run_floe, ECR_HOST, env=env)
    assert_clean_exit(proc)
    time.sleep(0.2)
    assert "web-identity-token-SECRET-77" not in bytes(raw.received).decode("latin-1")


@needs_non_loopback
def test_gcr_service_account_token_uri_on_foreign_plain_http_is_refused(run_floe, servers,
                                                                       tmp_path):
    raw = servers(RawListener, NON_LOOPBACK)
    key = subprocess.run(["openssl", "genrsa", "2048"], capture_output=True, text=True,
                         check=True).stdout
    sa = tmp_path / "sa.json"
    sa.write_text(json.dumps({"type": "service_account", "client_email": "x@p.iam",
                              "private_key": key, "private_key_id": "kid",
                              "token_uri": f"http://{raw.host}/token"}))
    proc = which(run_floe, "gcr.io", env={"GOOGLE_APPLICATION_CREDENTIALS": str(sa)})
    assert_clean_exit(proc)
    time.sleep(0.2)
    assert raw.connections == 0 and not raw.received
    assert "PRIVATE KEY" not in output(proc)


@needs_non_loopback
@pytest.mark.parametrize("variable", ["FLOE_ACR_EXCHANGE_URL", "AZURE_AUTHORITY_HOST"])
def test_acr_endpoints_on_foreign_plain_http_are_refused(run_floe, servers, tmp_path, variable):
    raw = servers(RawListener, NON_LOOPBACK)
    fed = tmp_path / "federated"
    fed.write_text("federated-SECRET-token-55")
    env = {variable: f"http://{raw.host}" + ("/oauth2/exchange" if "EXCHANGE" in variable
                                              else ""),
           "AZURE_FEDERATED_TOKEN_FILE": str(fed), "AZURE_CLIENT_ID": "cid",
           "AZURE_TENANT_ID": "tid"}
    if variable == "FLOE_ACR_EXCHANGE_URL":
        env = {variable: env[variable], "AZURE_ACCESS_TOKEN": "entra-SECRET-access-token-66"}
    proc = which(run_floe, "attacked.azurecr.io", env=env)
    assert_clean_exit(proc)
    time.sleep(0.2)
    got = bytes(raw.received).decode("latin-1")
    assert "SECRET" not in got, got[:300]


def test_acr_exchange_answer_with_control_characters_is_inert(run_floe, servers, tmp_path):
    refresh = "rt-\r\nX-Injected: yes\x1b[2J-SECRET"
    exch = servers(Fake, lambda req: (200, {"Content-Type": "application/json"},
                                      json.dumps({"refresh_token": refresh + ESC})))
    env = {"FLOE_ACR_EXCHANGE_URL": exch.url + "/oauth2/exchange",
           "AZURE_ACCESS_TOKEN": "entra-SECRET-access-token-66"}
    proc = which(run_floe, "attacked.azurecr.io", "-v", env=env)
    assert_clean_exit(proc)
    assert ESC not in output(proc)
    assert_not_leaked(output(proc), "entra-SECRET-access-token-66", refresh)


def test_ecr_cache_symlink_does_not_overwrite_its_target(run_floe, servers, tmp_path):
    """A token cache planted as a symlink (a shared or attacker-writable cache directory) must
    not make floe overwrite the file it points to."""
    from fake_aws import FakeAws
    aws = FakeAws(keys={"AKIDATTACK": AWS_SECRET}).start()
    try:
        cache = tmp_path / "cache"
        ecr_dir = cache / "floe" / "ecr"
        ecr_dir.mkdir(parents=True)
        victim = tmp_path / "victim.txt"
        victim.write_text("precious\n")
        name = ("123456789012-us-east-1-" + hashlib.sha256(b"AKIDATTACK").hexdigest()[:32]
                + ".json")
        (ecr_dir / name).symlink_to(victim)
        env = {"AWS_ACCESS_KEY_ID": "AKIDATTACK", "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
               "AWS_ENDPOINT_URL_ECR": aws.ecr_url, "XDG_CACHE_HOME": str(cache)}
        answer, proc = which_json(run_floe, ECR_HOST, env=env)
        assert answer["kind"] == "basic", proc.stderr
        assert aws.requests("ecr"), "the cache file name did not match (set-up)"
    finally:
        aws.stop()
    assert victim.read_text() == "precious\n", "floe wrote the ECR token through a symlink"


def test_registrytoken_with_crlf_from_a_pull_secret_cannot_inject_headers(run_floe, servers,
                                                                         tmp_path):
    reg = servers(HostileRegistry, "127.0.0.1", auth="bearer", static_token="good-token")
    reg.add_artifact("team/app", "1.0", [(b"x\n", "text/plain", {
        "org.opencontainers.image.title": "x.txt"})])
    cfg = {"auths": {reg.host: {"registrytoken": "good-token\r\nX-Injected: yes"}}}
    secret = tmp_path / "dockerconfig.json"
    secret.write_text(json.dumps(cfg))
    proc = run_floe("--pull-secret", str(secret), "artifact", "pull", f"{reg.host}/team/app:1.0",
                    "-o", tmp_path / "o", env=NO_ENV)
    assert_clean_exit(proc)
    for r in reg.snapshot_requests():
        assert "x-injected" not in [k.lower() for k, _ in r.headers], r.headers
