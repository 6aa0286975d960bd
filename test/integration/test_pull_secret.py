"""Kubernetes pull secrets as a credential source, against the real registry (basic auth).

`--pull-secret FILE` / FLOE_PULL_SECRET with a Secret manifest (YAML or JSON, data or
stringData, dockerconfigjson or dockercfg) or the mounted .dockerconfigjson; and
`--pull-secret k8s:NS/NAME` read from a fake API server (fake_k8s.py) with the pod's service
account, which proves the token and path floe sent. Credentials come only from the pull secret
here: run_floe gets no registry= (that would set FLOE_REGISTRY_* credentials).
"""
import base64
import json
import os

import pytest

from fake_k8s import FakeK8s, docker_config, pull_secret
from floe_testlib import EXIT_AUTH, EXIT_OK, ok, out_json, repo_for
from registry import make_ca_and_server_cert

NO_CREDS = {"FLOE_REGISTRY_USERNAME": None, "FLOE_REGISTRY_PASSWORD": None,
            "FLOE_REGISTRY_TOKEN": None, "FLOE_PULL_SECRET": None,
            "KUBERNETES_SERVICE_HOST": None, "KUBERNETES_SERVICE_PORT": None,
            "FLOE_K8S_SERVICEACCOUNT_DIR": None}
OTHER_HOST = "registry.other.example:5000"


def b64(data):
    return base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()


def config_for(host, reg):
    return docker_config(host, reg.username, reg.password)


def secrets_of(reg, *extra):
    """Everything that must never be printed: the password, the Basic value, the base64 Secret
    data, and any extra (a service account token)."""
    config = json.dumps(config_for(reg.host, reg))
    return [reg.password, b64(f"{reg.username}:{reg.password}"), b64(config), *extra]


def assert_no_secret(procs, secrets):
    for proc in procs:
        for secret in secrets:
            assert secret not in proc.stdout + proc.stderr


def warnings(proc):
    return [l for l in proc.stderr.splitlines() if l.startswith("floe: warning: ")]


def secret_yaml(config, *, section="data", legacy=False):
    """A Secret manifest as a person writes it (or `kubectl create secret docker-registry
    --dry-run=client -o yaml` prints it)."""
    key, type_ = ((".dockercfg", "kubernetes.io/dockercfg") if legacy
                  else (".dockerconfigjson", "kubernetes.io/dockerconfigjson"))
    doc = json.dumps(config["auths"] if legacy else config)
    value = b64(doc) if section == "data" else "'" + doc + "'"
    return (f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\n  namespace: ci\n"
            f"type: {type_}\n{section}:\n  {key}: {value}\n")


def secret_json(config, *, section="data", legacy=False):
    """The same Secret as `kubectl get secret regcred -o json` prints it."""
    obj = pull_secret("ci", "regcred", config, legacy=legacy)
    if section == "stringData":
        key, value = next(iter(obj.pop("data").items()))
        obj["stringData"] = {key: base64.b64decode(value).decode()}
    return json.dumps(obj, indent=4)


def which(run_floe, reg, *flags, env=None):
    return out_json(run_floe(*flags, "auth", "which", reg.host, "--json",
                             env={**NO_CREDS, **(env or {})}))


def round_trip(run_floe, reg, request, tmp_path, *flags, env=None):
    """Push a file and pull it back with only these flags/env for credentials; the procs."""
    ref = f"{reg.host}/{repo_for(request)}:v1"
    src = tmp_path / "src" / "data.txt"
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_text("pulled with a pull secret\n")
    env = {**NO_CREDS, **(env or {})}
    push = ok(run_floe(*flags, "artifact", "push", ref, src, env=env))
    out = tmp_path / "out"
    pull = ok(run_floe(*flags, "artifact", "pull", ref, "-o", out, env=env))
    assert (out / "data.txt").read_text() == "pulled with a pull secret\n"
    return push, pull


# -- files -------------------------------------------------------------------------------

