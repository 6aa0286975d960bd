"""Tags (issue 10): `floe artifact tags` lists every tag through the registry's pages, and
`floe artifact tag` points more tags at an artifact without sending a blob, under the tag policy
(release tags immutable unless --force).
"""
import json

import pytest

from floe_testlib import (EXIT_CONFLICT, EXIT_NOT_FOUND, EXIT_USAGE, assert_error, ok, repo_for,
                          requests_in_log)
from hostile_registry import ListingRegistry

NO_ENV = {"FLOE_MANIFEST": None, "FLOE_ENVIRONMENT": None}


@pytest.fixture
def artifact(run_floe, registry_anon, request, tmp_path):
    base = f"{registry_anon.host}/{repo_for(request)}"
    data = tmp_path / "a.csv"
    data.write_text("a\n1\n")
    digest = ok(run_floe("artifact", "push", f"{base}:1.0.0", data, env=NO_ENV)).stdout.strip()
    return base, digest


def test_tag_adds_tags_without_blob_traffic_and_lists_them_through_pages(run_floe, artifact):
    base, digest = artifact
    names = [f"t{i:03d}" for i in range(250)]
    proc = ok(run_floe("-v", "artifact", "tag", f"{base}:1.0.0", *names, env=NO_ENV))
    assert proc.stdout.strip() == digest
    sent = requests_in_log(proc)
    assert not [p for _, p in sent if "/blobs/" in p], sent
    assert sorted(p for m, p in sent if m == "PUT") == sorted(
        f"v2/{base.split('/', 1)[1]}/manifests/{n}" for n in names)

    listed = ok(run_floe("artifact", "tags", base, "--page-size", "100", env=NO_ENV))
    assert listed.stdout.split() == sorted(names + ["1.0.0"])

    rows = json.loads(ok(run_floe("artifact", "tags", base, "t0*", "--digests", "--json",
                                  "--last", "t004", env=NO_ENV)).stdout)
    assert [r["tag"] for r in rows] == [f"t{i:03d}" for i in range(5, 100)]
    assert {r["digest"] for r in rows} == {digest}


def test_tag_by_digest_and_what_was_already_there(run_floe, artifact):
    base, digest = artifact
    result = json.loads(ok(run_floe("artifact", "tag", f"{base}@{digest}", "prod", "1.0.0",
                                    "--json", env=NO_ENV)).stdout)
    assert result == {"digest": digest, "tagged": ["prod"], "unchanged": ["1.0.0"],
                      "movedReleases": []}


def test_a_release_tag_moves_only_with_force(run_floe, artifact, tmp_path):
    base, digest = artifact
    other = tmp_path / "b.csv"
    other.write_text("b\n2\n")
    newer = ok(run_floe("artifact", "push", f"{base}:dev", other, env=NO_ENV)).stdout.strip()
    proc = run_floe("artifact", "tag", f"{base}:dev", "1.0.0", "prod", env=NO_ENV)
    assert_error(proc, EXIT_CONFLICT, "1.0.0", "--force")
    # Nothing was written, not even the movable tag given with it.
    assert run_floe("artifact", "inspect", f"{base}:prod", env=NO_ENV).returncode == EXIT_NOT_FOUND
    proc = ok(run_floe("artifact", "tag", f"{base}:dev", "1.0.0", "--force", env=NO_ENV))
    assert "warning: moved release tag 1.0.0" in proc.stderr
    moved = json.loads(ok(run_floe("artifact", "inspect", f"{base}:1.0.0", "--json",
                                   env=NO_ENV)).stdout)
    assert moved["digest"] == newer != digest


@pytest.mark.parametrize("bad", ["bad tag", "-x", "a" * 129, "tag/with/slash", ".hidden"])
def test_a_malformed_tag_is_refused_before_any_request(run_floe, artifact, bad):
    base, _ = artifact
    proc = run_floe("-v", "artifact", "tag", f"{base}:1.0.0", "ok", bad, env=NO_ENV)
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert requests_in_log(proc) == [], proc.stderr


def test_unknown_source_and_unknown_repository(run_floe, artifact, registry_anon):
    base, _ = artifact
    assert_error(run_floe("artifact", "tag", f"{base}:nope", "x", env=NO_ENV), EXIT_NOT_FOUND,
                 "nope")
    # A repository that does not exist has no tags.
    assert ok(run_floe("artifact", "tags", f"{registry_anon.host}/no/such/repo",
                       env=NO_ENV)).stdout == ""


def test_tags_of_a_local_layout(run_floe, tmp_path):
    data = tmp_path / "a.csv"
    data.write_text("a\n")
    for tag in ("b", "a", "c"):
        ok(run_floe("artifact", "push", f"ocidir://{tmp_path}/store:{tag}", data, env=NO_ENV))
    assert ok(run_floe("artifact", "tags", f"ocidir://{tmp_path}/store", "--last", "a",
                       env=NO_ENV)).stdout.split() == ["b", "c"]


def test_250_tags_in_pages_of_100_are_all_listed_in_order(run_floe):
    # docker-registry 2.8 ignores `n` and answers every tag at once, so the pages come from a
    # fake that pages by `n` and `last` and links the next page, as the distribution spec says.
    names = [f"v{i}" for i in range(250)]
    reg = ListingRegistry().start()
    try:
        def paged(repo, query):
            n = int(query.get("n", ["1000"])[0])
            last = query.get("last", [""])[0]
            rest = sorted(t for t in names if t > last)[:n]
            headers = {}
            if rest and rest[-1] != max(names):
                headers["Link"] = f'</v2/{repo}/tags/list?n={n}&last={rest[-1]}>; rel="next"'
            return json.dumps({"name": repo, "tags": rest}).encode(), headers

        reg.tag_list = paged
        listed = ok(run_floe("artifact", "tags", f"{reg.host}/team/app", "--page-size", "100",
                             env=NO_ENV))
        assert listed.stdout.split() == sorted(names)
        asked = [r.path for r in reg.requests if "/tags/list" in r.path]
        assert len(asked) == 3, asked  # three pages: the Link header was followed to the end
    finally:
        reg.stop()
