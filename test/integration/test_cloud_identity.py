"""GCR / Artifact Registry and ACR credentials against local fakes of their identity services.

A registry named gcr.io or *.azurecr.io cannot run here, so `floe auth which` (which fetches the
cloud token for real and prints the source and user name, never the secret) is the end-to-end
check; the fakes (fake_cloud_identity.py) prove the exact requests floe sent: grant types, JWT
header and claims, the RS256 signature, headers, form fields.
"""
import base64
import json
import subprocess

import pytest

from fake_cloud_identity import FakeCloudIdentity
from floe_testlib import out_json

ACR_USER = "00000000-0000-0000-0000-000000000000"
GCR_USER = "oauth2accesstoken"
REGISTRY = "myreg.azurecr.io"

# Everything that could point floe at a cloud identity: unset unless a test sets it.
CLOUD_VARS = ("GOOGLE_OAUTH_ACCESS_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS", "GCE_METADATA_HOST",
              "AZURE_ACCESS_TOKEN", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_ID",
              "AZURE_TENANT_ID", "AZURE_AUTHORITY_HOST", "IDENTITY_ENDPOINT", "IDENTITY_HEADER",
              "AZURE_POD_IDENTITY_AUTHORITY_HOST", "FLOE_AZURE_IMDS", "FLOE_ACR_EXCHANGE_URL",
              "MSI_ENDPOINT", "MSI_SECRET", "AWS_ACCESS_KEY_ID", "AWS_PROFILE")


@pytest.fixture
def fake(tmp_path):
    f = FakeCloudIdentity(tmp_path).start()
    yield f
    f.stop()


@pytest.fixture
def which(run_floe, fake):
    """`floe -v auth which HOST --json` with only `env`'s cloud variables; checks that no secret
    the fakes know reaches the output, and returns (json or None, process)."""
    def run(host, env, expect_ok=True):
        full = {k: None for k in CLOUD_VARS}
        full.update(env)
        proc = run_floe("-v", "auth", "which", host, "--json", env=full, timeout=60)
        output = proc.stdout + proc.stderr
        for secret in fake.all_secrets() + [v for k, v in env.items() if is_secret(k, v)]:
            assert secret not in output, f"a secret reached the output: {secret[:12]}..."
        if not expect_ok:
            return None, proc
        return out_json(proc), proc
    return run


def is_secret(name, value):
    return name in ("GOOGLE_OAUTH_ACCESS_TOKEN", "AZURE_ACCESS_TOKEN", "IDENTITY_HEADER")


def warnings(proc):
    return [l for l in proc.stderr.splitlines() if l.startswith("floe: warning:")]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def entra_like(tenant):
    """A JWT-shaped Entra token naming `tenant`, as AZURE_ACCESS_TOKEN would hold."""
    return (b64url(b'{"typ":"JWT","alg":"RS256"}') + "." +
            b64url(json.dumps({"aud": "https://management.azure.com/", "tid": tenant}).encode())
            + ".c2lnbmF0dXJl")


# --- Google ---------------------------------------------------------------------------------

def test_gcr_access_token_from_environment(which, fake):
    info, _ = which("gcr.io", {"GOOGLE_OAUTH_ACCESS_TOKEN": "ya29.env-" + "x" * 20})
    assert info == {"registry": "gcr.io", "source": "GCR (GOOGLE_OAUTH_ACCESS_TOKEN)",
                    "username": GCR_USER, "kind": "basic"}
    assert fake.log == []


