"""A hostile fake OCI registry for floe's security tests (Python stdlib only).

It speaks enough of the distribution API for floe to push and pull artifacts, keeps everything
in memory, records every request it receives, and misbehaves on demand.

    reg = HostileRegistry("127.0.0.1", auth=None | "basic" | "bearer", username=, password=,
                          static_token=, tls=(cert, key) | None, store=None).start()
    reg.host ("127.0.0.1:PORT"), reg.url ("http(s)://..."), reg.stop()

Several instances may share one Store (store=other.store): a second one on 127.0.0.2 then
serves the same blobs (a CDN behind a redirect) or takes the same upload sessions (an upload
host named by a Location).

Content:  reg.add_blob(data) -> descriptor; reg.add_manifest(repo, obj|bytes, media_type,
          tag=None) -> descriptor; reg.add_artifact(repo, tag, [(data, media_type, annotations)],
          annotations=None, layer_sizes=None) -> manifest descriptor.
          reg.store.blobs / .manifests / .tags / .uploads are plain dicts.

Records:  reg.requests: [Recorded] (method, target = path+query, path, query, headers
          [(name, value)], body bytes, server origin, time; .header(name), .blob()) -- a TLS
          ClientHello on the plain port is recorded with method "TLS". reg.count(step=None) and
          reg.steps(): the "step" name each request was classified as (see STEPS).

Auth:     "basic": everything under /v2/ needs `Authorization: Basic` with username:password
          (401 + `WWW-Authenticate: Basic realm=...` otherwise). "bearer": a Bearer token from
          this server's own realm (GET /token, Basic username:password when a username is set,
          anonymous otherwise) or static_token; 401 + `WWW-Authenticate: Bearer realm=...` else.

          realm_server = OTHER: the challenge names OTHER's realm (a token service on another
          host) and OTHER's tokens are accepted.

Misbehaviours (attributes; set them before or between floe runs):
  redirect_blobs = BASE   blob GETs answer `redirect_status` (307) to BASE + the same path +
                          a signed query (X-Amz-Signature=SECRETSIG...). BASE is another origin,
                          e.g. a second HostileRegistry on 127.0.0.2 sharing the store, one on
                          127.0.0.3 with auth="bearer" and its own realm, or http:// for a
                          downgrade.
  upload_location_post = BASE / upload_location_patch = BASE
                          the POST (resp. PATCH) answer's Location points at BASE (another host,
                          or plain http) instead of this server.
  signed_locations = True upload Locations carry the signed query too.
  echo_errors = {step: status}
                          that step is answered `status` with a JSON error whose code, message
                          and detail echo the request's Authorization header, the password, the
                          tokens, SIGNED_URL and TERMINAL_ESCAPES (see _echo_message).
  busy = {step: (status, retry_after)}
                          the first request of that step is answered status (429/503) with
                          `Retry-After`; reg.busy_hits[step] counts how often it fired.
  extra_body_bytes = N    blob GETs announce and send N bytes more than the blob holds.
  lie_manifest_digest = True
                          manifest HEAD/GET by tag name a wrong Docker-Content-Digest, and a GET
                          by that digest serves the real bytes.
  alias_manifests = {digest: (bytes, media_type)}
                          serve these bytes for a digest they do not hash to.
  trickle_blobs = True    blob GETs send their headers, then one byte per second.
  stall_blobs = True      blob GETs send their headers, then nothing.
  always_401 = True       every /v2/ request is answered 401 with this server's own challenge
                          (after its body was read), whatever credentials come with it.
  token_expire_after_bytes = N
                          (bearer) once an upload session holds N bytes or more, its next
                          PATCH is answered 401 `error="invalid_token"` after its body
                          was read and dropped, and every token issued so far stops working;
                          a fresh token works. reg.expired_at = bytes the session held then.

STEPS: ping (GET /v2/), token, upload_post, upload_patch, upload_put, upload_status,
upload_delete, manifest_head, manifest_get, manifest_put, blob_head, blob_get, other.

Builders: reg.add_nested_index(repo, tag, depth, leaf_layers); reg.add_self_referencing_index(
repo, tag); tgz_infos([(TarInfo, data)]) for tar entries make_tgz cannot express (hard links
carrying data, devices); write_bomb(path, unpacked=10 GiB) streams a ~10 MiB gzip tar of one file
of zeros (valid CRC, built by repeating one deflate block).

RawListener(host): a TCP port that records every connection and every byte it receives (and
answers 404 to whatever it gets): the plain-http listener that must stay silent.
"""
import base64
import gzip
import hashlib
import io
import json
import re
import socket
import ssl
import struct
import tarfile
import threading
import time
import urllib.parse
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"

