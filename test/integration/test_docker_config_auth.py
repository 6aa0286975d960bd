"""Credentials from docker's config.json and podman's auth.json, and credential helpers.

Every test runs floe with no FLOE_REGISTRY_* variables: the credentials can only come from the
file (DOCKER_CONFIG, REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR) or from docker-credential-floetest, the
helper in this directory, which logs one line per call so the tests count them. Runs use -v, and
no password, token or encoded auth value may appear anywhere in floe's output.
"""
import base64
import json
import os
import time
import urllib.parse
import urllib.request

import pytest

from floe_testlib import EXIT_AUTH, ok, out_json, repo_for, write_product

HERE = os.path.dirname(os.path.abspath(__file__))
NO_ENV_CREDS = {"FLOE_REGISTRY_USERNAME": None, "FLOE_REGISTRY_PASSWORD": None,
                "FLOE_REGISTRY_TOKEN": None, "REGISTRY_AUTH_FILE": None, "DOCKER_CONFIG": None}
HELPER = "docker-credential-floetest"


def b64(text):
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def files(tmp_path):
    root = tmp_path / "src"
    write_product(root)
    (root / "one.txt").write_text("one\n")
    return [root / "compiled_artifacts.json", root / "one.txt"]


class Setup:
    """A docker config directory, the helper's store and log, and the environment for floe."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.docker = tmp_path / "docker"
        self.docker.mkdir()
        self.store = tmp_path / "helper-store.json"
        self.log = tmp_path / "helper.log"
        self.pidfile = tmp_path / "helper.pid"
        self.env = {**NO_ENV_CREDS, "DOCKER_CONFIG": self.docker,
                    "PATH": HERE + os.pathsep + os.environ["PATH"],
                    "FLOE_TEST_HELPER_STORE": self.store, "FLOE_TEST_HELPER_LOG": self.log,
                    "FLOE_TEST_HELPER_PIDFILE": self.pidfile}
        self.secrets = []

    def config(self, doc, path=None):
        path = path or self.docker / "config.json"
        path.write_text(json.dumps(doc))
        return path

    def helper_holds(self, server, username, secret):
        store = json.loads(self.store.read_text()) if self.store.exists() else {}
        store[server] = {"Username": username, "Secret": secret}
        self.store.write_text(json.dumps(store))
        self.secrets.append(secret)

    def calls(self):
        return self.log.read_text().splitlines() if self.log.exists() else []

    def run(self, run_floe, *args, mode="ok", **env):
        proc = run_floe("-v", *args, env={**self.env, "FLOE_TEST_HELPER_MODE": mode, **env})
        out = proc.stdout + proc.stderr
        for secret in self.secrets:
            assert secret not in out, "a secret appeared in floe's output"
        return proc


@pytest.fixture
def setup(tmp_path):
    return Setup(tmp_path)


def with_password(setup, reg):
    """Registers the registry's password (and its encodings) as secrets the output must not show."""
    setup.secrets += [reg.password, b64(f"{reg.username}:{reg.password}")]
    return reg


def warnings(proc):
    return [l for l in proc.stderr.splitlines() if l.startswith("floe: warning:")]


def which(setup, run_floe, registry, **kw):
    return out_json(setup.run(run_floe, "auth", "which", registry, "--json", **kw))


def push(setup, run_floe, reg, request, files, suffix="", **kw):
    ref = f"{reg.host}/{repo_for(request, suffix)}:v1"
    return setup.run(run_floe, "artifact", "push", ref, *files, **kw), ref


def round_trip(setup, run_floe, reg, request, files, tmp_path, **kw):
    proc, ref = push(setup, run_floe, reg, request, files, **kw)
    ok(proc)
    ok(setup.run(run_floe, "artifact", "pull", ref, "-o", tmp_path / "out", **kw))
    assert (tmp_path / "out" / "one.txt").read_text() == "one\n"


# -- auths ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["{host}", "http://{host}", "https://{host}/v1/"])
def test_auths_auth_field(run_floe, registry_basic, request, files, tmp_path, setup, key):
    reg = with_password(setup, registry_basic)
    cfg = setup.config({"auths": {key.format(host=reg.host): {
        "auth": b64(f"{reg.username}:{reg.password}")}}, "psFormat": "table"})
    round_trip(setup, run_floe, reg, request, files, tmp_path)
    info = which(setup, run_floe, reg.host)
    assert info == {"registry": reg.host, "source": f"docker config {cfg}",
                    "username": reg.username, "kind": "basic"}


