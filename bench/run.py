#!/usr/bin/env python3
"""floe against the limit (plain curl) and a peer (skopeo), in one run, on one registry.

Starts Debian's docker-registry on 127.0.0.1 (filesystem storage on disk), then times:
  push / pull of a 1 GiB random blob: floe vs curl (monolithic PUT; GET to /dev/null) vs skopeo
  push / pull of one artifact of 200 layers of 64 KiB: floe vs skopeo
  re-push of the unchanged 200-layer artifact to its mutable tag, a second later (another
    created time): floe vs curl (the tag's manifest, HEAD and GET) vs skopeo
  pull of 256 MiB with --limit-rate 50M (floe)
Each case runs --repeat times and keeps the fastest (the machine is shared and noisy); peak RSS
comes from /usr/bin/time. Prints a Markdown table with ratios. Not a test: no timing
assertions (only a check that the re-push really was a no-op).

usage: bench/run.py [--floe build/app/floe] [--repeat 3] [--big-mib 1024]
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

MiB = 1024 * 1024


def timed(cmd, stderr_events=False, **kw):
    """(seconds, peak RSS in KiB, stdout or progress events) of one command; fails loudly."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True, **kw)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    lines = p.stderr.strip().splitlines()
    rss = int(lines[-1])
    if stderr_events:
        return dt, rss, [json.loads(l) for l in lines if l.startswith("{")]
    return dt, rss, p.stdout


SKOPEO_CACHE = pathlib.Path("/var/lib/containers/cache/blob-info-cache-v1.boltdb")


def forget_skopeo_blob_cache():
    """skopeo remembers where it pushed blobs and mounts them into the next repository: a
    second push of the same bytes then moves nothing. Each run must really send its bytes."""
    for p in (SKOPEO_CACHE, pathlib.Path.home() / ".local/share/containers/cache/blob-info-cache-v1.boltdb"):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def settle():
    """Write back dirty pages first, so one run's writeback does not throttle the next."""
    subprocess.run(["sync"])
    time.sleep(0.5)


