"""Push with several tags, and re-pushing unchanged content (issue 10): `push REF --tag T...`
points every tag at one manifest; a push whose content a tag already names (ignoring the
creation time) uploads nothing, writes no manifest and checks no blob, and prints the existing
digest; a release tag naming other content fails the push before anything is sent.
"""
import time

from floe_testlib import (EXIT_CONFLICT, EXIT_USAGE, assert_error, ok, out_json, repo_for,
                          requests_in_log)

NO_ENV = {"FLOE_MANIFEST": None, "FLOE_ENVIRONMENT": None}


def digest_of_tag(run_floe, ref):
    return out_json(ok(run_floe("artifact", "inspect", ref, "--json", env=NO_ENV)))["digest"]


def test_one_push_several_tags(run_floe, registry_anon, request, tmp_path):
    base = f"{registry_anon.host}/{repo_for(request)}"
    data = tmp_path / "a.csv"
    data.write_text("a\n1\n")
    result = out_json(ok(run_floe("artifact", "push", f"{base}:1.0.0", data, "--tag", "prod",
                                  "-t", "latest", "--json", env=NO_ENV)))
    assert result["tags"] == ["1.0.0", "prod", "latest"] and result["unchanged"] is False
    for tag in ("1.0.0", "prod", "latest"):
        assert digest_of_tag(run_floe, f"{base}:{tag}") == result["digest"], tag


def test_re_pushing_unchanged_content_to_a_mutable_tag_sends_nothing(run_floe, registry_anon,
                                                                     request, tmp_path):
    base = f"{registry_anon.host}/{repo_for(request)}"
    src = tmp_path / "src"
    src.mkdir()
    for i in range(20):
        (src / f"part-{i}.csv").write_text(f"i\n{i}\n")
    files = sorted(src.iterdir())
    first = ok(run_floe("artifact", "push", f"{base}:dev", *files, env=NO_ENV)).stdout.strip()
    time.sleep(1.1)  # another creation time: a real re-push, not the same second's manifest
    again = ok(run_floe("-v", "artifact", "push", f"{base}:dev", *files, "--json", env=NO_ENV))
    result = out_json(again)
    assert result["digest"] == first and result["unchanged"] is True, result
    assert "already holds this content; nothing was sent" in again.stderr
    sent = requests_in_log(again)
    assert [m for m, _ in sent if m not in ("GET", "HEAD")] == [], sent
    assert not [p for _, p in sent if "/blobs/" in p], sent  # not one blob checked
    assert len([p for _, p in sent if "/manifests/" in p]) <= 2, sent

    # Changed content moves the tag.
    (src / "part-3.csv").write_text("i\nchanged\n")
    moved = ok(run_floe("artifact", "push", f"{base}:dev", *files, env=NO_ENV)).stdout.strip()
    assert moved != first and digest_of_tag(run_floe, f"{base}:dev") == moved


def test_a_new_tag_on_unchanged_content_reuses_the_manifest(run_floe, registry_anon, request,
                                                            tmp_path):
    base = f"{registry_anon.host}/{repo_for(request)}"
    data = tmp_path / "a.csv"
    data.write_text("a\n1\n")
    first = ok(run_floe("artifact", "push", f"{base}:dev", data, env=NO_ENV)).stdout.strip()
    time.sleep(1.1)
    proc = ok(run_floe("-v", "artifact", "push", f"{base}:dev", data, "--tag", "staging",
                       env=NO_ENV))
    assert proc.stdout.strip() == first
    sent = requests_in_log(proc)
    assert not [p for _, p in sent if "/blobs/" in p], sent
    assert [p for m, p in sent if m == "PUT"] == [p for _, p in sent
                                                  if p.endswith("/manifests/staging")
                                                  and _ == "PUT"], sent
    assert digest_of_tag(run_floe, f"{base}:staging") == first


def test_a_release_tag_with_other_content_fails_before_anything_is_sent(run_floe, registry_anon,
                                                                        request, tmp_path):
    base = f"{registry_anon.host}/{repo_for(request)}"
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    old.write_text("v\n1\n")
    new.write_text("v\n2\n")
    ok(run_floe("artifact", "push", f"{base}:2.0.0", old, env=NO_ENV))
    proc = run_floe("-v", "artifact", "push", f"{base}:dev", new, "--tag", "2.0.0", env=NO_ENV)
    assert proc.returncode == EXIT_CONFLICT, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "2.0.0" in last and "release" in last, last
    assert [m for m, _ in requests_in_log(proc) if m not in ("GET", "HEAD")] == [], proc.stderr
    # dev was not created either: the push stopped before its first byte.
    assert run_floe("artifact", "inspect", f"{base}:dev", env=NO_ENV).returncode == 3


def test_a_malformed_tag_is_refused_before_any_request(run_floe, registry_anon, request,
                                                       tmp_path):
    data = tmp_path / "a.csv"
    data.write_text("a\n")
    proc = run_floe("-v", "artifact", "push", f"{registry_anon.host}/{repo_for(request)}:dev",
                    data, "--tag", "bad tag!", env=NO_ENV)
    assert_error(proc, EXIT_USAGE, "--tag", "bad tag!")
    assert requests_in_log(proc) == []


def test_semver_build_metadata_becomes_a_legal_release_tag(run_floe, registry_anon, request,
                                                           tmp_path):
    base = f"{registry_anon.host}/{repo_for(request)}"
    data, other = tmp_path / "a.csv", tmp_path / "b.csv"
    data.write_text("a\n")
    other.write_text("b\n")
    result = out_json(ok(run_floe("artifact", "push", f"{base}:1.2.3+build.5", data,
                                  "--tag", "1.2.3+build.6", "--json", env=NO_ENV)))
    assert result["tags"] == ["1.2.3_build.5", "1.2.3_build.6"], result
    assert ok(run_floe("artifact", "tags", base, env=NO_ENV)).stdout.split() == [
        "1.2.3_build.5", "1.2.3_build.6"]
    # Still a release: other content under it is refused.
    proc = run_floe("artifact", "push", f"{base}:1.2.3+build.5", other, env=NO_ENV)
    assert proc.returncode == EXIT_CONFLICT, proc.stderr
    assert_error(run_floe("artifact", "push", f"{base}:dev+x", data, env=NO_ENV), EXIT_USAGE, "'+'")
