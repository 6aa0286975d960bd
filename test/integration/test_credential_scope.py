"""Credentials go only where they belong, tokens outlive their expiry, login/logout round trips.

- FLOE_REGISTRY_* belong to the registry of the command's reference (a copy's destination),
  FLOE_SOURCE_REGISTRY_* to a copy's source: a copy between two private registries with
  different passwords works, and neither password reaches the other registry, a token realm on a
  third host, a blob redirect or an upload Location (recording fakes prove it).
- Tokens that die every 2 seconds during a 64 MiB push and pull throttled to ~10 s: both succeed
  and the refreshes are counted.
- `floe login` checks before it saves, writes config.json atomically with mode 0600 and keeps
  the keys it does not know; `floe logout` removes the entry; a concurrent reader never sees a
  torn file.
"""
import base64
import json
import os
import stat
import threading

import pytest

from conftest import hermetic_env  # noqa: F401  (documents where HOME comes from)
from floe_testlib import (EXIT_AUTH, EXIT_USAGE, assert_error, ok, out_json, repo_for,
                          snapshot, write_tree)
from hostile_registry import HostileRegistry, basic_header

MiB = 1 << 20
NO_ENV = {"FLOE_REGISTRY_USERNAME": None, "FLOE_REGISTRY_PASSWORD": None,
          "FLOE_REGISTRY_TOKEN": None}


def creds(prefix, reg):
    return {f"{prefix}_USERNAME": reg.username, f"{prefix}_PASSWORD": reg.password}


# -- FLOE_REGISTRY_* / FLOE_SOURCE_REGISTRY_* -----------------------------------------------

def test_copy_between_two_private_registries_each_with_its_own_password(
        run_floe, registry_factory, request, tmp_path):
    a = registry_factory("basic", password="pw-A-basic-7781")
    b = registry_factory("token", password="pw-B-token-9904")
    src = tmp_path / "src"
    write_tree(src, {"data.csv": "id,value\n1,2\n", "models/m.txt": "m\n"})
    ref_a = f"{a.host}/{repo_for(request)}:1.0.0"
    ref_b = f"{b.host}/{repo_for(request)}:1.0.0"
    digest = ok(run_floe("artifact", "push", ref_a, src / "data.csv", src / "models",
                         env={**NO_ENV, **creds("FLOE_REGISTRY", a)})).stdout.strip()

    # The destination's variables do not open the source, nor the source's the destination.
    assert_error(run_floe("artifact", "copy", ref_a, ref_b,
                          env={**NO_ENV, **creds("FLOE_REGISTRY", b)}), EXIT_AUTH)
    assert_error(run_floe("artifact", "copy", ref_a, ref_b,
                          env={**NO_ENV, **creds("FLOE_SOURCE_REGISTRY", a)}), EXIT_AUTH)

    proc = ok(run_floe("-v", "artifact", "copy", ref_a, ref_b,
                       env={**NO_ENV, **creds("FLOE_SOURCE_REGISTRY", a),
                            **creds("FLOE_REGISTRY", b)}))
    assert proc.stdout.strip() == digest
    for secret in (a.password, b.password):
        assert secret not in proc.stdout + proc.stderr
    out = tmp_path / "out"
    ok(run_floe("artifact", "pull", ref_b, "-o", out, env={**NO_ENV, **creds("FLOE_REGISTRY", b)}))
    assert (out / "data.csv").read_text() == "id,value\n1,2\n"
    assert snapshot(out / "models") == snapshot(src / "models")


USER_A, PW_A = "user-a", "Pw-A-only-for-127-0-0-1"
USER_B, PW_B = "user-b", "Pw-B-only-for-127-0-0-2"


@pytest.fixture
def fakes():
    started = []

    def make(host, **kw):
        started.append(HostileRegistry(host, **kw).start())
        return started[-1]

    yield make
    for f in started:
        f.stop()


def headers_of(fake, name):
    return [r.header(name) for r in fake.requests if r.header(name)]