@pytest.mark.parametrize("host", ["gcr.io", "europe-docker.pkg.dev", "eu.gcr.io"])
def test_gcr_service_account_key(which, fake, tmp_path, host):
    key = fake.write_service_account_key(tmp_path / "sa.json")
    info, proc = which(host, {"GOOGLE_APPLICATION_CREDENTIALS": key,
                              "GCE_METADATA_HOST": fake.host})  # the key file comes first
    assert info == {"registry": host, "source": f"GCR (service account {fake.google_email})",
                    "username": GCR_USER, "kind": "basic"}
    assert fake.counts == {"google": 1}
    [req] = fake.requests("google")
    assert req["status"] == 200 and req["problems"] == []
    assert req["method"] == "POST"
    assert req["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert set(req["form"]) == {"grant_type", "assertion"}
    assert req["form"]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert req["signature_ok"]
    assert req["jwt_header"] == {"alg": "RS256", "typ": "JWT", "kid": fake.google_key_id}
    claims = req["jwt_claims"]
    assert set(claims) == {"iss", "scope", "aud", "iat", "exp"}
    assert claims["iss"] == fake.google_email
    assert claims["scope"] == "https://www.googleapis.com/auth/cloud-platform"
    assert claims["aud"] == fake.google_token_uri
    assert claims["exp"] - claims["iat"] == 3600
    # -v logged the token request, without the assertion.
    assert "/google/token" in proc.stderr
    assert req["form"]["assertion"] not in proc.stderr


def test_gcr_signature_is_really_checked(which, fake, tmp_path):
    """A key file whose private key is not the one the endpoint knows: the fake refuses the
    JWT (so its signature check can fail), floe warns once and goes on anonymously."""
    key = fake.write_service_account_key(tmp_path / "sa.json")
    other = tmp_path / "other.key"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", str(other)], check=True, capture_output=True)
    data = json.loads(open(key).read())
    data["private_key"] = other.read_text()
    (tmp_path / "sa.json").write_text(json.dumps(data))
    info, proc = which("gcr.io", {"GOOGLE_APPLICATION_CREDENTIALS": key})
    assert info["kind"] == "anonymous"
    [req] = fake.requests("google")
    assert req["problems"] == ["signature"] and req["status"] == 400
    [warning] = warnings(proc)
    assert "GCR (service account" in warning and "HTTP 400 (invalid_grant)" in warning


def test_gcr_metadata_server(which, fake):
    info, _ = which("us-central1-docker.pkg.dev", {"GCE_METADATA_HOST": fake.host})
    assert info == {"registry": "us-central1-docker.pkg.dev",
                    "source": f"GCR (metadata server {fake.host})",
                    "username": GCR_USER, "kind": "basic"}
    [req] = fake.requests("metadata")
    assert req["method"] == "GET" and req["status"] == 200
    assert req["path"] == "/computeMetadata/v1/instance/service-accounts/default/token"
    assert req["headers"]["metadata-flavor"] == "Google"
    assert fake.counts == {"metadata": 1}


@pytest.mark.parametrize("endpoint", ["google", "metadata"])
def test_gcr_endpoint_failing_gives_one_warning_and_anonymous(which, fake, tmp_path, endpoint):
    fake.fail[endpoint] = 500
    env = ({"GOOGLE_APPLICATION_CREDENTIALS": fake.write_service_account_key(tmp_path / "k.json")}
           if endpoint == "google" else {"GCE_METADATA_HOST": fake.host})
    info, proc = which("gcr.io", env)
    assert info["kind"] == "anonymous" and info["username"] == ""
    [warning] = warnings(proc)
    assert "GCR (" in warning and "HTTP 500" in warning
    assert fake.counts == {endpoint: 1}


def test_gcr_refuses_a_plain_http_token_uri(which, fake, tmp_path):
    key = fake.write_service_account_key(tmp_path / "sa.json",
                                         token_uri="http://oauth2.example.invalid/token")
    info, proc = which("gcr.io", {"GOOGLE_APPLICATION_CREDENTIALS": key})
    assert info["kind"] == "anonymous"
    [warning] = warnings(proc)
    assert "token_uri must be https" in warning
    assert "PRIVATE KEY" not in proc.stderr


def test_gcr_credentials_stay_with_google_hosts(which, fake, tmp_path):
    key = fake.write_service_account_key(tmp_path / "sa.json")
    for host in ("registry.example.com", "gcr.io.example.com", "gcr.io:5000", REGISTRY):
        info, proc = which(host, {"GOOGLE_APPLICATION_CREDENTIALS": key,
                                  "GOOGLE_OAUTH_ACCESS_TOKEN": "ya29.env-" + "y" * 20})
        assert info["kind"] == "anonymous" and "GCR" not in info["source"], host
        assert warnings(proc) == []
    assert fake.log == []


# --- Azure ----------------------------------------------------------------------------------

def acr_env(fake, **more):
    return {"FLOE_ACR_EXCHANGE_URL": fake.exchange_url, **more}


def check_exchange(fake, access_token, tenant):
    [req] = fake.requests("exchange")
    assert req["method"] == "POST" and req["status"] == 200
    assert req["headers"]["content-type"] == "application/x-www-form-urlencoded"
    expected = {"grant_type": "access_token", "service": REGISTRY, "access_token": access_token}
    if tenant:
        expected["tenant"] = tenant
    assert req["form"] == expected


def test_acr_access_token_from_environment(which, fake):
    token = entra_like("tenant-from-token")
    fake.static_tokens.add(token)
    fake.exchange_tenant = "tenant-from-token"  # read from the token's tid claim
    info, _ = which(REGISTRY, acr_env(fake, AZURE_ACCESS_TOKEN=token))
    assert info == {"registry": REGISTRY, "source": "ACR (AZURE_ACCESS_TOKEN)",
                    "username": ACR_USER, "kind": "identity-token"}
    check_exchange(fake, token, "tenant-from-token")
    assert fake.counts == {"exchange": 1}


def test_acr_access_token_without_a_tenant(which, fake):
    fake.static_tokens.add("opaque-entra-token-1234")
    fake.exchange_tenant = None
    info, _ = which(REGISTRY, acr_env(fake, AZURE_ACCESS_TOKEN="opaque-entra-token-1234"))
    assert info["kind"] == "identity-token"
    check_exchange(fake, "opaque-entra-token-1234", None)


def workload_env(fake, tmp_path, federated=None):
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text((federated or fake.federated_token) + "\n")
    return acr_env(fake, AZURE_FEDERATED_TOKEN_FILE=token_file,
                   AZURE_CLIENT_ID=fake.entra_client_id, AZURE_TENANT_ID=fake.entra_tenant,
                   AZURE_AUTHORITY_HOST=fake.entra_authority)


def test_acr_workload_identity(which, fake, tmp_path):
    info, proc = which(REGISTRY, workload_env(fake, tmp_path))
    assert info == {"registry": REGISTRY,
                    "source": f"ACR (workload identity {fake.entra_client_id})",
                    "username": ACR_USER, "kind": "identity-token"}
    [req] = fake.requests("entra")
    assert req["status"] == 200 and req["method"] == "POST"
    assert req["path"] == f"/{fake.entra_tenant}/oauth2/v2.0/token"
    assert req["form"] == {
        "client_id": fake.entra_client_id, "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": fake.federated_token,
        "scope": "https://management.azure.com/.default"}
    entra_token = [t for t, e in fake.issued.items() if e == "entra"][0]
    check_exchange(fake, entra_token, fake.entra_tenant)
    assert fake.counts == {"entra": 1, "exchange": 1}
    assert "/oauth2/exchange" in proc.stderr  # -v logged both requests
    assert f"/{fake.entra_tenant}/oauth2/v2.0/token" in proc.stderr


def test_acr_workload_identity_refused(which, fake, tmp_path):
    """The Entra fake checks the assertion: a wrong one is refused, floe warns once."""
    info, proc = which(REGISTRY, workload_env(fake, tmp_path, federated="wrong.federated.token"))
    assert info["kind"] == "anonymous"
    [warning] = warnings(proc)
    assert "ACR (workload identity" in warning and "HTTP 401 (invalid_client)" in warning
    assert fake.counts == {"entra": 1}


def test_acr_workload_identity_needs_its_ids(which, fake, tmp_path):
    env = workload_env(fake, tmp_path)
    env["AZURE_TENANT_ID"] = None
    info, proc = which(REGISTRY, env)
    assert info["kind"] == "anonymous"
    [warning] = warnings(proc)
    assert "AZURE_TENANT_ID" in warning
    assert fake.log == []


def test_acr_managed_identity_endpoint(which, fake):
    info, _ = which(REGISTRY, acr_env(fake, IDENTITY_ENDPOINT=fake.msi_endpoint,
                                      IDENTITY_HEADER=fake.identity_header))
    assert info == {"registry": REGISTRY, "source": "ACR (managed identity)",
                    "username": ACR_USER, "kind": "identity-token"}
    [req] = fake.requests("msi")
    assert req["method"] == "GET" and req["status"] == 200
    assert req["headers"]["x-identity-header"] == fake.identity_header
    assert req["query"] == {"api-version": "2019-08-01",
                            "resource": "https://management.azure.com/"}
    msi_token = [t for t, e in fake.issued.items() if e == "msi"][0]
    check_exchange(fake, msi_token, fake.entra_tenant)  # the tenant from the token's tid


def test_acr_user_assigned_managed_identity(which, fake):
    info, _ = which(REGISTRY, acr_env(fake, IDENTITY_ENDPOINT=fake.msi_endpoint,
                                      IDENTITY_HEADER=fake.identity_header,
                                      AZURE_CLIENT_ID="user-assigned-1"))
    assert info["source"] == "ACR (managed identity user-assigned-1)"
    [req] = fake.requests("msi")
    assert req["query"]["client_id"] == "user-assigned-1"


def test_acr_imds_only_when_asked(which, fake):
    # Nothing configured: not even IMDS is tried (no warning, no delay on a link-local address).
    info, proc = which(REGISTRY, acr_env(fake))
    assert info["kind"] == "anonymous" and warnings(proc) == []
    assert fake.log == []
    # Pointed at it: asked with Metadata: true.
    info, _ = which(REGISTRY, acr_env(fake, AZURE_POD_IDENTITY_AUTHORITY_HOST=fake.url))
    assert info["source"] == "ACR (IMDS managed identity)"
    [req] = fake.requests("imds")
    assert req["headers"]["metadata"] == "true"
    assert req["query"] == {"api-version": "2018-02-01",
                            "resource": "https://management.azure.com/"}
    assert fake.counts == {"imds": 1, "exchange": 1}


@pytest.mark.parametrize("endpoint", ["entra", "exchange"])
def test_acr_endpoint_failing_gives_one_warning_and_anonymous(which, fake, tmp_path, endpoint):
    fake.fail[endpoint] = 500
    info, proc = which(REGISTRY, workload_env(fake, tmp_path))
    assert info["kind"] == "anonymous" and info["username"] == ""
    [warning] = warnings(proc)
    assert "ACR (workload identity" in warning and "HTTP 500" in warning
    assert fake.counts[endpoint] == 1


def test_acr_exchange_refuses_plain_http_elsewhere(which, fake):
    fake.static_tokens.add("opaque-entra-token-5678")
    info, proc = which(REGISTRY, {"AZURE_ACCESS_TOKEN": "opaque-entra-token-5678",
                                  "FLOE_ACR_EXCHANGE_URL": "http://acr.example.invalid/x"})
    assert info["kind"] == "anonymous"
    [warning] = warnings(proc)
    assert "must be https" in warning


def test_acr_credentials_stay_with_azure_hosts(which, fake, tmp_path):
    for host in ("registry.example.com", "myreg.azurecr.io.example.com", "gcr.io",
                 "myreg.azurecr.io:5000"):
        info, proc = which(host, workload_env(fake, tmp_path))
        assert info["kind"] == "anonymous" and "ACR" not in info["source"], host
        assert warnings(proc) == []
    assert fake.log == []
