"""Uploads answered 429/503 (issue 9, "Resilience from the configuration"): a busy answer to a
step of an upload (POST, PATCH, the final PUT) is retried after rewinding to what the registry
confirms it holds, so a push completes and resends a bounded number of bytes.

floe pushes through a FaultProxy (test/faultproxy) in front of the shared anonymous registry;
http_error_on answers the chosen request itself, on whichever connection it comes, and drops
its body. The registry never sees an answered request, so what floe sent in all
(proxy.bytes_up, forwarded, plus proxy.bytes_dropped) minus the file's size is what it resent.
"""
import hashlib
import os
import time

import pytest

from floe_testlib import EXIT_NETWORK, ok, repo_for, upload_blob

MiB = 1 << 20
KiB = 1 << 10
SIZE = 6 * MiB         # six 1 MiB PATCHes with --chunk-size 1M
CHUNK = 1 * MiB
HTTP_OVERHEAD = 64 * KiB  # request heads, the manifest, status checks: with room to spare
FINAL_PUT = r"[?&]digest="
NO_ENV = {"FLOE_MANIFEST": None, "FLOE_ENVIRONMENT": None}


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def src(tmp_path):
    path = tmp_path / "src" / "data.bin"
    path.parent.mkdir()
    path.write_bytes(os.urandom(SIZE))
    return path


def prepare(registry, request, suffix=""):
    """A repository that already holds floe's empty config blob, so the push uploads exactly
    one blob (the file) and the proxy's skip counts only its requests."""
    repo = repo_for(request, suffix)
    upload_blob(registry, repo, b"{}")
    return repo


def injected(proxy):
    return [e["at"] for e in proxy.events if e["fault"] == "http_error"]


def sent_in_all(proxy):
    return proxy.bytes_up + proxy.bytes_dropped


def check_pulled(run_floe, registry, repo, src, out):
    ok(run_floe("artifact", "pull", f"{registry.host}/{repo}:1", "-o", out))
    assert sha256((out / src.name).read_bytes()) == sha256(src.read_bytes())


# Each case: (method, status, Retry-After, skip, path, what may be resent). A PATCH answered
# 429/503 costs that one chunk again; the final PUT of a chunked upload carries no body, so
# answering it costs nothing but a status check and the PUT's head.
CHUNKED = {
    "429-retry-after-on-a-middle-patch": [("PATCH", 429, 1, 2, None)],
    "503-on-a-patch": [("PATCH", 503, None, 3, None)],
    "503-then-429-on-the-final-put": [("PUT", 503, None, 0, FINAL_PUT),
                                      ("PUT", 429, 1, 0, FINAL_PUT)],
}


@pytest.mark.parametrize("case", list(CHUNKED))
def test_a_busy_answer_to_a_chunked_upload_step_resends_at_most_that_chunk(
        run_floe, registry_anon, fault_proxy, src, tmp_path, request, case):
    faults = CHUNKED[case]
    repo = prepare(registry_anon, request)
    proxy = fault_proxy(registry_anon)
    for method, status, retry_after, skip, path in faults:
        proxy.http_error_on(method, status, retry_after=retry_after, skip=skip, path=path)
    start = time.monotonic()
    ok(run_floe("--plain-http", "--chunk-size", "1M", "artifact", "push",
                f"{proxy.host}/{repo}:1", src))
    elapsed = time.monotonic() - start

    hits = injected(proxy)
    assert len(hits) == len(faults), f"the proxy answered {hits}, armed {faults}"
    for (method, _, _, _, path), line in zip(faults, hits):
        assert line.startswith(method + " ") and "/blobs/uploads/" in line, line
        if path == FINAL_PUT:
            assert "digest=" in line, line
    assert proxy.armed() == 0
    waits = sum(r or 0 for _, _, r, _, _ in faults)
    assert elapsed >= waits, f"the push took {elapsed:.2f} s, less than the Retry-After {waits} s"

    resent = sent_in_all(proxy) - SIZE
    patches = sum(1 for f in faults if f[0] == "PATCH")
    bound = patches * CHUNK + HTTP_OVERHEAD
    assert resent <= bound, (
        f"floe sent {sent_in_all(proxy)} bytes for a {SIZE}-byte file ({resent} more; at most "
        f"{bound} expected): it did not continue from what the registry confirmed")
    check_pulled(run_floe, registry_anon, repo, src, tmp_path / "out")