def best(n, fn):
    """Fastest of n runs: (seconds, rss_kib, extra)."""
    runs = [fn(i) for i in range(n)]
    return min(runs, key=lambda r: r[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--floe", default=str(ROOT / "build" / "app" / "floe"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--big-mib", type=int, default=1024)
    args = ap.parse_args()
    floe = args.floe
    work = pathlib.Path(tempfile.mkdtemp(prefix="floe-bench-", dir="/var/tmp"))
    reg = start_registry("anon")
    host = reg.host
    rows = []
    try:
        big = work / "big.bin"
        with open(big, "wb") as f:
            for _ in range(args.big_mib):
                f.write(os.urandom(MiB))
        size = big.stat().st_size
        small = work / "small"
        small.mkdir()
        for i in range(200):
            (small / f"part-{i:03}.bin").write_bytes(os.urandom(64 * 1024))
        smalls = sorted(str(p) for p in small.iterdir())
        env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")

        # Layouts for skopeo to push from (made by floe, not timed).
        subprocess.run([floe, "--progress=none", "artifact", "push", f"ocidir://{work}/big-layout:v1", str(big)],
                       check=True, env=env, capture_output=True)
        subprocess.run([floe, "--progress=none", "artifact", "push", f"ocidir://{work}/small-layout:v1", *smalls],
                       check=True, env=env, capture_output=True)
        digest = subprocess.run(["sha256sum", str(big)], capture_output=True, text=True).stdout.split()[0]

        # ---- push 1 GiB
        def floe_push(i):
            settle()
            return timed([floe, "--progress=none", "artifact", "push", f"{host}/bench/floe-big-{i}:v1", str(big)], env=env)

        def curl_push(i):
            settle()
            repo = f"bench/curl-big-{i}"
            loc = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", "-X", "POST",
                                  f"http://{host}/v2/{repo}/blobs/uploads/"], capture_output=True, text=True).stdout
            location = [l.split(":", 1)[1].strip() for l in loc.splitlines() if l.lower().startswith("location:")][0]
            sep = "&" if "?" in location else "?"
            url = location if location.startswith("http") else f"http://{host}{location}"
            # -T streams the file (--data-binary would load it into memory)
            return timed(["curl", "-s", "-f", "-o", "/dev/null", "-T", str(big), "-H", "Content-Type: application/octet-stream",
                          f"{url}{sep}digest=sha256:{digest}"])

        def skopeo_push(i):
            forget_skopeo_blob_cache()
            return timed(["skopeo", "copy", "-q", "--dest-tls-verify=false", f"oci:{work}/big-layout:v1",
                          f"docker://{host}/bench/skopeo-big-{i}:v1"])

        r_floe = best(args.repeat, floe_push)
        r_curl = best(args.repeat, curl_push)
        r_skopeo = best(args.repeat, skopeo_push)
        rows.append((f"push {size // MiB} MiB", size, r_floe, r_curl, r_skopeo))

        # ---- pull 1 GiB
        def floe_pull(i):
            settle()
            out = work / f"pull-big-{i}"
            shutil.rmtree(out, ignore_errors=True)
            r = timed([floe, "--progress=none", "artifact", "pull", f"{host}/bench/floe-big-0:v1", "-o", str(out)])
            shutil.rmtree(out, ignore_errors=True)
            return r

        def curl_pull(i):
            settle()
            return timed(["curl", "-s", "-f", "-o", "/dev/null", f"http://{host}/v2/bench/floe-big-0/blobs/sha256:{digest}"])

        def skopeo_pull(i):
            settle()
            out = work / f"skopeo-pull-big-{i}"
            shutil.rmtree(out, ignore_errors=True)
            r = timed(["skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{host}/bench/floe-big-0:v1", f"oci:{out}:v1"])
            shutil.rmtree(out, ignore_errors=True)
            return r

        rows.append((f"pull {size // MiB} MiB (verified, to disk)", size, best(args.repeat, floe_pull), best(args.repeat, curl_pull),
                     best(args.repeat, skopeo_pull)))

        # ---- 200 x 64 KiB
        def floe_push_small(i):
            settle()
            return timed([floe, "--progress=none", "artifact", "push", f"{host}/bench/floe-small-{i}:v1", *smalls], env=env)

        def skopeo_push_small(i):
            forget_skopeo_blob_cache()
            return timed(["skopeo", "copy", "-q", "--dest-tls-verify=false", f"oci:{work}/small-layout:v1",
                          f"docker://{host}/bench/skopeo-small-{i}:v1"])

        rows.append(("push 200 x 64 KiB", 200 * 64 * 1024, best(args.repeat, floe_push_small), None,
                     best(args.repeat, skopeo_push_small)))

        def floe_pull_small(i):
            settle()
            out = work / f"pull-small-{i}"
            shutil.rmtree(out, ignore_errors=True)
            r = timed([floe, "--progress=none", "artifact", "pull", f"{host}/bench/floe-small-0:v1", "-o", str(out)])
            shutil.rmtree(out, ignore_errors=True)
            return r

        def skopeo_pull_small(i):
            settle()
            out = work / f"skopeo-pull-small-{i}"
            shutil.rmtree(out, ignore_errors=True)
            r = timed(["skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{host}/bench/floe-small-0:v1", f"oci:{out}:v1"])
            shutil.rmtree(out, ignore_errors=True)
            return r

        rows.append(("pull 200 x 64 KiB", 200 * 64 * 1024, best(args.repeat, floe_pull_small), None,
                     best(args.repeat, skopeo_pull_small)))

        # ---- re-push unchanged, as CI does it: a later run (another created time), same files,
        # a mutable tag (v1). The limit is what deciding "nothing to do" costs at least: the
        # tag's manifest, HEAD and GET, with curl. skopeo copies the same layout again.
        time.sleep(1.1)

        def floe_repush(i):
            t, rss, out = timed([floe, "--progress=none", "artifact", "push", "--json", f"{host}/bench/floe-small-0:v1", *smalls], env=env)
            result = json.loads(out)
            assert result["unchanged"], result
            return t, rss, result["bytesPushed"]

        def curl_repush(i):
            url = f"http://{host}/v2/bench/floe-small-0/manifests/v1"
            accept = "Accept: application/vnd.oci.image.manifest.v1+json"
            return timed(["curl", "-sf", "-I", "-H", accept, "-o", "/dev/null", url, "--next", "-sf", "-H", accept,
                          "-o", "/dev/null", url])

        def skopeo_repush(i):
            return timed(["skopeo", "copy", "-q", "--dest-tls-verify=false", f"oci:{work}/small-layout:v1",
                          f"docker://{host}/bench/skopeo-small-0:v1"])

        repush = best(args.repeat, floe_repush)
        rows.append(("re-push unchanged 200 layers, mutable tag", 0, repush, best(args.repeat, curl_repush),
                     best(args.repeat, skopeo_repush)))

        # ---- throttled pull
        third = work / "quarter.bin"
        with open(big, "rb") as src, open(third, "wb") as dst:
            dst.write(src.read(256 * MiB))
        subprocess.run([floe, "--progress=none", "artifact", "push", f"{host}/bench/quarter:v1", str(third)], check=True, env=env,
                       capture_output=True)

        def floe_throttled(i):
            settle()
            out = work / f"throttled-{i}"
            shutil.rmtree(out, ignore_errors=True)
            t, rss, _ = timed([floe, "--progress=json", "--limit-rate", "50M", "artifact", "pull", f"{host}/bench/quarter:v1",
                               "-o", str(out)], stderr_events=True)
            shutil.rmtree(out, ignore_errors=True)
            return t, rss, _

        throttled = floe_throttled(0)
        rows.append(("pull 256 MiB at --limit-rate 50M", 256 * MiB, throttled, None, None))
    finally:
        reg.stop()
        shutil.rmtree(work, ignore_errors=True)

    print_table(rows)


