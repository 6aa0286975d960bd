"""A fault matrix: hundreds of injected network faults, and SIGKILLs at random moments, over
push, pull and copy of a multi-layer artifact; every run must end complete and verified, or
failed cleanly. Marked `heavy` (a few minutes).

1. test_fault_matrix: floe talks to the real docker-registry (registry_anon) through one
   FaultProxy, reused (and reset) across runs. Each run gets one fault: a cut (fin/rst) of the
   downstream or upstream bytes at a seeded-random offset, a cut at the next request boundary,
   a stall (with --timeout 2), a flipped downstream byte, HTTP 429/500/502/503/504 (with and
   without Retry-After 0/1) for 1..3 requests in a row, or a cut followed by HTTP errors on the
   reconnect (armed by the proxy the instant the cut fires, floe at --concurrency 1 so the
   retry needs a fresh connection: the errors hit blob GETs and upload POST/PATCH/PUTs).
   Stalls and flips run with --timeout 2, the rest with --timeout 5 (a bound on hangs; a run
   slower than its fault explains is printed as a warning). Operations: push to a fresh repository (plain, and with --chunk-size 1M), pull
   into a fresh directory, copy registry -> ocidir. Outcomes:
     ok          exit 0 and verified: pulled tree byte-identical to the source; pushed tag
                 resolves (asked directly, not through the proxy) to the source's layers, all
                 of whose blobs exist (HEAD); the copied layout re-hashes and names the
                 source manifest;
     clean-fail  exit 1, 5 or 6, exactly one "floe: " line; a pull left nothing under a final
                 name (hidden dot-entries aside); a push left no tag, or a tag to a complete
                 artifact; a layout holds no blob whose bytes do not match its name;
     BAD         anything else (wrong bytes under a final name, a tag to missing blobs, another
                 exit code, a hang, several or no error lines ...).
   A table of fault x operation x outcome is printed; BAD must be 0 and >= 200 faults must
   have fired.

2. test_sigkill_then_rerun: 20 pushes (every other one with --chunk-size 1M) and 20 pulls,
   run through the proxy with --limit-rate (~1.5 s), are killed with SIGKILL after a random
   delay within that time; the same command without the limit must then complete (exit 0) and
   reuse what the killed run transferred:
     pull  when over 25% of the layer bytes were in DIR/.floe-partial at the kill, the rerun
           fetches fewer bytes than the whole, and at most the missing ones + 128 KiB; the
           result is byte-identical and nothing else (no .floe-partial) is left in DIR;
     push  every blob the killed run reported "done" is "skipped" by the rerun, which sends at
           most the bytes not done + 128 KiB; the tag then resolves to the source's layers, all
           present. After the kill (before the rerun) a tag, if any, names a complete artifact.
   A kill that lands after the last step (pull: every final name in place; push: the tag
   complete) is counted as "complete at the kill": a rerun of such a pull refuses the existing
   files (exit 8, as after any finished pull) and that is accepted. A kill that leaves only
   some final names, so that the rerun refuses them, is BAD.

The seed is printed; FLOE_FAULT_SEED=<n> replays a run's plan (offsets are fractions of the
clean run's byte counts, which can differ by a few bytes). FLOE_FAULT_CASES=3,17 runs only
those cases of the matrix (then the >= 200 bound is not checked); FLOE_FAULT_VERBOSE=1 prints
every run's stderr.

The `heavy` marker is not registered here (a test module cannot): register it in conftest.py.
"""
import collections
import json
import os
import random
import sys
import time
import uuid

import pytest

from conftest import hermetic_env
from floe_testlib import get_manifest
import fault_matrix_lib as fm

pytestmark = pytest.mark.heavy

OPS = ("push", "push-chunk1M", "pull", "copy")
# Per operation: cuts are per kind (down/up/at-request) and per fin|rst; http per status.
PER_OP = {"cut": 4, "stall": 4, "flip": 5, "http": 2, "cut+http": 4}
MIN_FAULTS = 200
RERUN_SLACK = 128 * fm.KiB  # request/response heads and manifests a resumed pull may repeat
KILLS_PER_OP = 20


