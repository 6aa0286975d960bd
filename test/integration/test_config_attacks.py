"""Attacks on issue 9: the platform manifest, mirrors and failover, `floe artifact mirror`.

Three kinds of attacker:
  - a hostile or malformed manifest.yaml (alias bombs, deep nesting, duplicate sections,
    credentials in a uri, special files for ca_file / client_cert, escapes in names);
  - a hostile mirror (other bytes under the primary's digest, a token realm on the primary's
    host, errors that echo secrets and terminal escapes) and a primary that must NOT be failed
    over from (404/401 are answers about content, not unavailability);
  - a hostile registry listing (catalog and tag pages that link elsewhere or in a circle, names
    and tags with "..", "%2e", escapes, newlines).

Every test asserts on what the fakes received, what floe printed, and the exit code. A real
bug found here is a failing test marked xfail(strict=True) with the reason.
"""
import json
import os
import re
import resource
import socket
import subprocess
import time
import urllib.parse

import pytest

from floe_testlib import (EXIT_AUTH, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE, EXIT_VERIFY,
                          error_lines)
from hostile_registry import (SECRET_SIG, TERMINAL_ESCAPES, HostileRegistry, ListingRegistry,
                              RawListener,
                              Recorded, basic_header, digest_of)

NO_ENV = {"FLOE_REGISTRY_USERNAME": None, "FLOE_REGISTRY_PASSWORD": None,
          "FLOE_MANIFEST": None, "FLOE_ENVIRONMENT": None}
REPO = "floe/orders"
FILE_TYPE = "application/vnd.floe.file.v1"
USER, PASSWORD = "primary-user", "Pw-primary-7f3a9c"
MIRROR_USER, MIRROR_PASSWORD = "mirror-user", "Pw-mirror-2b8d41"
ESC = "\x1b"
FAST = ("    resilience:\n"
        "      retry: {max_attempts: 1, initial_delay_ms: 10, max_delay_ms: 20}\n")


# -- a hostile registry that also lists ------------------------------------------------------

@pytest.fixture
def fakes():
    started = []

    def make(host="127.0.0.1", **kw):
        started.append(ListingRegistry(host, **kw).start())
        return started[-1]

    yield make
    for reg in started:
        reg.stop()


