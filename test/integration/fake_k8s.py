"""A small fake Kubernetes API server over HTTPS, enough for `floe --pull-secret k8s:NS/NAME`.

It serves GET /api/v1/namespaces/NS/secrets/NAME only, like the real API server:
    - no or a wrong `Authorization: Bearer <token>`        -> 401 Status (reason Unauthorized)
    - a Secret the service account may not read (forbid()) -> 403 Status (reason Forbidden)
    - a Secret nobody registered, or any other path         -> 404 Status (reason NotFound)
    - otherwise                                             -> 200 and the Secret as JSON
and logs every request (method, raw path, Authorization) so tests can assert what it received.

It also writes a service-account directory, as the kubelet mounts it in a pod (token, ca.crt,
namespace), for FLOE_K8S_SERVICEACCOUNT_DIR; env() gives the variables a pod would have.
Its certificate (from registry.make_ca_and_server_cert) names 127.0.0.1 and localhost.

    with FakeK8s(tmp_path) as k8s:
        k8s.add_secret("ci", "regcred", pull_secret("ci", "regcred", {"auths": {...}}))
        run floe with env=k8s.env()
        assert k8s.requests == [("GET", "/api/v1/namespaces/ci/secrets/regcred", "Bearer ...")]
"""
import base64
import json
import os
import re
import secrets
import shutil
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from registry import make_ca_and_server_cert

SECRET_PATH = re.compile(r"^/api/v1/namespaces/([^/?#]+)/secrets/([^/?#]+)$")


def docker_config(host, username, password):
    """A .dockerconfigjson document as `kubectl create secret docker-registry` writes it."""
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"auths": {host: {"username": username, "password": password, "auth": auth}}}


def pull_secret(namespace, name, config, *, legacy=False):
    """A Secret object as the API server returns it (type dockerconfigjson, or dockercfg with
    the legacy top-level map when `legacy`)."""
    if legacy:
        key, type_, doc = ".dockercfg", "kubernetes.io/dockercfg", config["auths"]
    else:
        key, type_, doc = ".dockerconfigjson", "kubernetes.io/dockerconfigjson", config
    return {"kind": "Secret", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": namespace,
                         "uid": "6f1d0c2e-0000-4000-8000-000000000001",
                         "resourceVersion": "4711"},
            "type": type_,
            "data": {key: base64.b64encode(json.dumps(doc).encode()).decode()}}


def status(code, reason, message, details=None):
    """A metav1.Status, the body of every API server error."""
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return body


class FakeK8s:
    """start()/stop() (or a with block); add_secret(), forbid(), requests, env(), sa_dir."""

    def __init__(self, workdir, *, namespace="default", token=None):
        self.workdir = os.path.join(str(workdir), "fake-k8s")
        os.makedirs(self.workdir, exist_ok=True)
        self.ca_path, self._cert, self._key = make_ca_and_server_cert(self.workdir)
        self.token = token or "sa-" + secrets.token_urlsafe(24)  # what the server accepts
        self.namespace = namespace
        self.secrets = {}       # (namespace, name) -> Secret object
        self.forbidden = set()  # (namespace, name) the service account may not get
        self.requests = []      # (method, path, Authorization or None), in order
        self._lock = threading.Lock()
        self._server = self._thread = None
        self.sa_dir = os.path.join(self.workdir, "serviceaccount")
        self.write_service_account()

    # -- set-up ------------------------------------------------------------
    def write_service_account(self, *, token=None, namespace=None, ca_path=None):
        """The files the kubelet mounts; token/namespace/ca_path replace the right ones."""
        os.makedirs(self.sa_dir, exist_ok=True)
        with open(os.path.join(self.sa_dir, "token"), "w") as f:
            f.write(token if token is not None else self.token)
        with open(os.path.join(self.sa_dir, "namespace"), "w") as f:
            f.write(namespace if namespace is not None else self.namespace)
        shutil.copyfile(ca_path or self.ca_path, os.path.join(self.sa_dir, "ca.crt"))

    def add_secret(self, namespace, name, secret):
        with self._lock:
            self.secrets[(namespace, name)] = secret

    def forbid(self, namespace, name):
        with self._lock:
            self.forbidden.add((namespace, name))

    def env(self):
        """The variables of a pod that uses this fake (no FLOE_* credentials)."""
        return {"KUBERNETES_SERVICE_HOST": "127.0.0.1",
                "KUBERNETES_SERVICE_PORT": str(self.port),
                "FLOE_K8S_SERVICEACCOUNT_DIR": self.sa_dir}

    # -- lifecycle ---------------------------------------------------------
    def start(self):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._cert, self._key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self.port = server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,),
                                        name="fake-k8s", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- answering ---------------------------------------------------------
    def answer(self, method, path, authorization):
        """(status, body) for one request, logged first."""
        with self._lock:
            self.requests.append((method, path, authorization))
            if authorization != "Bearer " + self.token:
                return 401, status(401, "Unauthorized", "Unauthorized")
            m = SECRET_PATH.match(path) if method == "GET" else None
            if not m:
                return 404, status(404, "NotFound", "the server could not find the requested "
                                                    "resource")
            namespace, name = m.groups()
            if (namespace, name) in self.forbidden:
                return 403, status(
                    403, "Forbidden",
                    f'secrets "{name}" is forbidden: User "system:serviceaccount:'
                    f'{self.namespace}:default" cannot get resource "secrets" in API group "" '
                    f'in the namespace "{namespace}"',
                    {"name": name, "kind": "secrets"})
            secret = self.secrets.get((namespace, name))
            if secret is None:
                return 404, status(404, "NotFound", f'secrets "{name}" not found',
                                   {"name": name, "kind": "secrets"})
            return 200, secret


def _make_handler(fake: FakeK8s):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # keep pytest output clean
            pass

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            code, obj = fake.answer(self.command, self.path, self.headers.get("Authorization"))
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    return Handler
