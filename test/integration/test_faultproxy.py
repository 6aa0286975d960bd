"""The fault-injecting proxy itself (test/faultproxy), against a real registry: it forwards,
counts, and injects each fault exactly where it was told to. No floe binary needed."""
import os
import socket
import subprocess
import sys
import time
import types

import pytest

from floe_testlib import http, repo_for, upload_blob

PROXY_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "faultproxy",
                            "faultproxy.py")


def via(proxy):
    """A registry-like object for floe_testlib.http() that talks to the proxy."""
    return types.SimpleNamespace(url="http://" + proxy.host, username=None, auth=None,
                                 ca_path=None)


def raw_exchange(host, request, timeout=30):
    """Sends `request` on a fresh connection and reads until EOF (or a reset).
    Returns (bytes received, the exception that ended it or None)."""
    h, p = host.rsplit(":", 1)
    got = bytearray()
    with socket.create_connection((h, int(p)), timeout=timeout) as s:
        s.sendall(request)
        try:
            while True:
                chunk = s.recv(1 << 16)
                if not chunk:
                    return bytes(got), None
                got += chunk
        except OSError as e:
            return bytes(got), e


def blob_get(repo, digest, host):
    return (f"GET /v2/{repo}/blobs/{digest} HTTP/1.1\r\nHost: {host}\r\n"
            "Connection: close\r\n\r\n").encode()


@pytest.fixture
def blob(request, registry_anon):
    repo = repo_for(request)
    data = os.urandom(1 << 20)
    return types.SimpleNamespace(repo=repo, data=data,
                                 digest=upload_blob(registry_anon, repo, data)["digest"])


def test_forwards_and_counts_both_directions(registry_anon, fault_proxy, blob):
    proxy = fault_proxy(registry_anon)
    status, headers, body = http(via(proxy), "GET", "/v2/")
    assert status == 200 and headers["Docker-Distribution-Api-Version"] == "registry/2.0"
    assert proxy.bytes_down > 0 and proxy.bytes_up > 0 and proxy.connections == 1

    proxy.reset_counters()
    assert (proxy.bytes_down, proxy.bytes_up, proxy.connections) == (0, 0, 0)
    request = blob_get(blob.repo, blob.digest, proxy.host)
    got, err = raw_exchange(proxy.host, request)
    assert err is None and got.endswith(blob.data)
    assert proxy.bytes_up == len(request)
    assert proxy.bytes_down == len(got)
    assert proxy.connections == 1 and proxy.events == []


@pytest.mark.parametrize("n", [0, 1, 300_000, 777_777])
def test_cut_down_after_fin_forwards_exactly_n_bytes_then_eof(registry_anon, fault_proxy,
                                                              blob, n):
    proxy = fault_proxy(registry_anon)
    http(via(proxy), "GET", "/v2/")  # bytes before arming do not count towards n
    proxy.reset_counters()
    proxy.cut_down_after(n, "fin")
    got, err = raw_exchange(proxy.host, blob_get(blob.repo, blob.digest, proxy.host))
    assert err is None, f"a 'fin' cut must end in EOF, not {err!r}"
    assert len(got) == n and proxy.bytes_down == n
    [event] = proxy.events
    assert event["fault"] == "cut" and event["direction"] == "down" and event["at"] == n
    assert event["bytes_down"] == n
    # One-shot: the next request goes through whole.
    status, _, body = http(via(proxy), "GET", f"/v2/{blob.repo}/blobs/{blob.digest}")
    assert status == 200 and body == blob.data and proxy.armed() == 0


def test_cut_down_counts_across_connections(registry_anon, fault_proxy, blob):
    proxy = fault_proxy(registry_anon)
    proxy.cut_down_after(len(blob.data) + 1000, "fin")  # past the first response's body
    first, _ = raw_exchange(proxy.host, blob_get(blob.repo, blob.digest, proxy.host))
    assert first.endswith(blob.data) and proxy.events == []
    second, err = raw_exchange(proxy.host, blob_get(blob.repo, blob.digest, proxy.host))
    assert err is None and len(first) + len(second) == len(blob.data) + 1000


def test_cut_down_after_rst_resets_the_client(registry_anon, fault_proxy, blob):
    proxy = fault_proxy(registry_anon)
    proxy.cut_down_after(200_000, "rst")
    got, err = raw_exchange(proxy.host, blob_get(blob.repo, blob.digest, proxy.host))
    assert isinstance(err, ConnectionResetError), (len(got), err)
    assert len(got) <= 200_000 and proxy.bytes_down == 200_000
    status, _, body = http(via(proxy), "GET", f"/v2/{blob.repo}/blobs/{blob.digest}")
    assert status == 200 and body == blob.data