def dead_port():
    """host:port with nothing listening (every connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def write(path, text):
    path.write_text(text)
    return path


def env_manifest(tmp_path, primary_host, mirrors=(), primary_extra="", namespace="floe"):
    """A manifest with environment prod: `primary_host`/floe and `mirrors` [(host, ns, extra)]."""
    lines = ["artifacts:", "  registry:", f"    uri: oci://{primary_host}/{namespace}",
             FAST.rstrip("\n"), "  environments:", "    prod:",
             f"      uri: oci://{primary_host}/{namespace}"]
    if primary_extra:
        lines.append(primary_extra.rstrip("\n"))
    if mirrors:
        lines.append("      mirrors:")
        for host, ns, extra in mirrors:
            lines.append(f"        - uri: oci://{host}/{ns}")
            if extra:
                lines.append(extra.rstrip("\n"))
    return write(tmp_path / "manifest.yaml", "\n".join(lines) + "\n")


def add_artifact(reg, repo=REPO, tag="1.0.0", data=b"id\n1\n", title="orders.csv"):
    return reg.add_artifact(repo, tag, [(data, FILE_TYPE,
                                         {"org.opencontainers.image.title": title})])


def all_text(proc):
    return proc.stdout + proc.stderr


def assert_clean_output(proc, *secrets):
    """Nothing raw from a remote: no escape, no BEL, no secret, in stdout or stderr."""
    text = all_text(proc)
    assert ESC not in text and "\x07" not in text, repr(text)
    assert SECRET_SIG not in text, text
    for s in secrets:
        assert s not in text, f"{s!r} printed: {text!r}"


def requests_with(reg, needle):
    return [r for r in reg.snapshot_requests() if needle.encode() in r.blob()]


# == 1. the manifest file =====================================================================

def test_alias_bombs_are_refused_fast_and_small(run_floe, tmp_path):
    # Billion laughs three ways: a list of lists of aliases (as mirrors), as environments, and
    # a mapping of mappings (as the registry block). yaml-cpp shares aliased nodes; the walk
    # must not expand them either.
    lol = ["a0: &a0 [x,x,x,x,x,x,x,x,x,x]"]
    for i in range(1, 30):
        lol.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    maps = ["b0: &b0 {k: v}"]
    for i in range(1, 30):
        maps.append(f"b{i}: &b{i} {{" + ",".join(f"k{j}: *b{i - 1}" for j in range(10)) + "}")
    bombs = {
        "mirrors": "\n".join(lol) + "\nartifacts:\n  registry:\n    uri: oci://r.example.com/f\n"
                   "    mirrors: *a29\n",
        "environments": "\n".join(lol) + "\nartifacts:\n  registry:\n    uri: "
                        "oci://r.example.com/f\n  environments: *a29\n",
        "registry": "\n".join(maps) + "\nartifacts:\n  registry: *b29\n",
        "env-map": "\n".join(maps) + "\nartifacts:\n  registry:\n    uri: oci://r.example.com/f\n"
                   "  environments:\n    prod: *b29\n",
    }
    for name, text in bombs.items():
        manifest = write(tmp_path / f"{name}.yaml", text)
        started = time.monotonic()
        proc = run_floe("--config", manifest, "config", "show", env=NO_ENV, timeout=30)
        assert time.monotonic() - started < 10, name
        assert proc.returncode == EXIT_USAGE, (name, proc.stderr)
        assert len(error_lines(proc)) == 1 and len(proc.stderr) < 2000, (name, proc.stderr)


def test_deep_nesting_and_huge_scalars_are_bad_files_not_crashes(run_floe, tmp_path):
    cases = {
        "flow-lists": "artifacts: " + "[" * 400_000 + "\n",
        "flow-maps": "x: " + "{a: " * 200_000 + "1" + "}" * 200_000 + "\nartifacts:\n"
                     "  registry:\n    uri: oci://r.example.com/floe\n",
        "block-maps": "artifacts:\n  registry:\n    uri: oci://r.example.com/floe\n  x:\n" +
                      "".join(" " * (4 + 2 * i) + f"k{i}:\n" for i in range(3000)),
        "huge-uri": "artifacts:\n  registry:\n    uri: oci://r.example.com/" + "a" * 900_000 + "\n",
        "huge-key": "artifacts:\n  registry:\n    " + "k" * 900_000 + ": 1\n",
        "too-big": "artifacts:\n  registry:\n    uri: oci://r.example.com/floe\n#" + "x" * (1 << 20),
    }
    for name, text in cases.items():
        manifest = write(tmp_path / f"{name}.yaml", text)
        proc = run_floe("--config", manifest, "config", "show", env=NO_ENV, timeout=60)
        assert proc.returncode == EXIT_USAGE, (name, proc.returncode, proc.stderr[:300])
        assert len(error_lines(proc)) == 1 and len(proc.stderr) < 2000, (name, proc.stderr[:300])


def test_nul_and_escapes_in_keys_values_and_names_are_never_printed_raw(run_floe, tmp_path):
    cases = [
        b"artifacts:\n  registry:\n    uri: oci://r.example.com/fl\0oe\n",
        b"artifacts:\n  registry:\n    uri: oci://r.example.com/floe\n    u\x1b[2Kri: x\n",
        b"artifacts:\n  registry:\n    uri: \"oci://r.example.com/\\e[2Kfloe\\nfloe: ok\"\n",
        b"artifacts:\n  registry:\n    uri: oci://r.example.com/floe\n  environments:\n"
        b"    \"pr\\e]0;t\\aod\":\n      uri: oci://p.example.com/floe\n",
        b"artifacts:\n  registry:\n    uri: oci://r.example.com/floe\n    ca_file: \"\\e[31mca\"\n",
        b"artifacts:\n  registry:\n    uri: oci://r.example.com/floe\n    auth:\n      type: "
        b"\"\\e[2Kbasic\"\n",
        b"artifacts:\n  registry:\n    uri: oci://r.example.com/floe\n    mirrors:\n"
        b"      - uri: \"oci://m.example.com/\\r\\e[2Kx\"\n",
    ]
    for i, text in enumerate(cases):
        manifest = tmp_path / f"m{i}.yaml"
        manifest.write_bytes(text)
        proc = run_floe("--config", manifest, "config", "show", env=NO_ENV)
        assert proc.returncode == EXIT_USAGE, (i, proc.stderr)
        assert "\x1b" not in all_text(proc) and "\x07" not in all_text(proc), (i, proc.stderr)
        assert len(error_lines(proc)) == 1, (i, proc.stderr)


def test_a_second_artifacts_section_is_refused_not_silently_ignored(run_floe, tmp_path):
    # yaml-cpp keeps both keys and floe read the first; PyYAML (the platform's own tooling)
    # takes the last. A file two readers see differently must be refused.
    manifest = write(tmp_path / "manifest.yaml",
                     "artifacts:\n  registry:\n    uri: oci://r.example.com/floe\n"
                     "name: platform\n"
                     "artifacts:\n  registry:\n    uri: oci://other.example.com/floe\n")
    proc = run_floe("--config", manifest, "config", "show", env=NO_ENV)
    assert proc.returncode == EXIT_USAGE, proc.stdout
    assert f"{manifest}:5" in proc.stderr and "twice" in proc.stderr, proc.stderr


def test_credentials_in_a_uri_are_refused_and_never_printed(run_floe, tmp_path):
    for uri in ("oci://robot:S3cr3t-in-uri@r.example.com/floe",
                "oci://robot%3AS3cr3t-in-uri@r.example.com/floe",
                "oci://r.example.com/floe?token=S3cr3t-in-uri"):
        for where in ("registry", "mirror"):
            if where == "registry":
                text = f"artifacts:\n  registry:\n    uri: {uri}\n"
            else:
                text = ("artifacts:\n  registry:\n    uri: oci://r.example.com/floe\n"
                        f"    mirrors:\n      - uri: {uri}\n")
            manifest = write(tmp_path / "manifest.yaml", text)
            for args in (("config", "show"), ("config", "show", "--json"),
                         ("artifact", "inspect", "orders:1")):
                proc = run_floe("--config", manifest, *args, env=NO_ENV)
                assert proc.returncode == EXIT_USAGE, (uri, where, args, proc.stdout)
                assert "S3cr3t-in-uri" not in all_text(proc), (uri, args, proc.stderr)


def test_namespace_traversal_and_odd_hosts_are_refused(run_floe, tmp_path):
    bad = ["oci://r.example.com/../x", "oci://r.example.com/a/../../b", "oci://r.example.com/.",
           "oci://r.example.com/%2e%2e/x", "oci://r.example.com/%2E%2E", "oci://r.example.com//x",
           "oci://r.example.com/x/./y", "oci://r.example.com/a\\..\\b", "oci://r.example.com:0/x",
           "oci://r.example.com:99999/x", "oci://127.0.0.1:5000:6/x", "oci://r.example.com/X",
           "oci:///floe", "oci://floe", "https://r.example.com/floe", "file:///etc/passwd",
           "oci://r.example.com/x:tag", "oci://r.example.com/x@sha256:" + "a" * 64,
           "oci://r.example.com/x#frag", "oci://r.example.com/\u202ex", "oci://r.exa mple.com/x"]
    for uri in bad:
        manifest = write(tmp_path / "manifest.yaml",
                         f"artifacts:\n  registry:\n    uri: {json.dumps(uri)}\n")
        proc = run_floe("--config", manifest, "config", "show", "--json", env=NO_ENV)
        assert proc.returncode == EXIT_USAGE, (uri, proc.stdout)
        assert f"{manifest}:3" in proc.stderr and "uri" in proc.stderr, (uri, proc.stderr)


def special_files(tmp_path):
    fifo = tmp_path / "fifo.pem"
    os.mkfifo(fifo)
    directory = tmp_path / "a-directory"
    directory.mkdir()
    return {"/dev/zero": "/dev/zero", "/dev/urandom": "/dev/urandom", "fifo": str(fifo),
            "directory": str(directory)}


@pytest.mark.parametrize("field", ["ca_file", "client_cert", "client_key"])
def test_special_files_as_tls_files_fail_fast_instead_of_hanging(run_floe, tmp_path, field,
                                                                 registry_tls):
    # A FIFO with no writer blocks open(2) forever; /dev/zero and /dev/urandom never end.
    # floe must refuse each at once (a cron-run mirror must not hang).
    host = dead_port()
    for name, path in special_files(tmp_path).items():
        if field == "ca_file":
            extra = f"    ca_file: {path}\n"
        elif field == "client_cert":
            extra = f"    client_cert: {path}\n    client_key: {path}\n"
        else:  # a real certificate, then the key is the special file
            extra = f"    client_cert: {registry_tls.ca_path}\n    client_key: {path}\n"
        manifest = write(tmp_path / "manifest.yaml",
                         f"artifacts:\n  registry:\n    uri: oci://{host}/floe\n" + extra + FAST)
        started = time.monotonic()
        try:
            proc = run_floe("--config", manifest, "artifact", "inspect", "orders:1",
                            env=NO_ENV, timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{field}: {name}: floe hung")
        assert time.monotonic() - started < 15, (field, name)
        assert proc.returncode == EXIT_USAGE, (field, name, proc.returncode, proc.stderr)
        assert len(error_lines(proc)) == 1, (field, name, proc.stderr)


def test_config_show_prints_references_never_secret_values(run_floe, tmp_path):
    manifest = write(tmp_path / "manifest.yaml", """\
