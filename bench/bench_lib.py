"""What the bench scripts share: one way to time a command."""
import json
import os
import subprocess
import tempfile


def hyperfine(cmd, env, runs, prepare=None, warmup=3):
    """The median wall time of `cmd` in ms, over `runs` runs after `warmup` (hyperfine -N)."""
    out = tempfile.mktemp(suffix=".json")
    args = ["hyperfine", "-N", "--warmup", str(warmup), "--runs", str(runs),
            "--export-json", out]
    if prepare:
        args += ["--prepare", prepare]
    p = subprocess.run(args + [cmd], env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"failed: {cmd}\n{p.stderr[-2000:]}")
    r = json.load(open(out))["results"][0]
    os.unlink(out)
    return r["median"] * 1000
