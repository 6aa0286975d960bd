"""`floe registry ping` (issue 9, health checks): one row per registry with its status, and an
exit code that tells the four failures apart: a healthy registry (0), a stopped one (6, network),
one that refuses the password (4, authentication) and one whose TLS certificate expired (10)."""
import http.server
import json
import os
import ssl
import subprocess
import threading

import pytest

from floe_testlib import EXIT_AUTH, EXIT_NETWORK, EXIT_OK, EXIT_USAGE
from registry import Registry

EXIT_TLS, EXIT_UNHEALTHY = 10, 11
NO_ENV = {"FLOE_REGISTRY_USERNAME": None, "FLOE_REGISTRY_PASSWORD": None,
          "FLOE_MANIFEST": None, "FLOE_ENVIRONMENT": None}


def ping_json(run_floe, *args, code, **kw):
    proc = run_floe("registry", "ping", "--json", *args, **kw)
    assert proc.returncode == code, f"want exit {code}, got {proc.returncode}: {proc.stderr}"
    return json.loads(proc.stdout)


def stopped_registry(registry_factory):
    reg = registry_factory("anon")
    host = reg.host
    reg.stop()
    return host


def test_a_healthy_registry(run_floe, registry_anon):
    [r] = ping_json(run_floe, registry_anon.host, code=EXIT_OK, env=NO_ENV)
    assert r["status"] == "healthy" and r["reason"] == ""
    assert r["scheme"] == "http" and r["certificate_expires"] is None
    assert r["v2_status"] == 200 and r["api_version"] == "registry/2.0"
    assert r["auth"] == "anonymous"
    assert r["referrers"] == "unknown"  # no repository named: nothing to ask about
    assert 0 < r["latency_ms"] < 1000

    # The table: a header and one row, with the same facts.
    proc = run_floe("registry", "ping", registry_anon.host, env=NO_ENV)
    assert proc.returncode == EXIT_OK, proc.stderr
    header, row = proc.stdout.splitlines()
    assert header.split()[:3] == ["REGISTRY", "STATUS", "TLS"]
    assert row.split()[:5] == [registry_anon.host, "healthy", "-", "registry/2.0", "anonymous"]


def test_referrers_are_asked_about_a_named_repository(run_floe, registry_anon):
    # distribution 2.8 does not route the referrers API: a plain 404.
    [r] = ping_json(run_floe, f"{registry_anon.host}/team/app", code=EXIT_OK, env=NO_ENV)
    assert r["repository"] == "team/app"
    assert r["referrers"] == "unsupported"


def test_a_stopped_registry_is_unreachable(run_floe, registry_factory):
    host = stopped_registry(registry_factory)
    [r] = ping_json(run_floe, host, code=EXIT_NETWORK, env=NO_ENV)
    assert r["status"] == "unreachable"
    assert "refused" in r["reason"].lower() and host in r["reason"]
    assert r["v2_status"] == 0 and r["latency_ms"] is None


def test_a_wrong_password_is_unauthorized(run_floe, registry_basic):
    env = {**NO_ENV, "FLOE_REGISTRY_USERNAME": registry_basic.username,
           "FLOE_REGISTRY_PASSWORD": "not-the-Passw0rd"}
    proc = run_floe("registry", "ping", "--json", registry_basic.host, env=env)
    assert proc.returncode == EXIT_AUTH, proc.stderr
    [r] = json.loads(proc.stdout)
    assert r["status"] == "unauthorized" and r["auth"] == "refused"
    assert "refused the credentials" in r["reason"]
    assert r["v2_status"] == 401 and r["api_version"] == "registry/2.0"
    assert "not-the-Passw0rd" not in proc.stdout + proc.stderr

    # No credentials at all: the same status, a different reason.
    [r] = ping_json(run_floe, registry_basic.host, code=EXIT_AUTH, env=NO_ENV)
    assert r["auth"] == "missing" and "none were found" in r["reason"]

    # The right ones: healthy, and how they were checked.
    [r] = ping_json(run_floe, registry_basic.host, code=EXIT_OK, registry=registry_basic)
    assert r["status"] == "healthy" and r["auth"] == "basic"


def test_token_auth_obtains_a_token(run_floe, registry_token):
    [r] = ping_json(run_floe, f"{registry_token.host}/team/app", code=EXIT_OK,
                    registry=registry_token)
    assert r["auth"] == "token" and r["status"] == "healthy"


