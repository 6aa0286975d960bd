"""Start/stop real CNCF distribution registries (`docker-registry serve`) for tests.

    reg = start_registry("anon" | "basic" | "token" | "tls", auth="basic" | None,
                         log_level=None,   # auth only matters for "tls"
                         password=None)    # default: the shared test password
    reg.host, reg.url, reg.root, reg.username, reg.password, reg.ca_path,
    reg.log_path, reg.token_issuer, reg.blob_path(digest), reg.stop()

Each instance lives in its own temp dir (config, storage, certs, log) and binds
127.0.0.1 on a free port. Everything is removed on stop() unless the env var
FLOE_TEST_KEEP_TMP is set (handy to read a registry log after a failure).
"""
import atexit
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from token_issuer import DEFAULT_ISSUER, DEFAULT_SERVICE, TokenIssuer

REGISTRY_BIN = os.environ.get("DOCKER_REGISTRY_BIN", "/usr/bin/docker-registry")
USERNAME = "floe-user"
PASSWORD = "s3cret-Pa55"
REALM = "floe-test"
MODES = ("anon", "basic", "token", "tls")
START_TIMEOUT = 10.0

_live = set()  # running instances, stopped at exit no matter how tests end


def _free_port():
    # Racy by nature (the port is free now, not necessarily at bind time);
    # start() retries with another port if the registry reports it in use.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca_and_server_cert(directory):
    """Throwaway CA + server cert for 127.0.0.1/localhost; returns (ca, cert, key) paths."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
             "-subj", "/CN=floe-test-ca", "-keyout", "ca.key", "-out", "ca.crt",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
             "-keyout", "server.key", "-out", "server.csr", cwd=directory)
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-set_serial", "0x" + secrets.token_hex(8), "-days", "2", "-sha256",
             "-extfile", "server.ext", "-out", "server.crt", cwd=directory)
    return tuple(os.path.join(directory, n) for n in ("ca.crt", "server.crt", "server.key"))


def make_client_cert(directory):
    """A client certificate signed by make_ca_and_server_cert's CA; returns (cert, key)."""
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=floe-test-client",
             "-keyout", "client.key", "-out", "client.csr", cwd=directory)
    with open(os.path.join(directory, "client.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n")
    _openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-set_serial", "0x" + secrets.token_hex(8), "-days", "2", "-sha256",
             "-extfile", "client.ext", "-out", "client.crt", cwd=directory)
    return tuple(os.path.join(directory, n) for n in ("client.crt", "client.key"))