artifacts:
  registry:
    uri: oci://r.example.com/floe
    auth:
      type: token
      credentials_ref: {source: env, name: ci-bot, key: deploy}
    mirrors:
      - uri: oci://m.example.com/dr
        auth:
          type: basic
          credentials_ref: {source: env, name: dr-robot}
      - uri: oci://k.example.com/dr
        auth:
          type: basic
          credentials_ref: {source: kubernetes, name: floe/regcred}
""")
    secrets = {"FLOE_SECRET_CI_BOT_DEPLOY": "tok-VALUE-0a1b2c",
               "FLOE_SECRET_DR_ROBOT_USERNAME": "user-VALUE-3d4e",
               "FLOE_SECRET_DR_ROBOT_PASSWORD": "pw-VALUE-5f6a7b",
               "FLOE_SECRET_CI_BOT_TOKEN": "tok-VALUE-other"}
    for args in (("config", "show"), ("config", "show", "--json"), ("-v", "config", "show")):
        proc = run_floe("--config", manifest, *args, env={**NO_ENV, **secrets})
        assert proc.returncode == EXIT_OK, proc.stderr
        for value in secrets.values():
            assert value not in all_text(proc), (args, value)
        assert "FLOE_SECRET_CI_BOT_DEPLOY" in proc.stdout and "k8s:floe/regcred" in proc.stdout


def test_a_secret_with_a_line_break_never_writes_a_header(run_floe, fakes, tmp_path):
    reg = fakes(auth="bearer", static_token="good-static-token")
    add_artifact(reg)
    manifest = env_manifest(tmp_path, reg.host, primary_extra=(
        "      auth:\n        type: token\n        credentials_ref: {source: env, name: ci}\n"))
    for token in ("good-static-token\r\nX-Injected: yes", "good-static-token\nX-Injected: yes",
                  "good-static-token\0X-Injected: yes"):
        before = len(reg.snapshot_requests())
        try:
            proc = run_floe("--config", manifest, "--env", "prod", "artifact", "inspect",
                            "orders:1.0.0", env={**NO_ENV, "FLOE_SECRET_CI_TOKEN": token})
        except ValueError:  # subprocess refuses a NUL in the environment itself
            continue
        assert proc.returncode != EXIT_OK, proc.stdout
        for r in reg.snapshot_requests()[before:]:
            assert r.header("X-Injected") is None, r
            assert b"good-static-token" not in r.blob(), r
        assert "X-Injected: yes" not in all_text(proc) and "good-static-token" not in all_text(proc)


def test_environment_names_with_escapes_are_printed_escaped(run_floe, tmp_path):
    manifest = write(tmp_path / "manifest.yaml",
                     "artifacts:\n  registry:\n    uri: oci://r.example.com/floe\n"
                     "  environments:\n    prod:\n      uri: oci://p.example.com/floe\n")
    for name in ("pr\x1b[2Kod", "prod\nfloe: pushed OK", "\x1b]0;title\x07", "../../etc",
                 "x" * 5000):
        for how in ("flag", "variable"):
            args = ("--env", name) if how == "flag" else ()
            env = {**NO_ENV, "FLOE_ENVIRONMENT": name} if how == "variable" else NO_ENV
            proc = run_floe("--config", manifest, *args, "config", "show", env=env)
            assert proc.returncode == EXIT_USAGE, (name, how)
            assert ESC not in proc.stderr and "\x07" not in proc.stderr, proc.stderr
            assert len(error_lines(proc)) == 1 and "prod" in proc.stderr, proc.stderr


# == 2. failover ==============================================================================

def failover_pair(fakes, tmp_path, primary_kw=None, mirror_kw=None, mirror_extra=""):
    primary = fakes("127.0.0.1", **(primary_kw or {}))
    mirror = fakes("127.0.0.2", **(mirror_kw or {}))
    desc = add_artifact(primary)
    add_artifact(mirror, repo="dr/orders")
    manifest = env_manifest(tmp_path, primary.host, [(mirror.host, "dr", mirror_extra)])
    return primary, mirror, desc, manifest


def pull(run_floe, manifest, ref, out, *extra, env=None):
    return run_floe("--config", manifest, "--env", "prod", *extra, "artifact", "pull", ref,
                    "-o", out, env={**NO_ENV, **(env or {})})


def answer(status):
    body = json.dumps({"errors": [{"code": "UNAVAILABLE", "message": "down"}]}).encode()
    return status, body, {}


def test_the_mirror_serves_through_failover_when_the_primary_is_down(run_floe, fakes, tmp_path):
    # The control for the attacks below: a primary answering 503 fails over and the pull works.
    primary, mirror, desc, manifest = failover_pair(fakes, tmp_path)
    primary.hook = lambda m, p, q: answer(503) if "/manifests/" in p else None
    proc = pull(run_floe, manifest, "orders:1.0.0", tmp_path / "out")
    assert proc.returncode == EXIT_OK, proc.stderr
    assert (tmp_path / "out" / "orders.csv").read_bytes() == b"id\n1\n"
    assert mirror.count("manifest_get") + mirror.count("manifest_head") >= 1
    assert "mirror" in proc.stderr


def test_a_mirror_serving_another_manifest_under_the_primarys_digest_is_caught(
        run_floe, fakes, tmp_path):
    primary, mirror, desc, manifest = failover_pair(fakes, tmp_path)
    evil = mirror.add_artifact("dr/orders", None, [(b"evil\n", FILE_TYPE,
                                                    {"org.opencontainers.image.title": "evil"})])
    mirror.alias_manifests[desc["digest"]] = mirror.store.manifests[evil["digest"]]
    # The primary names the digest (HEAD by tag) and then fails every GET of a manifest.
    primary.hook = lambda m, p, q: answer(503) if m == "GET" and "/manifests/" in p else None
    for ref in ("orders:1.0.0", f"orders@{desc['digest']}"):
        out = tmp_path / f"out-{ref[:8]}"
        proc = pull(run_floe, manifest, ref, out)
        assert proc.returncode == EXIT_VERIFY, (ref, proc.returncode, proc.stderr)
        assert not (out / "evil").exists() and not (out / "orders.csv").exists()
        assert requests_with(mirror, desc["digest"]), "the mirror was never asked"


def test_a_mirror_serving_other_blob_bytes_is_caught(run_floe, fakes, tmp_path):
    primary, mirror, desc, manifest = failover_pair(fakes, tmp_path)
    layer = digest_of(b"id\n1\n")
    with mirror.store.lock:
        mirror.store.blobs[layer] = b"id\n666\n"  # same size would not help either
    primary.hook = lambda m, p, q: answer(502) if "/blobs/" in p else None
    proc = pull(run_floe, manifest, "orders:1.0.0", tmp_path / "out")
    assert proc.returncode == EXIT_VERIFY, (proc.returncode, proc.stderr)
    assert not (tmp_path / "out" / "orders.csv").exists()
    assert any(r.step == "blob_get" for r in mirror.snapshot_requests())


def test_a_mirror_lying_about_a_tags_digest_is_caught(run_floe, fakes, tmp_path):
    primary, mirror, desc, manifest = failover_pair(fakes, tmp_path)
    primary.stop()  # connection refused: failover by tag, the mirror names the digest
    mirror.lie_manifest_digest = True
    proc = pull(run_floe, manifest, "orders:1.0.0", tmp_path / "out")
    assert proc.returncode == EXIT_VERIFY, (proc.returncode, proc.stderr)
    assert not (tmp_path / "out" / "orders.csv").exists()


@pytest.mark.parametrize("status", [404, 401, 403])
def test_an_answer_about_content_from_the_primary_is_never_failed_over(run_floe, fakes, tmp_path,
                                                                       status):
    # The primary resolves the tag, then answers 404/401/403 for the digest it named: the mirror
    # (which has the content) must not be asked; its copy could be stale or planted.
    primary, mirror, desc, manifest = failover_pair(fakes, tmp_path)
    primary.hook = lambda m, p, q: answer(status) if m == "GET" and desc["digest"] in p else None
    proc = pull(run_floe, manifest, "orders:1.0.0", tmp_path / "out")
    want = EXIT_NOT_FOUND if status == 404 else EXIT_AUTH
    assert proc.returncode == want, (proc.returncode, proc.stderr)
    assert mirror.snapshot_requests() == [], mirror.snapshot_requests()
    assert not (tmp_path / "out" / "orders.csv").exists()


def test_the_primarys_floe_registry_credentials_never_reach_a_mirror(run_floe, fakes, tmp_path):
    primary, mirror, desc, manifest = failover_pair(
        fakes, tmp_path, primary_kw=dict(auth="basic", username=USER, password=PASSWORD),
        mirror_kw=dict(auth="basic", username=MIRROR_USER, password=MIRROR_PASSWORD))
    primary.echo_errors = {"manifest_head": 503, "manifest_get": 503}
    proc = pull(run_floe, manifest, "orders:1.0.0", tmp_path / "out",
                env={"FLOE_REGISTRY_USERNAME": USER, "FLOE_REGISTRY_PASSWORD": PASSWORD})
    assert proc.returncode == EXIT_AUTH, (proc.returncode, proc.stderr)
    assert any(r.header("Authorization") == basic_header(USER, PASSWORD)
               for r in primary.snapshot_requests()), "the primary never got its credentials"
    assert mirror.snapshot_requests(), "no failover happened"
    assert not requests_with(mirror, PASSWORD)
    assert not requests_with(mirror, basic_header(USER, PASSWORD).split()[1])
    assert_clean_output(proc, PASSWORD, basic_header(USER, PASSWORD).split()[1])


def test_the_primarys_manifest_secret_never_reaches_a_mirror(run_floe, fakes, tmp_path):
    primary = fakes("127.0.0.1", auth="basic", username=USER, password=PASSWORD)
    mirror = fakes("127.0.0.2", auth="basic", username=MIRROR_USER, password=MIRROR_PASSWORD)
    add_artifact(primary)
    add_artifact(mirror, repo="dr/orders")
    manifest = env_manifest(tmp_path, primary.host, [(mirror.host, "dr", "")], primary_extra=(
        "      auth:\n        type: basic\n        credentials_ref: {source: env, name: prim}\n"))
    primary.echo_errors = {"manifest_head": 503, "manifest_get": 503}
    proc = pull(run_floe, manifest, "orders:1.0.0", tmp_path / "out",
                env={"FLOE_SECRET_PRIM_USERNAME": USER, "FLOE_SECRET_PRIM_PASSWORD": PASSWORD})
    assert proc.returncode == EXIT_AUTH, (proc.returncode, proc.stderr)
    assert mirror.snapshot_requests(), "no failover happened"
    assert not requests_with(mirror, PASSWORD)
    assert not requests_with(mirror, basic_header(USER, PASSWORD).split()[1])
    assert_clean_output(proc, PASSWORD, basic_header(USER, PASSWORD).split()[1])


def test_a_mirror_whose_realm_is_on_the_primarys_host_gets_no_primary_token(run_floe, fakes,
                                                                           tmp_path):
    # The mirror names the primary's token service as its realm: asking it with the primary's
    # credentials would hand the mirror a token for the primary (it accepts those tokens).
    primary, mirror, desc, manifest = failover_pair(
        fakes, tmp_path, primary_kw=dict(auth="bearer", username=USER, password=PASSWORD),
        mirror_kw=dict(auth="bearer"))
    mirror.realm_server = primary
    primary.echo_errors = {"manifest_head": 503, "manifest_get": 503}  # after authentication
    proc = pull(run_floe, manifest, "orders:1.0.0", tmp_path / "out",
                env={"FLOE_REGISTRY_USERNAME": USER, "FLOE_REGISTRY_PASSWORD": PASSWORD})
    assert proc.returncode == EXIT_AUTH, (proc.returncode, proc.stderr)
    assert primary.issued_tokens, "floe never got the primary's own token"
    assert mirror.snapshot_requests(), "no failover happened"
    for tok in primary.issued_tokens:
        assert not requests_with(mirror, tok), "a primary token reached the mirror"
    assert not (tmp_path / "out" / "orders.csv").exists()
    assert_clean_output(proc, PASSWORD, *primary.issued_tokens)


def test_the_failover_line_escapes_and_redacts_what_the_primary_echoed(run_floe, fakes,
                                                                       tmp_path):
    primary, mirror, desc, manifest = failover_pair(
        fakes, tmp_path, primary_kw=dict(auth="basic", username=USER, password=PASSWORD))
    primary.echo_errors = {"manifest_head": 503, "manifest_get": 503}
    proc = pull(run_floe, manifest, "orders:1.0.0", tmp_path / "out", "-v",
                env={"FLOE_REGISTRY_USERNAME": USER, "FLOE_REGISTRY_PASSWORD": PASSWORD})
    assert proc.returncode == EXIT_OK, proc.stderr
    lines = [l for l in proc.stderr.splitlines() if "unavailable" in l]
    assert lines and all(l.startswith("floe: ") for l in lines), proc.stderr
    assert "pulled from mirror" in proc.stderr
    assert "floe: pushed OK" not in proc.stderr.replace("\\x1b[2K\\r", "\n")
    assert_clean_output(proc, PASSWORD, basic_header(USER, PASSWORD).split()[1])


def test_a_primary_answering_5xx_forever_costs_bounded_requests_and_time(run_floe, fakes,
                                                                         tmp_path):
    primary = fakes("127.0.0.1")
    add_artifact(primary)
    primary.hook = lambda m, p, q: answer(503) if p != "/v2/" else None
    manifest = write(tmp_path / "manifest.yaml", f"""\
