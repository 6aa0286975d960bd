"""The platform manifest drives push and pull per environment (issue 9, first part).

A manifest.yaml names a registry per environment; references without a host go to the chosen
environment's registry (--env, FLOE_ENVIRONMENT), credentials come from a credentials_ref
(FLOE_SECRET_<NAME>_*), `floe config show` prints references and never values, and a bad file
is one line naming file, line and key.
"""
import json

import pytest
import urllib.request

from fake_k8s import FakeK8s, docker_config, pull_secret
from floe_testlib import EXIT_AUTH, EXIT_USAGE, assert_error, ok, out_json

NO_ENV = {"FLOE_REGISTRY_USERNAME": None, "FLOE_REGISTRY_PASSWORD": None,
          "FLOE_MANIFEST": None, "FLOE_ENVIRONMENT": None}


def tags(reg, repo):
    try:
        with urllib.request.urlopen(f"http://{reg.host}/v2/{repo}/tags/list") as r:
            return json.load(r).get("tags") or []
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return []
        raise


def write_manifest(path, default, envs, secure=None):
    lines = ["name: test-platform", "artifacts:", "  registry:",
             f"    uri: oci://{default.host}/floe", "  environments:"]
    for name, reg in envs.items():
        lines += [f"    {name}:", f"      uri: oci://{reg.host}/floe-{name}"]
    if secure:
        lines += ["    secure:", f"      uri: oci://{secure.host}/locked", "      auth:",
                  "        type: basic", "        credentials_ref:", "          source: env",
                  "          name: locked-robot"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_environments_pick_the_registry_for_references_without_a_host(
        run_floe, registry_factory, tmp_path):
    default, staging, prod = (registry_factory("anon") for _ in range(3))
    manifest = write_manifest(tmp_path / "manifest.yaml", default,
                              {"staging": staging, "prod": prod})
    data = tmp_path / "orders.csv"
    data.write_text("id\n1\n")

    ok(run_floe("--config", manifest, "--env", "staging", "artifact", "push", "orders:1.2.3",
                data, env=NO_ENV))
    assert tags(staging, "floe-staging/orders") == ["1.2.3"]
    assert tags(default, "floe/orders") == [] and tags(prod, "floe-prod/orders") == []

    # FLOE_ENVIRONMENT and FLOE_MANIFEST stand in for the flags; ./manifest.yaml is found too.
    ok(run_floe("artifact", "push", "orders:1.2.3", data,
                env={**NO_ENV, "FLOE_MANIFEST": manifest, "FLOE_ENVIRONMENT": "prod"}))
    assert tags(prod, "floe-prod/orders") == ["1.2.3"]
    ok(run_floe("artifact", "push", "orders:1.2.3", data, env=NO_ENV, cwd=tmp_path))
    assert tags(default, "floe/orders") == ["1.2.3"]

    out = tmp_path / "out"
    ok(run_floe("--env", "staging", "artifact", "pull", "orders:1.2.3", "-o", out,
                env=NO_ENV, cwd=tmp_path))
    assert (out / "orders.csv").read_text() == "id\n1\n"
    # A reference with a host is used as it is.
    ok(run_floe("--env", "staging", "artifact", "inspect", f"{prod.host}/floe-prod/orders:1.2.3",
                env=NO_ENV, cwd=tmp_path))
    # An environment the file does not name: the known ones are listed.
    proc = run_floe("--env", "qa", "artifact", "inspect", "orders:1.2.3", env=NO_ENV,
                    cwd=tmp_path)
    assert_error(proc, EXIT_USAGE, "qa", "staging", "prod")


def test_credentials_ref_from_the_environment(run_floe, registry_factory, registry_basic,
                                              tmp_path):
    default = registry_factory("anon")
    manifest = write_manifest(tmp_path / "manifest.yaml", default, {}, secure=registry_basic)
    data = tmp_path / "f.txt"
    data.write_text("x\n")
    args = ("--config", manifest, "--env", "secure", "artifact", "push", "app:dev", data)
    # Not exported: a warning names the variables to set, and the registry refuses.
    proc = run_floe(*args, env=NO_ENV)
    assert proc.returncode == EXIT_AUTH
    assert "FLOE_SECRET_LOCKED_ROBOT_PASSWORD" in proc.stderr
    secret_env = {**NO_ENV, "FLOE_SECRET_LOCKED_ROBOT_USERNAME": registry_basic.username,
                  "FLOE_SECRET_LOCKED_ROBOT_PASSWORD": registry_basic.password}
    proc = ok(run_floe("-v", *args, env=secret_env))
    assert registry_basic.password not in proc.stdout + proc.stderr

    show = out_json(ok(run_floe("--config", manifest, "--env", "secure", "config", "show",
                                "--json", env=secret_env)))
    text = json.dumps(show)
    assert registry_basic.password not in text
    assert "locked-robot" in text and "FLOE_SECRET_LOCKED_ROBOT_PASSWORD" in text
    human = ok(run_floe("--config", manifest, "--env", "secure", "config", "show",
                        env=secret_env)).stdout
    assert registry_basic.host in human and registry_basic.password not in human


def test_a_bad_manifest_is_one_line_naming_file_line_and_key(run_floe, tmp_path):
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text("artifacts:\n  registry:\n    uri: oci://r.example.com/floe\n"
                        "    tls_verfy: false\n")
    proc = run_floe("--config", manifest, "artifact", "inspect", "orders:1", env=NO_ENV)
    assert_error(proc, EXIT_USAGE, f"{manifest}:4", "tls_verfy", "tls_verify")
    manifest.write_text("artifacts:\n  registry:\n    uri: oci://r.example.com/floe\n"
                        "    auth:\n      type: basic\n")
    proc = run_floe("--config", manifest, "config", "show", env=NO_ENV)
    assert_error(proc, EXIT_USAGE, f"{manifest}:", "credentials_ref")
    # A directory named as the manifest says so.
    assert_error(run_floe("--config", tmp_path, "config", "show", env=NO_ENV), EXIT_USAGE,
                 "is a directory")
    # --env without any manifest.
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_error(run_floe("--env", "prod", "artifact", "inspect", "orders:1", env=NO_ENV,
                          cwd=empty), EXIT_USAGE, "manifest")


def test_the_circuit_opens_after_the_configured_failures_and_then_fails_fast(run_floe, tmp_path):
    import socket
    with socket.socket() as s:  # a port with nothing behind it: every connection is refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(
        "artifacts:\n  registry:\n"
        f"    uri: oci://127.0.0.1:{port}/floe\n"
        "    resilience:\n"
        "      retry: {max_attempts: 6, initial_delay_ms: 10, max_delay_ms: 20}\n"
        "      circuit_breaker: {failure_threshold: 2, recovery_timeout_ms: 60000}\n")
    # --plain-http: no scheme probe, so every request goes through the retry layer.
    proc = run_floe("-v", "--plain-http", "--config", manifest, "artifact", "inspect", "orders:1",
                    env=NO_ENV)
    assert proc.returncode != 0
    attempts = [l for l in proc.stderr.splitlines() if "-> no answer" in l]
    # Two failures open it; the retries after that are refused without a connection.
    assert len(attempts) == 2, proc.stderr
    assert "circuit closed -> open" in proc.stderr
    assert "circuit open" in proc.stderr.splitlines()[-1]