def _die_with_parent():
    # Runs in the child before exec: if the test process is SIGKILLed (so
    # atexit never runs) the kernel still SIGTERMs the registry. Note the
    # signal fires when the *thread* that spawned the child exits.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Registry:
    def __init__(self, mode="anon", auth=None, log_level=None, password=None, mtls=False):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if mode == "basic":
            auth = "basic"
        elif mode == "token":
            auth = "token"
        elif mode == "anon":
            auth = None
        if auth not in (None, "basic", "token"):
            raise ValueError("auth must be 'basic', 'token' or None")
        self.mode, self.auth = mode, auth
        # "warn" keeps logs small, but distribution logs *why* it rejects a
        # token (audience, expiry, chain) only at info: set
        # FLOE_TEST_REGISTRY_LOG_LEVEL=info when debugging auth.
        self.log_level = log_level or os.environ.get("FLOE_TEST_REGISTRY_LOG_LEVEL", "warn")
        self.workdir = tempfile.mkdtemp(prefix=f"floe-registry-{mode}-")
        self.root = os.path.join(self.workdir, "storage")
        self.config_path = os.path.join(self.workdir, "config.yml")
        self.log_path = os.path.join(self.workdir, "registry.log")
        self.username = USERNAME if auth else None
        self.password = (password or PASSWORD) if auth else None
        self.ca_path = None
        # mtls (tls mode): the registry asks for a client certificate signed by its CA;
        # client_cert / client_key are one.
        self.mtls = mtls
        self.client_cert = self.client_key = None
        self.token_issuer = None
        self.proc = None
        self.host = self.url = None

    # -- public helpers ----------------------------------------------------
    def blob_path(self, digest):
        """Filesystem path of a blob's content, e.g. to corrupt it in a test."""
        algo, hexd = digest.split(":", 1)
        return os.path.join(self.root, "docker/registry/v2/blobs", algo, hexd[:2], hexd, "data")

    def log_tail(self, n=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "<no log>"

    def ssl_context(self):
        """Client-side context trusting this registry's CA (None for plain HTTP), presenting the
        client certificate when the registry asks for one."""
        if not self.ca_path:
            return None
        ctx = ssl.create_default_context(cafile=self.ca_path)
        if self.client_cert:
            ctx.load_cert_chain(self.client_cert, self.client_key)
        return ctx

    # -- lifecycle ---------------------------------------------------------
    def _config(self, port):
        cfg = {
            "version": "0.1",
            "log": {"level": self.log_level, "formatter": "text"},
            "storage": {
                "filesystem": {"rootdirectory": self.root},
                "delete": {"enabled": True},
                # No background upload purging mid-test.
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            # A fixed secret avoids the "No HTTP secret provided" warning.
            "http": {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)},
        }
        if self.mode == "tls":
            cfg["http"]["tls"] = {"certificate": self._cert, "key": self._key}
            if self.mtls:
                cfg["http"]["tls"]["clientcas"] = [self.ca_path]
        if self.auth == "basic":
            cfg["auth"] = {"htpasswd": {"realm": REALM, "path": self._htpasswd}}
        elif self.auth == "token":
            cfg["auth"] = {"token": {"realm": self.token_issuer.realm,
                                     "service": DEFAULT_SERVICE,
                                     "issuer": DEFAULT_ISSUER,
                                     "rootcertbundle": self.token_issuer.cert_path}}
        return cfg

    def start(self):
        try:
            self._prepare()
            for _attempt in range(3):
                if self._launch():
                    _live.add(self)
                    return self
            raise RuntimeError("could not find a free port for docker-registry")
        except BaseException:
            self.stop()
            raise

    def _prepare(self):
        os.makedirs(self.root)
        if self.auth == "basic":
            # distribution only accepts bcrypt entries, hence -B.
            line = subprocess.run(["htpasswd", "-Bbn", USERNAME, self.password],
                                  check=True, capture_output=True, text=True).stdout.strip()
            self._htpasswd = os.path.join(self.workdir, "htpasswd")
            with open(self._htpasswd, "w") as f:
                f.write(line + "\n")
        if self.auth == "token":
            self.token_issuer = TokenIssuer(self.workdir, USERNAME, self.password).start()
        if self.mode == "tls":
            self.ca_path, self._cert, self._key = make_ca_and_server_cert(self.workdir)
            if self.mtls:
                self.client_cert, self.client_key = make_client_cert(self.workdir)

    def _launch(self):
        """Start the process and wait for /v2/. False if the port was taken."""
        port = _free_port()
        with open(self.config_path, "w") as f:
            json.dump(self._config(port), f, indent=2)  # JSON is valid YAML
        self.host = f"127.0.0.1:{port}"
        self.url = ("https://" if self.mode == "tls" else "http://") + self.host
        # REGISTRY_* env vars override config.yml in distribution: drop them.
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [REGISTRY_BIN, "serve", self.config_path], cwd=self.workdir, env=env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent)
        # No proxies: loopback only, whatever the environment says.
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=self.ssl_context()))
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if "address already in use" in self.log_tail():
                    return False
                raise RuntimeError(f"docker-registry exited with {self.proc.returncode}:\n"
                                   + self.log_tail())
            try:
                with opener.open(self.url + "/v2/", timeout=1) as r:
                    code = r.status
            except urllib.error.HTTPError as e:
                code = e.code
            except (urllib.error.URLError, OSError):
                code = None
            if code in (200, 401):
                return True
            time.sleep(0.05)
        raise RuntimeError(f"docker-registry ({self.mode}) not ready at {self.url} "
                           f"after {START_TIMEOUT}s:\n" + self.log_tail())

    def stop(self):
        _live.discard(self)
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
            self.proc = None
        if self.token_issuer is not None:
            self.token_issuer.stop()
            self.token_issuer = None
        if self.workdir and not os.environ.get("FLOE_TEST_KEEP_TMP"):
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return f"<Registry {self.mode} auth={self.auth} {self.url}>"


def start_registry(mode="anon", auth=None, log_level=None, password=None, mtls=False):
    return Registry(mode, auth, log_level, password, mtls).start()


@atexit.register
def _stop_all():
    for reg in list(_live):
        reg.stop()