SECRET_SIG = "SECRETSIG"
AMZ_CREDENTIAL = "AKIAHOSTILE7EXAMPLE"
SIGNED_QUERY = (f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={AMZ_CREDENTIAL}"
                f"%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature={SECRET_SIG}")
SIGNED_URL = f"https://s3.example/x?X-Amz-Signature={SECRET_SIG}&X-Amz-Credential={AMZ_CREDENTIAL}"
TERMINAL_ESCAPES = "\x1b[2K\rfloe: pushed OK\x1b]0;title\x07"

STEPS = ("ping", "token", "upload_post", "upload_patch", "upload_put", "upload_status",
         "upload_delete", "manifest_head", "manifest_get", "manifest_put", "blob_head",
         "blob_get", "other")


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def basic_header(username, password):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class Recorded:
    """One request as the server saw it."""

    def __init__(self, origin, method, target, headers, body=b"", step="other"):
        self.origin, self.method, self.target = origin, method, target
        split = urllib.parse.urlsplit(target)
        self.path, self.query = split.path, split.query
        self.headers = list(headers)
        self.body = body
        self.step = step
        self.time = time.monotonic()

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def blob(self):
        """Everything the client sent, as one bytes object (to search for secrets)."""
        head = f"{self.method} {self.target}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in self.headers)
        return head.encode("utf-8", "surrogateescape") + b"\r\n" + self.body

    def __repr__(self):
        auth = self.header("Authorization")
        return (f"<{self.origin} {self.method} {self.target} ({self.step}, {len(self.body)} B"
                f"{', Authorization: ' + auth[:16] + '...' if auth else ''})>")


class Store:
    """Content shared by cooperating fake servers."""

    def __init__(self):
        self.lock = threading.RLock()
        self.blobs = {}       # digest -> bytes
        self.manifests = {}   # digest -> (bytes, media type)
        self.tags = {}        # (repo, tag) -> digest
        self.uploads = {}     # session id -> bytearray
        self.upload_bytes = 0  # body bytes received by PATCH/PUT, all sessions, all servers


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as floe pools connections
    server_version = "hostile-registry/1.0"
    sys_version = ""

    def log_message(self, *args):
        pass

    def setup(self):
        owner = self.server.owner
        self.request.settimeout(60)
        if owner.ssl_context is not None:
            try:
                self.request = owner.ssl_context.wrap_socket(self.request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                owner._record(Recorded(owner.origin, "TLS-FAILED", "/", [("error", str(e))]))
                self.request.close()
                raise ConnectionAbortedError from e
        super().setup()

    def handle(self):
        owner = self.server.owner
        if owner.ssl_context is None:
            # floe probes a loopback registry with https first: answer a TLS ClientHello the way
            # a plain-http server does (an HTTP 400), so the probe fails fast as a TLS error.
            try:
                first = self.connection.recv(1, socket.MSG_PEEK)
            except OSError:
                return
            if first == b"\x16":
                owner._record(Recorded(owner.origin, "TLS", "/", [], b"", "tls-probe"))
                try:
                    self.connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                            b"Connection: close\r\n\r\n")
                except OSError:
                    pass
                return
        try:
            super().handle()
        except (OSError, ssl.SSLError):
            pass  # floe went away

    def finish(self):
        try:
            super().finish()
        except (OSError, ssl.SSLError):
            pass

    def _dispatch(self):
        self.server.owner._serve(self)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        pass  # a client that went away is not news


