"""Credentials: basic auth, token auth, FLOE_REGISTRY_TOKEN, TLS trust, and no secret leaks."""
import base64
import json
import urllib.parse

import pytest

from floe_testlib import (EXIT_AUTH, EXIT_NETWORK, assert_error, http, ok, out_json, repo_for,
                          snapshot, write_product, write_tree)

NO_CREDS = {"FLOE_REGISTRY_USERNAME": None, "FLOE_REGISTRY_PASSWORD": None,
            "FLOE_REGISTRY_TOKEN": None}
SERVICE = "floe-test-registry"


@pytest.fixture
def files(tmp_path):
    """Several layers: compiled_artifacts.json, two files and a directory."""
    root = tmp_path / "src"
    write_product(root)
    (root / "one.txt").write_text("one\n")
    (root / "two.txt").write_text("two\n")
    write_tree(root / "models", {"a.txt": "a\n", "sub/b.txt": "b\n"})
    return [root / "compiled_artifacts.json", root / "one.txt", root / "two.txt", root / "models"]


def ref_for(reg, request, tag="dev", suffix=""):
    return f"{reg.host}/{repo_for(request, suffix)}:{tag}"


def wrong_password(reg):
    return {"FLOE_REGISTRY_USERNAME": reg.username, "FLOE_REGISTRY_PASSWORD": "wrong-Pa55"}


def fetch_token(reg, repo, actions="pull,push"):
    """A token for `repo` straight from the registry's issuer."""
    issuer = reg.token_issuer
    query = urllib.parse.urlencode({"service": SERVICE,
                                    "scope": f"repository:{repo}:{actions}"})
    status, _, body = http(reg, "GET", f"{issuer.realm}?{query}",
                           headers={"Authorization": "Basic " + base64.b64encode(
                               f"{reg.username}:{reg.password}".encode()).decode()})
    assert status == 200, body
    return json.loads(body)["token"]


def round_trip(run_floe, reg, ref, files, out, *flags, env=None):
    digest = ok(run_floe(*flags, "artifact", "push", ref, *files, registry=reg, env=env)).stdout.strip()
    assert out_json(run_floe(*flags, "artifact", "inspect", ref, "--json", registry=reg,
                             env=env))["digest"] == digest
    ok(run_floe(*flags, "artifact", "pull", ref, "-o", out, registry=reg, env=env))
    assert (out / "one.txt").read_text() == "one\n"
    assert snapshot(out / "models") == snapshot(files[-1])
    return digest


# -- basic -------------------------------------------------------------------------------

def test_basic_push_pull_with_credentials(run_floe, registry_basic, request, files, tmp_path):
    round_trip(run_floe, registry_basic, ref_for(registry_basic, request), files, tmp_path / "out")


@pytest.mark.parametrize("command", ["push", "pull", "inspect"])
def test_basic_without_credentials_is_auth_error(run_floe, registry_basic, request, files,
                                                 tmp_path, command):
    ref = ref_for(registry_basic, request, suffix="existing")
    ok(run_floe("artifact", "push", ref, *files, registry=registry_basic))
    args = {"push": ["push", ref, *files], "pull": ["pull", ref, "-o", tmp_path / "out"],
            "inspect": ["inspect", ref]}[command]
    assert_error(run_floe("artifact", *args, env=NO_CREDS), EXIT_AUTH)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["push", "pull", "inspect"])
def test_basic_wrong_password_is_auth_error(run_floe, registry_basic, request, files, tmp_path,
                                            command):
    ref = ref_for(registry_basic, request, suffix="existing")
    ok(run_floe("artifact", "push", ref, *files, registry=registry_basic))
    args = {"push": ["push", ref, *files], "pull": ["pull", ref, "-o", tmp_path / "out"],
            "inspect": ["inspect", ref]}[command]
    assert_error(run_floe("artifact", *args, env=wrong_password(registry_basic)), EXIT_AUTH)


