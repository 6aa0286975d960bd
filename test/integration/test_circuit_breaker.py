"""The circuit breaker from the platform manifest (issue 9, "Resilience from the configuration"):
failure_threshold failures in a row open it and the next request fails without a connection
(counted at a FaultProxy); after recovery_timeout_ms a trial request goes through, and its
success closes it (a failure opens it again).

The breaker's state lives in one floe process, and an open circuit ends the request it refuses
(it is not retried), so a process that goes on after a refusal does not exist in the CLI. What
one process can show is the retry layer's next attempt arriving after the recovery timeout:
with retry delays longer than recovery_timeout_ms, that attempt is the half-open trial. (The
whole sequence on one fake clock, refusal included, is in test/unit/circuit_breaker_test.cpp.)
"""
import json
import re

import pytest

from floe_testlib import ok, repo_for

NO_ENV = {"FLOE_MANIFEST": None, "FLOE_ENVIRONMENT": None}
MANIFESTS = r"/manifests/"


@pytest.fixture
def pushed(run_floe, registry_anon, request, tmp_path):
    """An artifact `<ns>/<name>:1` in the shared anonymous registry, pushed without the proxy."""
    repo = repo_for(request)
    data = tmp_path / "orders.csv"
    data.write_text("id\n1\n")
    ok(run_floe("artifact", "push", f"{registry_anon.host}/{repo}:1", data, env=NO_ENV))
    ns, name = repo.rsplit("/", 1)
    return ns, name


def write_manifest(path, host, ns, retry, breaker):
    path.write_text("artifacts:\n  registry:\n"
                    f"    uri: oci://{host}/{ns}\n"
                    "    resilience:\n"
                    f"      retry: {retry}\n"
                    f"      circuit_breaker: {breaker}\n")
    return path


def circuit_lines(stderr):
    return re.findall(r"circuit (\S+ -> \S+)", stderr)


def test_five_failures_open_it_and_the_next_attempt_makes_no_connection(
        run_floe, registry_anon, fault_proxy, pushed, tmp_path):
    ns, name = pushed
    proxy = fault_proxy(registry_anon)
    # More 503s armed than the breaker lets through: a sixth attempt would be answered too.
    proxy.http_error_on("HEAD", 503, count=6, path=MANIFESTS)
    manifest = write_manifest(tmp_path / "manifest.yaml", proxy.host, ns,
                              "{max_attempts: 8, initial_delay_ms: 10, max_delay_ms: 20}",
                              "{failure_threshold: 5, recovery_timeout_ms: 60000}")
    # --plain-http: no scheme probe; every request of the command goes through the breaker.
    proc = run_floe("-v", "--plain-http", "--config", manifest, "artifact", "inspect",
                    f"{name}:1", env=NO_ENV)
    assert proc.returncode == 6, proc.stderr
    assert len(proxy.events) == 5, [e["at"] for e in proxy.events]
    assert proxy.connections == 5, (
        f"{proxy.connections} connections reached the proxy: the attempt after the circuit "
        f"opened was not refused before connecting")
    assert proxy.armed() == 1
    assert circuit_lines(proc.stderr) == ["closed -> open"], proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "circuit open after 5 failures" in last, last


@pytest.mark.parametrize("failures, expected", [
    (2, ["closed -> open", "open -> half-open", "half-open -> closed"]),
    # the first trial is answered 503 too: open again, and the next trial closes it
    (3, ["closed -> open", "open -> half-open", "half-open -> open", "open -> half-open",
         "half-open -> closed"]),
])
def test_after_the_recovery_timeout_a_successful_trial_closes_it(
        run_floe, registry_anon, fault_proxy, pushed, tmp_path, failures, expected):
    ns, name = pushed
    proxy = fault_proxy(registry_anon)
    proxy.http_error_on("HEAD", 503, count=failures, path=MANIFESTS)
    # Retry delays of 1 s against a recovery timeout of 0.3 s: each retry after the circuit
    # opened comes after the timeout, so it is the half-open trial (not refused).
    manifest = write_manifest(tmp_path / "manifest.yaml", proxy.host, ns,
                              "{max_attempts: 6, initial_delay_ms: 1000, backoff_multiplier: 1.0, "
                              "jitter: false}",
                              "{failure_threshold: 2, recovery_timeout_ms: 300}")
    proc = ok(run_floe("-v", "--progress", "json", "--plain-http", "--config", manifest,
                       "artifact", "inspect", f"{name}:1", env=NO_ENV))
    assert circuit_lines(proc.stderr) == expected, proc.stderr
    # The same changes as progress events, for programs reading --progress json.
    events = [json.loads(l) for l in proc.stderr.splitlines() if l.startswith("{")]
    assert [e["detail"] for e in events if e["event"] == "circuit"] == [
        f"{proxy.host}: {change}" for change in expected], events
    assert len(proxy.events) == failures and proxy.armed() == 0
    # The trial that closed it was a real request the registry answered.
    lines = proc.stderr.splitlines()
    closed_at = max(i for i, l in enumerate(lines) if "half-open -> closed" in l)
    answered = [l for l in lines[:closed_at] if re.search(r"HEAD \S+/manifests/\S+ -> 200", l)]
    assert answered, proc.stderr


def test_a_breaker_that_is_disabled_never_opens(run_floe, registry_anon, fault_proxy, pushed,
                                                tmp_path):
    ns, name = pushed
    proxy = fault_proxy(registry_anon)
    proxy.http_error_on("HEAD", 503, count=3, path=MANIFESTS)
    manifest = write_manifest(tmp_path / "manifest.yaml", proxy.host, ns,
                              "{max_attempts: 5, initial_delay_ms: 10, max_delay_ms: 20}",
                              "{enabled: false, failure_threshold: 2}")
    proc = ok(run_floe("-v", "--plain-http", "--config", manifest, "artifact", "inspect",
                       f"{name}:1", env=NO_ENV))
    assert circuit_lines(proc.stderr) == [] and len(proxy.events) == 3, proc.stderr