def test_mutual_tls_from_the_manifest(run_floe, registry_factory, tmp_path):
    reg = registry_factory("tls", mtls=True)
    data = tmp_path / "f.txt"
    data.write_text("mtls\n")
    manifest = tmp_path / "manifest.yaml"
    base = (f"artifacts:\n  registry:\n    uri: oci://{reg.host}/floe\n"
            f"    ca_file: {reg.ca_path}\n")
    manifest.write_text(base)
    # Without a client certificate the registry ends the handshake.
    proc = run_floe("--config", manifest, "artifact", "push", "app:dev", data, env=NO_ENV)
    assert proc.returncode == 6, proc.stderr  # network (TLS)
    manifest.write_text(base + f"    client_cert: {reg.client_cert}\n"
                               f"    client_key: {reg.client_key}\n")
    ok(run_floe("--config", manifest, "artifact", "push", "app:dev", data, env=NO_ENV))
    out = tmp_path / "out"
    ok(run_floe("--config", manifest, "artifact", "pull", "app:dev", "-o", out, env=NO_ENV))
    assert (out / "f.txt").read_text() == "mtls\n"
    # A key that does not match the certificate: refused before any connection.
    manifest.write_text(base + f"    client_cert: {reg.client_cert}\n"
                               f"    client_key: {reg._key}\n")
    proc = run_floe("--config", manifest, "artifact", "push", "app:dev", data, env=NO_ENV)
    assert proc.returncode == EXIT_USAGE and "client key" in proc.stderr, proc.stderr


