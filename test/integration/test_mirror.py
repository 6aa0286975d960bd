"""`floe artifact mirror`: an environment's artifacts copied from its registry to each mirror
(issue 9). What a mirror already names identically is skipped, so a second run sends nothing;
a release tag that names other content on a mirror is reported, never overwritten.
"""
import json

from floe_testlib import EXIT_CONFLICT, EXIT_USAGE, assert_error, ok, out_json

NO_ENV = {"FLOE_REGISTRY_USERNAME": None, "FLOE_REGISTRY_PASSWORD": None,
          "FLOE_MANIFEST": None, "FLOE_ENVIRONMENT": None}


def write_manifest(path, primary, mirrors):
    lines = ["artifacts:", "  registry:", f"    uri: oci://{primary.host}/floe",
             "    resilience:", "      retry: {max_attempts: 1}", "  environments:",
             "    prod:", f"      uri: oci://{primary.host}/floe", "      mirrors:"]
    lines += [f"        - uri: oci://{reg.host}/{ns}" for reg, ns in mirrors]
    path.write_text("\n".join(lines) + "\n")
    return path


def push(run_floe, manifest, ref, path):
    return ok(run_floe("--config", manifest, "--env", "prod", "artifact", "push", ref, path,
                       env=NO_ENV)).stdout.strip()


def mirror(run_floe, manifest, *args):
    return run_floe("--config", manifest, "--env", "prod", "-v", "artifact", "mirror", "--json",
                    *args, env=NO_ENV)


def by_destination(rows):
    return {r["destination"]: r for r in rows}


def test_mirror_copies_every_tag_then_a_second_run_sends_nothing(run_floe, registry_factory,
                                                                 tmp_path):
    primary, first, second = (registry_factory("anon") for _ in range(3))
    manifest = write_manifest(tmp_path / "manifest.yaml", primary, [(first, "dr"), (second, "dr2")])
    (tmp_path / "orders.csv").write_text("id\n1\n")
    (tmp_path / "customers.csv").write_text("name\nada\n")
    orders = push(run_floe, manifest, "orders:1.2.3", tmp_path / "orders.csv")
    prod = push(run_floe, manifest, "orders:prod", tmp_path / "orders.csv")
    customers = push(run_floe, manifest, "team/customers:2.0.0", tmp_path / "customers.csv")

    proc = ok(mirror(run_floe, manifest))
    rows = by_destination(out_json(proc))
    expected = {f"{reg.host}/{ns}/{repo}:{tag}": digest
                for reg, ns in ((first, "dr"), (second, "dr2"))
                for repo, tag, digest in (("orders", "1.2.3", orders), ("orders", "prod", prod),
                                          ("team/customers", "2.0.0", customers))}
    assert set(rows) == set(expected), rows
    for dest, digest in expected.items():
        assert rows[dest]["status"] == "copied" and rows[dest]["digest"] == digest, rows[dest]
    assert "6 copied, 0 unchanged, 0 failed" in proc.stderr
    # orders:1.2.3 and orders:prod share their file: each mirror receives it once.
    sent = sorted(r["bytesCopied"] for r in rows.values())
    assert sent.count(0) == 2, rows

    # What landed on a mirror is the artifact itself: it pulls from there and verifies.
    ok(run_floe("artifact", "pull", f"{second.host}/dr2/team/customers:2.0.0", "-o",
                tmp_path / "out", env=NO_ENV))
    assert (tmp_path / "out" / "customers.csv").read_text() == "name\nada\n"

    # Run again: everything is unchanged, and nothing was written anywhere (no upload, no
    # manifest PUT, not even a blob HEAD).
    proc = ok(mirror(run_floe, manifest))
    rows = out_json(proc)
    assert len(rows) == 6 and all(r["status"] == "unchanged" for r in rows), rows
    assert all(r["bytesCopied"] == 0 for r in rows)
    assert "0 copied, 6 unchanged" in proc.stderr
    methods = [line.split()[1] for line in proc.stderr.splitlines()
               if line.startswith("floe: ") and " -> " in line and "://" in line]
    assert methods and not {"PUT", "POST", "PATCH"} & set(methods), methods
    assert not any("/blobs/" in line for line in proc.stderr.splitlines()), proc.stderr