def test_secret_yaml_file_push_pull(run_floe, registry_basic, request, tmp_path):
    reg = registry_basic
    path = tmp_path / "regcred.yaml"
    path.write_text(secret_yaml(config_for(reg.host, reg)))
    got = which(run_floe, reg, "--pull-secret", path)
    assert got == {"registry": reg.host, "source": f"pull secret {path}",
                   "username": reg.username, "kind": "basic"}
    procs = round_trip(run_floe, reg, request, tmp_path, "-v", "--pull-secret", path)
    assert " -> 401" in procs[0].stderr  # -v logs: the checks below are not vacuous
    assert_no_secret(procs, secrets_of(reg))


@pytest.mark.parametrize("shape", ["yaml-stringData", "json-data", "json-stringData",
                                   "dockercfg-yaml-data", "dockercfg-json-stringData"])
def test_secret_shapes_from_env(run_floe, registry_basic, request, tmp_path, shape):
    """FLOE_PULL_SECRET, each way a Secret can carry the config."""
    reg = registry_basic
    legacy = shape.startswith("dockercfg")
    section = shape.rsplit("-", 1)[1]
    make = secret_json if "json" in shape else secret_yaml
    path = tmp_path / ("regcred.json" if "json" in shape else "regcred.yaml")
    path.write_text(make(config_for(reg.host, reg), section=section, legacy=legacy))
    env = {"FLOE_PULL_SECRET": str(path)}
    assert which(run_floe, reg, env=env)["source"] == f"pull secret {path}"
    round_trip(run_floe, reg, request, tmp_path, env=env)


def test_mounted_dockerconfigjson(run_floe, registry_basic, request, tmp_path):
    """The file a pod sees when the Secret is mounted: symlinks into the kubelet's ..data."""
    reg = registry_basic
    mount = tmp_path / "mnt"
    stamp = mount / "..2024_05_01_12_00_00.000000001"
    stamp.mkdir(parents=True)
    (stamp / ".dockerconfigjson").write_text(json.dumps(config_for(reg.host, reg)))
    os.symlink(stamp.name, mount / "..data")
    os.symlink("..data/.dockerconfigjson", mount / ".dockerconfigjson")
    path = mount / ".dockerconfigjson"
    assert which(run_floe, reg, "--pull-secret", path)["username"] == reg.username
    round_trip(run_floe, reg, request, tmp_path, "--pull-secret", path)


def test_flag_wins_over_env(run_floe, registry_basic, tmp_path):
    reg = registry_basic
    good = tmp_path / "good.yaml"
    good.write_text(secret_yaml(config_for(reg.host, reg)))
    other = tmp_path / "other.yaml"
    other.write_text(secret_yaml(config_for(OTHER_HOST, reg)))
    env = {"FLOE_PULL_SECRET": str(other)}
    assert which(run_floe, reg, "--pull-secret", good, env=env)["source"] == f"pull secret {good}"
    assert which(run_floe, reg, env=env)["kind"] == "anonymous"  # env alone: the other host's


def test_secret_for_another_host_gives_nothing(run_floe, registry_basic, request, tmp_path):
    reg = registry_basic
    path = tmp_path / "other.yaml"
    path.write_text(secret_yaml(config_for(OTHER_HOST, reg)))
    assert which(run_floe, reg, "--pull-secret", path)["kind"] == "anonymous"
    src = tmp_path / "data.txt"
    src.write_text("x\n")
    proc = run_floe("-v", "--pull-secret", path, "artifact", "push",
                    f"{reg.host}/{repo_for(request)}:v1", src, env=NO_CREDS)
    assert proc.returncode == EXIT_AUTH
    assert warnings(proc) == []  # a secret for another host is not an error, just no answer
    assert_no_secret([proc], secrets_of(reg))