def test_no_password_reaches_another_registry_realm_redirect_or_location(
        run_floe, fakes, tmp_path):
    # A: basic auth; its blob GETs are redirected to D (another host, same content).
    a = fakes("127.0.0.1", auth="basic", username=USER_A, password=PW_A)
    d = fakes("127.0.0.4", store=a.store)
    a.redirect_blobs = d.url
    # B: bearer auth whose token service is C, on a third host; B's uploads continue on E.
    b = fakes("127.0.0.2", auth="bearer", username=USER_B, password=PW_B)
    c = fakes("127.0.0.3", auth="bearer", username=USER_B, password=PW_B)
    b.realm_server = c
    e = fakes("127.0.0.5", store=b.store)
    b.upload_location_post = e.url
    a.add_artifact("team/app", "1.0.0",
                   [(os.urandom(300 * 1024), "application/vnd.floe.file.v1",
                     {"org.opencontainers.image.title": "data.bin"})])

    proc = run_floe("-v", "artifact", "copy", f"{a.host}/team/app:1.0.0",
                    f"{b.host}/team/app:1.0.0",
                    env={**NO_ENV, "FLOE_SOURCE_REGISTRY_USERNAME": USER_A,
                         "FLOE_SOURCE_REGISTRY_PASSWORD": PW_A,
                         "FLOE_REGISTRY_USERNAME": USER_B, "FLOE_REGISTRY_PASSWORD": PW_B})
    assert proc.returncode == 0, proc.stderr
    assert "1.0.0" in b.store.tags.get("team/app", {}) or b.store.tags, "the copy did not land"

    basic_a, basic_b = basic_header(USER_A, PW_A), basic_header(USER_B, PW_B)
    tokens = set(c.issued_tokens)
    problems = []
    # A sees only its own Basic credentials, and only after its challenge.
    for h in headers_of(a, "Authorization"):
        if h != basic_a:
            problems.append(f"A received {h[:12]}...")
    # B sees only tokens from its realm; never a Basic header (its challenge is Bearer).
    for h in headers_of(b, "Authorization"):
        if not (h.startswith("Bearer ") and h[7:] in tokens):
            problems.append(f"B received {h[:12]}...")
    # C, B's token service, sees B's credentials and nothing of A's.
    for h in headers_of(c, "Authorization"):
        if h != basic_b:
            problems.append(f"C received {h[:12]}...")
    if not headers_of(c, "Authorization"):
        problems.append("C never got B's credentials (the token flow did not run)")
    # D (a redirect target) and E (an upload Location) get no credentials at all.
    for name, fake in (("D", d), ("E", e)):
        if headers_of(fake, "Authorization"):
            problems.append(f"{name} received an Authorization header")
        if not fake.requests:
            problems.append(f"{name} was never used: the test did not exercise it")
    # No password or token on the command's output either.
    for secret in [PW_A, PW_B, basic_a[6:], basic_b[6:], *tokens]:
        if secret in proc.stdout + proc.stderr:
            problems.append("a secret appeared in floe's output")
    assert not problems, problems


# -- tokens that expire during a transfer ------------------------------------------------

@pytest.mark.heavy
def test_tokens_dying_every_two_seconds_during_a_ten_second_push_and_pull(
        run_floe, registry_factory, request, tmp_path):
    reg = registry_factory("token")
    issuer = reg.token_issuer
    issuer.ttl = 2
    issuer.registry_leeway = 60  # the registry honours "exp" to the second
    src = tmp_path / "src"
    src.mkdir()
    files = []
    for i in range(4):
        path = src / f"part-{i}.bin"
        path.write_bytes(os.urandom(16 * MiB))
        files.append(path)
    ref = f"{reg.host}/{repo_for(request)}:dev"
    throttle = ["--limit-rate", "6M", "--concurrency", "1"]

    issuer.reset_stats()
    push = ok(run_floe("-v", *throttle, "--chunk-size", "4M", "artifact", "push", ref, *files,
                       registry=reg, timeout=180))
    pushed_tokens = issuer.stats()["tokens_issued"]
    assert pushed_tokens >= 4, f"only {pushed_tokens} tokens for a ~11 s push of 2 s tokens"
    assert " 401 " in push.stderr or "-> 401" in push.stderr

    issuer.reset_stats()
    out = tmp_path / "out"
    ok(run_floe("-v", *throttle, "artifact", "pull", ref, "-o", out, registry=reg, timeout=180))
    pulled_tokens = issuer.stats()["tokens_issued"]
    assert pulled_tokens >= 3, f"only {pulled_tokens} tokens for a ~11 s pull of 2 s tokens"
    for f in files:
        assert (out / f.name).read_bytes() == f.read_bytes()
    print(f"tokens issued: push {pushed_tokens}, pull {pulled_tokens}")
    for text in (push.stdout + push.stderr,):
        assert reg.password not in text


# -- login / logout ----------------------------------------------------------------------

def login(run_floe, reg, password, docker_config, *extra, sub=("login",)):
    return run_floe(*sub, reg.host, "-u", reg.username, "--password-stdin", *extra,
                    input=password + "\n", env={**NO_ENV, "DOCKER_CONFIG": docker_config})