artifacts:
  registry:
    uri: oci://{primary.host}/floe
    resilience:
      retry: {{max_attempts: 10, initial_delay_ms: 1, max_delay_ms: 5, jitter: false}}
      circuit_breaker: {{failure_threshold: 3, recovery_timeout_ms: 600000}}
""")
    started = time.monotonic()
    proc = run_floe("--config", manifest, "artifact", "pull", "orders:1.0.0", "-o",
                    tmp_path / "out", env=NO_ENV, timeout=60)
    assert time.monotonic() - started < 20
    assert proc.returncode not in (EXIT_OK,) and proc.returncode < 128, proc.stderr
    hooked = primary.count("hooked")
    assert 1 <= hooked <= 3, f"{hooked} requests after the circuit opened at 3"


# == 3. floe artifact mirror ==================================================================

def mirror_setup(fakes, tmp_path, mirror_kw=None, mirror_extra=""):
    primary = fakes("127.0.0.1")
    dest = fakes("127.0.0.2", **(mirror_kw or {}))
    add_artifact(primary)
    manifest = env_manifest(tmp_path, primary.host, [(dest.host, "dr", mirror_extra)])
    return primary, dest, manifest


def run_mirror(run_floe, manifest, *args, env=None):
    return run_floe("--config", manifest, "--env", "prod", "artifact", "mirror", *args,
                    env={**NO_ENV, **(env or {})}, timeout=120)


def test_the_mirror_command_copies_from_a_listing_fake(run_floe, fakes, tmp_path):
    # Control: the fakes list and take pushes, so the attacks below test floe, not the fake.
    primary, dest, manifest = mirror_setup(fakes, tmp_path)
    proc = run_mirror(run_floe, manifest, "--json")
    assert proc.returncode == EXIT_OK, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["status"] for r in rows] == ["copied"], rows
    assert ("dr/orders", "1.0.0") in dest.store.tags


def test_a_catalog_link_to_another_host_is_refused(run_floe, fakes, tmp_path):
    primary, dest, manifest = mirror_setup(fakes, tmp_path)
    listener = RawListener("127.0.0.3").start()
    try:
        for link in (f"<http://{listener.host}/v2/_catalog?last=a>; rel=\"next\"",
                     f"<//{listener.host}/v2/_catalog?last=a>; rel=\"next\"",
                     f"<http://{USER}:{PASSWORD}@{listener.host}/v2/_catalog>; rel=next"):
            primary.catalog = lambda q, link=link: (
                json.dumps({"repositories": [REPO]}).encode(), {"Link": link})
            proc = run_mirror(run_floe, manifest)
            assert proc.returncode != EXIT_OK, (link, proc.stdout)
            assert re.search(r"another host|refused", proc.stderr), proc.stderr
            assert PASSWORD not in all_text(proc)
        assert listener.connections == 0 and not listener.received
    finally:
        listener.stop()
    assert not dest.store.tags, "copied although the listing was refused"


def test_catalog_links_with_other_schemes_are_refused(run_floe, fakes, tmp_path):
    primary, dest, manifest = mirror_setup(fakes, tmp_path)
    for link in ("<file:///etc/passwd>; rel=\"next\"", "<gopher://127.0.0.1:1/x>; rel=next",
                 "<javascript:alert(1)>; rel=next"):
        primary.catalog = lambda q, link=link: (
            json.dumps({"repositories": [REPO]}).encode(), {"Link": link})
        proc = run_mirror(run_floe, manifest)
        assert proc.returncode != EXIT_OK, (link, proc.stdout)
        assert primary.count("catalog") >= 1
        assert_clean_output(proc)


def catalog_loop(reg, names):
    """Every catalog page lists `names` and links to itself."""
    body = json.dumps({"repositories": names}).encode()
    reg.catalog = lambda q: (body, {"Link": "</v2/_catalog?n=1000&last=a>; rel=\"next\""})


def test_a_catalog_linking_in_a_circle_is_stopped_at_once(run_floe, fakes, tmp_path):
    primary, dest, manifest = mirror_setup(fakes, tmp_path)
    catalog_loop(primary, [REPO])
    started = time.monotonic()
    proc = run_mirror(run_floe, manifest)
    elapsed = time.monotonic() - started
    assert proc.returncode != EXIT_OK, proc.stdout
    pages = primary.count("catalog")
    assert pages <= 3, f"{pages} catalog pages fetched in {elapsed:.1f}s for a circular link"


def run_floe_capped(floe, tmp_path, manifest, *args, limit=3 << 30):
    """floe under an address-space limit, so that a memory blow-up is a bad_alloc, not an OOM
    kill of the test host."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FLOE_") and k.lower() not in ("http_proxy", "https_proxy")}
    env["HOME"] = str(tmp_path)

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return subprocess.run([floe, "--config", manifest, "--env", "prod", *args], env=env,
                          capture_output=True, text=True, timeout=300, preexec_fn=cap)


