"""Local fakes of the Google and Azure identity services floe asks for registry credentials.

One http server on 127.0.0.1, in a thread of the test process, so tests read its log and
counters directly. Each endpoint checks the exact request a real service would need, answers
400/401/403 with an OAuth2 error when something is off, and records what it saw:

    POST /google/token              Google's OAuth2 token endpoint: the JWT-bearer grant, the
                                    assertion's RS256 signature (verified with the public half of
                                    the service-account key, by the `openssl` CLI: stdlib has no
                                    RSA), its header and its claims
    GET  /computeMetadata/v1/instance/service-accounts/default/token
                                    the GCE metadata server: Metadata-Flavor: Google
    POST /TENANT/oauth2/v2.0/token  Entra ID: the client-credentials grant with a federated
                                    token as client assertion (workload identity)
    GET  /msi/token                 the App Service managed-identity endpoint: X-IDENTITY-HEADER
    GET  /metadata/identity/oauth2/token
                                    Azure IMDS: Metadata: true
    POST /oauth2/exchange           ACR: an Entra access token for a registry refresh token

`fail["google"|"metadata"|"entra"|"msi"|"imds"|"exchange"] = status` makes that endpoint answer
the status instead (a 500, say). Entra tokens are JWT-shaped and name the tenant in "tid", as real
ones do, so the exchange can be checked for the tenant floe read from them.
"""
import base64
import json
import os
import secrets
import subprocess
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
ARM_RESOURCE = "https://management.azure.com/"
ARM_SCOPE = "https://management.azure.com/.default"
METADATA_PATH = "/computeMetadata/v1/instance/service-accounts/default/token"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class FakeCloudIdentity:
    """start() / stop(); url, host; log (one dict per request), counts (per endpoint).

    Expected values a test may set before floe runs:
      google_email, google_key_id      the service account floe must sign as
      entra_tenant, entra_client_id    workload identity's tenant and client
      federated_token                  the client assertion Entra must receive
      identity_header                  the managed-identity endpoint's secret
      acr_registry                     the `service` the exchange must name
      exchange_tenant                  the `tenant` the exchange must name (None: absent)
      static_tokens                    Entra tokens the exchange accepts besides its own
    """

    def __init__(self, workdir):
        self.workdir = str(workdir)
        self.google_email = "floe-ci@floe-test.iam.gserviceaccount.com"
        self.google_key_id = "k-" + secrets.token_hex(8)
        self.entra_tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
        self.entra_client_id = "0c1c6f0e-1111-2222-3333-444455556666"
        self.federated_token = "fed." + secrets.token_urlsafe(24) + ".sig"
        self.identity_header = "idh-" + secrets.token_urlsafe(16)
        self.acr_registry = "myreg.azurecr.io"
        self.exchange_tenant = self.entra_tenant
        self.static_tokens = set()  # Entra tokens a test gives floe itself (AZURE_ACCESS_TOKEN)
        self.fail = {}
        self.log = []
        self.counts = {}
        self.issued = {}  # every secret handed out: token -> endpoint
        self._lock = threading.Lock()
        self._server = None
        self.key_path = os.path.join(self.workdir, "google-sa.key")
        self.pub_path = os.path.join(self.workdir, "google-sa.pub")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", self.key_path],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", self.key_path, "-pubout", "-out",
                        self.pub_path], check=True, capture_output=True)

    # -- lifecycle ---------------------------------------------------------
    def start(self):
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self.host = "127.0.0.1:%d" % self._server.server_address[1]
        self.url = "http://" + self.host
        threading.Thread(target=self._server.serve_forever, args=(0.05,),
                         name="fake-cloud-identity", daemon=True).start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- what tests hand to floe ------------------------------------------
    @property
    def google_token_uri(self):
        return self.url + "/google/token"

    @property
    def entra_authority(self):
        return self.url + "/"

    @property
    def exchange_url(self):
        return self.url + "/oauth2/exchange"

    @property
    def msi_endpoint(self):
        return self.url + "/msi/token"

    def write_service_account_key(self, path, token_uri=None):
        """A service-account key file like the ones Google hands out, with our key."""
        with open(self.key_path) as f:
            pem = f.read()
        key = {"type": "service_account", "project_id": "floe-test",
               "private_key_id": self.google_key_id, "private_key": pem,
               "client_email": self.google_email, "client_id": "1234567890",
               "auth_uri": "https://accounts.google.com/o/oauth2/auth",
               "token_uri": token_uri or self.google_token_uri}
        with open(path, "w") as f:
            json.dump(key, f)
        return str(path)

    def all_secrets(self):
        """Every secret in play: what must never appear in floe's output."""
        with self._lock:
            issued = list(self.issued)
        with open(self.key_path) as f:
            key_lines = [l for l in f.read().splitlines() if l and not l.startswith("-----")]
        return (issued + sorted(self.static_tokens) + [self.federated_token, self.identity_header]
                + key_lines[:3])

    def requests(self, endpoint):
        with self._lock:
            return [r for r in self.log if r["endpoint"] == endpoint]

    # -- minting -----------------------------------------------------------
    def _issue(self, endpoint, token):
        with self._lock:
            self.issued[token] = endpoint
        return token

    def google_token(self):
        return self._issue("google", "ya29.fake-" + secrets.token_urlsafe(24))

    def entra_token(self, endpoint, tenant):
        header = b64url(json.dumps({"typ": "JWT", "alg": "RS256"}).encode())
        claims = b64url(json.dumps({"aud": ARM_RESOURCE, "tid": tenant,
                                    "jti": secrets.token_hex(8)}).encode())
        return self._issue(endpoint, header + "." + claims + ".fakesig" + secrets.token_hex(8))

    def refresh_token(self):
        return self._issue("exchange", "acr-refresh-" + secrets.token_urlsafe(24))

    # -- checks ------------------------------------------------------------
    def verify_rs256(self, signing_input: bytes, signature: bytes) -> bool:
        with tempfile.NamedTemporaryFile(dir=self.workdir, delete=False) as sig:
            sig.write(signature)
        try:
            proc = subprocess.run(["openssl", "dgst", "-sha256", "-verify", self.pub_path,
                                   "-signature", sig.name],
                                  input=signing_input, capture_output=True)
            return proc.returncode == 0
        finally:
            os.unlink(sig.name)

    def check_google_assertion(self, form, record):
        """Problems with a JWT-bearer request ([] when it is right)."""
        problems = []
        if form.get("grant_type") != JWT_BEARER:
            problems.append("grant_type")
        if set(form) != {"grant_type", "assertion"}:
            problems.append("fields")
        parts = form.get("assertion", "").split(".")
        if len(parts) != 3:
            return problems + ["assertion is not a JWT"]
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            signature = b64url_decode(parts[2])
        except ValueError:
            return problems + ["assertion does not decode"]
        record["jwt_header"], record["jwt_claims"] = header, claims
        if header != {"alg": "RS256", "typ": "JWT", "kid": self.google_key_id}:
            problems.append("header")
        now = int(time.time())
        if claims.get("iss") != self.google_email:
            problems.append("iss")
        if claims.get("scope") != CLOUD_PLATFORM:
            problems.append("scope")
        if claims.get("aud") != self.google_token_uri:
            problems.append("aud")
        iat = claims.get("iat")
        if not isinstance(iat, int) or abs(iat - now) > 300:
            problems.append("iat")
        elif claims.get("exp") != iat + 3600:
            problems.append("exp")
        if not self.verify_rs256((parts[0] + "." + parts[1]).encode(), signature):
            problems.append("signature")
        record["signature_ok"] = "signature" not in problems
        return problems