def test_pulls_fail_over_to_the_mirrors_in_order(run_floe, registry_factory, tmp_path):
    primary, first, second = (registry_factory("anon") for _ in range(3))
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(
        "artifacts:\n  registry:\n"
        f"    uri: oci://{primary.host}/floe\n"
        "    resilience:\n      retry: {max_attempts: 1}\n"
        "    mirrors:\n"
        f"      - uri: oci://{first.host}/dr\n"
        f"      - uri: oci://{second.host}/dr2\n")
    data = tmp_path / "orders.csv"
    data.write_text("id\n7\n")
    digest = ok(run_floe("--config", manifest, "artifact", "push", "orders:1.2.3", data,
                         env=NO_ENV)).stdout.strip()
    # The mirrors hold copies (what `floe artifact mirror` will keep up to date).
    for reg, ns in ((first, "dr"), (second, "dr2")):
        ok(run_floe("artifact", "copy", f"{primary.host}/floe/orders:1.2.3",
                    f"{reg.host}/{ns}/orders:1.2.3", env=NO_ENV))

    def pull(ref, name, *flags):
        return run_floe("--config", manifest, *flags, "artifact", "pull", ref, "-o",
                        tmp_path / name, "--json", env=NO_ENV)

    normal = out_json(ok(pull("orders:1.2.3", "o0")))
    assert normal["fromMirror"] is False and primary.host in normal["servedBy"]

    primary.stop()
    for ref, name in (("orders:1.2.3", "o1"), (f"orders@{digest}", "o2")):
        proc = ok(pull(ref, name, "--progress", "json"))
        # A progress event says it too, for programs reading --progress json.
        events = [json.loads(l) for l in proc.stderr.splitlines() if l.startswith("{")]
        [failover] = [e for e in events if e["event"] == "failover"]
        assert primary.host in failover["detail"] and first.host in failover["detail"], failover
        result = out_json(proc)
        assert result["fromMirror"] is True and first.host in result["servedBy"], result
        assert f"pulled from mirror {first.host}/dr/orders" in proc.stderr
        assert (tmp_path / name / "orders.csv").read_text() == "id\n7\n"

    first.stop()
    result = out_json(ok(pull("orders:1.2.3", "o3")))
    assert second.host in result["servedBy"]

    second.stop()
    proc = pull("orders:1.2.3", "o4")
    assert proc.returncode == 6
    last = proc.stderr.strip().splitlines()[-1]
    for reg in (primary, first, second):
        assert reg.host in last, last
    assert not (tmp_path / "o4" / "orders.csv").exists()


def test_credentials_ref_from_a_kubernetes_secret(run_floe, registry_basic, tmp_path):
    reg = registry_basic
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text("artifacts:\n  registry:\n"
                        f"    uri: oci://{reg.host}/floe\n"
                        "    auth:\n      type: basic\n      credentials_ref:\n"
                        "        source: kubernetes\n        name: ci/regcred\n")
    config = docker_config(reg.host, reg.username, reg.password)
    with FakeK8s(tmp_path, namespace="team-a") as k8s:
        k8s.add_secret("ci", "regcred", pull_secret("ci", "regcred", config))
        env = {**NO_ENV, **k8s.env(), "FLOE_PULL_SECRET": None}
        got = out_json(ok(run_floe("--config", manifest, "auth", "which", reg.host, "--json",
                                   env=env)))
        assert got["source"] == "pull secret k8s:ci/regcred" and got["username"] == reg.username
        data = tmp_path / "f.txt"
        data.write_text("from a kubernetes secret\n")
        proc = ok(run_floe("--config", manifest, "artifact", "push", "k8s-app:1.0.0", data,
                           env=env))
        assert reg.password not in proc.stdout + proc.stderr
        assert k8s.requests == [("GET", "/api/v1/namespaces/ci/secrets/regcred",
                                 "Bearer " + k8s.token)] * 2