# ASan reserves terabytes of shadow address space at start: under an address-space cap it
# cannot start at all. The sanitizer run checks memory errors; the plain run checks the bound.
needs_plain_build = pytest.mark.skipif("ASAN_OPTIONS" in os.environ,
                                       reason="an address-space cap and ASan cannot coexist")


@needs_plain_build
def test_a_catalog_of_huge_advancing_pages_is_bounded_in_memory(floe, fakes, tmp_path):
    # Each page: ~4 MiB of valid names under the namespace, each linking to a new page. floe
    # must stop (a cap on names) before it holds gigabytes. Before the cap: bad_alloc at 3 GiB.
    primary, dest, manifest = mirror_setup(fakes, tmp_path)
    body = json.dumps({"repositories": [f"floe/r{i:07d}-{'x' * 40}"
                                        for i in range(80_000)]}).encode()
    pages = {"n": 0}

    def page(q):
        pages["n"] += 1
        return body, {"Link": f"</v2/_catalog?n=1000&last=p{pages['n']}>; rel=\"next\""}
    primary.catalog = page
    proc = run_floe_capped(floe, tmp_path, manifest, "artifact", "mirror")
    assert 0 < proc.returncode < 128, (proc.returncode, proc.stderr[-500:])
    assert "unexpected error" not in proc.stderr, proc.stderr
    assert pages["n"] <= 50, f"{pages['n']} pages of 4 MiB read"
    assert not dest.store.tags


