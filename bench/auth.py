#!/usr/bin/env python3
"""What authentication costs a user, per credential source, in one run.

Starts Debian's docker-registry with token auth (the test token issuer) on 127.0.0.1, pushes
one small artifact, then times a manifest lookup (`floe artifact inspect`) with the credentials
coming from each source, next to the limit (plain curl: one token GET, one manifest GET) and a
peer (`skopeo inspect --raw` reading the same config.json). Also times `floe auth which` for ECR
against a local endpoint that verifies SigV4: cold (STS-free keys, one signed call) and with
the token cached on disk. hyperfine, median of --runs. Not a test: no assertions.

usage: bench/auth.py [--floe build/app/floe] [--runs 20]
"""
import argparse
import base64
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "test" / "integration"))
from fake_aws import FakeAws  # noqa: E402
from registry import start_registry  # noqa: E402
sys.path.insert(0, str(ROOT / "bench"))
from bench_lib import hyperfine  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--floe", default=str(ROOT / "build" / "app" / "floe"))
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    floe = os.path.abspath(a.floe)
    work = pathlib.Path(tempfile.mkdtemp(prefix="floe-bench-auth-"))
    reg = start_registry("token")
    aws = FakeAws(keys={"AKIABENCH": "bench-secret"}).start()
    try:
        home = work / "home"
        cfg = home / "docker"
        cfg.mkdir(parents=True)
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("AWS_", "FLOE_", "DOCKER_", "REGISTRY_AUTH"))}
        base.update(HOME=str(home), XDG_CACHE_HOME=str(home / "cache"), DOCKER_CONFIG=str(cfg),
                    PATH=f"{ROOT / 'test' / 'integration'}:{os.environ['PATH']}",
                    NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
        ref = f"{reg.host}/bench/auth:1.0.0"
        (work / "f.txt").write_text("x\n")
        env_creds = dict(base, FLOE_REGISTRY_USERNAME=reg.username,
                         FLOE_REGISTRY_PASSWORD=reg.password)
        subprocess.run([floe, "artifact", "push", ref, str(work / "f.txt")], env=env_creds,
                       check=True, capture_output=True)
        auth = base64.b64encode(f"{reg.username}:{reg.password}".encode()).decode()
        inspect = f"{floe} artifact inspect {ref} --json"
        rows = []

        rows.append(("environment (FLOE_REGISTRY_*)", hyperfine(inspect, env_creds, a.runs)))
        (cfg / "config.json").write_text(json.dumps({"auths": {reg.host: {"auth": auth}}}))
        file_ms = hyperfine(inspect, base, a.runs)
        rows.append(("docker config.json auths", file_ms))
        skopeo_ms = hyperfine(f"skopeo inspect --raw --tls-verify=false "
                              f"--authfile {cfg / 'config.json'} docker://{ref}", base, a.runs)
        scope = "repository:bench/auth:pull"
        curl_ms = hyperfine(
            "sh -c 'T=$(curl -sf -u \"$U:$P\" \"$R?service=floe-test-registry&scope=" + scope +
            "\" | sed -E \"s/.*\\\"token\\\": *\\\"([^\\\"]+)\\\".*/\\1/\"); curl -sf -o /dev/null "
            "-H \"Authorization: Bearer $T\" -H \"Accept: application/vnd.oci.image.manifest.v1+json\" "
            f"http://{reg.host}/v2/bench/auth/manifests/1.0.0'",
            dict(base, U=reg.username, P=reg.password, R=reg.token_issuer.realm), a.runs)
        store = work / "helper-store.json"
        store.write_text(json.dumps({reg.host: {"Username": reg.username,
                                                "Secret": reg.password}}))
        (cfg / "config.json").write_text(json.dumps({"credHelpers": {reg.host: "floetest"}}))
        helper_env = dict(base, FLOE_TEST_HELPER_STORE=str(store))
        rows.append(("credential helper (a Python program)", hyperfine(inspect, helper_env, a.runs)))
        helper_alone = hyperfine(f"sh -c 'echo {reg.host} | docker-credential-floetest get'",
                                 helper_env, a.runs)
        (cfg / "config.json").write_text("{}")
        host = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
        ecr_env = dict(base, AWS_ACCESS_KEY_ID="AKIABENCH", AWS_SECRET_ACCESS_KEY="bench-secret",
                       AWS_ENDPOINT_URL_ECR=aws.ecr_url)
        which = f"{floe} auth which {host}"
        ecr_cold = hyperfine(which, ecr_env, a.runs,
                             prepare=f"rm -rf {home / 'cache' / 'floe' / 'ecr'}")
        ecr_warm = hyperfine(which, ecr_env, a.runs)

        print("| credentials from | floe inspect (median) | vs curl | vs skopeo |")
        print("|---|---|---|---|")
        for name, ms in rows:
            print(f"| {name} | {ms:.0f} ms | {ms / curl_ms:.2f}x | {ms / skopeo_ms:.2f}x |")
        print(f"| (curl: token GET + manifest GET) | {curl_ms:.0f} ms | 1.00x | - |")
        print(f"| (skopeo inspect --raw, same config.json) | {skopeo_ms:.0f} ms | - | 1.00x |")
        print(f"| (the credential helper alone, one `get`) | {helper_alone:.0f} ms | - | - |")
        print()
        print("| ECR `floe auth which` | median |")
        print("|---|---|")
        print(f"| cold: one SigV4-signed GetAuthorizationToken | {ecr_cold:.0f} ms |")
        print(f"| token cached on disk (0600) | {ecr_warm:.0f} ms |")
        print(f"\n(ECR calls made: {aws.ecr_calls})")
    finally:
        aws.stop()
        reg.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