def test_auths_username_password_through_token_service(run_floe, registry_token, request, files,
                                                        tmp_path, setup):
    reg = with_password(setup, registry_token)
    setup.config({"auths": {reg.host: {"username": reg.username, "password": reg.password}}})
    round_trip(setup, run_floe, reg, request, files, tmp_path)


def test_without_a_matching_entry_is_anonymous(run_floe, registry_basic, request, files, setup):
    reg = with_password(setup, registry_basic)
    other_port = reg.host.rsplit(":", 1)[0] + ":1"
    setup.config({"auths": {other_port: {"auth": b64(f"{reg.username}:{reg.password}")}}})
    proc, _ = push(setup, run_floe, reg, request, files)
    assert proc.returncode == EXIT_AUTH
    assert which(setup, run_floe, reg.host)["kind"] == "anonymous"


def test_malformed_config_warns_naming_the_file(run_floe, registry_basic, setup):
    reg = with_password(setup, registry_basic)
    cfg = setup.config({"auths": {reg.host: {"auth": b64(reg.password)}}})  # no "user:"
    proc = setup.run(run_floe, "auth", "which", reg.host)
    ok(proc)
    [warning] = warnings(proc)
    assert str(cfg) in warning and reg.host in warning


# -- podman --------------------------------------------------------------------------------------

def test_podman_registry_auth_file_with_repository_keys(run_floe, registry_basic, request, files,
                                                        tmp_path, setup):
    reg = with_password(setup, registry_basic)
    auth_file = setup.config(
        {"auths": {f"{reg.host}/{repo_for(request, 'allowed')}": {
            "auth": b64(f"{reg.username}:{reg.password}")}}}, tmp_path / "auth.json")
    env = {"REGISTRY_AUTH_FILE": auth_file}
    proc, _ = push(setup, run_floe, reg, request, files, suffix="allowed", **env)
    ok(proc)
    # The key names one repository: another one on the same registry gets nothing.
    proc, _ = push(setup, run_floe, reg, request, files, suffix="other", **env)
    assert proc.returncode == EXIT_AUTH


def test_xdg_runtime_auth_json_and_file_order(run_floe, registry_basic, request, files, tmp_path,
                                              setup):
    reg = with_password(setup, registry_basic)
    runtime = tmp_path / "run"
    (runtime / "containers").mkdir(parents=True)
    good = {"auths": {reg.host: {"auth": b64(f"{reg.username}:{reg.password}")}}}
    podman = setup.config(good, runtime / "containers" / "auth.json")
    proc, _ = push(setup, run_floe, reg, request, files, XDG_RUNTIME_DIR=runtime)
    ok(proc)
    assert which(setup, run_floe, reg.host, XDG_RUNTIME_DIR=runtime)["source"] == \
        f"docker config {podman}"
    # config.json comes first: its (wrong) entry answers, and the push is refused.
    setup.config({"auths": {reg.host: {"username": reg.username, "password": "wrong-Pa55"}}})
    proc, _ = push(setup, run_floe, reg, request, files, XDG_RUNTIME_DIR=runtime)
    assert proc.returncode == EXIT_AUTH


# -- credential helpers ----------------------------------------------------------------------------

def test_cred_helpers_one_call_per_run(run_floe, registry_token, request, files, tmp_path, setup):
    reg = registry_token
    setup.helper_holds(reg.host, reg.username, reg.password)
    setup.config({"credHelpers": {reg.host: "floetest"}})
    proc, ref = push(setup, run_floe, reg, request, files)
    ok(proc)
    # A push makes many requests and fetches tokens for several scopes: one helper call.
    assert setup.calls() == [f"get {reg.host}"]
    ok(setup.run(run_floe, "artifact", "pull", ref, "-o", tmp_path / "out"))
    assert setup.calls() == [f"get {reg.host}"] * 2
    info = which(setup, run_floe, reg.host)
    assert info["source"] == f"credential helper {HELPER}"
    assert info["username"] == reg.username and info["kind"] == "basic"


def test_cred_helpers_beat_auths_in_the_same_file(run_floe, registry_basic, request, files, setup):
    reg = with_password(setup, registry_basic)
    setup.helper_holds(reg.host, reg.username, reg.password)
    setup.config({"credHelpers": {reg.host: "floetest"},
                  "auths": {reg.host: {"username": reg.username, "password": "wrong-Pa55"}}})
    proc, _ = push(setup, run_floe, reg, request, files)
    ok(proc)
    assert setup.calls() == [f"get {reg.host}"]