@needs_plain_build
def test_a_tag_list_of_huge_advancing_pages_is_bounded_in_memory(floe, fakes, tmp_path):
    primary, dest, manifest = mirror_setup(fakes, tmp_path)
    # 70,000 tags of 49 characters: just under the 4 MiB floe takes for one page.
    body = json.dumps({"name": REPO, "tags": [f"t{i:07d}-{'x' * 40}"
                                              for i in range(70_000)]}).encode()
    pages = {"n": 0}

    def page(repo, q):
        pages["n"] += 1
        return body, {"Link": f"</v2/{repo}/tags/list?n=1000&last=p{pages['n']}>; rel=next"}
    primary.tag_list = page
    proc = run_floe_capped(floe, tmp_path, manifest, "artifact", "mirror")
    assert 0 < proc.returncode < 128, (proc.returncode, proc.stderr[-500:])
    assert "unexpected error" not in proc.stderr, proc.stderr
    assert pages["n"] <= 50, f"{pages['n']} pages of 4 MiB read"
    assert not dest.store.tags


def test_hostile_repository_names_in_a_catalog_are_never_requested_or_printed(run_floe, fakes,
                                                                              tmp_path):
    primary, dest, manifest = mirror_setup(fakes, tmp_path)
    hostile = ["floe/../etc", "floe/%2e%2e/etc", "floe/%2E%2E", "floe/..", "floe/./x",
               "floe/a\x1b[2Kb", "floe/a\nfloe: pushed OK", "floe/A", "floe//x", "floe/x/",
               "floe/\u202ex", "floe/a?b", "floe/a#b", "floe/a b", "other/orders", "floe-x/y",
               "/floe/abs", "floe/" + "a" * 300]
    primary.catalog = lambda q: (json.dumps({"repositories": hostile + [REPO]}).encode(), {})
    proc = run_mirror(run_floe, manifest, "--json")
    assert proc.returncode == EXIT_OK, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["source"].split("/", 1)[1] for r in rows] == ["floe/orders:1.0.0"], rows
    for reg in (primary, dest):
        for r in reg.snapshot_requests():
            assert not re.search(r"\.\.|%2e|%1b|\x1b|/A|/other/|floe-x|\u202e", r.target,
                                 re.I), r
    assert_clean_output(proc)
    assert "pushed OK" not in all_text(proc)