def test_mirror_takes_a_tag_glob_and_named_repositories(run_floe, registry_factory, tmp_path):
    primary, dr = registry_factory("anon"), registry_factory("anon")
    manifest = write_manifest(tmp_path / "manifest.yaml", primary, [(dr, "dr")])
    (tmp_path / "a.csv").write_text("a\n")
    for ref in ("orders:1.0.0", "orders:1.1.0", "orders:2.0.0", "billing:1.0.0"):
        push(run_floe, manifest, ref, tmp_path / "a.csv")

    rows = out_json(ok(mirror(run_floe, manifest, "1.*", "--repository", "orders")))
    assert sorted(r["destination"] for r in rows) == [
        f"{dr.host}/dr/orders:1.0.0", f"{dr.host}/dr/orders:1.1.0"], rows


def test_a_moved_environment_tag_is_updated_and_a_release_conflict_is_reported(
        run_floe, registry_factory, tmp_path):
    primary, dr = registry_factory("anon"), registry_factory("anon")
    manifest = write_manifest(tmp_path / "manifest.yaml", primary, [(dr, "dr")])
    (tmp_path / "v1.csv").write_text("v\n1\n")
    (tmp_path / "v2.csv").write_text("v\n2\n")
    push(run_floe, manifest, "orders:prod", tmp_path / "v1.csv")
    push(run_floe, manifest, "orders:1.0.0", tmp_path / "v1.csv")
    ok(mirror(run_floe, manifest))

    # prod moves on the primary; a release tag on the mirror names other content than the
    # primary's (written there behind floe's back).
    moved = push(run_floe, manifest, "orders:prod", tmp_path / "v2.csv")
    planted = ok(run_floe("artifact", "push", f"{dr.host}/dr/orders:1.0.1", tmp_path / "v2.csv",
                          env=NO_ENV)).stdout.strip()
    push(run_floe, manifest, "orders:1.0.1", tmp_path / "v1.csv")

    proc = mirror(run_floe, manifest)
    assert proc.returncode == EXIT_CONFLICT, proc.stderr
    rows = by_destination(json.loads(proc.stdout))
    assert rows[f"{dr.host}/dr/orders:prod"]["status"] == "copied"
    assert rows[f"{dr.host}/dr/orders:prod"]["digest"] == moved
    assert rows[f"{dr.host}/dr/orders:1.0.0"]["status"] == "unchanged"
    failed = rows[f"{dr.host}/dr/orders:1.0.1"]
    assert failed["status"] == "failed" and "release" in failed["error"], failed
    # The mirror's release tag still names what it named.
    inspected = out_json(ok(run_floe("artifact", "inspect", f"{dr.host}/dr/orders:1.0.1",
                                     "--json", env=NO_ENV)))
    assert inspected["digest"] == planted, inspected
    assert "1 failed" in proc.stderr


def test_mirror_without_a_manifest_takes_from_and_to(run_floe, registry_factory, tmp_path):
    primary, dr = registry_factory("anon"), registry_factory("anon")
    (tmp_path / "a.csv").write_text("a\n")
    ok(run_floe("artifact", "push", f"{primary.host}/orders:1.0.0", tmp_path / "a.csv",
                env=NO_ENV))
    proc = ok(run_floe("artifact", "mirror", "--from", primary.host, "--to", f"{dr.host}/copy",
                       env=NO_ENV))
    assert f"copied     {primary.host}/orders:1.0.0 -> {dr.host}/copy/orders:1.0.0" in proc.stdout

    assert_error(run_floe("artifact", "mirror", env=NO_ENV), EXIT_USAGE, "--from")
    assert_error(run_floe("artifact", "mirror", "--from", f"{primary.host}/floe", env=NO_ENV),
                 EXIT_USAGE, "no mirrors configured", "--to")
    assert_error(run_floe("artifact", "mirror", "--from", primary.host, "--to", dr.host,
                          "--repository", "Bad_Name", env=NO_ENV),
                 EXIT_USAGE, "--repository")