def mibs(nbytes, t):
    return nbytes / MiB / t


def print_table(rows):
    print(f"machine: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}; floe vs curl vs skopeo against docker-registry 2.8 on 127.0.0.1\n")
    print("| case | floe | curl | skopeo | floe / curl | floe vs skopeo | floe peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for name, nbytes, f, c, s in rows:
        def cell(r):
            if r is None:
                return "-"
            return f"{r[0]:.2f} s ({mibs(nbytes, r[0]):.0f} MiB/s)" if nbytes else f"{r[0] * 1000:.0f} ms"
        if not c:
            ratio_c = "-"
        elif nbytes:
            ratio_c = f"{mibs(nbytes, f[0]) / mibs(nbytes, c[0]):.2f}x throughput"
        else:  # no bytes to move: the ratio of times (the limit's time is the floor)
            ratio_c = f"{f[0] / c[0]:.2f}x curl's time"
        ratio_s = (f"{s[0] / f[0]:.1f}x faster ({f[0] / s[0]:.2f} of skopeo's time)" if s else "-")
        extra = ""
        if name.startswith("re-push"):
            extra = f", {f[2]} blob bytes sent"
        if "limit-rate" in name:
            events = f[2]
            rate = 50 * MiB
            moved = [e for e in events if e["event"] == "bytes"]
            t0 = moved[0]["t"]
            span = moved[-1]["t"] - t0
            achieved = (moved[-1]["bytes"] - moved[0]["bytes"]) / span / MiB
            # how far the transfer ever ran ahead of the limit (bytes), measured at each event
            ahead = max(e["bytes"] - moved[0]["bytes"] - rate * (e["t"] - t0) for e in moved)
            extra = (f"; transfer rate {achieved:.1f} MiB/s = {achieved / 50 * 100:.1f}% of the limit, "
                     f"never more than {max(ahead, 0) / MiB:.2f} MiB ahead of it")
        print(f"| {name} | {cell(f)}{extra} | {cell(c)} | {cell(s)} | {ratio_c} | {ratio_s} | {f[1] / 1024:.1f} MiB |")


if __name__ == "__main__":
    main()