def test_auth_type_anonymous_asks_no_credential_source(run_floe, registry_basic, tmp_path):
    reg = registry_basic
    docker = tmp_path / "docker"
    docker.mkdir()
    (docker / "config.json").write_text(
        json.dumps(docker_config(reg.host, reg.username, reg.password)))
    # Not in the working directory, where floe would find it without --config.
    manifest = docker / "platform.yaml"
    manifest.write_text(f"artifacts:\n  registry:\n    uri: oci://{reg.host}/floe\n"
                        "    auth: {type: anonymous}\n")
    env = {**NO_ENV, "DOCKER_CONFIG": docker}
    # Without the manifest docker's file answers; with `anonymous` nothing does.
    assert out_json(ok(run_floe("auth", "which", reg.host, "--json", env=env)))["kind"] == "basic"
    got = out_json(ok(run_floe("--config", manifest, "auth", "which", reg.host, "--json",
                               env=env)))
    assert got["kind"] == "anonymous", got
    # An explicit FLOE_REGISTRY_* for the command's reference still beats the file.
    env_creds = {**env, "FLOE_REGISTRY_USERNAME": reg.username,
                 "FLOE_REGISTRY_PASSWORD": reg.password}
    got = out_json(ok(run_floe("--config", manifest, "auth", "which", reg.host, "--json",
                               env=env_creds)))
    assert got["kind"] == "basic", got


# Each kind of mistake the contract names, as the CLI reports it: one line, FILE:LINE, the key.
BAD_MANIFESTS = {
    "unknown key": ("    tls_verfy: false\n", 4, "artifacts.registry.tls_verfy", "tls_verify"),
    "wrong type": ("    concurrency: many\n", 4, "artifacts.registry.concurrency", "whole number"),
    "out of range": ("    resilience:\n      retry: {max_attempts: 11}\n", 5,
                     "max_attempts", "10"),
    "float where a bool goes": ("    resilience:\n      retry: {jitter: 0.5}\n", 5, "jitter",
                                "true or false"),
    "credentials_ref on anonymous": (
        "    auth:\n      type: anonymous\n      credentials_ref: {source: env, name: x}\n", 6,
        "credentials_ref", "anonymous"),
    "basic without credentials_ref": ("    auth: {type: basic}\n", 4, "credentials_ref",
                                      "basic"),
    "unknown auth type": ("    auth: {type: kerberos}\n", 4, "auth.type", "aws-irsa"),
    "unknown secret source": (
        "    auth:\n      type: token\n      credentials_ref: {source: vault, name: x}\n", 6,
        "source", "kubernetes"),
    "breaker threshold zero": (
        "    resilience:\n      circuit_breaker: {enabled: true, failure_threshold: 0}\n", 5,
        "failure_threshold", "1"),
}


@pytest.mark.parametrize("case", list(BAD_MANIFESTS))
def test_each_validation_error_names_file_line_and_key(run_floe, tmp_path, case):
    extra, line, key, hint = BAD_MANIFESTS[case]
    manifest = tmp_path / "platform" / "manifest.yaml"
    manifest.parent.mkdir()
    manifest.write_text("artifacts:\n  registry:\n    uri: oci://r.example.com/floe\n" + extra)
    proc = run_floe("--config", manifest, "config", "show", env=NO_ENV)
    assert_error(proc, EXIT_USAGE, f"{manifest}:{line}:", key, hint)