# -- token -------------------------------------------------------------------------------

def test_token_push_pull_with_credentials(run_floe, registry_token, request, files, tmp_path):
    round_trip(run_floe, registry_token, ref_for(registry_token, request), files, tmp_path / "out")


@pytest.mark.parametrize("command", ["push", "pull", "inspect"])
def test_token_wrong_password_is_auth_error(run_floe, registry_token, request, files, tmp_path,
                                            command):
    ref = ref_for(registry_token, request, suffix="existing")
    ok(run_floe("artifact", "push", ref, *files, registry=registry_token))
    args = {"push": ["push", ref, *files], "pull": ["pull", ref, "-o", tmp_path / "out"],
            "inspect": ["inspect", ref]}[command]
    assert_error(run_floe("artifact", *args, env=wrong_password(registry_token)), EXIT_AUTH)


def test_token_anonymous_pull_of_pushed_repo_is_auth_error(run_floe, registry_token, request,
                                                           files, tmp_path):
    ref = ref_for(registry_token, request)
    ok(run_floe("artifact", "push", ref, *files, registry=registry_token))
    assert_error(run_floe("artifact", "pull", ref, "-o", tmp_path / "out", env=NO_CREDS), EXIT_AUTH)
    assert not (tmp_path / "out").exists()


def test_token_anonymous_push_is_auth_error(run_floe, registry_token, request, files):
    assert_error(run_floe("artifact", "push", ref_for(registry_token, request), *files,
                          env=NO_CREDS), EXIT_AUTH)


def test_registry_token_env_var_is_used_as_is(run_floe, registry_token, request, files, tmp_path):
    repo = repo_for(request)
    env = {**NO_CREDS, "FLOE_REGISTRY_TOKEN": fetch_token(registry_token, repo)}
    issuer = registry_token.token_issuer
    before = issuer.stats()["requests"]
    round_trip(run_floe, None, f"{registry_token.host}/{repo}:dev", files, tmp_path / "out", env=env)
    assert issuer.stats()["requests"] == before  # floe never asked the issuer itself


def test_registry_token_env_var_pull_of_small_file(run_floe, registry_token, request, files,
                                                   tmp_path):
    """Pull only, the token granting pull (the push is done with a password)."""
    repo = repo_for(request)
    ok(run_floe("artifact", "push", f"{registry_token.host}/{repo}:dev", files[1],
                registry=registry_token))
    env = {**NO_CREDS, "FLOE_REGISTRY_TOKEN": fetch_token(registry_token, repo, "pull")}
    ok(run_floe("artifact", "pull", f"{registry_token.host}/{repo}:dev", "-o", tmp_path / "out",
                env=env))
    assert (tmp_path / "out" / "one.txt").read_text() == "one\n"


def test_bogus_registry_token_is_auth_error(run_floe, registry_token, request, tmp_path):
    env = {**NO_CREDS, "FLOE_REGISTRY_TOKEN": "not-a-token"}
    assert_error(run_floe("artifact", "inspect", ref_for(registry_token, request), env=env),
                 EXIT_AUTH)


def test_token_is_cached_during_a_push(run_floe, registry_token, request, files):
    issuer = registry_token.token_issuer
    before = issuer.stats()["requests"]
    ok(run_floe("artifact", "push", ref_for(registry_token, request), *files,
                registry=registry_token))
    asked = issuer.stats()["requests"] - before
    assert 1 <= asked <= 2, f"a push of {len(files) + 1} blobs asked the token issuer {asked} times"


def test_token_is_cached_during_a_pull(run_floe, registry_token, request, files, tmp_path):
    ref = ref_for(registry_token, request)
    ok(run_floe("artifact", "push", ref, *files, registry=registry_token))
    issuer = registry_token.token_issuer
    before = issuer.stats()["requests"]
    ok(run_floe("artifact", "pull", ref, "-o", tmp_path / "out", registry=registry_token))
    asked = issuer.stats()["requests"] - before
    assert 1 <= asked <= 2, f"a pull of {len(files)} layers asked the token issuer {asked} times"


