"""Fixtures for floe integration tests.

Registries (session-scoped, shared: use unique repository names per test):
    registry_anon, registry_basic, registry_token, registry_tls (TLS + basic auth)
    registry_factory(mode, auth=None) -> a fresh registry stopped after the test
        (for tests that corrupt storage or need an instance to themselves)
floe: path of the floe binary (env FLOE_BIN).
run_floe(*args, registry=None, env=None, timeout=120, input=None, cwd=None)
    -> CompletedProcess (text). registry= fills in FLOE_REGISTRY_USERNAME /
    FLOE_REGISTRY_PASSWORD / FLOE_CA_FILE from the instance; env= overrides
    (a None value removes the variable).
tiny_oci_layout: a hand-made OCI image layout (one layer) in tmp_path.
fault_proxy(registry) -> a started FaultProxy (test/faultproxy) in front of
    `registry`, stopped after the test; floe talks to proxy.host. (TLS passes
    through, since the test certificates name 127.0.0.1, but http_error_next
    needs plain http.)
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import types

import pytest

from registry import start_registry

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "faultproxy"))
from faultproxy import FaultProxy  # noqa: E402

def pytest_configure(config):
    # Long fault and kill campaigns: run once (scripts/test.sh leaves them out of the sanitizer
    # pass, which repeats the suite under ASan/UBSan).
    config.addinivalue_line("markers", "heavy: a long fault-injection or kill campaign")


# Variables that must come only from the test, never from the developer's shell.
_FLOE_VARS = ("FLOE_REGISTRY_USERNAME", "FLOE_REGISTRY_PASSWORD",
              "FLOE_REGISTRY_TOKEN", "FLOE_CA_FILE", "FLOE_SOURCE_REGISTRY_USERNAME",
              "FLOE_SOURCE_REGISTRY_PASSWORD", "FLOE_SOURCE_REGISTRY_TOKEN", "FLOE_PULL_SECRET",
              "DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
              "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
              "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_OAUTH_ACCESS_TOKEN", "GCE_METADATA_HOST",
              "AZURE_ACCESS_TOKEN", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_ID",
              "AZURE_TENANT_ID", "IDENTITY_ENDPOINT", "IDENTITY_HEADER",
              "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "AWS_SHARED_CREDENTIALS_FILE",
              "AWS_CONFIG_FILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_SESSION_NAME", "AWS_ENDPOINT_URL",
              "AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL_STS", "AWS_CA_BUNDLE", "XDG_CACHE_HOME",
              "FLOE_K8S_SERVICEACCOUNT_DIR", "AZURE_AUTHORITY_HOST", "FLOE_ACR_EXCHANGE_URL",
              "FLOE_AZURE_IMDS", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "MSI_ENDPOINT", "MSI_SECRET")
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy",
               "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


def hermetic_env(home):
    """os.environ without floe credentials or proxies, HOME pointing at `home`."""
    env = {k: v for k, v in os.environ.items() if k not in _FLOE_VARS + _PROXY_VARS}
    os.makedirs(home, exist_ok=True)
    env.update(HOME=str(home), XDG_CONFIG_HOME=os.path.join(home, ".config"),
               XDG_RUNTIME_DIR=str(home), NO_PROXY="127.0.0.1,localhost",
               no_proxy="127.0.0.1,localhost")
    return env


def _registry(mode, auth=None):
    reg = start_registry(mode, auth)
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="session")
def registry_anon():
    yield from _registry("anon")


@pytest.fixture(scope="session")
def registry_basic():
    yield from _registry("basic")


@pytest.fixture(scope="session")
def registry_token():
    yield from _registry("token")


@pytest.fixture(scope="session")
def registry_tls():
    yield from _registry("tls", auth="basic")


@pytest.fixture
def registry_factory():
    started = []

    def make(mode="anon", auth=None, password=None, mtls=False):
        started.append(start_registry(mode, auth, password=password, mtls=mtls))
        return started[-1]

    yield make
    for reg in started:
        reg.stop()


@pytest.fixture
def fault_proxy():
    started = []

    def make(registry):
        host, port = registry.host.rsplit(":", 1)
        started.append(FaultProxy(host, int(port)).start())
        return started[-1]

    yield make
    for proxy in started:
        proxy.stop()


@pytest.fixture(scope="session")
def floe():
    path = os.environ.get("FLOE_BIN")
    if not path:
        pytest.fail("FLOE_BIN is not set: export FLOE_BIN=/path/to/build/app/floe "
                    "before running the integration tests", pytrace=False)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"FLOE_BIN={path!r} is not an executable file", pytrace=False)
    return os.path.abspath(path)


@pytest.fixture
def run_floe(floe, tmp_path):
    # HOME is a per-test empty dir so no user config/credential file leaks in.
    base_env = hermetic_env(tmp_path / "home")

    def run(*args, registry=None, env=None, timeout=120, input=None, cwd=None):
        full_env = dict(base_env)
        if registry is not None:
            if registry.username:
                full_env["FLOE_REGISTRY_USERNAME"] = registry.username
                full_env["FLOE_REGISTRY_PASSWORD"] = registry.password
            if registry.ca_path:
                full_env["FLOE_CA_FILE"] = registry.ca_path
        for k, v in (env or {}).items():
            if v is None:
                full_env.pop(k, None)
            else:
                full_env[k] = str(v)
        cmd = [floe, *map(str, args)]
        proc = subprocess.run(cmd, env=full_env, cwd=cwd or tmp_path, input=input,
                              capture_output=True, text=True, timeout=timeout)
        # Printed so pytest shows it for a failing test.
        print(f"$ {' '.join(cmd)}\n-> exit {proc.returncode}\n"
              f"--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}")
        return proc

    return run


def _digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def tiny_oci_layout(tmp_path):
    """Minimal OCI image layout: one gzip layer, config, manifest, index.json
    (tag "v1"). Returns a namespace with path, tag, and the blobs/digests."""
    root = tmp_path / "oci-layout"
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data):
        d = _digest(data)
        (blobs / d.split(":")[1]).write_bytes(data)
        return {"digest": d, "size": len(data)}

    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        content = b"hello from floe integration tests\n"
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mode, info.mtime = len(content), 0o644, 0
        tar.addfile(info, io.BytesIO(content))
    layer_tar = tar_buf.getvalue()
    layer = gzip.compress(layer_tar, mtime=0)  # mtime=0: reproducible digest
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [_digest(layer_tar)]},
    }).encode()
    layer_desc = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **put(layer)}
    config_desc = {"mediaType": "application/vnd.oci.image.config.v1+json", **put(config)}
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc, "layers": [layer_desc],
    }).encode()
    manifest_desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json", **put(manifest),
                     "annotations": {"org.opencontainers.image.ref.name": "v1"}}
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [manifest_desc]}))
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    return types.SimpleNamespace(
        path=root, tag="v1", layer=layer, config=config, manifest=manifest,
        layer_digest=layer_desc["digest"], config_digest=config_desc["digest"],
        manifest_digest=manifest_desc["digest"])
