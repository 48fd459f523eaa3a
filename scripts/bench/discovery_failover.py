#!/usr/bin/env python3
"""discovery_failover.py - the --failover part of scripts/bench/discovery.sh:
SIGKILL the master and time until every agent answers the new one.

    discovery_failover.py MASTER_PID MASTER_PORT AGENT_PORTS

AGENT_PORTS is comma-separated. From the kill, asks every agent
`SENTINEL get-master-addr-by-name mymaster` every 5 ms until all of them
name the same port and it is not MASTER_PORT; prints the time, or gives up
after 30 s (exit 1).
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))), "tests", "integration"))
from resp import Resp  # noqa: E402


def ask(port):
    """The master's port as the agent on port names it (None: no
    address)."""
    with Resp(int(port), timeout=0.5) as c:
        c.send("SENTINEL", "get-master-addr-by-name", "mymaster")
        r = c.read(raise_errors=False)
    return r[1] if isinstance(r, list) and len(r) == 2 else None


def main(argv):
    pid, old, ports = int(argv[0]), argv[1], argv[2].split(",")
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    while True:
        got = [ask(p) for p in ports]
        if all(g is not None and g != old for g in got) and len(set(got)) == 1:
            break
        if time.monotonic() - t0 > 30:
            print("failover under load: not seen within 30 s")
            return 1
        time.sleep(0.005)
    print("failover under load: every agent answers the new master %.0f ms "
          "after the SIGKILL" % ((time.monotonic() - t0) * 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
