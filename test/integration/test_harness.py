"""Tests of the test harness itself (no floe binary needed): each registry mode
behaves like a real registry would towards a client, checked with urllib, curl
and skopeo."""
import base64
import json
import os
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import hermetic_env
from registry import PASSWORD, REALM, USERNAME, Registry

SERVICE = "floe-test-registry"


OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def http(url, *, user=None, password=None, token=None, ca=None, method="GET", data=None,
         accept=None):
    """(status, headers, body) for one request; never raises on HTTP errors."""
    req = urllib.request.Request(url, method=method, data=data)
    if accept:
        req.add_header("Accept", accept)
    if user is not None:
        cred = base64.b64encode(f"{user}:{password}".encode()).decode()
        req.add_header("Authorization", "Basic " + cred)
    if token is not None:
        req.add_header("Authorization", "Bearer " + token)
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=ca)))
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def fetch_token(issuer, *scopes, user=USERNAME, password=PASSWORD):
    query = urllib.parse.urlencode([("service", SERVICE)] + [("scope", s) for s in scopes])
    kw = {} if user is None else {"user": user, "password": password}
    status, _, body = http(f"{issuer.realm}?{query}", **kw)
    return status, json.loads(body)


def parse_challenge(header):
    """'Bearer realm="x",service="y"' -> ("bearer", {"realm": "x", "service": "y"})."""
    scheme, _, rest = header.partition(" ")
    params = dict(p.split("=", 1) for p in rest.split('",') if "=" in p)
    return scheme.lower(), {k.strip(): v.strip('"') for k, v in params.items()}


def jwt_part(token, i):
    part = token.split(".")[i]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


# -- anonymous / basic -------------------------------------------------------

def test_anon_registry_answers_v2(registry_anon):
    status, headers, _ = http(registry_anon.url + "/v2/")
    assert status == 200
    assert headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert registry_anon.username is None and registry_anon.ca_path is None


def test_basic_registry_challenges_then_accepts(registry_basic):
    status, headers, _ = http(registry_basic.url + "/v2/")
    assert status == 401
    assert parse_challenge(headers["WWW-Authenticate"]) == ("basic", {"realm": REALM})
    assert http(registry_basic.url + "/v2/", user=USERNAME, password=PASSWORD)[0] == 200
    assert http(registry_basic.url + "/v2/", user=USERNAME, password="wrong")[0] == 401
    assert (registry_basic.username, registry_basic.password) == (USERNAME, PASSWORD)


# -- token -------------------------------------------------------------------

def test_token_registry_bearer_challenge_points_at_issuer(registry_token):
    status, headers, _ = http(registry_token.url + "/v2/")
    assert status == 401
    scheme, params = parse_challenge(headers["WWW-Authenticate"])
    assert scheme == "bearer"
    assert params["realm"] == registry_token.token_issuer.realm
    assert params["service"] == SERVICE


def test_token_with_credentials_grants_access(registry_token):
    issuer = registry_token.token_issuer
    before = issuer.stats()["requests"]
    status, resp = fetch_token(issuer, "repository:harness/missing:pull")
    assert status == 200
    assert resp["token"] == resp["access_token"] and resp["expires_in"] == 300
    assert resp["issued_at"].endswith("Z")
    header, claims = jwt_part(resp["token"], 0), jwt_part(resp["token"], 1)
    assert header["alg"] == "RS256" and len(header["x5c"]) == 1
    assert claims["aud"] == SERVICE and claims["sub"] == USERNAME
    assert claims["access"] == [{"type": "repository", "name": "harness/missing",
                                 "actions": ["pull"]}]
    # The counter is what floe tests use to check token caching.
    assert issuer.stats()["requests"] == before + 1
    assert json.loads(http(issuer.url + "/stats")[2])["requests"] == before + 1

    assert http(registry_token.url + "/v2/", token=resp["token"])[0] == 200
    # 404 NAME_UNKNOWN (not 401) proves the registry accepted the token's scope.
    status, _, body = http(registry_token.url + "/v2/harness/missing/tags/list", token=resp["token"])
    assert status == 404
    assert json.loads(body)["errors"][0]["code"] == "NAME_UNKNOWN"


def test_anonymous_token_has_no_access(registry_token):
    status, resp = fetch_token(registry_token.token_issuer, "repository:harness/missing:pull",
                               user=None)
    assert status == 200 and jwt_part(resp["token"], 1)["access"] == []
    status, headers, _ = http(registry_token.url + "/v2/harness/missing/tags/list",
                              token=resp["token"])
    assert status == 401
    scheme, params = parse_challenge(headers["WWW-Authenticate"])
    assert params["error"] == "insufficient_scope"
    assert params["scope"] == "repository:harness/missing:pull"


def test_issuer_refuses_wrong_password(registry_token):
    issuer = registry_token.token_issuer
    denied = issuer.stats()["denied"]
    status, resp = fetch_token(issuer, "repository:harness/x:pull", password="nope")
    assert status == 401 and resp["errors"][0]["code"] == "UNAUTHORIZED"
    assert issuer.stats()["denied"] == denied + 1