def seed_from_env():
    text = os.environ.get("FLOE_FAULT_SEED")
    return int(text) if text else random.SystemRandom().randrange(1 << 32)


@pytest.fixture
def matrix_proxy(registry_anon):
    """One MatrixProxy (a FaultProxy that can also arm HTTP errors at a cut) in front of
    registry_anon, reused by every run of a test."""
    host, port = registry_anon.host.rsplit(":", 1)
    proxy = fm.MatrixProxy(host, int(port)).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def matrix_source(floe, registry_anon, tmp_path_factory):
    """The source files, and the reference artifact pushed directly (no proxy) to
    floe-it/fault-matrix/<run>/source:dev: what every pull and copy reads."""
    root = tmp_path_factory.mktemp("fault-matrix-source")
    src = fm.build_source(str(root / "src"))
    src.repo = f"floe-it/fault-matrix/{uuid.uuid4().hex[:8]}/source"
    res = fm.run(floe, ["artifact", "push", f"{registry_anon.host}/{src.repo}:{fm.TAG}",
                        *src.paths], hermetic_env(str(root / "home")), str(root))
    assert res.rc == 0, f"pushing the reference artifact failed: {res.stderr}"
    src.manifest_digest, body = get_manifest(registry_anon, src.repo, fm.TAG)
    src.manifest = json.loads(body)
    src.layer_bytes = sum(l["size"] for l in src.manifest["layers"])
    return src


class Context:
    def __init__(self, floe, registry, proxy, source, root):
        self.floe, self.reg, self.proxy, self.src = floe, registry, proxy, source
        self.root = root
        self.tmpdir = os.path.join(root, "tmpdir")  # floe's TMPDIR (directory layer tars)
        os.makedirs(self.tmpdir, exist_ok=True)
        self.env = hermetic_env(os.path.join(root, "home"))
        self.env["TMPDIR"] = self.tmpdir
        self.prefix = f"floe-it/fault-matrix/{uuid.uuid4().hex[:8]}"

    def tmp_leftovers(self):
        left = sorted(os.listdir(self.tmpdir))
        for name in left:
            fm.rmtree(os.path.join(self.tmpdir, name))
            try:
                os.unlink(os.path.join(self.tmpdir, name))
            except OSError:
                pass
        return left


def op_args(ctx, op, work, idx, extra=(), repo=None):
    """(floe arguments, what to check) for one run of `op` through the proxy: the repository
    pushed to, the pull's output directory, the copy's layout."""
    host = ctx.proxy.host
    if op.startswith("push"):
        repo = repo or f"{ctx.prefix}/{op.lower()}-{idx:03}"
        chunk = ["--chunk-size", "1M"] if op == "push-chunk1M" else []
        return ([*extra, *chunk, "artifact", "push", f"{host}/{repo}:{fm.TAG}", *ctx.src.paths],
                repo)
    if op == "pull":
        out = os.path.join(work, "out")
        return [*extra, "artifact", "pull", f"{host}/{ctx.src.repo}:{fm.TAG}", "-o", out], out
    if op == "copy":
        layout = os.path.join(work, "layout")
        return ([*extra, "artifact", "copy", f"{host}/{ctx.src.repo}:{fm.TAG}",
                 f"ocidir://{layout}:{fm.TAG}"], layout)
    raise ValueError(op)


def judge(ctx, op, target, res):
    """(outcome, problems, warnings) of a finished run, from the end state alone."""
    src = ctx.src
    warnings = []
    if res.hung:
        return "BAD", [f"still running after {fm.HANG_GUARD:g} s (hang guard)"], warnings
    if res.rc == 0:
        if op.startswith("push"):
            printed = res.stdout.strip().splitlines()[-1] if res.stdout.strip() else None
            problems = fm.check_push_state(ctx.reg, target, src, True, printed)
        elif op == "pull":
            problems = fm.check_pull_ok(target, src)
            left = fm.pull_leftovers(target, src)
            if left:
                warnings.append(f"successful pull left {left} in the output directory")
        else:
            problems = fm.check_layout(target, src, True)
            if os.path.exists(os.path.join(target, "ingest")):
                warnings.append("successful copy left ingest/ in the layout")
        return ("BAD" if problems else "ok"), problems, warnings
    problems = fm.check_clean_error(res)
    if op.startswith("push"):
        problems += fm.check_push_state(ctx.reg, target, src, False)
    elif op == "pull":
        problems += fm.check_pull_failed(target, src)
    else:
        problems += fm.check_layout(target, src, False)
    return ("BAD" if problems else "clean-fail"), problems, warnings


