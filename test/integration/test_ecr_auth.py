"""Amazon ECR credentials: AWS keys from the environment, the shared files or web identity (STS),
GetAuthorizationToken signed with SigV4 and verified by a local fake (fake_aws.py), and the
token's disk cache.

The registry host is an ECR name (123456789012.dkr.ecr.us-east-1.amazonaws.com) that nothing
here serves, so these tests go through `floe auth which HOST --json`, which resolves the
credentials for real and prints the source and user name, never the secret.
"""
import base64
import json
import os
import stat
import time

import pytest

from fake_aws import FakeAws, canonical_request, signature
from floe_testlib import ok

ECR_HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
KEY_ID = "AKIAFLOETESTKEY00001"
SECRET = "fLoE/Secret+Key0123456789abcdefghijklmno"
ROLE = "arn:aws:iam::123456789012:role/floe-ci"
WEB_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJl"

# Every AWS variable the ECR source reads, cleared so the developer's shell never leaks in.
AWS_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
            "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME",
            "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL_STS", "AWS_CA_BUNDLE",
            "XDG_CACHE_HOME")


@pytest.fixture
def aws():
    fake = FakeAws(keys={KEY_ID: SECRET}, role_arn=ROLE, web_identity_token=WEB_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"


@pytest.fixture
def which(run_floe, aws, cache_dir):
    """Runs `floe [-v] auth which ECR_HOST --json` with the fake's endpoints and a private
    cache; returns (answer or None, process)."""
    def run(env=None, verbose=False, host=ECR_HOST, endpoints=True):
        full = {name: None for name in AWS_VARS}
        full["XDG_CACHE_HOME"] = str(cache_dir)
        if endpoints:
            full["AWS_ENDPOINT_URL_ECR"] = aws.ecr_url
            full["AWS_ENDPOINT_URL_STS"] = aws.sts_url
        full.update(env or {})
        args = (["-v"] if verbose else []) + ["auth", "which", host, "--json"]
        proc = run_floe(*args, env=full, timeout=60)
        ok(proc)
        return json.loads(proc.stdout), proc
    return run


def env_keys(secret=SECRET, **extra):
    return {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": secret, **extra}


def warnings(proc):
    return [line for line in proc.stderr.splitlines() if line.startswith("floe: warning:")]


def cache_files(cache_dir):
    d = cache_dir / "floe" / "ecr"
    return sorted(p for p in d.iterdir() if not p.name.startswith(".")) if d.exists() else []


def assert_signed_ecr_request(req, key_id):
    """What every accepted GetAuthorizationToken request looked like."""
    assert req["status"] == 200
    assert req["verified_key"] == key_id  # the fake recomputed the signature and it matched
    assert req["method"] == "POST" and req["path"] == "/"
    assert req["headers"]["x-amz-target"] == \
        "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
    assert req["headers"]["content-type"] == "application/x-amz-json-1.1"
    assert req["body"] == b"{}"
    auth = req["headers"]["authorization"]
    assert auth.startswith(f"AWS4-HMAC-SHA256 Credential={key_id}/")
    assert "/us-east-1/ecr/aws4_request, SignedHeaders=" in auth


def test_fake_verifier_reproduces_the_published_vector():
    """The fake's own SigV4 (independent of floe's) signs aws-sig-v4-test-suite get-vanilla to
    its published signature, so its verdicts can be trusted."""
    headers = [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")]
    creq = canonical_request("GET", "/", "", headers, ["host", "x-amz-date"], b"")
    assert signature("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830T123600Z",
                     "us-east-1", "service", creq) == \
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"


def test_environment_keys(which, aws):
    answer, proc = which(env_keys())
    assert answer == {"registry": ECR_HOST, "source": "ECR (environment keys)",
                      "username": "AWS", "kind": "basic"}
    assert warnings(proc) == []
    assert aws.sts_calls == 0 and aws.ecr_calls == 1
    req, = aws.requests("ecr")
    assert_signed_ecr_request(req, KEY_ID)
    assert "x-amz-security-token" not in req["headers"]


def test_environment_keys_with_a_session_token(which, aws):
    key, secret, token = "ASIAFLOESESSION00001", "session/secret+key", "FwoGZXIvYXdzEXAMPLE/+="
    aws._sessions[key] = (secret, token)
    answer, _ = which({"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
                       "AWS_SESSION_TOKEN": token})
    assert answer["username"] == "AWS" and answer["kind"] == "basic"
    req, = aws.requests("ecr")
    assert_signed_ecr_request(req, key)
    assert req["headers"]["x-amz-security-token"] == token
    assert "x-amz-security-token" in req["headers"]["authorization"]  # signed, not just sent


def test_generic_endpoint_override(which, aws):
    answer, _ = which(env_keys(AWS_ENDPOINT_URL=aws.ecr_url), endpoints=False)
    assert answer["source"] == "ECR (environment keys)"
    assert aws.ecr_calls == 1


def test_profile_from_the_credentials_file(which, aws, tmp_path):
    aws_dir = tmp_path / "home" / ".aws"
    aws_dir.mkdir(parents=True)
    (aws_dir / "credentials").write_text(
        "[default]\naws_access_key_id = AKIAWRONGDEFAULT0000\naws_secret_access_key = nope\n"
        f"[ci]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n")
    answer, proc = which({"AWS_PROFILE": "ci"})
    assert answer["source"] == "ECR (profile ci)"
    assert answer["username"] == "AWS"
    assert warnings(proc) == []
    assert_signed_ecr_request(aws.requests("ecr")[0], KEY_ID)


def test_profile_from_the_config_file(which, aws, tmp_path):
    config = tmp_path / "aws-config"
    config.write_text("[default]\nregion = us-east-1\n"
                      f"[profile dev]\naws_access_key_id = {KEY_ID}\n"
                      f"aws_secret_access_key = {SECRET}\n")
    answer, _ = which({"AWS_CONFIG_FILE": str(config), "AWS_PROFILE": "dev"})
    assert answer["source"] == "ECR (profile dev)"
    assert_signed_ecr_request(aws.requests("ecr")[0], KEY_ID)


def test_missing_profile_warns_once(which, aws):
    answer, proc = which({"AWS_PROFILE": "nosuch"})
    assert answer["kind"] == "anonymous"
    w = warnings(proc)
    assert len(w) == 1 and "ECR (profile nosuch)" in w[0], proc.stderr
    assert aws.ecr_calls == 0


def test_web_identity(which, aws, tmp_path):
    token_file = tmp_path / "web-identity-token"
    token_file.write_text(WEB_TOKEN + "\n")
    answer, proc = which({"AWS_ROLE_ARN": ROLE, "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file),
                          "AWS_ROLE_SESSION_NAME": "floe-ci-42"})
    assert answer == {"registry": ECR_HOST, "source": f"ECR (web identity {ROLE})",
                      "username": "AWS", "kind": "basic"}
    assert warnings(proc) == []
    sts, = aws.requests("sts")
    assert sts["status"] == 200
    assert sts["method"] == "POST" and sts["path"] == "/" and sts["query"] == ""
    assert sts["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert sts["params"] == {"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
                             "RoleArn": ROLE, "RoleSessionName": "floe-ci-42",
                             "WebIdentityToken": WEB_TOKEN}
    assert "authorization" not in sts["headers"]  # the web identity token is the proof
    # ECR was called with the temporary credentials STS handed out, session token signed.
    key, _, session_token = aws.issued[0]
    req, = aws.requests("ecr")
    assert_signed_ecr_request(req, key)
    assert req["headers"]["x-amz-security-token"] == session_token


def test_web_identity_default_session_name(which, aws, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(WEB_TOKEN)
    which({"AWS_ROLE_ARN": ROLE, "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file)})
    name = aws.requests("sts")[0]["params"]["RoleSessionName"]
    assert name.startswith("floe-")


def test_web_identity_refused_by_sts(which, aws, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("not-the-right-token")
    answer, proc = which({"AWS_ROLE_ARN": ROLE, "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file)})
    assert answer["kind"] == "anonymous"
    w = warnings(proc)
    assert len(w) == 1, proc.stderr
    assert f"ECR (web identity {ROLE})" in w[0] and "InvalidIdentityToken" in w[0]
    assert "fake STS" not in proc.stderr  # the service's message text is not echoed
    assert aws.sts_calls == 1 and aws.ecr_calls == 0


def test_bad_signature_is_refused_and_warned_once(which, aws, cache_dir):
    wrong = "wrong/Secret+Key0123456789abcdefghijklmn"
    answer, proc = which(env_keys(secret=wrong))
    assert answer == {"registry": ECR_HOST, "source": "", "username": "", "kind": "anonymous"}
    assert aws.rejections == [("ecr", "signature mismatch")]
    w = warnings(proc)
    assert len(w) == 1, proc.stderr
    assert "ECR (environment keys)" in w[0] and "InvalidSignatureException" in w[0]
    assert "403" in w[0]
    assert wrong not in proc.stdout + proc.stderr
    assert cache_files(cache_dir) == []  # nothing cached from a refusal


def test_no_aws_credentials_is_not_an_error(which, aws):
    answer, proc = which({})
    assert answer["kind"] == "anonymous"
    assert warnings(proc) == []
    assert aws.sts_calls == 0 and aws.ecr_calls == 0


def test_other_hosts_are_not_ecr(which, aws):
    for host in ("127.0.0.1:5000", "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example"):
        answer, proc = which(env_keys(), host=host)
        assert answer["kind"] == "anonymous", host
        assert warnings(proc) == []
    assert aws.ecr_calls == 0


def test_plain_http_to_a_remote_endpoint_is_refused(which, aws):
    answer, proc = which(env_keys(AWS_ENDPOINT_URL_ECR="http://ecr.example.invalid/"),
                         endpoints=False)
    assert answer["kind"] == "anonymous"
    w = warnings(proc)
    assert len(w) == 1 and "plain http" in w[0], proc.stderr


def test_disk_cache_is_private_and_reused(which, aws, cache_dir):
    first, _ = which(env_keys())
    assert aws.ecr_calls == 1
    files = cache_files(cache_dir)
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((cache_dir / "floe" / "ecr").stat().st_mode) == 0o700
    assert files[0].name.startswith("123456789012-us-east-1-")
    assert KEY_ID not in files[0].name
    entry = json.loads(files[0].read_text())
    assert entry["username"] == "AWS" and entry["password"] == aws.token_password
    assert entry["expires_at"] > time.time() + 11 * 3600

    second, proc = which(env_keys())
    assert second == first
    assert aws.ecr_calls == 1  # answered from the disk cache
    assert warnings(proc) == []

    # Another key is another identity: its own token, its own file.
    other_key, other_secret = "AKIAFLOETESTKEY00002", "another/secret"
    aws.keys[other_key] = other_secret
    which({"AWS_ACCESS_KEY_ID": other_key, "AWS_SECRET_ACCESS_KEY": other_secret})
    assert aws.ecr_calls == 2
    assert len(cache_files(cache_dir)) == 2


def test_cache_near_expiry_is_refreshed(which, aws, cache_dir):
    which(env_keys())
    path, = cache_files(cache_dir)
    entry = json.loads(path.read_text())
    entry["expires_at"] = int(time.time()) + 20 * 60  # inside the 30-minute margin
    path.write_text(json.dumps(entry))
    which(env_keys())
    assert aws.ecr_calls == 2
    refreshed = json.loads(path.read_text())
    assert refreshed["expires_at"] > time.time() + 11 * 3600
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    # Outside the margin it is still good.
    refreshed["expires_at"] = int(time.time()) + 40 * 60
    path.write_text(json.dumps(refreshed))
    which(env_keys())
    assert aws.ecr_calls == 2


def test_corrupt_cache_is_ignored_and_replaced(which, aws, cache_dir):
    which(env_keys())
    path, = cache_files(cache_dir)
    path.write_text('{"username": "AWS", "password": ')
    os.chmod(path, 0o644)
    answer, proc = which(env_keys())
    assert answer["kind"] == "basic" and answer["username"] == "AWS"
    assert warnings(proc) == []
    assert aws.ecr_calls == 2
    assert json.loads(path.read_text())["password"] == aws.token_password
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in (cache_dir / "floe" / "ecr").iterdir()] == [path.name]  # no leftovers


def test_web_identity_token_is_cached_per_role(which, aws, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(WEB_TOKEN)
    env = {"AWS_ROLE_ARN": ROLE, "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file)}
    which(env)
    which(env)
    assert aws.sts_calls == 1 and aws.ecr_calls == 1


def test_no_secret_in_verbose_output(which, aws, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(WEB_TOKEN)
    outputs = []
    _, proc = which(env_keys(), verbose=True)
    outputs.append(proc.stdout + proc.stderr)
    _, proc = which({"AWS_ROLE_ARN": ROLE, "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file),
                     "XDG_CACHE_HOME": str(tmp_path / "other-cache")}, verbose=True)
    outputs.append(proc.stdout + proc.stderr)
    _, proc = which(env_keys(secret="wrong/secret/value"), verbose=True)
    outputs.append(proc.stdout + proc.stderr)
    text = "\n".join(outputs)
    # -v did log the calls (so there was output to leak into) ...
    assert "POST " + aws.ecr_url in text and "POST " + aws.sts_url in text
    # ... and none of the secrets.
    secrets_seen = [SECRET, WEB_TOKEN, "wrong/secret/value", aws.token_password,
                    base64.b64encode(f"AWS:{aws.token_password}".encode()).decode()]
    for _, temp_secret, session_token in aws.issued:
        secrets_seen += [temp_secret, session_token]
    for s in secrets_seen:
        assert s not in text, f"a secret leaked: {s[:6]}..."
    for req in aws.requests("ecr"):
        sig = req["headers"]["authorization"].rsplit("Signature=", 1)[1]
        assert sig not in text