def test_issuer_oauth2_post_and_refresh(registry_token):
    issuer = registry_token.token_issuer

    def post(**form):
        status, _, body = http(issuer.realm, method="POST",
                               data=urllib.parse.urlencode(form).encode())
        return status, json.loads(body)

    status, resp = post(grant_type="password", username=USERNAME, password=PASSWORD,
                        service=SERVICE, scope="repository:harness/missing:pull",
                        client_id="floe-tests")
    assert status == 200 and resp["refresh_token"]
    tags = registry_token.url + "/v2/harness/missing/tags/list"
    assert http(tags, token=resp["access_token"])[0] == 404
    status, again = post(grant_type="refresh_token", refresh_token=resp["refresh_token"],
                         service=SERVICE, scope="repository:harness/missing:pull")
    assert status == 200 and http(tags, token=again["access_token"])[0] == 404
    assert post(grant_type="refresh_token", refresh_token="bogus", service=SERVICE)[0] == 401
    assert post(grant_type="password", username=USERNAME, password="x", service=SERVICE)[0] == 401


# -- TLS ---------------------------------------------------------------------

def test_tls_registry_verifies_only_with_ca(registry_tls):
    assert registry_tls.url.startswith("https://") and os.path.isfile(registry_tls.ca_path)
    assert http(registry_tls.url + "/v2/", ca=registry_tls.ca_path)[0] == 401
    assert http(registry_tls.url + "/v2/", ca=registry_tls.ca_path,
                user=USERNAME, password=PASSWORD)[0] == 200
    with pytest.raises(urllib.error.URLError) as err:
        http(registry_tls.url + "/v2/")  # system trust store only
    assert isinstance(err.value.reason, ssl.SSLCertVerificationError)


def test_tls_certificate_also_valid_for_localhost(registry_tls):
    port = registry_tls.host.rsplit(":", 1)[1]
    out = subprocess.run(
        ["curl", "-sS", "--noproxy", "*", "-o", "/dev/null", "-w", "%{http_code}",
         "--cacert", registry_tls.ca_path, "-u", f"{USERNAME}:{PASSWORD}",
         f"https://localhost:{port}/v2/"], capture_output=True, text=True, timeout=30)
    assert out.stdout == "200", out.stderr


# -- end to end with skopeo ---------------------------------------------------

def skopeo(*args, home):
    proc = subprocess.run(["skopeo", *map(str, args)], env=hermetic_env(home),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"skopeo {' '.join(map(str, args))}\n{proc.stderr}"
    return proc


def test_skopeo_push_through_token_auth(registry_token, tiny_oci_layout, tmp_path):
    issuer = registry_token.token_issuer
    before = issuer.stats()["tokens_issued"]
    skopeo("copy", "--dest-creds", f"{USERNAME}:{PASSWORD}", "--dest-tls-verify=false",
           f"oci:{tiny_oci_layout.path}:{tiny_oci_layout.tag}",
           f"docker://{registry_token.host}/harness/test:v1", home=tmp_path / "home")
    assert issuer.stats()["tokens_issued"] > before
    assert any(user == USERNAME for _, _, user in issuer.log)

    _, tok = fetch_token(issuer, "repository:harness/test:pull")
    # Without an OCI Accept header distribution 2.8 answers 404 MANIFEST_UNKNOWN.
    status, headers, body = http(registry_token.url + "/v2/harness/test/manifests/v1",
                                 token=tok["token"], accept=OCI_MANIFEST)
    assert status == 200 and body == tiny_oci_layout.manifest
    assert headers["Docker-Content-Digest"] == tiny_oci_layout.manifest_digest
    # The layout of `root` is what corruption tests rely on.
    with open(registry_token.blob_path(tiny_oci_layout.layer_digest), "rb") as f:
        assert f.read() == tiny_oci_layout.layer


def test_skopeo_push_over_tls_with_cert_dir(registry_tls, tiny_oci_layout, tmp_path):
    cert_dir = tmp_path / "certs"
    cert_dir.mkdir()
    shutil.copy(registry_tls.ca_path, cert_dir / "ca.crt")
    skopeo("copy", "--dest-creds", f"{USERNAME}:{PASSWORD}", "--dest-cert-dir", cert_dir,
           f"oci:{tiny_oci_layout.path}:{tiny_oci_layout.tag}",
           f"docker://{registry_tls.host}/harness/test:v1", home=tmp_path / "home")
    status, headers, _ = http(registry_tls.url + "/v2/harness/test/manifests/v1",
                              ca=registry_tls.ca_path, user=USERNAME, password=PASSWORD,
                              accept=OCI_MANIFEST)
    assert status == 200
    assert headers["Docker-Content-Digest"] == tiny_oci_layout.manifest_digest


# -- lifecycle ---------------------------------------------------------------

def test_stop_kills_registry_and_issuer(registry_factory):
    reg = registry_factory("token")
    proc, issuer_url, workdir = reg.proc, reg.token_issuer.url, reg.workdir
    reg.stop()
    assert proc.poll() is not None
    with pytest.raises(urllib.error.URLError):
        http(issuer_url + "/stats")
    assert not os.path.exists(workdir) or os.environ.get("FLOE_TEST_KEEP_TMP")
    reg.stop()  # idempotent


def test_start_failure_reports_log_tail(monkeypatch):
    reg = Registry("anon")
    # An invalid storage driver makes distribution exit at startup.
    monkeypatch.setattr(reg, "_config", lambda port: {"version": "0.1",
                                                       "storage": {"nosuchdriver": {}},
                                                       "http": {"addr": f"127.0.0.1:{port}"}})
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="exited with"):
        reg.start()
    assert time.monotonic() - start < 10
    assert reg.proc is None