def execute(ctx, op, fault, idx):
    proxy = ctx.proxy
    start, lingering = fm.quiesce(proxy)
    work = os.path.join(ctx.root, f"{idx:03}-{op}")
    os.makedirs(work)
    extra = fault.flags() if fault else ["--timeout", "5"]
    args, target = op_args(ctx, op, work, idx, extra)
    if fault:
        fault.arm(proxy)
    res = fm.run(ctx.floe, args, ctx.env, work)
    proxy.clear_faults()
    events = fm.new_events(proxy, start)
    down, up = proxy.bytes_down, proxy.bytes_up
    outcome, problems, warnings = judge(ctx, op, target, res)
    left = ctx.tmp_leftovers()
    if left:
        warnings.append(f"TMPDIR left behind: {left}")
    if lingering:
        warnings.append(f"{lingering} proxy connection(s) still open from the previous run")
    planned = 0 if fault is None else \
        (fault.count if fault.kind == "http" else
         1 + fault.count if fault.kind == "cut+http" else 1)
    fired = len(events)
    if fault is not None and res.rc != 0 and fired == 0:
        warnings.append("failed although no fault fired")
    record = dict(idx=idx, op=op, fault=fault, outcome=outcome, rc=res.rc,
                  elapsed=res.elapsed, fired=fired, unfired=max(0, planned - fired),
                  problems=problems, warnings=warnings, res=res, events=events,
                  down=down, up=up, work=work)
    if outcome != "BAD":
        fm.rmtree(work)
    return record


def format_record(r, seed):
    f = r["fault"]
    head = (f"[{r['idx']:3}] {r['op']:<13} {f.describe() if f else 'no fault':<64} -> "
            f"{r['outcome']:<10} exit {r['rc']} in {r['elapsed']:.2f}s, fired {r['fired']}")
    if r["outcome"] == "clean-fail":
        head += f"\n        {(r['res'].own_lines() or ['?'])[-1]}"
    for w in r["warnings"]:
        head += f"\n        warning: {w}"
    if r["outcome"] != "BAD" and os.environ.get("FLOE_FAULT_VERBOSE"):
        head += "\n" + "\n".join("        | " + l for l in fm.tail(r["res"].stderr, 30).splitlines())
    if r["outcome"] == "BAD":
        ev = [{k: e[k] for k in ("fault", "direction", "at", "bytes_down", "bytes_up")}
              for e in r["events"]]
        head += ("\n  ===== BAD =====\n"
                 f"  seed {seed}, case {r['idx']}, operation {r['op']}, fault {f.describe() if f else None}\n"
                 f"  $ {' '.join(r['res'].cmd)}\n"
                 f"  exit {r['rc']} after {r['elapsed']:.2f}s; proxy {r['down']} down / "
                 f"{r['up']} up; proxy events {ev}\n"
                 f"  work dir kept: {r['work']}\n"
                 + "".join(f"  problem: {p}\n" for p in r["problems"])
                 + "  --- stderr (tail)\n"
                 + "\n".join("  | " + l for l in fm.tail(r["res"].stderr, 30).splitlines())
                 + "\n  ===============")
    return head


# -- 1. the fault matrix -------------------------------------------------------------------

