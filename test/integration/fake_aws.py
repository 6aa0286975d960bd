"""Local fake AWS endpoints for the ECR credential source: STS (AssumeRoleWithWebIdentity) and
ECR (GetAuthorizationToken), each on its own 127.0.0.1 port, over plain http.

The ECR fake recomputes the SigV4 signature of every request it receives from the secret key it
knows (stdlib hmac/hashlib, written from the AWS documentation, independent of floe's C++) and
answers 403 InvalidSignatureException on a mismatch, as AWS does. It also checks X-Amz-Target,
the content type, the body, the credential scope and the session token. Both fakes log every
request and count calls so tests can assert on exactly what arrived.

    aws = FakeAws(keys={"AKIATEST": "secret"}).start()
    ... AWS_ENDPOINT_URL_ECR=aws.ecr_url, AWS_ENDPOINT_URL_STS=aws.sts_url ...
    aws.ecr_calls, aws.sts_calls, aws.log, aws.rejections
    aws.stop()
"""
import base64
import datetime
import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
ECR_CONTENT_TYPE = "application/x-amz-json-1.1"


# -- SigV4, from the documentation ---------------------------------------------------------------

def _encode(s, keep_slash=False):
    return urllib.parse.quote(s, safe="-_.~" + ("/" if keep_slash else ""))


def canonical_query(raw_query):
    pairs = urllib.parse.parse_qsl(raw_query, keep_blank_values=True)
    return "&".join(f"{n}={v}" for n, v in sorted((_encode(n), _encode(v)) for n, v in pairs))


def _trim(value):
    return " ".join(value.split())


def canonical_request(method, raw_path, raw_query, headers, signed_headers, body):
    """headers: list of (name, value) as received; signed_headers: lower-case names."""
    joined = {}
    for name, value in headers:
        joined.setdefault(name.lower(), []).append(_trim(value))
    lines = [method, _encode(raw_path or "/", keep_slash=True), canonical_query(raw_query)]
    for name in signed_headers:
        lines.append(name + ":" + ",".join(joined.get(name, [])))
    return "\n".join(lines) + "\n\n" + ";".join(signed_headers) + "\n" + \
        hashlib.sha256(body).hexdigest()


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signature(secret, amz_date, region, service, creq):
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    key = _hmac(("AWS4" + secret).encode(), amz_date[:8])
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()


def parse_authorization(value):
    """{"key", "date", "region", "service", "signed", "signature"} or None."""
    prefix = "AWS4-HMAC-SHA256 "
    if not value or not value.startswith(prefix):
        return None
    fields = {}
    for part in value[len(prefix):].split(","):
        name, _, v = part.strip().partition("=")
        fields[name] = v
    try:
        key, date, region, service, term = fields["Credential"].split("/")
        return {"key": key, "date": date, "region": region, "service": service, "term": term,
                "signed": fields["SignedHeaders"].split(";"), "signature": fields["Signature"]}
    except (KeyError, ValueError):
        return None


# -- the fake --------------------------------------------------------------------------------