def test_cut_up_after_forwards_exactly_n_bytes(registry_anon, fault_proxy, request):
    proxy = fault_proxy(registry_anon)
    repo = repo_for(request)
    status, headers, _ = http(registry_anon, "POST", f"/v2/{repo}/blobs/uploads/", data=b"")
    assert status == 202
    location = headers["Location"].split(registry_anon.host, 1)[-1]
    body = os.urandom(500_000)
    head = (f"PATCH {location} HTTP/1.1\r\nHost: {proxy.host}\r\nContent-Length: {len(body)}\r\n"
            "Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n").encode()
    n = len(head) + 123_456
    proxy.cut_up_after(n, "fin")
    got, _ = raw_exchange(proxy.host, head + body)
    assert proxy.bytes_up == n
    assert [(e["fault"], e["direction"], e["at"]) for e in proxy.events] == [("cut", "up", n)]
    assert not got.startswith(b"HTTP/1.1 202"), "the registry got the whole body"


def test_cut_up_at_next_request_drops_that_request_whole(registry_anon, fault_proxy):
    proxy = fault_proxy(registry_anon)
    h, p = proxy.host.rsplit(":", 1)
    ping = f"GET /v2/ HTTP/1.1\r\nHost: {proxy.host}\r\n\r\n".encode()
    proxy.cut_up_at_next_request_after(1, "fin")
    with socket.create_connection((h, int(p)), timeout=30) as s:
        s.sendall(ping)  # starts before byte 1: forwarded
        got = b""
        while b"\r\n\r\n" not in got:
            got += s.recv(4096)
        head, body = got.split(b"\r\n\r\n", 1)
        length = int([l.split(b":")[1] for l in head.split(b"\r\n")
                      if l.lower().startswith(b"content-length:")][0])
        while len(body) < length:
            body += s.recv(4096)
        assert head.startswith(b"HTTP/1.1 200")
        s.sendall(ping)  # the next request: cut before any of it is forwarded
        assert s.recv(4096) == b""
    assert proxy.bytes_up == len(ping)
    assert [(e["fault"], e["direction"]) for e in proxy.events] == [("cut", "up")]


def test_stall_down_pauses_then_delivers_everything(registry_anon, fault_proxy, blob):
    proxy = fault_proxy(registry_anon)
    proxy.stall_down_after(100_000, 1.0)
    start = time.monotonic()
    status, _, body = http(via(proxy), "GET", f"/v2/{blob.repo}/blobs/{blob.digest}")
    assert time.monotonic() - start >= 1.0
    assert status == 200 and body == blob.data
    assert [e["fault"] for e in proxy.events] == ["stall"]


def test_flip_down_byte_changes_exactly_one_byte(registry_anon, fault_proxy, blob):
    proxy = fault_proxy(registry_anon)
    request = blob_get(blob.repo, blob.digest, proxy.host)
    clean, _ = raw_exchange(proxy.host, request)
    at = len(clean) - len(blob.data) + 4321  # body byte 4321
    proxy.flip_down_byte_at(at)
    flipped, _ = raw_exchange(proxy.host, request)
    diff = [i for i, (a, b) in enumerate(zip(clean, flipped)) if a != b]
    # (Date headers may differ between the two responses: compare the bodies.)
    body_diff = [i - (len(clean) - len(blob.data)) for i in diff if i >= len(clean) - len(blob.data)]
    assert body_diff == [4321] and flipped[at] == clean[at] ^ 0xFF
    assert proxy.events[-1]["at"] == at


def test_http_error_next_answers_without_the_registry(registry_anon, fault_proxy):
    proxy = fault_proxy(registry_anon)
    proxy.http_error_next(503, retry_after=1, count=2)
    for _ in range(2):
        status, headers, body = http(via(proxy), "GET", "/v2/")
        assert status == 503 and headers["Retry-After"] == "1"
        assert b"UNAVAILABLE" in body
    assert proxy.intercepted == 2 and proxy.bytes_up == 0 and proxy.bytes_down == 0
    status, _, _ = http(via(proxy), "GET", "/v2/")
    assert status == 200 and proxy.intercepted == 2


def test_http_error_next_lets_non_http_first_bytes_through(registry_anon, fault_proxy):
    proxy = fault_proxy(registry_anon)
    proxy.http_error_next(500)
    # A TLS ClientHello-like start: forwarded, the registry answers 400, the error stays armed.
    got, _ = raw_exchange(proxy.host, b"\x16\x03\x01\x00\x05hello\r\n\r\n")
    assert b" 400 " in got.split(b"\r\n", 1)[0] and proxy.intercepted == 0
    assert http(via(proxy), "GET", "/v2/")[0] == 500


