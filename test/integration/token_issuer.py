"""A tiny docker token-auth server (https://distribution.github.io/distribution/spec/auth/token/).

Runs in a thread of the test process so tests can read its counters directly.
Tokens are RS256 JWTs signed with the `openssl` CLI (stdlib has no RSA), and
carry the issuer certificate in `x5c`, which distribution verifies against its
`rootcertbundle`.
"""
import base64
import binascii
import datetime
import json
import os
import secrets
import ssl
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_SERVICE = "floe-test-registry"
DEFAULT_ISSUER = "floe-test-issuer"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_self_signed(directory, name="floe-test-issuer"):
    """RSA key + self-signed cert; returns (key_path, cert_path).

    A self-signed leaf is enough: Go's x509.Verify accepts a leaf that is
    itself in the root pool, so no separate CA is needed."""
    key = os.path.join(directory, "issuer.key")
    cert = os.path.join(directory, "issuer.crt")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
         "-days", "2", "-subj", f"/CN={name}", "-keyout", key, "-out", cert],
        check=True, capture_output=True)
    return key, cert


class TokenIssuer:
    """Start with start(); url, realm, requests, stats(), stop().

    Attributes a test may change between requests: username, password,
    ttl (token lifetime in seconds), registry_leeway (subtracted from "exp")."""

    def __init__(self, workdir, username, password, *, service=DEFAULT_SERVICE,
                 issuer=DEFAULT_ISSUER, ttl=300):
        self.workdir = workdir
        self.username, self.password = username, password
        self.service, self.issuer, self.ttl = service, issuer, ttl
        self.key_path, self.cert_path = make_self_signed(workdir, issuer)
        with open(self.cert_path) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        self._x5c = [base64.b64encode(der).decode()]  # standard base64, padded (RFC 7515)
        self._lock = threading.Lock()
        self._refresh_tokens = {}  # refresh token -> user
        self.requests = 0          # token requests served (GET+POST /token), not /stats
        self.tokens_issued = 0
        self.denied = 0
        self.log = []              # (method, path, user or None) per token request
        # distribution accepts a token up to 60 s past its "exp" (clock skew leeway): a test
        # that needs tokens to really die after `ttl` seconds sets this to 60.
        self.registry_leeway = 0
        self._server = None
        self._thread = None

    # -- lifecycle ---------------------------------------------------------
    def start(self):
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self.host = "127.0.0.1:%d" % self._server.server_address[1]
        self.url = "http://" + self.host
        self.realm = self.url + "/token"
        # Short poll interval: shutdown() waits up to one interval.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="token-issuer", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def stats(self):
        with self._lock:
            return {"requests": self.requests, "tokens_issued": self.tokens_issued,
                    "denied": self.denied}

    def reset_stats(self):
        with self._lock:
            self.requests = self.tokens_issued = self.denied = 0
            self.log.clear()

    # -- token minting -----------------------------------------------------
    def sign(self, data: bytes) -> bytes:
        # `openssl dgst -sha256 -sign` with an RSA key is PKCS#1 v1.5 = JWS RS256.
        return subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key_path],
                              input=data, capture_output=True, check=True).stdout

    def make_token(self, subject, service, access):
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": self._x5c}
        claims = {"iss": self.issuer, "sub": subject or "", "aud": service,  # aud: a string in 2.8
                  "exp": now + self.ttl - self.registry_leeway, "nbf": now, "iat": now,
                  "jti": secrets.token_hex(16), "access": access}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode()))
        return signing_input + "." + b64url(self.sign(signing_input.encode()))

    def check_password(self, user, password):
        return (secrets.compare_digest(user, self.username)
                and secrets.compare_digest(password, self.password))


def parse_scopes(values):
    """'repository:a/b:pull,push' -> access entries. Names may contain ':'
    (e.g. host:port/repo), so the type is before the first ':' and the actions
    after the last one. OAuth2 POST sends several scopes space-separated."""
    access = []
    for value in values:
        for scope in value.split():
            typ, sep, rest = scope.partition(":")
            name, sep2, actions = rest.rpartition(":")
            if not sep or not sep2:
                continue
            access.append({"type": typ, "name": name,
                           "actions": [a for a in actions.split(",") if a]})
    return access


def _make_handler(issuer: TokenIssuer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # keep pytest output clean
            pass

        def _json(self, code, obj, extra_headers=()):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra_headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _deny(self, message):
            with issuer._lock:
                issuer.denied += 1
            self._json(401, {"errors": [{"code": "UNAUTHORIZED", "message": message}],
                             "error": "invalid_grant", "error_description": message},
                       [("WWW-Authenticate", 'Basic realm="floe-test-issuer"')])

        def _basic_credentials(self):
            """(user, password) from the Authorization header, None if absent,
            False if malformed."""
            auth = self.headers.get("Authorization")
            if not auth:
                return None
            scheme, _, value = auth.partition(" ")
            if scheme.lower() != "basic":
                return False
            try:
                user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            return (user, password) if sep else False

        def _grant(self, user, service, scopes, with_refresh):
            access = parse_scopes(scopes) if user else []  # anonymous: no rights
            token = issuer.make_token(user, service, access)
            resp = {"token": token, "access_token": token, "expires_in": issuer.ttl,
                    "issued_at": datetime.datetime.now(datetime.timezone.utc)
                    .strftime("%Y-%m-%dT%H:%M:%SZ")}
            if with_refresh and user:
                refresh = secrets.token_urlsafe(24)
                resp["refresh_token"] = refresh
                with issuer._lock:
                    issuer._refresh_tokens[refresh] = user
            with issuer._lock:
                issuer.tokens_issued += 1
            self._json(200, resp)

        def _count(self, user):
            with issuer._lock:
                issuer.requests += 1
                issuer.log.append((self.command, self.path, user))

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/stats":
                return self._json(200, issuer.stats())
            if url.path != "/token":
                return self._json(404, {"error": "not found"})
            q = urllib.parse.parse_qs(url.query)
            creds = self._basic_credentials()
            self._count(creds[0] if creds else None)
            if creds is False or (creds and not issuer.check_password(*creds)):
                return self._deny("invalid username or password")
            user = creds[0] if creds else None
            self._grant(user, q.get("service", [""])[0], q.get("scope", []),
                        q.get("offline_token", [""])[0] == "true")

        def do_POST(self):
            url = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            if url.path != "/token":
                return self._json(404, {"error": "not found"})
            f = lambda k: form.get(k, [""])[0]
            grant = f("grant_type")
            if grant == "password":
                self._count(f("username"))
                if not issuer.check_password(f("username"), f("password")):
                    return self._deny("invalid username or password")
                user = f("username")
            elif grant == "refresh_token":
                with issuer._lock:
                    user = issuer._refresh_tokens.get(f("refresh_token"))
                self._count(user)
                if user is None:
                    return self._deny("invalid refresh token")
            else:
                self._count(None)
                return self._json(400, {"error": "unsupported_grant_type"})
            self._grant(user, f("service"), form.get("scope", []), True)

    return Handler