# -- TLS ---------------------------------------------------------------------------------

def test_tls_with_ca_file_env(run_floe, registry_tls, request, files, tmp_path):
    # registry= sets FLOE_CA_FILE
    round_trip(run_floe, registry_tls, ref_for(registry_tls, request), files, tmp_path / "out")


def test_tls_with_ca_file_flag(run_floe, registry_tls, request, files, tmp_path):
    env = {"FLOE_CA_FILE": None}
    round_trip(run_floe, registry_tls, ref_for(registry_tls, request), files, tmp_path / "out",
               "--ca-file", registry_tls.ca_path, env=env)


@pytest.mark.parametrize("command", ["push", "inspect"])
def test_tls_without_ca_is_network_error_about_certificate(run_floe, registry_tls, request, files,
                                                           command):
    ref = ref_for(registry_tls, request)
    args = ["push", ref, *files] if command == "push" else ["inspect", ref]
    assert_error(run_floe("artifact", *args, registry=registry_tls, env={"FLOE_CA_FILE": None}),
                 EXIT_NETWORK, "certificate")


def test_tls_insecure_skips_verification(run_floe, registry_tls, request, files, tmp_path):
    round_trip(run_floe, registry_tls, ref_for(registry_tls, request), files, tmp_path / "out",
               "--insecure", env={"FLOE_CA_FILE": None})


# -- secrets never printed ---------------------------------------------------------------

def secrets_in(text, reg, extra=()):
    b64 = base64.b64encode(f"{reg.username}:{reg.password}".encode()).decode()
    found = [s for s in (reg.password, b64, "Bearer ey", *extra) if s and s in text]
    return found


@pytest.mark.parametrize("mode", ["basic", "token", "tls"])
def test_credentials_never_printed_even_verbose(run_floe, request, files, tmp_path, mode):
    reg = request.getfixturevalue(f"registry_{mode}")
    ref = ref_for(reg, request)
    runs = [
        run_floe("-v", "artifact", "push", ref, *files, "--json", registry=reg),
        run_floe("-v", "artifact", "inspect", ref, "--json", registry=reg),
        run_floe("-v", "artifact", "pull", ref, "-o", tmp_path / "out", "--json", registry=reg),
        run_floe("-v", "artifact", "copy", ref, f"ocidir://{tmp_path / 'copy'}", "--json",
                 registry=reg),
    ]
    for proc in runs:
        ok(proc)
    # -v really logs requests, so the check below is not vacuous.
    assert "/v2/" in runs[0].stderr
    failed = run_floe("-v", "artifact", "push", ref, *files,
                      registry=reg, env={"FLOE_REGISTRY_PASSWORD": "wrong-Pa55-x"})
    assert failed.returncode != 0
    for proc in runs + [failed]:
        assert secrets_in(proc.stdout + proc.stderr, reg, ["wrong-Pa55-x"]) == []


def test_registry_token_never_printed_even_verbose(run_floe, registry_token, request, tmp_path):
    repo = repo_for(request)
    ok(run_floe("artifact", "push", f"{registry_token.host}/{repo}:dev",
                write_product(tmp_path / "src"), registry=registry_token))
    token = fetch_token(registry_token, repo, "pull")
    proc = run_floe("-v", "artifact", "inspect", f"{registry_token.host}/{repo}:dev",
                    env={**NO_CREDS, "FLOE_REGISTRY_TOKEN": token})
    ok(proc)
    assert "/v2/" in proc.stderr
    assert token not in proc.stdout + proc.stderr
    assert token.split(".")[2] not in proc.stdout + proc.stderr  # not even the signature
    assert secrets_in(proc.stdout + proc.stderr, registry_token) == []