@pytest.mark.parametrize("method, path", [("POST", r"/blobs/uploads/$"), ("PUT", FINAL_PUT)])
def test_503_on_a_monolithic_upload_sends_the_file_at_most_once_more(
        run_floe, registry_anon, fault_proxy, src, tmp_path, request, method, path):
    # No --chunk-size, a file of known size: POST, then one PUT ?digest= with the whole body.
    # A lost POST costs nothing; a lost PUT costs the body once more (a new session).
    repo = prepare(registry_anon, request)
    proxy = fault_proxy(registry_anon)
    proxy.http_error_on(method, 503, path=path)
    ok(run_floe("--plain-http", "artifact", "push", f"{proxy.host}/{repo}:1", src))
    [hit] = injected(proxy)
    assert hit.startswith(method + " ") and "/blobs/uploads/" in hit, hit
    resent = sent_in_all(proxy) - SIZE
    bound = (SIZE if method == "PUT" else 0) + HTTP_OVERHEAD
    assert resent <= bound, f"floe resent {resent} bytes of a {SIZE}-byte file (bound {bound})"
    if method == "PUT":
        assert proxy.bytes_dropped >= SIZE, "the injected answer came before the body was sent"
    check_pulled(run_floe, registry_anon, repo, src, tmp_path / "out")


@pytest.mark.parametrize("max_attempts, code", [(1, EXIT_NETWORK), (3, 0)])
def test_the_manifest_retry_policy_governs_uploads(run_floe, registry_anon, fault_proxy, src,
                                                   tmp_path, request, max_attempts, code):
    # The same 503 on a PATCH: with resilience.retry.max_attempts 1 the push gives up, with 3
    # it goes on. (The built-in policy would retry: only the manifest's can make it fail.)
    repo = prepare(registry_anon, request)
    proxy = fault_proxy(registry_anon)
    ns, name = repo.rsplit("/", 1)
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(
        "artifacts:\n  registry:\n"
        f"    uri: oci://{proxy.host}/{ns}\n"
        "    resilience:\n"
        f"      retry: {{max_attempts: {max_attempts}, initial_delay_ms: 50, jitter: false}}\n")
    proxy.http_error_on("PATCH", 503, skip=2)
    proc = run_floe("--plain-http", "--config", manifest, "--chunk-size", "1M", "artifact",
                    "push", f"{name}:1", src, env=NO_ENV)
    assert len(injected(proxy)) == 1, proxy.events
    if code:
        assert proc.returncode == code, proc.stderr
        assert "503" in proc.stderr or "unavailable" in proc.stderr.lower(), proc.stderr
        # Given up at once: no status check, no further PATCH reached the registry.
        assert proxy.bytes_up <= 2 * CHUNK + HTTP_OVERHEAD, proxy.bytes_up
    else:
        ok(proc)
        assert sent_in_all(proxy) - SIZE <= CHUNK + HTTP_OVERHEAD
        check_pulled(run_floe, registry_anon, repo, src, tmp_path / "out")


def test_an_upload_session_the_registry_forgot_is_asked_about_and_continued(
        run_floe, registry_anon, fault_proxy, src, tmp_path, request):
    # 404 BLOB_UPLOAD_UNKNOWN on a PATCH (a session that expired, a registry that restarted, a
    # Location garbled on the way) is not the end of the push: floe asks where the session
    # stands and goes on, or starts over when it is gone.
    repo = prepare(registry_anon, request)
    proxy = fault_proxy(registry_anon)
    proxy.http_error_on("PATCH", 404, skip=2, code="BLOB_UPLOAD_UNKNOWN")
    ok(run_floe("--plain-http", "--chunk-size", "1M", "artifact", "push",
                f"{proxy.host}/{repo}:1", src))
    assert len(injected(proxy)) == 1, proxy.events
    assert sent_in_all(proxy) - SIZE <= CHUNK + HTTP_OVERHEAD
    check_pulled(run_floe, registry_anon, repo, src, tmp_path / "out")
