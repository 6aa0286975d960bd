#!/usr/bin/env python3
"""What mirrors cost a user, in one run: keeping a mirror in step, and a pull whose primary is
down.

Starts three of Debian's docker-registry on 127.0.0.1 (a primary, a mirror, and a scratch
destination for skopeo). Pushes a 64 MiB data product (4 files) and 20 small configuration
artifacts (one tag each) to the primary, under one namespace, then measures:

  mirror, first run      `floe artifact mirror` to an empty mirror (timed once: it changes the
                         mirror), next to `skopeo sync` of the same repositories to an empty one.
  mirror, nothing new    the same again, cron's everyday case (hyperfine, median): floe, skopeo
                         sync, and the limit, curl HEAD of every tag on both sides.
  pull, primary up       `floe artifact pull` of the 64 MiB product.
  pull, primary down     the same with the primary stopped: refused connection, then the mirror
                         (the manifest names it); next to a pull straight from the mirror, curl
                         fetching the same blobs from the mirror, and skopeo copy from the mirror
                         to an OCI layout.

Not a test: no assertions. usage: bench/mirror.py [--floe build/app/floe] [--runs 10]
"""
import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "test" / "integration"))
from registry import start_registry  # noqa: E402
sys.path.insert(0, str(ROOT / "bench"))
from bench_lib import hyperfine as timed  # noqa: E402

MiB = 1 << 20


def hyperfine(cmd, env, runs, prepare=None):
    return timed(cmd, env, runs, prepare, warmup=1)  # 64 MiB pulls: one warm-up is enough


def once(cmd, env):
    start = time.monotonic()
    subprocess.run(cmd, env=env, check=True, capture_output=True, shell=True)
    return (time.monotonic() - start) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--floe", default=str(ROOT / "build" / "app" / "floe"))
    ap.add_argument("--runs", type=int, default=10)
    a = ap.parse_args()
    floe = os.path.abspath(a.floe)
    work = pathlib.Path(tempfile.mkdtemp(prefix="floe-bench-mirror-"))
    primary, mirror, scratch = (start_registry("anon") for _ in range(3))
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOE_", "DOCKER_"))}
        env.update(HOME=str(work / "home"), NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
        manifest = work / "manifest.yaml"
        manifest.write_text(
            "artifacts:\n  registry:\n"
            f"    uri: oci://{primary.host}/floe\n"
            "    resilience: {retry: {max_attempts: 1}}\n"
            f"    mirrors:\n      - uri: oci://{mirror.host}/floe\n")
        product = work / "product"
        product.mkdir()
        for i in range(4):
            (product / f"part-{i}.parquet").write_bytes(os.urandom(16 * MiB))
        cfg = work / "cfg.yaml"
        flo = f"{floe} --config {manifest}"
        subprocess.run(f"{flo} artifact push data:1.0.0 {product}/*", env=env, check=True,
                       capture_output=True, shell=True)
        for i in range(20):
            cfg.write_text(f"setting: {i}\n")
            subprocess.run([*flo.split(), "artifact", "push", f"cfg:1.0.{i}", str(cfg)], env=env,
                           check=True, capture_output=True)

        repos = ("floe/data", "floe/cfg")
        skopeo_sync = " && ".join(
            f"skopeo sync --src docker --dest docker --src-tls-verify=false "
            f"--dest-tls-verify=false {primary.host}/{r} {scratch.host}/skopeo" for r in repos)
        mirror_cmd = f"{flo} artifact mirror"
        first_floe = once(mirror_cmd, env)
        first_skopeo = once(skopeo_sync, env)
        again_floe = hyperfine(mirror_cmd, env, a.runs)
        again_skopeo = hyperfine(f"sh -c '{skopeo_sync}'", env, a.runs)
        tags = [("data", "1.0.0")] + [("cfg", f"1.0.{i}") for i in range(20)]
        heads = " ".join(
            f"-o /dev/null http://{h}/v2/floe/{r}/manifests/{t}"
            for h in (primary.host, mirror.host) for r, t in tags)
        accept = "application/vnd.oci.image.manifest.v1+json"
        again_curl = hyperfine(f"curl -sf -I -H 'Accept: {accept}' {heads}", env, a.runs)

        out = work / "out"
        pull = f"{flo} artifact pull data:1.0.0 -o {out} --overwrite"
        up = hyperfine(pull, env, a.runs)
        primary.stop()
        down = hyperfine(pull, env, a.runs)
        direct = hyperfine(f"{floe} artifact pull {mirror.host}/floe/data:1.0.0 -o {out} "
                           "--overwrite", env, a.runs)
        layers = json.loads(subprocess.run(
            [floe, "artifact", "inspect", f"{mirror.host}/floe/data:1.0.0", "--json"], env=env,
            check=True, capture_output=True, text=True).stdout)["layers"]
        blobs = " ".join(f"-o {out}/c{i} http://{mirror.host}/v2/floe/data/blobs/{layer['digest']}"
                         for i, layer in enumerate(layers))
        curl_pull = hyperfine(f"curl -sf -L {blobs}", env, a.runs)
        skopeo_pull = hyperfine(
            f"skopeo copy -q --src-tls-verify=false docker://{mirror.host}/floe/data:1.0.0 "
            f"oci:{work}/skopeo-oci:data", env, a.runs, prepare=f"rm -rf {work}/skopeo-oci")

        print("| keeping a mirror in step (21 tags, 64 MiB) | floe | skopeo sync | curl HEADs "
              "(limit) | floe vs skopeo |")
        print("|---|---|---|---|---|")
        print(f"| first run, empty mirror (once) | {first_floe:.0f} ms | {first_skopeo:.0f} ms | - "
              f"| {first_floe / first_skopeo:.2f}x |")
        print(f"| nothing new (median of {a.runs}) | {again_floe:.0f} ms | {again_skopeo:.0f} ms "
              f"| {again_curl:.0f} ms | {again_floe / again_skopeo:.2f}x |")
        print()
        print("| pull of the 64 MiB product (median) | time | vs curl | vs skopeo |")
        print("|---|---|---|---|")
        for name, ms in (("primary up", up), ("primary down: fails over to the mirror", down),
                         ("straight from the mirror", direct)):
            print(f"| floe, {name} | {ms:.0f} ms | {ms / curl_pull:.2f}x | "
                  f"{ms / skopeo_pull:.2f}x |")
        print(f"| curl, the 4 blobs from the mirror | {curl_pull:.0f} ms | 1.00x | - |")
        print(f"| skopeo copy from the mirror to an OCI layout | {skopeo_pull:.0f} ms | - | 1.00x |")
        print(f"\nfailover cost: {down - direct:+.0f} ms over a pull straight from the mirror")
    finally:
        for reg in (primary, mirror, scratch):
            reg.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