def read_response(s):
    """One HTTP response (head, body) from socket `s`, framed by Content-Length."""
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(4096)
        assert chunk, f"connection closed inside a response head: {got!r}"
        got += chunk
    head, body = got.split(b"\r\n\r\n", 1)
    length = int([l.split(b":")[1] for l in head.split(b"\r\n")
                  if l.lower().startswith(b"content-length:")][0])
    while len(body) < length:
        chunk = s.recv(4096)
        assert chunk, "connection closed inside a response body"
        body += chunk
    return head, body


def test_http_error_on_answers_a_request_on_a_kept_alive_connection(registry_anon, fault_proxy,
                                                                    request):
    proxy = fault_proxy(registry_anon)
    repo = repo_for(request)
    status, headers, _ = http(registry_anon, "POST", f"/v2/{repo}/blobs/uploads/", data=b"")
    assert status == 202
    location = headers["Location"].split(registry_anon.host, 1)[-1]
    proxy.http_error_on("PATCH", 429, retry_after=1)
    h, p = proxy.host.rsplit(":", 1)
    ping = f"GET /v2/ HTTP/1.1\r\nHost: {proxy.host}\r\n\r\n".encode()
    body = os.urandom(700_000)  # more than one read of the proxy
    patch = (f"PATCH {location} HTTP/1.1\r\nHost: {proxy.host}\r\n"
             f"Content-Length: {len(body)}\r\nContent-Type: application/octet-stream\r\n"
             "\r\n").encode() + body
    with socket.create_connection((h, int(p)), timeout=30) as s:
        s.sendall(ping)  # not a PATCH: forwarded, and the connection stays open
        head, _ = read_response(s)
        assert head.startswith(b"HTTP/1.1 200")
        s.sendall(patch)  # the second request of the connection: answered by the proxy
        head, answer = read_response(s)
        assert s.recv(4096) == b"", "the connection stays open after the injected answer"
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 429 Too Many Requests", lines
    assert b"Retry-After: 1" in lines and b"Connection: close" in lines
    assert proxy.connections == 1 and proxy.intercepted == 1
    assert proxy.bytes_up == len(ping), "bytes of the dropped request reached the registry"
    assert proxy.bytes_dropped == len(patch)
    [event] = proxy.events
    assert event["fault"] == "http_error" and event["at"] == f"PATCH {location} HTTP/1.1"
    # The registry never saw the PATCH: the session holds nothing.
    status, headers, _ = http(registry_anon, "GET", location)
    assert status == 204 and headers.get("Range", "0-0") == "0-0", headers.get("Range")
    assert proxy.armed() == 0


def test_http_error_on_matches_method_and_path_skips_and_counts(registry_anon, fault_proxy, blob):
    proxy = fault_proxy(registry_anon)
    proxy.http_error_on("GET", 503, count=2, path=r"/blobs/sha256:", skip=1)
    assert proxy.armed() == 2
    assert http(via(proxy), "GET", "/v2/")[0] == 200  # another path
    assert http(via(proxy), "HEAD", f"/v2/{blob.repo}/blobs/{blob.digest}")[0] == 200  # method
    status, _, body = http(via(proxy), "GET", f"/v2/{blob.repo}/blobs/{blob.digest}")
    assert status == 200 and body == blob.data and proxy.events == []  # skipped
    for _ in range(2):
        status, headers, body = http(via(proxy), "GET", f"/v2/{blob.repo}/blobs/{blob.digest}")
        assert status == 503 and "Retry-After" not in headers and b"UNAVAILABLE" in body
    status, _, body = http(via(proxy), "GET", f"/v2/{blob.repo}/blobs/{blob.digest}")
    assert status == 200 and body == blob.data and proxy.armed() == 0
    assert [e["at"].split(" ")[0] for e in proxy.events] == ["GET", "GET"]
    assert proxy.intercepted == 2 and proxy.bytes_dropped > 0


def test_cli_prints_its_port_and_forwards(registry_anon):
    proc = subprocess.Popen([sys.executable, PROXY_SCRIPT, "--listen", "127.0.0.1:0",
                             "--upstream", registry_anon.host],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        status, _, _ = http(types.SimpleNamespace(url=f"http://127.0.0.1:{port}", username=None,
                                                  auth=None, ca_path=None), "GET", "/v2/")
        assert status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
