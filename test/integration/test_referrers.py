"""`floe artifact referrers` (issue 10): the artifacts attached to another, through the
referrers API (a fake that has it, with pages) and through the referrers tag schema
(docker-registry 2.8 has no API: the sha256-<hex> index, written here by hand).
"""
import hashlib
import json

from floe_testlib import (EXIT_USAGE, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST, http, ok, put_manifest,
                          repo_for, upload_blob)
from hostile_registry import TERMINAL_ESCAPES, ListingRegistry

NO_ENV = {"FLOE_MANIFEST": None, "FLOE_ENVIRONMENT": None}
SIG = "application/vnd.dev.cosign.artifact.sig.v1+json"
SBOM = "application/spdx+json"


def referrer(reg, repo, subject, artifact_type, payload):
    """A manifest whose subject is `subject`, pushed by digest; its descriptor."""
    config = upload_blob(reg, repo, b"{}")
    layer = upload_blob(reg, repo, payload)
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
                "config": {"mediaType": OCI_EMPTY, **config},
                "layers": [{"mediaType": "application/octet-stream", **layer}],
                "subject": subject}
    body = json.dumps(manifest).encode()
    digest = put_manifest(reg, repo, "sha256:" + hashlib.sha256(body).hexdigest(), body)
    return {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body),
            "artifactType": artifact_type}


def test_referrers_through_the_tag_schema(run_floe, registry_anon, request, tmp_path):
    reg, repo = registry_anon, repo_for(request)
    data = tmp_path / "a.csv"
    data.write_text("a\n")
    digest = ok(run_floe("artifact", "push", f"{reg.host}/{repo}:1.0.0", data,
                         env=NO_ENV)).stdout.strip()
    inspected = json.loads(ok(run_floe("artifact", "inspect", f"{reg.host}/{repo}:1.0.0",
                                       "--json", env=NO_ENV)).stdout)
    subject = {"mediaType": OCI_MANIFEST, "digest": digest, "size": inspected["size"]}
    sig = referrer(reg, repo, subject, SIG, b"signature")
    sbom = referrer(reg, repo, subject, SBOM, b'{"spdxVersion":"SPDX-2.3"}')
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [sig, sbom]}
    status, _, body = http(reg, "PUT", f"/v2/{repo}/manifests/sha256-{digest.split(':')[1]}",
                           data=json.dumps(index).encode(), headers={"Content-Type": OCI_INDEX})
    assert status == 201, (status, body)

    got = json.loads(ok(run_floe("artifact", "referrers", f"{reg.host}/{repo}:1.0.0", "--json",
                                 env=NO_ENV)).stdout)
    assert got["subject"] == digest
    assert sorted((r["digest"], r["artifactType"]) for r in got["referrers"]) == sorted(
        [(sig["digest"], SIG), (sbom["digest"], SBOM)])
    only = ok(run_floe("artifact", "referrers", f"{reg.host}/{repo}@{digest}", "--artifact-type",
                       SBOM, env=NO_ENV)).stdout
    assert only.split()[:2] == [sbom["digest"], SBOM], only
    # Nothing attached: nothing listed (no index tag at all).
    (tmp_path / "b.csv").write_text("b\n")
    ok(run_floe("artifact", "push", f"{reg.host}/{repo}:2.0.0", tmp_path / "b.csv", env=NO_ENV))
    assert ok(run_floe("artifact", "referrers", f"{reg.host}/{repo}:2.0.0",
                       env=NO_ENV)).stdout == ""


def test_referrers_through_the_api_with_pages_and_hostile_text(run_floe):
    reg = ListingRegistry().start()
    try:
        subject = reg.add_artifact("team/app", "1.0.0", [(b"x", "text/plain", None)])
        pages = [[{"mediaType": OCI_MANIFEST, "digest": "sha256:" + "a" * 64, "size": 10,
                   "artifactType": SIG}],
                 [{"mediaType": OCI_MANIFEST, "digest": "sha256:" + "b" * 64, "size": 20,
                   "artifactType": SBOM + TERMINAL_ESCAPES}]]

        def hook(method, path, query):
            if f"/referrers/{subject['digest']}" not in path:
                return None
            page = int(query.get("page", ["0"])[0])
            headers = {"Content-Type": OCI_INDEX}
            if page == 0:
                headers["Link"] = f'<{path}?page=1>; rel="next"'
            body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                               "manifests": pages[page]}).encode()
            return 200, body, headers

        reg.hook = hook
        proc = ok(run_floe("artifact", "referrers", f"{reg.host}/team/app:1.0.0", env=NO_ENV))
        lines = proc.stdout.splitlines()
        assert [l.split()[0] for l in lines] == ["sha256:" + "a" * 64, "sha256:" + "b" * 64]
        assert "\x1b" not in proc.stdout, proc.stdout  # a registry's text is never raw
    finally:
        reg.stop()


def test_referrers_of_a_layout_and_of_nothing(run_floe, registry_anon, tmp_path):
    proc = run_floe("artifact", "referrers", f"ocidir://{tmp_path}/store:1", env=NO_ENV)
    assert proc.returncode != 0 and "layout" in proc.stderr
    proc = run_floe("artifact", "referrers", f"{registry_anon.host}/no/such:1", env=NO_ENV)
    assert proc.returncode == 3, proc.stderr
    assert run_floe("artifact", "referrers", env=NO_ENV).returncode == EXIT_USAGE