class HostileRegistry:
    def __init__(self, host="127.0.0.1", *, auth=None, username=None, password=None,
                 static_token=None, tls=None, store=None, realm_service="hostile-registry"):
        if auth not in (None, "basic", "bearer"):
            raise ValueError("auth must be None, 'basic' or 'bearer'")
        self.bind_host = host
        self.auth, self.username, self.password = auth, username, password
        self.static_token = static_token
        self.service = realm_service
        self.ssl_context = None
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.ssl_context = ctx
        self.store = store or Store()
        self.requests = []
        self.issued_tokens = []   # every token this server's realm handed out
        self.valid_tokens = set()
        # realm_server = another HostileRegistry: the Bearer challenge names ITS /token (a token
        # service on another host), and tokens it issued are valid here.
        self.realm_server = None
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.server = self.thread = None
        self.host = self.url = self.origin = None
        # misbehaviours
        self.redirect_blobs = None
        self.redirect_status = 307
        self.upload_location_post = None
        self.upload_location_patch = None
        self.signed_locations = False
        self.echo_errors = {}
        self.busy = {}
        self.busy_hits = {}
        self.extra_body_bytes = 0
        self.lie_manifest_digest = False
        self.alias_manifests = {}
        self.trickle_blobs = False
        self.stall_blobs = False
        self.always_401 = False
        self.token_expire_after_bytes = None
        self.expired_at = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self):
        self.server = _Server((self.bind_host, 0), _Handler)
        self.server.owner = self
        port = self.server.server_address[1]
        scheme = "https" if self.ssl_context else "http"
        self.host = f"{self.bind_host}:{port}"
        self.url = f"{scheme}://{self.host}"
        self.origin = self.url
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True,
                                       name=f"hostile-registry-{self.host}")
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()  # releases trickling and stalled handlers
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=10)
            self.server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return f"<HostileRegistry {self.url} auth={self.auth}>"

    # -- records ---------------------------------------------------------------------------
    def _record(self, rec):
        with self._lock:
            self.requests.append(rec)
        return rec

    def snapshot_requests(self):
        with self._lock:
            return list(self.requests)

    def count(self, step=None, method=None):
        return sum(1 for r in self.snapshot_requests()
                   if (step is None or r.step == step) and (method is None or r.method == method))

    def steps(self):
        return [r.step for r in self.snapshot_requests()]

    def secrets(self):
        """What this server knows to be secret: password, its Basic header, tokens."""
        out = []
        if self.password:
            out.append(self.password)
            if self.username:
                out.append(basic_header(self.username, self.password).split(" ", 1)[1])
        if self.static_token:
            out.append(self.static_token)
        out.extend(self.issued_tokens)
        return out

    # -- content ---------------------------------------------------------------------------
    def add_blob(self, data, media_type="application/octet-stream"):
        d = digest_of(data)
        with self.store.lock:
            self.store.blobs[d] = bytes(data)
        return {"mediaType": media_type, "digest": d, "size": len(data)}

    def add_manifest(self, repo, manifest, media_type=OCI_MANIFEST, tag=None):
        body = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
        d = digest_of(body)
        with self.store.lock:
            self.store.manifests[d] = (body, media_type)
            if tag:
                self.store.tags[(repo, tag)] = d
        return {"mediaType": media_type, "digest": d, "size": len(body)}

    def add_artifact(self, repo, tag, layers, annotations=None, layer_sizes=None,
                     artifact_type="application/vnd.floe.bundle.v1"):
        """layers: [(bytes, media_type, annotations)]; layer_sizes: sizes to claim instead of
        the real ones (None entries keep the real size). Returns the manifest descriptor."""
        config = self.add_blob(b"{}", OCI_EMPTY)
        descs = []
        for i, (data, media_type, ann) in enumerate(layers):
            desc = self.add_blob(data, media_type)
            if layer_sizes and layer_sizes[i] is not None:
                desc["size"] = layer_sizes[i]
            if ann:
                desc["annotations"] = ann
            descs.append(desc)
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
                    "config": config, "layers": descs}
        if annotations:
            manifest["annotations"] = annotations
        return self.add_manifest(repo, manifest, OCI_MANIFEST, tag)

    def add_nested_index(self, repo, tag, depth, leaf_layers):
        """An artifact under `depth` levels of image indexes, the outermost tagged `tag`."""
        desc = self.add_artifact(repo, None, leaf_layers)
        for level in range(depth):
            desc = self.add_manifest(repo, {"schemaVersion": 2, "mediaType": OCI_INDEX,
                                            "manifests": [desc]}, OCI_INDEX,
                                     tag=tag if level == depth - 1 else None)
        return desc

    def add_self_referencing_index(self, repo, tag):
        """An index whose only entry is the digest it is served under. Content addressing makes
        a true cycle impossible, so the registry lies: the bytes do not hash to that digest."""
        fake = digest_of(b"self-" + uuid.uuid4().bytes)
        size = 0
        while True:
            body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
                {"mediaType": OCI_INDEX, "digest": fake, "size": size}]}).encode()
            if len(body) == size:
                break
            size = len(body)
        self.alias_manifests[fake] = (body, OCI_INDEX)
        with self.store.lock:
            self.store.tags[(repo, tag)] = fake
        return {"mediaType": OCI_INDEX, "digest": fake, "size": size}

    def manifest_for(self, repo, tag):
        with self.store.lock:
            d = self.store.tags.get((repo, tag))
            return (d, *self.store.manifests[d]) if d else None

    # -- protocol ----------------------------------------------------------------------------
    @staticmethod
    def _classify(method, path):
        if path in ("/v2", "/v2/"):
            return "ping", None, None
        if path == "/token":
            return "token", None, None
        m = re.fullmatch(r"/v2/(.+?)/blobs/uploads/([^/]*)", path)
        if m:
            repo, sid = m[1], m[2]
            step = {"POST": "upload_post", "PATCH": "upload_patch", "PUT": "upload_put",
                    "GET": "upload_status", "DELETE": "upload_delete"}.get(method, "other")
            if method == "POST" and sid:
                step = "other"
            return step, repo, sid
        m = re.fullmatch(r"/v2/(.+?)/(manifests|blobs)/([^/]+)", path)
        if m:
            kind = "manifest" if m[2] == "manifests" else "blob"
            step = {"HEAD": f"{kind}_head", "GET": f"{kind}_get",
                    "PUT": f"{kind}_put"}.get(method, "other")
            return step, m[1], m[3]
        return "other", None, None

    def _read_body(self, h):
        if (h.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(h.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += h.rfile.read(size)
                h.rfile.readline()
        length = int(h.headers.get("Content-Length") or 0)
        chunks, left = [], length
        while left > 0:
            piece = h.rfile.read(min(left, 1 << 20))
            if not piece:
                break
            chunks.append(piece)
            left -= len(piece)
        return b"".join(chunks)

    @staticmethod
    def _send(h, status, body=b"", headers=None, head_only=False, content_type=None):
        h.send_response(status)
        h.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        if content_type or body:
            h.send_header("Content-Type", content_type or "application/json")
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        if body and not head_only:
            h.wfile.write(body)

    def _error(self, h, status, code, message="", headers=None, head_only=False):
        body = json.dumps({"errors": [{"code": code, "message": message, "detail": None}]}).encode()
        self._send(h, status, body, headers, head_only)

    def _scope(self, method, repo):
        if not repo:
            return None
        actions = "pull" if method in ("GET", "HEAD") else "pull,push"
        return f"repository:{repo}:{actions}"

    def _challenge(self, method, repo, error=None):
        if self.auth == "basic":
            return 'Basic realm="hostile-registry"'
        realm = f"{(self.realm_server or self).url}/token"
        value = f'Bearer realm="{realm}",service="{self.service}"'
        scope = self._scope(method, repo)
        if scope:
            value += f',scope="{scope}"'
        if error:
            value += f',error="{error}"'
        return value

    def _authorized(self, h):
        if self.auth is None:
            return True
        given = h.headers.get("Authorization") or ""
        if self.auth == "basic":
            return bool(self.username) and given == basic_header(self.username, self.password)
        if not given.startswith("Bearer "):
            return False
        token = given[len("Bearer "):]
        with self._lock:
            return (token == self.static_token or token in self.valid_tokens
                    or (self.realm_server is not None
                        and token in self.realm_server.valid_tokens))

    def _echo_message(self, h, rec):
        parts = [
            f"request refused; you sent Authorization: {rec.header('Authorization') or '(none)'}",
            f"password={self.password or ''}",
            f"tokens={','.join(self.secrets())}",
            f"retry at {SIGNED_URL}",
            f"upload {h.path}",
            TERMINAL_ESCAPES,
        ]
        return " ".join(parts)

    def _serve_token(self, h, rec):
        if self.username:
            if h.headers.get("Authorization") != basic_header(self.username, self.password):
                return self._error(h, 401, "UNAUTHORIZED", "authentication required",
                                   {"WWW-Authenticate": 'Basic realm="hostile-token"'})
        token = "tok-" + uuid.uuid4().hex
        with self._lock:
            self.issued_tokens.append(token)
            self.valid_tokens.add(token)
        body = json.dumps({"token": token, "access_token": token, "expires_in": 300,
                           "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        self._send(h, 200, body.encode())

    def _location(self, base, repo, sid):
        query = "_state=" + uuid.uuid4().hex
        if self.signed_locations or (base and base != self.url):
            query += "&" + SIGNED_QUERY
        return f"{base or ''}/v2/{repo}/blobs/uploads/{sid}?{query}"

    def _busy(self, h, step, head_only=False):
        if step not in self.busy or self.busy_hits.get(step):
            return False
        status, retry_after = self.busy[step]
        self.busy_hits[step] = self.busy_hits.get(step, 0) + 1
        self._error(h, status, "TOOMANYREQUESTS" if status == 429 else "UNAVAILABLE",
                    "slow down", {"Retry-After": str(retry_after)}, head_only)
        return True

    def _serve(self, h):
        split = urllib.parse.urlsplit(h.path)
        path, query = split.path, urllib.parse.parse_qs(split.query)
        method = h.command
        step, repo, ref = self._classify(method, path)
        body = self._read_body(h) if method in ("PUT", "POST", "PATCH") else b""
        rec = self._record(Recorded(self.origin, method, h.path, h.headers.items(), body, step))
        head_only = method == "HEAD"
        store = self.store
        if step in ("upload_patch", "upload_put"):
            with store.lock:
                store.upload_bytes += len(body)

        if step == "token":
            return self._serve_token(h, rec)
        if step == "ping" and self.auth is None and not self.always_401:
            return self._send(h, 200, b"{}")
        if self.always_401 or not self._authorized(h):
            return self._error(h, 401, "UNAUTHORIZED", "authentication required",
                               {"WWW-Authenticate": self._challenge(method, repo)}, head_only)
        if step == "ping":
            return self._send(h, 200, b"{}")

        if step in self.echo_errors:
            status = self.echo_errors[step]
            msg = self._echo_message(h, rec)
            body = json.dumps({"errors": [{"code": "UNKNOWN" + TERMINAL_ESCAPES, "message": msg,
                                           "detail": {"echo": msg}}]}).encode()
            return self._send(h, status, body, {"X-Echo": SIGNED_URL}, head_only)
        if self._busy(h, step, head_only):
            return

        if step == "upload_patch" and self.token_expire_after_bytes is not None \
                and self.auth == "bearer" and self.expired_at is None:
            with store.lock:
                held = len(store.uploads.get(ref, b""))
            if held >= self.token_expire_after_bytes:
                self.expired_at = held
                with self._lock:
                    self.valid_tokens.clear()  # every token so far has expired
                return self._error(h, 401, "UNAUTHORIZED", "token expired",
                                   {"WWW-Authenticate": self._challenge(method, repo,
                                                                        "invalid_token")})

        if step == "upload_post":
            if "digest" in query:  # monolithic POST
                data = body
                if digest_of(data) != query["digest"][0]:
                    return self._error(h, 400, "DIGEST_INVALID", "digest mismatch")
                with store.lock:
                    store.blobs[digest_of(data)] = data
                return self._send(h, 201, headers={
                    "Location": f"/v2/{repo}/blobs/{digest_of(data)}",
                    "Docker-Content-Digest": digest_of(data)})
            sid = uuid.uuid4().hex
            with store.lock:
                store.uploads[sid] = bytearray()
            return self._send(h, 202, headers={
                "Location": self._location(self.upload_location_post, repo, sid),
                "Docker-Upload-UUID": sid, "Range": "0-0"})
        if step in ("upload_patch", "upload_put", "upload_status", "upload_delete"):
            with store.lock:
                buf = store.uploads.get(ref)
                if buf is None:
                    return self._error(h, 404, "BLOB_UPLOAD_UNKNOWN", "no such upload")
                if step == "upload_delete":
                    del store.uploads[ref]
                    return self._send(h, 204)
                if step == "upload_status":
                    rng = f"0-{len(buf) - 1}" if buf else "0-0"
                    return self._send(h, 204, headers={
                        "Location": self._location(None, repo, ref), "Range": rng,
                        "Docker-Upload-UUID": ref})
                cr = h.headers.get("Content-Range")
                if step == "upload_patch" and cr:
                    m = re.fullmatch(r"(?:bytes[ =])?(\d+)-(\d+)(?:/\S+)?", cr.strip())
                    if not m or int(m[1]) != len(buf):
                        return self._send(h, 416, headers={
                            "Range": f"0-{len(buf) - 1}" if buf else "0-0",
                            "Location": self._location(None, repo, ref)})
                buf += body
                if step == "upload_patch":
                    return self._send(h, 202, headers={
                        "Location": self._location(self.upload_location_patch, repo, ref),
                        "Range": f"0-{len(buf) - 1}" if buf else "0-0",
                        "Docker-Upload-UUID": ref})
                want = (query.get("digest") or [""])[0]
                data = bytes(buf)
                if digest_of(data) != want:
                    del store.uploads[ref]
                    return self._error(h, 400, "DIGEST_INVALID", "digest mismatch")
                store.blobs[want] = data
                del store.uploads[ref]
            return self._send(h, 201, headers={"Location": f"/v2/{repo}/blobs/{want}",
                                               "Docker-Content-Digest": want})

        if step in ("manifest_head", "manifest_get"):
            with store.lock:
                digest = ref if ref.startswith("sha256:") else store.tags.get((repo, ref))
                entry = store.manifests.get(digest) if digest else None
                if digest in self.alias_manifests:
                    entry = self.alias_manifests[digest]
                if entry is None and self.lie_manifest_digest:
                    for (r, t), d in store.tags.items():
                        if r == repo and digest == _lie(d):
                            entry = store.manifests[d]
            if entry is None:
                return self._error(h, 404, "MANIFEST_UNKNOWN", "manifest unknown",
                                   head_only=head_only)
            data, media_type = entry
            echoed = _lie(digest) if self.lie_manifest_digest and not ref.startswith("sha256:") \
                else digest
            return self._send(h, 200, data, {"Docker-Content-Digest": echoed}, head_only,
                              media_type)
        if step == "manifest_put":
            media_type = (h.headers.get("Content-Type") or OCI_MANIFEST).split(";")[0]
            d = digest_of(body)
            with store.lock:
                store.manifests[d] = (body, media_type)
                if not ref.startswith("sha256:"):
                    store.tags[(repo, ref)] = d
            return self._send(h, 201, headers={"Location": f"/v2/{repo}/manifests/{d}",
                                               "Docker-Content-Digest": d})

        if step in ("blob_head", "blob_get"):
            with store.lock:
                data = store.blobs.get(ref)
            if data is None:
                return self._error(h, 404, "BLOB_UNKNOWN", "blob unknown", head_only=head_only)
            if step == "blob_get" and self.redirect_blobs:
                return self._send(h, self.redirect_status, headers={
                    "Location": f"{self.redirect_blobs}{path}?{SIGNED_QUERY}"})
            if head_only:
                return self._send(h, 200, data, {"Docker-Content-Digest": ref}, True,
                                  "application/octet-stream")
            if self.trickle_blobs or self.stall_blobs:
                return self._slow_body(h, data, ref)
            status, extra = 200, {"Docker-Content-Digest": ref, "Accept-Ranges": "bytes"}
            rng = h.headers.get("Range")
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng or "")
            if m and int(m[1]) < len(data):
                first = int(m[1])
                last = min(int(m[2]) if m[2] else len(data) - 1, len(data) - 1)
                extra["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
                data, status = data[first:last + 1], 206
            if self.extra_body_bytes:
                data = data + b"\0" * self.extra_body_bytes
            return self._send(h, status, data, extra, False, "application/octet-stream")

        return self._error(h, 404, "UNSUPPORTED", "not implemented by the fake",
                           head_only=head_only)

    def _slow_body(self, h, data, ref):
        h.send_response(200)
        h.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Docker-Content-Digest", ref)
        h.end_headers()
        h.close_connection = True
        if self.stall_blobs:
            self.stopping.wait()
            return
        for i in range(len(data)):
            if self.stopping.wait(1.0):
                return
            try:
                h.wfile.write(data[i:i + 1])
                h.wfile.flush()
            except OSError:
                return  # floe gave up: good


def _lie(digest):
    """A well-formed digest that is not `digest`."""
    hexd = digest.split(":", 1)[1]
    return "sha256:" + hashlib.sha256(("lie" + hexd).encode()).hexdigest()


class RawListener:
    """Records every connection and every byte received; answers a bare 404 to each read."""

    def __init__(self, host="127.0.0.2"):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.host = f"{host}:{self.sock.getsockname()[1]}"
        self.connections = 0
        self.received = bytearray()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, daemon=True, name="raw-listener")

    def start(self):
        self.thread.start()
        return self

    def _loop(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(0.5)
        with conn:
            while not self.stopping.is_set():
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not data:
                    return
                with self._lock:
                    self.received += data
                try:
                    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    return

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()


# -- hostile content ---------------------------------------------------------------------------

def tgz_infos(entries):
    """entries: [(TarInfo, data bytes | None)] -> a gzip tar (for entries test_bad_input.make_tgz
    cannot express: hard links that carry data, devices)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return gzip.compress(buf.getvalue(), mtime=0)


def _gf2_times(mat, vec):
    out, i = 0, 0
    while vec:
        if vec & 1:
            out ^= mat[i]
        vec >>= 1
        i += 1
    return out


def _gf2_square(mat):
    return [_gf2_times(mat, mat[n]) for n in range(32)]


def crc32_combine(crc1, crc2, len2):
    """zlib's crc32_combine: the CRC of A+B from crc(A), crc(B) and len(B)."""
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]
    even = _gf2_square(odd)
    odd = _gf2_square(even)
    while True:
        even = _gf2_square(odd)
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


def write_bomb(path, unpacked=10 << 30, chunk=64 << 20):
    """A valid gzip tar of one file of `unpacked` zero bytes, written streaming (~1 MB per GiB):
    the deflate output of a zero chunk after a full flush is the same every time, so it is
    computed once and repeated; the CRC is combined, not computed over 10 GiB."""
    assert unpacked % chunk == 0
    info = tarfile.TarInfo("zeros.bin")
    info.size, info.mtime, info.mode = unpacked, 0, 0o644
    header = info.tobuf(tarfile.PAX_FORMAT)
    tail = bytes(1024)  # two zero blocks end the archive
    zeros = bytes(chunk)
    d = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    first = d.compress(header) + d.flush(zlib.Z_FULL_FLUSH)
    block = d.compress(zeros) + d.flush(zlib.Z_FULL_FLUSH)
    again = d.compress(zeros) + d.flush(zlib.Z_FULL_FLUSH)
    assert block == again, "zlib did not repeat itself; cannot build the bomb by repetition"
    end = d.compress(tail) + d.flush(zlib.Z_FINISH)
    # CRC of header + zeros(unpacked) + tail
    n, power, power_len, crc_zeros = unpacked // chunk, zlib.crc32(zeros), chunk, 0
    while n:
        if n & 1:
            crc_zeros = crc32_combine(crc_zeros, power, power_len)
        power = crc32_combine(power, power, power_len)
        power_len *= 2
        n >>= 1
    crc = crc32_combine(zlib.crc32(header), crc_zeros, unpacked)
    crc = crc32_combine(crc, zlib.crc32(tail), len(tail))
    total = len(header) + unpacked + len(tail)
    with open(path, "wb") as f:
        f.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03")
        f.write(first)
        for _ in range(unpacked // chunk):
            f.write(block)
        f.write(end)
        f.write(struct.pack("<II", crc, total & 0xFFFFFFFF))
    return path


class ListingRegistry(HostileRegistry):
    """HostileRegistry plus GET /v2/_catalog and /v2/REPO/tags/list (from its store, or
    scripted), and `hook(method, path, query) -> None | (status, body, headers)` answering any
    GET/HEAD before the usual handling."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.catalog = None    # callable(query dict) -> (body bytes, headers dict)
        self.tag_list = None   # callable(repo, query dict) -> (body bytes, headers dict)
        self.hook = None

    def _serve(self, h):
        split = urllib.parse.urlsplit(h.path)
        path, query = split.path, urllib.parse.parse_qs(split.query)
        if h.command in ("GET", "HEAD"):
            m = re.fullmatch(r"/v2/(.+)/tags/list", path)
            if path == "/v2/_catalog" or m:
                step = "catalog" if path == "/v2/_catalog" else "tags"
                self._record(Recorded(self.origin, h.command, h.path, h.headers.items(), b"",
                                      step))
                if step == "catalog":
                    body, headers = (self.catalog or self._default_catalog)(query)
                else:
                    body, headers = (self.tag_list or self._default_tags)(m[1], query)
                return self._send(h, 200, body, headers, h.command == "HEAD")
            if self.hook:
                answer = self.hook(h.command, path, query)
                if answer is not None:
                    self._record(Recorded(self.origin, h.command, h.path, h.headers.items(),
                                          b"", "hooked"))
                    status, body, headers = answer
                    return self._send(h, status, body, headers, h.command == "HEAD")
        return super()._serve(h)

    def _default_catalog(self, query):
        with self.store.lock:
            repos = sorted({r for r, _ in self.store.tags})
        return json.dumps({"repositories": repos}).encode(), {}

    def _default_tags(self, repo, query):
        with self.store.lock:
            tags = sorted(t for r, t in self.store.tags if r == repo)
        return json.dumps({"name": repo, "tags": tags}).encode(), {}