def test_fault_matrix(floe, registry_anon, matrix_proxy, matrix_source, tmp_path, capsys):
    t0 = time.monotonic()
    seed = seed_from_env()
    print(f"\nfault matrix seed: {seed}  (FLOE_FAULT_SEED={seed} replays it)")
    proxy = matrix_proxy
    ctx = Context(floe, registry_anon, proxy, matrix_source, str(tmp_path))

    # Clean runs: the setup works, and how many bytes each operation moves each way.
    totals = {}
    for op in OPS:
        r = execute(ctx, op, None, 900 + len(totals))
        assert r["outcome"] == "ok" and r["rc"] == 0, \
            f"the clean {op} through the proxy failed:\n{format_record(r, seed)}"
        totals[op] = (r["down"], r["up"])
        print(f"clean {op:<13}: {r['down']:>8} bytes down, {r['up']:>8} up, "
              f"{r['elapsed']:.2f}s")

    rng = random.Random(seed)
    cases = fm.plan(rng, OPS, totals, PER_OP)
    only = os.environ.get("FLOE_FAULT_CASES")
    selected = {int(x) for x in only.split(",")} if only else None
    matrix = fm.Matrix(OPS)
    for idx, (op, fault) in enumerate(cases):
        if selected is not None and idx not in selected:
            continue
        r = execute(ctx, op, fault, idx)
        limit = 1.5 + fault.expected_extra_seconds()
        if r["elapsed"] > limit and not r["res"].hung:
            r["warnings"].append(f"slow: {r['elapsed']:.1f}s (expected under {limit:.1f}s)")
        matrix.add(r)
        print(format_record(r, seed))
    elapsed = time.monotonic() - t0

    summary = (f"\n=== fault matrix: seed {seed}, {len(matrix.records)} runs, "
               f"{matrix.total_fired} faults fired, {elapsed:.1f}s ===\n{matrix.table()}")
    print(summary)
    with capsys.disabled():  # the table is the point of the run: shown even when it passes
        sys.stderr.write(summary + "\n")
    bad = [r for r in matrix.records if r["outcome"] == "BAD"]
    warned = [r for r in matrix.records if r["warnings"]]
    if warned:
        print(f"\n{len(warned)} run(s) with warnings (not failures):")
        for r in warned:
            print(f"  [{r['idx']}] {r['op']} {r['fault'].describe()}: {'; '.join(r['warnings'])}")
    if bad:
        print(f"\n{len(bad)} BAD outcome(s):")
        for r in bad:
            print(format_record(r, seed))
    assert not bad, (f"{len(bad)} BAD outcome(s) (seed {seed}):\n"
                     + "\n".join(format_record(r, seed) for r in bad[:10]))
    if selected is None:
        assert matrix.total_fired >= MIN_FAULTS, \
            f"only {matrix.total_fired} faults fired (want >= {MIN_FAULTS}), seed {seed}"


# -- 2. SIGKILL at a random moment, then a rerun --------------------------------------------

def on_disk(out, src):
    """Bytes of the source's layers already in the pull's hidden partial layout."""
    total = 0
    partial = os.path.join(out, ".floe-partial")
    for digest in src.layer_digests:
        hexd = digest.split(":", 1)[1]
        for path in (os.path.join(partial, "ingest", "sha256-" + hexd),
                     os.path.join(partial, "blobs", "sha256", hexd)):
            try:
                total += os.path.getsize(path)
                break
            except OSError:
                pass
    return total