def _make_handler(fake: FakeCloudIdentity):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # keep pytest output clean
            pass

        def _reply(self, status, obj):
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _record(self, endpoint, form=None):
            split = urllib.parse.urlsplit(self.path)
            record = {"endpoint": endpoint, "method": self.command, "path": split.path,
                      "query": dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True)),
                      "headers": {k.lower(): v for k, v in self.headers.items()},
                      "form": form, "status": None}
            with fake._lock:
                fake.log.append(record)
                fake.counts[endpoint] = fake.counts.get(endpoint, 0) + 1
            return record

        def _answer(self, record, status, obj):
            record["status"] = status
            self._reply(status, obj)

        def _form(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode() if n else ""
            pairs = urllib.parse.parse_qsl(body, keep_blank_values=True)
            form = dict(pairs)
            if len(form) != len(pairs):
                form["__duplicate__"] = "yes"
            return form

        def _forced(self, endpoint, record):
            status = fake.fail.get(endpoint)
            if status:
                self._answer(record, status, {"error": "server_error"})
                return True
            return False

        # -- routes --------------------------------------------------------
        def do_GET(self):
            path = urllib.parse.urlsplit(self.path).path
            if path == METADATA_PATH:
                return self._metadata()
            if path == "/msi/token":
                return self._msi()
            if path == "/metadata/identity/oauth2/token":
                return self._imds()
            self._answer(self._record("unknown"), 404, {"error": "not_found"})

        def do_POST(self):
            path = urllib.parse.urlsplit(self.path).path
            form = self._form()
            if path == "/google/token":
                return self._google(form)
            if path.endswith("/oauth2/v2.0/token"):
                return self._entra(path, form)
            if path == "/oauth2/exchange":
                return self._exchange(form)
            self._answer(self._record("unknown", form), 404, {"error": "not_found"})

        def _google(self, form):
            record = self._record("google", form)
            if self._forced("google", record):
                return
            if self.headers.get("Content-Type") != "application/x-www-form-urlencoded":
                return self._answer(record, 400, {"error": "invalid_request"})
            problems = fake.check_google_assertion(form, record)
            record["problems"] = problems
            if problems:
                return self._answer(record, 400, {"error": "invalid_grant",
                                                  "error_description": ", ".join(problems)})
            self._answer(record, 200, {"access_token": fake.google_token(), "expires_in": 3599,
                                       "token_type": "Bearer"})

        def _metadata(self):
            record = self._record("metadata")
            if self._forced("metadata", record):
                return
            if self.headers.get("Metadata-Flavor") != "Google":
                return self._answer(record, 403, {"error": "missing Metadata-Flavor"})
            self._answer(record, 200, {"access_token": fake.google_token(), "expires_in": 3599,
                                       "token_type": "Bearer"})

        def _entra(self, path, form):
            record = self._record("entra", form)
            if self._forced("entra", record):
                return
            tenant = path.split("/")[1]
            expected = {"client_id": fake.entra_client_id, "grant_type": "client_credentials",
                        "client_assertion_type": CLIENT_ASSERTION_TYPE,
                        "client_assertion": fake.federated_token, "scope": ARM_SCOPE}
            if tenant != fake.entra_tenant or path != "/%s/oauth2/v2.0/token" % tenant:
                return self._answer(record, 400, {"error": "invalid_tenant"})
            if form != expected:
                return self._answer(record, 401, {"error": "invalid_client"})
            self._answer(record, 200, {"token_type": "Bearer", "expires_in": 3599,
                                       "ext_expires_in": 3599,
                                       "access_token": fake.entra_token("entra", tenant)})

        def _msi(self):
            record = self._record("msi")
            if self._forced("msi", record):
                return
            if self.headers.get("X-IDENTITY-HEADER") != fake.identity_header:
                return self._answer(record, 401, {"error": "unauthorized_client"})
            q = record["query"]
            if q.get("api-version") != "2019-08-01" or q.get("resource") != ARM_RESOURCE:
                return self._answer(record, 400, {"error": "invalid_request"})
            self._answer(record, 200, {
                "access_token": fake.entra_token("msi", fake.entra_tenant),
                "expires_on": str(int(time.time()) + 3600), "resource": ARM_RESOURCE,
                "token_type": "Bearer", "client_id": q.get("client_id", "system")})

        def _imds(self):
            record = self._record("imds")
            if self._forced("imds", record):
                return
            if self.headers.get("Metadata") != "true":
                return self._answer(record, 400, {"error": "invalid_request"})
            q = record["query"]
            if q.get("api-version") != "2018-02-01" or q.get("resource") != ARM_RESOURCE:
                return self._answer(record, 400, {"error": "invalid_request"})
            now = int(time.time())
            self._answer(record, 200, {
                "access_token": fake.entra_token("imds", fake.entra_tenant),
                "expires_in": "3599", "expires_on": str(now + 3599),
                "resource": ARM_RESOURCE, "token_type": "Bearer"})

        def _exchange(self, form):
            record = self._record("exchange", form)
            if self._forced("exchange", record):
                return
            expected = {"grant_type", "service", "access_token"}
            if fake.exchange_tenant is not None:
                expected.add("tenant")
            if set(form) != expected or form.get("grant_type") != "access_token":
                return self._answer(record, 400, {"error": "invalid_request"})
            if form.get("service") != fake.acr_registry:
                return self._answer(record, 400, {"error": "invalid_service"})
            if form.get("tenant") != fake.exchange_tenant:
                return self._answer(record, 400, {"error": "invalid_tenant"})
            with fake._lock:
                known = (form["access_token"] in fake.issued
                         or form["access_token"] in fake.static_tokens)
            if not known:
                return self._answer(record, 401, {"error": "invalid_token"})
            self._answer(record, 200, {"refresh_token": fake.refresh_token()})

    return Handler