class ExpiredTlsRegistry(Registry):
    """A TLS registry whose server certificate, signed by a valid CA, expired in 2020."""

    def __init__(self):
        super().__init__("tls")

    def _prepare(self):
        os.makedirs(self.root)
        d = self.workdir

        def openssl(*args):
            subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
                "-subj", "/CN=floe-ping-ca", "-keyout", "ca.key", "-out", "ca.crt",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                "-keyout", "server.key", "-out", "server.csr")
        # `openssl x509 -req` (3.0) cannot set dates in the past; `openssl ca` can.
        with open(os.path.join(d, "ca.cnf"), "w") as f:
            f.write("[ca]\ndefault_ca = ping_ca\n[ping_ca]\ndatabase = index.txt\n"
                    "new_certs_dir = .\nserial = serial\npolicy = any_name\n"
                    "default_md = sha256\nunique_subject = no\n"
                    "[any_name]\ncommonName = supplied\n")
        with open(os.path.join(d, "server.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                    "extendedKeyUsage=serverAuth\n")
        open(os.path.join(d, "index.txt"), "w").close()
        with open(os.path.join(d, "serial"), "w") as f:
            f.write("01\n")
        openssl("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.crt", "-keyfile", "ca.key",
                "-in", "server.csr", "-out", "server.crt", "-notext",
                "-startdate", "20190101000000Z", "-enddate", "20200101000000Z",
                "-extfile", "server.ext")
        self.ca_path = os.path.join(d, "ca.crt")
        self._cert, self._key = os.path.join(d, "server.crt"), os.path.join(d, "server.key")

    def ssl_context(self):
        # The harness waits for /v2/ over TLS; this certificate fails any check, on purpose.
        return ssl._create_unverified_context()


@pytest.fixture
def expired_tls_registry():
    reg = ExpiredTlsRegistry().start()
    yield reg
    reg.stop()


def test_an_expired_certificate_is_a_tls_failure(run_floe, expired_tls_registry):
    env = {**NO_ENV, "FLOE_CA_FILE": expired_tls_registry.ca_path}
    [r] = ping_json(run_floe, expired_tls_registry.host, code=EXIT_TLS, env=env)
    assert r["status"] == "tls"
    assert r["reason"] == "certificate expired on 2020-01-01"
    assert r["certificate_expires"] == "2020-01-01T00:00:00Z"
    assert r["v2_status"] == 0  # nothing was sent over a connection this client refuses

    # Without its CA the certificate is also untrusted: both are said.
    [r] = ping_json(run_floe, expired_tls_registry.host, code=EXIT_TLS, env=NO_ENV)
    assert "expired on 2020-01-01" in r["reason"] and "not trusted" in r["reason"]


def test_a_good_certificate_shows_its_expiry(run_floe, registry_tls):
    [r] = ping_json(run_floe, registry_tls.host, code=EXIT_OK, registry=registry_tls)
    assert r["scheme"] == "https" and r["status"] == "healthy"
    assert r["certificate_expires"]  # two days from now: a warning, not a failure
    assert "certificate expires on" in r["reason"]


def test_the_worst_result_decides_the_exit_code(run_floe, registry_anon, registry_factory):
    host = stopped_registry(registry_factory)
    rows = ping_json(run_floe, registry_anon.host, host, code=EXIT_NETWORK, env=NO_ENV)
    assert [r["status"] for r in rows] == ["healthy", "unreachable"]


def test_env_checks_the_registry_and_every_mirror(run_floe, registry_anon, registry_factory,
                                                   tmp_path):
    dead = stopped_registry(registry_factory)
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(
        "artifacts:\n  registry:\n"
        f"    uri: oci://{registry_anon.host}/floe\n"
        "  environments:\n    prod:\n"
        f"      uri: oci://{registry_anon.host}/floe-prod\n"
        "      mirrors:\n"
        f"        - uri: oci://{dead}/dr\n"
        f"        - uri: oci://{registry_anon.host}/dr2\n")
    # --env after the subcommand, as an operator types it.
    rows = ping_json(run_floe, "--config", manifest, "--env", "prod", code=EXIT_NETWORK,
                     env=NO_ENV)
    assert [(r["role"], r["registry"], r["status"]) for r in rows] == [
        ("primary", registry_anon.host, "healthy"),
        ("mirror 1", dead, "unreachable"),
        ("mirror 2", registry_anon.host, "healthy")]

    proc = run_floe("registry", "ping", env={**NO_ENV, "FLOE_MANIFEST": manifest,
                                             "FLOE_ENVIRONMENT": "prod"})
    assert proc.returncode == EXIT_NETWORK
    lines = proc.stdout.splitlines()
    assert "ROLE" in lines[0] and len(lines) == 4
    assert "mirror 1" in lines[2] and "unreachable" in lines[2]


@pytest.fixture
def answering():
    """A loopback HTTP server that answers every GET with the given status: a failing
    registry (503) or a web server that is no registry (404)."""
    servers = []

    def start(status):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_failing_registry_or_no_registry_is_unhealthy(run_floe, answering):
    [r] = ping_json(run_floe, answering(503), code=EXIT_UNHEALTHY, env=NO_ENV)
    assert r["status"] == "unhealthy" and "HTTP 503" in r["reason"]
    assert r["v2_status"] == 503 and r["latency_ms"] is not None
    [r] = ping_json(run_floe, answering(404), code=EXIT_UNHEALTHY, env=NO_ENV)
    assert "not a registry" in r["reason"]


def test_nothing_to_ping_is_a_usage_error(run_floe):
    proc = run_floe("registry", "ping", env=NO_ENV)
    assert proc.returncode == EXIT_USAGE
    assert "name a registry" in proc.stderr