def test_hostile_tags_in_a_tag_list_are_never_requested_or_printed(run_floe, fakes, tmp_path):
    primary, dest, manifest = mirror_setup(fakes, tmp_path)
    hostile = ["1.0.0\nfloe: pushed OK", "\x1b[2K1.0.0", "../1.0.0", "1.0.0/../x", "%2e%2e",
               "a" * 200, "-lead", ".dot", "1.0.0?x=1", "1.0.0#f", "sha256:" + "a" * 64, "", " "]
    primary.tag_list = lambda repo, q: (json.dumps({"name": repo,
                                                   "tags": hostile + ["1.0.0"]}).encode(), {})
    for fmt in ((), ("--json",)):
        proc = run_mirror(run_floe, manifest, *fmt)
        assert proc.returncode == EXIT_OK, proc.stderr
        assert_clean_output(proc)
        assert "pushed OK" not in all_text(proc)
    for reg in (primary, dest):
        for r in reg.snapshot_requests():
            if r.step in ("manifest_head", "manifest_get", "manifest_put"):
                assert r.path.rsplit("/", 1)[1] in ("1.0.0",) or r.path.rsplit("/", 1)[1].startswith(
                    "sha256:"), r


def test_a_tag_list_link_to_another_host_or_in_a_circle_is_refused(run_floe, fakes, tmp_path):
    primary, dest, manifest = mirror_setup(fakes, tmp_path)
    listener = RawListener("127.0.0.3").start()
    try:
        primary.tag_list = lambda repo, q: (
            json.dumps({"name": repo, "tags": ["1.0.0"]}).encode(),
            {"Link": f"<http://{listener.host}/v2/{repo}/tags/list?last=1>; rel=\"next\""})
        proc = run_mirror(run_floe, manifest)
        assert proc.returncode != EXIT_OK, proc.stdout
        assert listener.connections == 0
    finally:
        listener.stop()
    primary.tag_list = lambda repo, q: (
        json.dumps({"name": repo, "tags": ["1.0.0"]}).encode(),
        {"Link": f"</v2/{repo}/tags/list?n=1000&last=1.0.0>; rel=\"next\""})
    proc = run_mirror(run_floe, manifest)
    assert proc.returncode != EXIT_OK, proc.stdout
    assert primary.count("tags") <= 3, primary.count("tags")
    assert not dest.store.tags