def test_secret_of_wrong_type_warns_and_goes_on(run_floe, registry_basic, request, tmp_path):
    reg = registry_basic
    path = tmp_path / "opaque.yaml"
    path.write_text("apiVersion: v1\nkind: Secret\ntype: Opaque\nstringData:\n"
                    f"  password: {reg.password}\n")
    src = tmp_path / "data.txt"
    src.write_text("x\n")
    proc = run_floe("--pull-secret", path, "artifact", "push",
                    f"{reg.host}/{repo_for(request)}:v1", src, env=NO_CREDS)
    assert proc.returncode == EXIT_AUTH
    assert warnings(proc) == [
        f"floe: warning: pull secret {path}: a Secret of type Opaque is not a pull secret; it "
        "must be of type kubernetes.io/dockerconfigjson (or kubernetes.io/dockercfg); trying "
        "the next credential source"]
    assert reg.password not in proc.stdout + proc.stderr


def test_missing_secret_file_warns(run_floe, registry_basic, tmp_path):
    path = tmp_path / "nope.yaml"
    proc = run_floe("--pull-secret", path, "auth", "which", registry_basic.host, env=NO_CREDS)
    assert proc.returncode == EXIT_OK
    assert warnings(proc) == [f"floe: warning: pull secret {path}: {path}: no such file; "
                              "trying the next credential source"]


# -- k8s:NAMESPACE/NAME --------------------------------------------------------------------

@pytest.fixture
def k8s(tmp_path):
    with FakeK8s(tmp_path, namespace="team-a") as fake:
        yield fake


def secret_path(ns, name):
    return f"/api/v1/namespaces/{ns}/secrets/{name}"


def test_k8s_secret_push_pull(run_floe, registry_basic, request, tmp_path, k8s):
    reg = registry_basic
    k8s.add_secret("ci", "regcred", pull_secret("ci", "regcred", config_for(reg.host, reg)))
    got = which(run_floe, reg, "--pull-secret", "k8s:ci/regcred", env=k8s.env())
    assert got == {"registry": reg.host, "source": "pull secret k8s:ci/regcred",
                   "username": reg.username, "kind": "basic"}
    want = ("GET", secret_path("ci", "regcred"), "Bearer " + k8s.token)
    assert k8s.requests == [want]
    procs = round_trip(run_floe, reg, request, tmp_path, "-v", "--pull-secret", "k8s:ci/regcred",
                       env=k8s.env())
    assert k8s.requests == [want] * 3  # read once per process, however many requests follow
    assert f"GET {k8s.url}{secret_path('ci', 'regcred')} -> 200" in procs[0].stderr  # -v logs it
    assert_no_secret(procs, secrets_of(reg, k8s.token))


def test_k8s_name_alone_uses_the_service_account_namespace(run_floe, registry_basic, k8s):
    reg = registry_basic
    k8s.add_secret("team-a", "regcred", pull_secret("team-a", "regcred", config_for(reg.host, reg),
                                                    legacy=True))
    got = which(run_floe, reg, "--pull-secret", "k8s:regcred", env=k8s.env())
    assert got["source"] == "pull secret k8s:team-a/regcred"
    assert got["username"] == reg.username
    assert k8s.requests == [("GET", secret_path("team-a", "regcred"), "Bearer " + k8s.token)]


def test_k8s_through_env(run_floe, registry_basic, k8s):
    reg = registry_basic
    k8s.add_secret("ci", "regcred", pull_secret("ci", "regcred", config_for(reg.host, reg)))
    got = which(run_floe, reg, env={**k8s.env(), "FLOE_PULL_SECRET": "k8s:ci/regcred"})
    assert got["source"] == "pull secret k8s:ci/regcred"


def test_k8s_wrong_token_is_a_clear_error(run_floe, registry_basic, request, tmp_path, k8s):
    reg = registry_basic
    k8s.add_secret("ci", "regcred", pull_secret("ci", "regcred", config_for(reg.host, reg)))
    k8s.write_service_account(token="expired-sa-token-0123456789")
    src = tmp_path / "data.txt"
    src.write_text("x\n")
    proc = run_floe("-v", "--pull-secret", "k8s:ci/regcred", "artifact", "push",
                    f"{reg.host}/{repo_for(request)}:v1", src, env={**NO_CREDS, **k8s.env()})
    assert proc.returncode == EXIT_AUTH  # no credentials: the registry refused
    token_file = os.path.join(k8s.sa_dir, "token")
    assert warnings(proc) == [
        f"floe: warning: pull secret k8s:ci/regcred: the API server refused the service account "
        f"token in {token_file}: it is invalid or expired (HTTP 401); trying the next credential "
        "source"]
    # Asked once, with the token from the file, and never again for the other requests.
    assert k8s.requests == [("GET", secret_path("ci", "regcred"),
                             "Bearer expired-sa-token-0123456789")]
    assert_no_secret([proc], secrets_of(reg, "expired-sa-token-0123456789", k8s.token))


