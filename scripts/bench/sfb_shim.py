#!/usr/bin/env python3
"""sfb_shim.py - run the shared sentinel_failover_bench.py with one change,
for rsm-agent only.

    sfb_shim.py BENCH.py [bench arguments...]

(It once also made the bench's readiness check read a follower's
"unknown" replica link as "ok": followers now show the leader's view of
the replicas, RSM LEADERVIEW, so the bench runs unchanged without
--kill-leader.)

--kill-leader (taken out before the bench sees its arguments; rsm-agent
only): the failover starts while the agent leader dies. Once the topology
is ready, the shim asks every agent (RSM STATUS) which one leads; right
after the bench's kill of the master (same signal) it SIGKILLs that agent,
and drops it from the agents the bench waits for (discovery = every
surviving agent names the new master; the dead one is not restarted).
Prints "leader-kill: run N killed agent on port P" per run.
"""
import importlib.util
import json
import os
import signal
import sys

kill_leader = "--kill-leader" in sys.argv
if kill_leader:
    sys.argv.remove("--kill-leader")
path = sys.argv[1]
sys.argv = [path] + sys.argv[2:]
spec = importlib.util.spec_from_file_location("sfb", path)
sfb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sfb)

orig_try_cmd = sfb.try_cmd

if kill_leader:
    if "--agent-cmd" not in sys.argv:
        sys.exit("sfb_shim: --kill-leader needs --agent-cmd (rsm-agent)")
    state = {"run": 0}
    real_kill = os.kill
    orig_start_cluster = sfb.start_cluster
    orig_start_agents = sfb.start_agents
    orig_wait_ready = sfb.wait_ready

    def leader_port(ports):
        """The API port of the agent every agent names as leader, or None."""
        seen = set()
        for p in ports:
            try:
                st = json.loads(orig_try_cmd(p, "RSM", "STATUS") or "{}")
                seen.add(int(st["leader"]["api"].rsplit(":", 1)[1]))
            except (ValueError, KeyError, TypeError, AttributeError):
                return None
        return seen.pop() if len(seen) == 1 and list(seen)[0] in ports \
            else None

    def start_cluster(a, procs, rundir):
        ports, redis = orig_start_cluster(a, procs, rundir)
        state.update(run=state["run"] + 1, master_pid=redis[ports[0]].pid,
                     leader=None, done=False)
        return ports, redis

    def start_agents(a, procs, rundir, master_port):
        ports, agents = orig_start_agents(a, procs, rundir, master_port)
        state.update(ports=ports, agents=agents)
        return ports, agents

    def wait_ready(a, master_port, replica_ports, agent_ports, timeout=60):
        if not orig_wait_ready(a, master_port, replica_ports, agent_ports,
                               timeout=timeout):
            return False
        for _ in range(100):
            state["leader"] = leader_port(agent_ports)
            if state["leader"] is not None:
                return True
            sfb.time.sleep(0.1)
        return False

    def kill(pid, sig):
        real_kill(pid, sig)
        if pid == state.get("master_pid") and not state["done"] and \
                sig in (signal.SIGKILL, signal.SIGSTOP) and state["leader"]:
            state["done"] = True
            lp = state["leader"]
            real_kill(state["agents"][lp].pid, signal.SIGKILL)
            state["ports"].remove(lp)  # the bench waits for the others
            print("leader-kill: run %d killed agent on port %d" % (
                state["run"], lp), flush=True)

    sfb.start_cluster = start_cluster
    sfb.start_agents = start_agents
    sfb.wait_ready = wait_ready
    sfb.os.kill = kill

sys.exit(sfb.main())