def test_creds_store(run_floe, registry_basic, request, files, tmp_path, setup):
    reg = with_password(setup, registry_basic)
    setup.helper_holds(reg.host, reg.username, reg.password)
    # docker's layout with a store: an empty marker entry in auths.
    setup.config({"auths": {reg.host: {}}, "credsStore": "floetest"})
    round_trip(setup, run_floe, reg, request, files, tmp_path)
    assert which(setup, run_floe, reg.host)["source"] == f"credential helper {HELPER}"
    # A registry the store knows nothing about: asked, "credentials not found", anonymous.
    assert which(setup, run_floe, "127.0.0.1:1")["kind"] == "anonymous"
    assert setup.calls()[-1] == "get 127.0.0.1:1"


def test_helper_identity_token(run_floe, registry_token, request, files, setup):
    reg = registry_token
    # A refresh token from the registry's own token service, as `docker login` would keep it.
    form = urllib.parse.urlencode({"grant_type": "password", "username": reg.username,
                                   "password": reg.password, "service": "floe-test-registry",
                                   "client_id": "floe-tests"}).encode()
    with urllib.request.urlopen(reg.token_issuer.realm, data=form) as resp:
        refresh = json.loads(resp.read())["refresh_token"]
    setup.secrets.append(reg.password)
    setup.helper_holds(reg.host, "<token>", refresh)
    setup.config({"credHelpers": {reg.host: "floetest"}})
    info = which(setup, run_floe, reg.host)
    assert info["kind"] == "identity-token" and info["username"] == ""
    proc, _ = push(setup, run_floe, reg, request, files)
    ok(proc)


def test_helper_missing_warns_once_and_the_chain_goes_on(run_floe, registry_basic, request, files,
                                                         setup):
    reg = with_password(setup, registry_basic)
    setup.config({"credHelpers": {reg.host: "floe-no-such-helper"}, "credsStore": "floe-no-such-helper",
                  "auths": {reg.host: {"auth": b64(f"{reg.username}:{reg.password}")}}})
    proc, _ = push(setup, run_floe, reg, request, files)
    ok(proc)
    assert warnings(proc) == ["floe: warning: credential helper docker-credential-floe-no-such-helper"
                              " is not installed (not found on PATH); going on without it"]


def test_helper_failing_warns_without_quoting_what_it_said(run_floe, registry_basic, request,
                                                           files, setup):
    reg = with_password(setup, registry_basic)
    setup.config({"credHelpers": {reg.host: "floetest"},
                  "auths": {reg.host: {"auth": b64(f"{reg.username}:{reg.password}")}}})
    proc, _ = push(setup, run_floe, reg, request, files, mode="fail")
    ok(proc)
    [warning] = warnings(proc)
    assert HELPER in warning and "exit status 1" in warning
    # What the helper said (an escape sequence, a secret, a second line) is not repeated.
    assert "\x1b" not in proc.stderr and "second line" not in proc.stderr
    assert "helper-stderr-secret-XYZ" not in proc.stdout + proc.stderr
    assert "by hand" in warning
    assert setup.calls() == [f"get {reg.host}"]


def test_helper_garbage_answer(run_floe, registry_basic, setup):
    reg = with_password(setup, registry_basic)
    setup.config({"credsStore": "floetest"})
    proc = setup.run(run_floe, "auth", "which", reg.host, "--json", mode="garbage")
    assert json.loads(ok(proc).stdout)["kind"] == "anonymous"
    [warning] = warnings(proc)
    assert HELPER in warning and "not a JSON object" in warning


def test_helper_hanging_is_killed_after_its_timeout(run_floe, registry_basic, request, files,
                                                    setup):
    reg = with_password(setup, registry_basic)
    setup.config({"credHelpers": {reg.host: "floetest"}, "credsStore": "floetest",
                  "auths": {reg.host: {"auth": b64(f"{reg.username}:{reg.password}")}}})
    start = time.monotonic()
    proc, _ = push(setup, run_floe, reg, request, files, mode="hang")
    elapsed = time.monotonic() - start
    ok(proc)
    assert 9 < elapsed < 40, elapsed  # one 10 s timeout, not one per request or per source
    [warning] = warnings(proc)
    assert HELPER in warning and "did not answer within 10 s" in warning
    assert setup.calls() == [f"get {reg.host}"]
    pid = int(setup.pidfile.read_text())
    with pytest.raises(ProcessLookupError):  # killed and reaped, not left behind
        os.kill(pid, 0)