@pytest.mark.parametrize("case", ["forbidden", "missing"])
def test_k8s_refusals_are_clear(run_floe, registry_basic, k8s, case):
    reg = registry_basic
    k8s.add_secret("ci", "locked", pull_secret("ci", "locked", config_for(reg.host, reg)))
    k8s.forbid("ci", "locked")
    name = "locked" if case == "forbidden" else "absent"
    proc = run_floe("--pull-secret", f"k8s:ci/{name}", "auth", "which", reg.host, "--json",
                    env={**NO_CREDS, **k8s.env()})
    assert json.loads(ok(proc).stdout)["kind"] == "anonymous"
    want = {"forbidden": "the service account may not read secret ci/locked: grant it get on "
                         "secrets in namespace ci (HTTP 403)",
            "missing": "there is no secret absent in namespace ci (HTTP 404)"}[case]
    assert warnings(proc) == [f"floe: warning: pull secret k8s:ci/{name}: {want}; trying the "
                              "next credential source"]
    assert k8s.requests == [("GET", secret_path("ci", name), "Bearer " + k8s.token)]
    assert reg.password not in proc.stdout + proc.stderr


@pytest.mark.parametrize("spec", ["k8s:CI/regcred", "k8s:ci/reg_cred", "k8s:ci/a/b",
                                  "k8s:../regcred", "k8s:ci/regcred?watch=1"])
def test_k8s_bad_names_are_refused_before_any_request(run_floe, registry_basic, k8s, spec):
    proc = run_floe("--pull-secret", spec, "auth", "which", registry_basic.host,
                    env={**NO_CREDS, **k8s.env()})
    assert proc.returncode != 0
    assert proc.stderr.startswith(f"floe: pull secret {spec}: ")
    assert "is not a Kubernetes name" in proc.stderr
    assert k8s.requests == []


def test_k8s_api_server_is_verified_with_the_service_account_ca(run_floe, registry_basic,
                                                                tmp_path, k8s):
    reg = registry_basic
    k8s.add_secret("ci", "regcred", pull_secret("ci", "regcred", config_for(reg.host, reg)))
    other = tmp_path / "other-ca"
    other.mkdir()
    other_ca, _, _ = make_ca_and_server_cert(str(other))
    k8s.write_service_account(ca_path=other_ca)
    proc = run_floe("--pull-secret", "k8s:ci/regcred", "auth", "which", reg.host, "--json",
                    env={**NO_CREDS, **k8s.env()})
    assert json.loads(ok(proc).stdout)["kind"] == "anonymous"
    ca = os.path.join(k8s.sa_dir, "ca.crt")
    assert warnings(proc) == [
        "floe: warning: pull secret k8s:ci/regcred: the TLS handshake with the Kubernetes API "
        f"server failed; it must present a certificate signed by the CA in {ca}; trying the next "
        "credential source"]
    assert k8s.requests == []  # the token never left: TLS failed first
    assert k8s.token not in proc.stderr


def test_k8s_outside_a_pod(run_floe, registry_basic, k8s):
    env = {**NO_CREDS, "FLOE_K8S_SERVICEACCOUNT_DIR": k8s.sa_dir}
    proc = run_floe("--pull-secret", "k8s:ci/regcred", "auth", "which", registry_basic.host,
                    env=env)
    assert proc.returncode == EXIT_OK
    assert warnings(proc) == ["floe: warning: pull secret k8s:ci/regcred: KUBERNETES_SERVICE_HOST "
                              "is not set (k8s: works inside a pod; elsewhere give the Secret as "
                              "a file); trying the next credential source"]
    assert k8s.requests == []