def test_login_checks_saves_0600_and_logout_removes(run_floe, registry_basic, request, tmp_path):
    reg = registry_basic
    cfg_dir = tmp_path / "docker"
    cfg_dir.mkdir()
    cfg = cfg_dir / "config.json"
    cfg.write_text(json.dumps({"auths": {"other.example.com": {"auth": "dTpw"}},
                               "HttpHeaders": {"User-Agent": "kept"}, "psFormat": "kept"}))
    os.chmod(cfg, 0o644)
    env = {**NO_ENV, "DOCKER_CONFIG": cfg_dir}

    # Refused credentials are not saved, and the file is untouched.
    before = cfg.read_bytes()
    assert_error(login(run_floe, reg, "wrong-password", cfg_dir), EXIT_AUTH)
    assert cfg.read_bytes() == before

    proc = ok(login(run_floe, reg, reg.password, cfg_dir))
    assert "unencrypted" in proc.stderr
    assert reg.password not in proc.stdout + proc.stderr
    mode = stat.S_IMODE(os.stat(cfg).st_mode)
    assert mode == 0o600, oct(mode)
    doc = json.loads(cfg.read_text())
    assert doc["HttpHeaders"] == {"User-Agent": "kept"} and doc["psFormat"] == "kept"
    assert "other.example.com" in doc["auths"]
    entry = doc["auths"][reg.host]
    assert base64.b64decode(entry["auth"]).decode() == f"{reg.username}:{reg.password}"

    # Later commands use it with no floe-specific setup.
    who = out_json(ok(run_floe("auth", "which", reg.host, "--json", env=env)))
    assert who["username"] == reg.username and who["kind"] == "basic"
    assert "config.json" in who["source"]
    src = tmp_path / "f.txt"
    src.write_text("hello\n")
    ref = f"{reg.host}/{repo_for(request)}:dev"
    ok(run_floe("artifact", "push", ref, src, env=env))

    proc = ok(run_floe("logout", reg.host, env=env))
    assert "config.json" in proc.stderr
    doc = json.loads(cfg.read_text())
    assert reg.host not in doc["auths"] and "other.example.com" in doc["auths"]
    assert doc["psFormat"] == "kept"
    assert_error(run_floe("artifact", "push", ref, src, env=env), EXIT_AUTH)
    assert out_json(ok(run_floe("auth", "which", reg.host, "--json", env=env)))["kind"] == \
        "anonymous"
    assert "no saved credentials" in ok(run_floe("logout", reg.host, env=env)).stderr


def test_artifact_login_alias_and_no_password_flag(run_floe, registry_basic, tmp_path):
    cfg_dir = tmp_path / "docker"
    ok(login(run_floe, registry_basic, registry_basic.password, cfg_dir,
             sub=("artifact", "login")))
    assert stat.S_IMODE(os.stat(cfg_dir / "config.json").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(cfg_dir).st_mode) == 0o700
    ok(run_floe("artifact", "logout", registry_basic.host,
                env={**NO_ENV, "DOCKER_CONFIG": cfg_dir}))
    # A password never comes from a flag value.
    proc = run_floe("login", registry_basic.host, "-u", "x", "--password", "secret-on-argv",
                    env={**NO_ENV, "DOCKER_CONFIG": cfg_dir})
    assert proc.returncode == EXIT_USAGE
    assert "--password-stdin" in proc.stderr
    assert "secret-on-argv" not in proc.stdout + proc.stderr
    # No terminal and no --password-stdin: told what to do, nothing saved.
    proc = run_floe("login", registry_basic.host, "-u", "x",
                    env={**NO_ENV, "DOCKER_CONFIG": tmp_path / "none"})
    assert proc.returncode != 0 and "--password-stdin" in proc.stderr
    assert not (tmp_path / "none" / "config.json").exists()


def test_a_concurrent_reader_never_sees_a_torn_config(run_floe, registry_basic, tmp_path):
    cfg_dir = tmp_path / "docker"
    cfg_dir.mkdir()
    cfg = cfg_dir / "config.json"
    # A big file: a torn write would be easy to catch.
    cfg.write_text(json.dumps({"auths": {f"r{i}.example.com": {"auth": "dTpw"}
                                         for i in range(2000)}}))
    stop = threading.Event()
    torn, reads = [], [0]

    def reader():
        while not stop.is_set():
            try:
                json.loads(cfg.read_text())
                reads[0] += 1
            except ValueError as e:
                torn.append(str(e))

    t = threading.Thread(target=reader)
    t.start()
    try:
        for _ in range(6):
            ok(login(run_floe, registry_basic, registry_basic.password, cfg_dir))
            ok(run_floe("logout", registry_basic.host, env={**NO_ENV, "DOCKER_CONFIG": cfg_dir}))
    finally:
        stop.set()
        t.join()
    assert not torn, torn[:3]
    assert reads[0] > 10
    assert len(json.loads(cfg.read_text())["auths"]) == 2000


def test_login_to_a_token_registry_is_checked_at_its_token_service(run_floe, registry_token,
                                                                   tmp_path):
    cfg_dir = tmp_path / "docker"
    issuer = registry_token.token_issuer
    denied = issuer.stats()["denied"]
    assert_error(login(run_floe, registry_token, "not-the-password", cfg_dir), EXIT_AUTH)
    assert issuer.stats()["denied"] > denied  # the check reached the token service
    assert not (cfg_dir / "config.json").exists()
    ok(login(run_floe, registry_token, registry_token.password, cfg_dir))
    who = out_json(ok(run_floe("auth", "which", registry_token.host, "--json",
                               env={**NO_ENV, "DOCKER_CONFIG": cfg_dir})))
    assert who == {"registry": registry_token.host, "source": who["source"],
                   "username": registry_token.username, "kind": "basic"}