class FakeAws:
    """Attributes a test may set between requests:
        keys: access key id -> secret (long-term keys the ECR fake accepts)
        region: the region ECR requests must be signed for
        role_arn, web_identity_token: what STS accepts
        token_user, token_password, token_ttl: the registry token ECR hands out
        expires_as_float: send expiresAt as a float (as the real API does)
    """

    def __init__(self, keys=None, *, region="us-east-1", role_arn=None,
                 web_identity_token=None, token_user="AWS", token_password=None,
                 token_ttl=12 * 3600):
        self.keys = dict(keys or {})
        self.region = region
        self.role_arn, self.web_identity_token = role_arn, web_identity_token
        self.token_user = token_user
        self.token_password = token_password or "ecr-" + secrets.token_hex(24)
        self.token_ttl = token_ttl
        self.expires_as_float = True
        self._sessions = {}  # temporary access key id -> (secret, session token)
        self._lock = threading.Lock()
        self.log = []         # every request: {"service", "method", "path", "headers", "body"...}
        self.sts_calls = 0
        self.ecr_calls = 0    # GetAuthorizationToken requests, accepted or not
        self.rejections = []  # (service, reason) for every refused request
        self.issued = []      # temporary credentials STS handed out: (key id, secret, token)
        self._servers = []

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self):
        self.sts_url = self._serve(_make_handler(self, "sts"))
        self.ecr_url = self._serve(_make_handler(self, "ecr"))
        return self

    def _serve(self, handler):
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        self._servers.append((server, thread))
        return "http://127.0.0.1:%d/" % server.server_address[1]

    def stop(self):
        for server, thread in self._servers:
            server.shutdown()
            server.server_close()
            thread.join(5)
        self._servers = []

    def requests(self, service):
        with self._lock:
            return [r for r in self.log if r["service"] == service]

    # -- STS ---------------------------------------------------------------------------------
    def sts(self, req):
        with self._lock:
            self.sts_calls += 1
        params = dict(urllib.parse.parse_qsl(req["query"], keep_blank_values=True))
        if req["method"] == "POST":
            params.update(urllib.parse.parse_qsl(req["body"].decode(), keep_blank_values=True))
        req["params"] = params
        problem = None
        if params.get("Action") != "AssumeRoleWithWebIdentity":
            problem = ("InvalidAction", "unexpected Action")
        elif params.get("Version") != "2011-06-15":
            problem = ("InvalidParameterValue", "unexpected Version")
        elif params.get("RoleArn") != self.role_arn:
            problem = ("AccessDenied", "unexpected RoleArn")
        elif params.get("WebIdentityToken") != self.web_identity_token:
            problem = ("InvalidIdentityToken", "unexpected WebIdentityToken")
        elif not params.get("RoleSessionName"):
            problem = ("ValidationError", "no RoleSessionName")
        if problem:
            self._reject("sts", problem[1])
            return 403, "text/xml", _sts_error(*problem)
        key = "ASIA" + secrets.token_hex(8).upper()
        secret = secrets.token_urlsafe(30)
        token = "IQoJb3JpZ2luX2Vj" + secrets.token_urlsafe(60)
        expiration = (datetime.datetime.now(datetime.timezone.utc)
                      + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._lock:
            self._sessions[key] = (secret, token)
            self.issued.append((key, secret, token))
        body = f"""<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:ci:floe</SubjectFromWebIdentityToken>
    <AssumedRoleUser>
      <Arn>{self.role_arn}/{params["RoleSessionName"]}</Arn>
      <AssumedRoleId>AROAFAKE:{params["RoleSessionName"]}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>{key}</AccessKeyId>
      <SecretAccessKey>{secret}</SecretAccessKey>
      <SessionToken>{token}</SessionToken>
      <Expiration>{expiration}</Expiration>
    </Credentials>
    <Audience>sts.amazonaws.com</Audience>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>{secrets.token_hex(8)}</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>
"""
        return 200, "text/xml", body.encode()

    # -- ECR ---------------------------------------------------------------------------------
    def ecr(self, req):
        with self._lock:
            self.ecr_calls += 1
        headers = {k.lower(): v for k, v in req["header_list"]}
        if req["method"] != "POST":
            return self._ecr_error("ecr", 400, "InvalidAction", "GetAuthorizationToken is a POST")
        if headers.get("x-amz-target") != ECR_TARGET:
            return self._ecr_error("ecr", 400, "UnknownOperationException",
                                   "unexpected X-Amz-Target")
        if headers.get("content-type") != ECR_CONTENT_TYPE:
            return self._ecr_error("ecr", 400, "SerializationException",
                                   "unexpected Content-Type")
        try:
            body = json.loads(req["body"] or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict) or set(body) - {"registryIds"}:
            return self._ecr_error("ecr", 400, "SerializationException", "unexpected body")
        problem = self._check_signature(req, headers)
        if problem:
            code, why = problem
            return self._ecr_error("ecr", 403, code, why)
        expires = time.time() + self.token_ttl
        token = base64.b64encode(f"{self.token_user}:{self.token_password}".encode()).decode()
        answer = {"authorizationData": [{
            "authorizationToken": token,
            "expiresAt": expires if self.expires_as_float else int(expires),
            "proxyEndpoint": "https://123456789012.dkr.ecr.%s.amazonaws.com" % self.region}]}
        return 200, ECR_CONTENT_TYPE, json.dumps(answer).encode()

    def _check_signature(self, req, headers):
        auth = parse_authorization(headers.get("authorization"))
        if not auth:
            return "MissingAuthenticationTokenException", "no SigV4 Authorization header"
        amz_date = headers.get("x-amz-date", "")
        try:
            when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.timezone.utc)
        except ValueError:
            return "IncompleteSignatureException", "no valid X-Amz-Date"
        if abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) > 900:
            return "InvalidSignatureException", "signature expired"
        if (auth["date"] != amz_date[:8] or auth["region"] != self.region
                or auth["service"] != "ecr" or auth["term"] != "aws4_request"):
            return "InvalidSignatureException", "wrong credential scope"
        must_sign = {"host", "x-amz-date", "x-amz-target", "content-type"}
        with self._lock:
            session = self._sessions.get(auth["key"])
        if session:
            secret, token = session
            if headers.get("x-amz-security-token") != token:
                return "UnrecognizedClientException", "wrong or missing session token"
            must_sign.add("x-amz-security-token")
        elif auth["key"] in self.keys:
            secret = self.keys[auth["key"]]
        else:
            return "UnrecognizedClientException", "unknown access key id"
        if not must_sign <= set(auth["signed"]) or auth["signed"] != sorted(auth["signed"]):
            return "InvalidSignatureException", "signed headers incomplete or unsorted"
        creq = canonical_request(req["method"], req["path"], req["query"], req["header_list"],
                                 auth["signed"], req["body"])
        want = signature(secret, amz_date, auth["region"], "ecr", creq)
        if not hmac.compare_digest(want, auth["signature"]):
            return "InvalidSignatureException", "signature mismatch"
        req["verified_key"] = auth["key"]
        return None

    def _ecr_error(self, service, status, code, why):
        self._reject(service, why)
        return status, ECR_CONTENT_TYPE, json.dumps(
            {"__type": code, "message": "fake ECR: " + why}).encode()

    def _reject(self, service, why):
        with self._lock:
            self.rejections.append((service, why))


def _sts_error(code, message):
    return (f"<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>"
            f"<Type>Sender</Type><Code>{code}</Code><Message>fake STS: {message}</Message>"
            f"</Error><RequestId>0</RequestId></ErrorResponse>").encode()


def _make_handler(fake, service):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path, _, query = self.path.partition("?")
            req = {"service": service, "method": self.command, "path": path, "query": query,
                   "header_list": list(self.headers.items()),
                   "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
            with fake._lock:
                fake.log.append(req)
            status, ctype, payload = (fake.sts if service == "sts" else fake.ecr)(req)
            req["status"] = status
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _handle
        do_POST = _handle

    return Handler
