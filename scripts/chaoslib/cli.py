"""The command line of scripts/chaos: flags, the runs one after the other,
the report, the exit status (0: every invariant held, 1: one did not,
2: the environment cannot run it, 130: interrupted); preflight checks and
--cleanup."""

import argparse
import json
import os
import random
import re
import shutil
import signal
import time

from .common import FAULTS, PREFIX, ROOT, EnvError, say, sh
from .netns import netem_available, remember_root_ns
from .report import table
from .run import run_one


def preflight(opts):
    if os.geteuid() != 0:
        raise EnvError("needs root (network namespaces, nftables)")
    for tool in ("ip", "nft", "tc", "redis-server"):
        if shutil.which(tool) is None:
            raise EnvError("%s not found (scripts/deps.sh installs it)" % tool)
    if not os.access(os.path.join(opts.build, "rsm-agent"), os.X_OK):
        raise EnvError("%s/rsm-agent not built" % opts.build)
    probe = "%s-%d-probe" % (PREFIX, os.getpid())
    try:
        sh("ip", "netns", "add", probe)
        sh("ip", "-n", probe, "link", "set", "lo", "up")
        sh("ip", "netns", "exec", probe, "nft", "-f", "-",
           input="table inet chaos_probe {\n}\n")
        return netem_available(probe)
    finally:
        sh("ip", "netns", "del", probe, check=False)


def cleanup():
    out = sh("ip", "netns", "list").stdout
    n = 0
    for line in out.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.match(r"%s-(\d+)-" % PREFIX, name)
        if not m:
            continue
        try:
            os.kill(int(m.group(1)), 0)
            continue  # its run is still going
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        sh("ip", "netns", "del", name, check=False)
        n += 1
    say("removed %d namespaces of dead runs" % n)


def main():
    ap = argparse.ArgumentParser(
        description="Seeded fault runs against 3 rsm-agents and a Redis "
        "master with 2 replicas, each in its own network namespace.")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=None,
                    help="seed of the first run (the others: +1, +2, ...); "
                    "default random, printed")
    ap.add_argument("--faults", default=",".join(FAULTS),
                    help="comma-separated subset to draw from")
    ap.add_argument("--cycle", action="store_true",
                    help="take the faults in turn instead of drawing them "
                    "(the parameters still come from each run's seed)")
    ap.add_argument("--down-after-ms", type=int, default=1000)
    ap.add_argument("--fence", choices=("on", "off"), default=None,
                    help="pass --fence on|off to the agents (default: "
                    "the agents' default, on)")
    ap.add_argument("--build", default=os.environ.get(
        "RSM_BUILD_DIR", os.path.join(ROOT, "build")))
    ap.add_argument("--keep", action="store_true",
                    help="keep every run's directory (failed runs' are "
                    "always kept)")
    ap.add_argument("--json", help="write every run's result here")
    ap.add_argument("--cleanup", action="store_true",
                    help="remove namespaces left by dead runs and exit")
    opts = ap.parse_args()
    opts.build = os.path.abspath(opts.build)
    opts.faults = [f for f in opts.faults.split(",") if f]
    for f in opts.faults:
        if f not in FAULTS:
            ap.error("unknown fault %r (one of %s)" % (f, ", ".join(FAULTS)))
    if opts.seed is None:
        opts.seed = random.SystemRandom().randrange(1, 1 << 31)
    remember_root_ns()

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    # also when started in the background, where SIGINT comes ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)

    try:
        if opts.cleanup:
            cleanup()
            return 0
        netem = preflight(opts)
    except EnvError as e:
        say("chaos: cannot run: %s" % e)
        return 2
    if not netem:
        say("note: tc netem is not available in this kernel "
            "(CONFIG_NET_SCH_NETEM): slow links are emulated with tbf rate "
            "limits (bandwidth, queueing delay), not with added latency")
    say("chaos: %d runs from seed %d, faults: %s" % (
        opts.runs, opts.seed, ", ".join(opts.faults)))
    results, failed = [], []
    interrupted = False
    t_start = time.time()
    try:
        for k in range(opts.runs):
            seed = opts.seed + k
            r = run_one(seed, k, opts, netem)
            results.append(r)
            say("seed=%d fault=%s target=%s expect=%s failovers=%d wrong=%d "
                "2master=%.2fs 2writable=%.2fs acked=%d lost_async=%d "
                "lost_other=%d heal=%s %s" % (
                    seed, r["fault"], r.get("target"), r["plan"]["expect"],
                    r["failovers"], r["wrong"], r["two_master_s"],
                    r["two_writable_s"], r["acked"],
                    r["lost_async"], r["lost_other"],
                    "%.2fs" % r["heal_s"] if r["heal_s"] else "-",
                    "OK" if not r["violations"] else "FAILED"))
            for v in r["violations"]:
                say("    seed %d: %s" % (seed, v))
            if r["violations"]:
                failed.append(r)
                say("    kept %s" % r["workdir"])
    except KeyboardInterrupt:
        say("interrupted; the current run was torn down")
        interrupted = True
    except EnvError as e:
        say("chaos: environment failure: %s" % e)
        return 2
    finally:
        if opts.json:
            with open(opts.json, "w") as f:
                json.dump(results, f, indent=1, default=str)
    if results:
        say("\n%d runs in %.0f s (down-after %d ms, fence %s)%s" % (
            len(results), time.time() - t_start, opts.down_after_ms,
            opts.fence or "default", "" if netem else "; slow links: tbf"))
        say(table(results))
    if failed:
        say("\nFAILED seeds: %s" % " ".join(
            "%d(%s)" % (r["seed"], r["fault"]) for r in failed))
        for r in failed:
            say("rerun: scripts/chaos --seed %d --runs 1 --faults %s" % (
                r["seed"], r["fault"]))
        return 1
    if interrupted:
        return 130
    return 0 if results else 1