def test_errors_a_mirror_echoes_are_escaped_and_redacted(run_floe, fakes, tmp_path):
    primary, dest, manifest = mirror_setup(
        fakes, tmp_path, mirror_kw=dict(auth="basic", username=MIRROR_USER,
                                        password=MIRROR_PASSWORD),
        mirror_extra=("          auth:\n            type: basic\n"
                      "            credentials_ref: {source: env, name: dr}\n"))
    dest.echo_errors = {"upload_post": 500, "manifest_head": 400}
    secrets = {"FLOE_SECRET_DR_USERNAME": MIRROR_USER, "FLOE_SECRET_DR_PASSWORD": MIRROR_PASSWORD}
    for fmt in ((), ("--json",)):
        proc = run_mirror(run_floe, manifest, *fmt, env=secrets)
        assert proc.returncode != EXIT_OK, proc.stdout
        assert any(r.header("Authorization") == basic_header(MIRROR_USER, MIRROR_PASSWORD)
                   for r in dest.snapshot_requests()), "the mirror's own secret was not used"
        assert_clean_output(proc, MIRROR_PASSWORD,
                            basic_header(MIRROR_USER, MIRROR_PASSWORD).split()[1])
        assert "pushed OK" not in proc.stdout, proc.stdout


def test_floe_registry_credentials_never_reach_a_mirror_during_mirror(run_floe, fakes, tmp_path):
    primary = fakes("127.0.0.1", auth="basic", username=USER, password=PASSWORD)
    dest = fakes("127.0.0.2", auth="basic", username=USER, password="other-" + PASSWORD)
    add_artifact(primary)
    manifest = env_manifest(tmp_path, primary.host, [(dest.host, "dr", "")])
    proc = run_mirror(run_floe, manifest,
                      env={"FLOE_REGISTRY_USERNAME": USER, "FLOE_REGISTRY_PASSWORD": PASSWORD})
    assert proc.returncode == EXIT_AUTH, (proc.returncode, proc.stderr)
    assert primary.count("catalog") == 1 and primary.count("tags") == 1
    assert dest.snapshot_requests(), "the mirror was never asked"
    assert not requests_with(dest, PASSWORD)
    assert not requests_with(dest, basic_header(USER, PASSWORD).split()[1])
    assert not dest.store.tags
    assert_clean_output(proc, PASSWORD)