def test_sigkill_then_rerun(floe, registry_anon, matrix_proxy, matrix_source, tmp_path):
    t0 = time.monotonic()
    seed = seed_from_env()
    print(f"\nsigkill seed: {seed}  (FLOE_FAULT_SEED={seed} replays it)")
    rng = random.Random(f"sigkill-{seed}")
    proxy = matrix_proxy
    ctx = Context(floe, registry_anon, proxy, matrix_source, str(tmp_path))
    src = ctx.src
    total = src.layer_bytes
    rate = f"{int(total / 1.5 / 1024)}K"  # the whole artifact in ~1.5 s

    def start(op, idx, limited, chunked=False):
        work = os.path.join(ctx.root, f"{op}-{idx:02}")
        os.makedirs(work, exist_ok=True)
        extra = (["--limit-rate", rate] if limited else []) + ["--progress", "json"]
        if chunked:
            extra += ["--chunk-size", "1M"]
        # the rerun goes to the same repository / output directory as the killed run
        args, target = op_args(ctx, op, work, idx, extra, repo=f"{ctx.prefix}/kill-{op}-{idx:02}")
        return work, args, target

    # How long a limited run takes (and that --limit-rate works).
    durations = {}
    for op in ("push", "pull"):
        fm.quiesce(proxy)
        work, args, target = start(op, 99, True)
        res = fm.run(floe, args, ctx.env, work)
        assert res.rc == 0, f"limited {op} failed: {res.stderr[-2000:]}"
        durations[op] = res.elapsed
        print(f"limited {op} ({rate}/s): {res.elapsed:.2f}s")
        assert res.elapsed >= 0.8, f"--limit-rate {rate} made a {total}-byte {op} last only " \
                                   f"{res.elapsed:.2f}s: the kill would come too late"
        fm.rmtree(work)
    ctx.tmp_leftovers()

    rows = collections.Counter()
    bad = []
    lines = []
    for i in range(2 * KILLS_PER_OP):
        op = ("push", "pull")[i % 2]
        idx = i // 2
        chunked = op == "push" and idx % 2 == 1
        delay = rng.uniform(0.05, 1.0) * durations[op]
        fm.quiesce(proxy)
        work, args, target = start(op, idx, True, chunked)
        bg = fm.Background(floe, args, ctx.env, work, os.path.join(work, "first"))
        killed, at = bg.kill_after(delay)
        first = bg.result()
        problems, info, outcome_note = [], [], None
        tmp_left = ctx.tmp_leftovers()
        if killed and tmp_left:
            info.append(f"TMPDIR kept {len(tmp_left)} entr(y/ies) of the killed run")
        if not killed and first.rc != 0:
            problems.append(f"the limited run ended by itself with exit {first.rc} before "
                            f"the kill: {fm.tail(first.stderr, 5)}")

        if op == "push":
            done_before = {e["digest"]: e["size"] for e in first.events()
                           if e.get("event") == "done" and "digest" in e}
            after_kill = fm.check_push_state(registry_anon, target, src, False)
            problems += [f"after the kill: {p}" for p in after_kill]
            # Killed after the manifest went up: the push was complete, and the rerun finds
            # the manifest and sends nothing (no per-blob events then).
            complete = fm.tag_state(registry_anon, target)[0] == 200 and not after_kill
            fm.quiesce(proxy)
            rerun = fm.run(floe, start(op, idx, False, chunked)[1], ctx.env, work)
            info.append(f"{len(done_before)} blob(s) done before the kill")
            push_bytes = total + fm.CONFIG_SIZE
            if rerun.rc != 0:
                problems.append(f"the rerun failed (exit {rerun.rc}): "
                                f"{fm.tail(rerun.stderr, 8)}")
            else:
                printed = rerun.stdout.strip().splitlines()[-1] if rerun.stdout.strip() else None
                problems += fm.check_push_state(registry_anon, target, src, True, printed)
                sent = proxy.bytes_up
                if complete:
                    outcome_note = "complete at the kill"
                    info.append(f"tag already complete; rerun sent {sent} bytes up")
                    if sent > RERUN_SLACK:
                        problems.append(f"the push was complete before the kill, yet the rerun "
                                        f"sent {sent} bytes up")
                else:
                    skipped = {e["digest"] for e in rerun.events()
                               if e.get("event") == "skipped" and "digest" in e}
                    not_skipped = set(done_before) - skipped
                    if not_skipped:
                        problems.append(f"blobs done before the kill were not 'skipped' by the "
                                        f"rerun: {sorted(not_skipped)}")
                    done_bytes = sum(done_before.values())
                    if sent > push_bytes - done_bytes + RERUN_SLACK:
                        problems.append(f"the rerun sent {sent} bytes up, more than the "
                                        f"{push_bytes - done_bytes} bytes not done before the kill")
                    info.append(f"rerun skipped {len(skipped)}, sent {sent} bytes up")
        else:
            out = target
            at_kill = on_disk(out, src)
            shown = fm.visible(fm.snapshot(out)) if os.path.isdir(out) else {}
            # Killed after the last rename: the pull was complete, and the same command run
            # again refuses the existing files (exit 8), as after any finished pull.
            complete = shown == src.tree
            if shown:
                wrong = sorted(k for k, v in shown.items() if src.tree.get(k) != v)
                if wrong:
                    problems.append(f"after the kill, WRONG bytes under final names: {wrong}")
                info.append("after the kill the pull was already complete" if complete else
                            f"after the kill {len(shown)} of {len(src.tree)} final name(s) "
                            f"already there: {sorted(shown)[:6]}")
            problems += [f"after the kill: wrong bytes under a final name: {b}"
                         for b in fm.misnamed_blobs(out)] if os.path.isdir(out) else []
            fm.quiesce(proxy)
            rerun = fm.run(floe, start(op, idx, False, chunked)[1], ctx.env, work)
            info.append(f"{at_kill}/{total} bytes on disk at the kill "
                        f"({100 * at_kill / total:.0f}%)")
            if complete and rerun.rc == 8 and "already exists" in rerun.stderr:
                problems += fm.check_pull_ok(out, src)
                info.append("the rerun refused the complete output (exit 8), as documented")
                outcome_note = "complete at the kill"
            elif rerun.rc != 0:
                problems.append(f"the rerun failed (exit {rerun.rc}): "
                                f"{fm.tail(rerun.stderr, 8)}")
            else:
                problems += fm.check_pull_ok(out, src)
                left = sorted(set(os.listdir(out)) - src.top_level)
                if left:
                    problems.append(f"after the successful rerun the output directory still "
                                    f"holds {left}")
                ev = rerun.events()
                reused = sum(e.get("bytes", 0) for e in ev if e.get("event") == "resumed") + \
                    sum(e.get("size", 0) for e in ev if e.get("event") == "skipped")
                got = proxy.bytes_down
                info.append(f"rerun fetched {got} bytes, events say {reused} reused")
                if at_kill > 0.25 * total:
                    if got >= total:
                        problems.append(f"the rerun fetched {got} bytes, the whole {total}, "
                                        f"although {at_kill} were on disk: nothing reused")
                    elif got > total - at_kill + RERUN_SLACK:
                        problems.append(f"the rerun fetched {got} bytes for the "
                                        f"{total - at_kill} missing ({at_kill} on disk)")
        outcome = "BAD" if problems else "ok"
        how = outcome_note or ("killed" if killed else "finished first")
        rows[(op + (" chunked" if chunked else ""), how, outcome)] += 1
        line = (f"[{op} {idx:2}{' chunk1M' if chunked else ''}] kill at {at:.2f}s "
                f"(delay {delay:.2f}s of ~{durations[op]:.2f}s)"
                f"{'' if killed else ' - had finished, exit ' + str(first.rc)} -> {outcome}; "
                + "; ".join(info))
        lines.append(line)
        print(line)
        if problems:
            detail = (f"  ===== BAD (seed {seed}) =====\n  $ {' '.join(first.cmd)}\n"
                      + "".join(f"  problem: {p}\n" for p in problems)
                      + "  --- killed run's stderr (tail)\n"
                      + "\n".join("  | " + l for l in fm.tail(first.stderr, 12).splitlines())
                      + "\n  --- rerun stderr (tail)\n"
                      + "\n".join("  | " + l for l in fm.tail(rerun.stderr, 12).splitlines())
                      + f"\n  work dir kept: {work}")
            print(detail)
            bad.append(line + "\n" + detail)
        else:
            fm.rmtree(work)

    print(f"\n=== SIGKILL then rerun: seed {seed}, {time.monotonic() - t0:.1f}s ===")
    for (op, how, outcome), n in sorted(rows.items()):
        print(f"  {op:<14} {how:<22} {outcome:<4} {n}")
    assert not bad, f"{len(bad)} BAD SIGKILL run(s) (seed {seed}):\n" + "\n".join(bad[:8])
