"""One seeded run: build the topology, start the load, inject the fault,
wait for a healed group, check, tear down."""

import json
import os
import random
import shutil
import tempfile
import time

from .checks import (agent_log_events, check_decisions, check_failovers,
                     check_processes_alive, classify_writes)
from .cluster import Cluster, healed
from .common import AGENTS, HEAL_TIMEOUT, REDIS, EnvError, wait_for
from .faults import apply_fault, draw
from .load import Lineage, Poller, Writer, longest_two_master_window


def run_one(seed, run_no, opts, netem):
    # The fault and its parameters come from two generators, so that
    # `--seed S --runs 1 --faults F` repeats the parameters of a run that
    # drew (or cycled to) F.
    if opts.cycle:
        fault = opts.faults[run_no % len(opts.faults)]
    else:
        fault = random.Random(seed).choice(opts.faults)
    rng = random.Random("params-%d" % seed)
    p = draw(fault, rng, opts.down_after_ms / 1000.0)
    tag = "%d-%d" % (os.getpid(), run_no)
    workdir = tempfile.mkdtemp(prefix="rsm-chaos-%s-" % tag)
    res = {"seed": seed, "fault": fault, "plan": p, "violations": [],
           "failovers": 0, "wrong": 0, "two_master_s": 0.0,
           "two_writable_s": 0.0, "acked": 0,
           "lost_async": 0, "lost_other": 0, "heal_s": None,
           "workdir": workdir}
    notes = []

    def log(msg):
        notes.append("%.3f %s" % (time.time(), msg))

    cl = Cluster(tag, workdir, opts)
    lineage = Lineage()
    writer = None
    pollers = []
    try:
        cl.net.up()
        cl.start_redis("r1")
        cl.start_redis("r2", master="r1")
        cl.start_redis("r3", master="r1")
        for r in ("r2", "r3"):
            wait_for(lambda r=r: (cl.redis_info(r) or {}).get(
                "master_link_status") == "up", 15, "%s linked" % r)
        for i in AGENTS:
            cl.start_agent(i)
        wait_for(lambda: cl.healthy()[0] and cl.committed_master() == "r1"
                 and all((cl.group(st) or {}).get("master_run_id")
                         for st in cl.statuses().values()),
                 30, "agents watching r1")
        pollers = [Poller(cl, r, lineage) for r in REDIS]
        writer = Writer(cl, lineage)
        for t in pollers + [writer]:
            t.start()
        time.sleep(p["warmup"])
        master = cl.committed_master()
        leader = wait_for(cl.leader, 10, "a leader")
        epoch0 = (cl.group(cl.status(leader)) or {}).get("epoch", 0)
        log("fault %s master=%s leader=a%d" % (fault, master, leader))
        t_fault, t_unfault, target = apply_fault(cl, p, master, leader, netem,
                                                 log)
        res["target"] = target
        log("fault removed (%s)" % target)
        try:
            healed_master = wait_for(lambda: healed(cl), HEAL_TIMEOUT,
                                     "a healed group", interval=0.1)
            res["heal_s"] = time.time() - t_fault
        except TimeoutError:
            res["violations"].append("not healed %d s after the fault: %s" %
                                     (HEAL_TIMEOUT, cl.healthy()[1]))
            healed_master = None
        time.sleep(1.0)  # a healed group stays healed
        writer.halt.set()
        writer.join(5)
        for t in pollers:
            t.halt.set()
        for t in pollers:
            t.join(5)
        ok, m = cl.healthy()
        if healed_master is not None and (not ok or m != healed_master):
            res["violations"].append("healed, then not: %s" % m)
        final_sts = cl.statuses()
        logs = agent_log_events(cl)
        history_t = check_decisions(cl, logs, final_sts, res["violations"])
        g = cl.group(final_sts.get(leader) or next(
            (s for s in final_sts.values() if s), None)) or {}
        res["failovers"], res["wrong"] = check_failovers(
            p, g.get("history", []), epoch0, t_fault, t_unfault,
            opts.down_after_ms / 1000.0, res["violations"])
        res["history"] = [list(h) for h in history_t]
        check_processes_alive(cl, res["violations"])
        res["two_master_s"] = longest_two_master_window(pollers)
        res["two_writable_s"] = longest_two_master_window(pollers,
                                                          writable=True)
        if ok:
            res["acked"], res["lost_async"], res["lost_other"] = \
                classify_writes(cl, writer, lineage, m, t_fault,
                                res["violations"])
        else:
            res["acked"] = len(writer.acked)
        if lineage.conflicts:
            notes.append("lineage conflicts: %s" % lineage.conflicts)
    except (EnvError, KeyboardInterrupt):
        raise
    except TimeoutError as e:
        res["violations"].append("setup: %s" % e)
    except Exception as e:  # reported as a failed run; the suite goes on
        import traceback
        notes.append(traceback.format_exc())
        res["violations"].append("chaos error: %r (traceback in %s)" % (
            e, os.path.join(workdir, "chaos-run.json")))
    finally:
        for t in pollers + ([writer] if writer else []):
            t.halt.set()
        cl.stop_all()
        cl.net.down()
        with open(os.path.join(workdir, "chaos-run.json"), "w") as f:
            json.dump(dict(res, notes=notes), f, indent=1, default=str)
        if not res["violations"] and not opts.keep:
            shutil.rmtree(workdir, ignore_errors=True)
            res["workdir"] = None
    return res
