"""The topology's names, addresses and ports, and the small helpers every
part of the suite uses."""

import os
import subprocess

from rsmparse import parse_info, parse_logfmt, poll  # noqa: F401

# the repository (scripts/chaoslib/ is two levels below it)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PREFIX = "rsmc"
SUBNET = "10.77.0"
IP = {"c": 2, "a1": 11, "a2": 12, "a3": 13, "r1": 21, "r2": 22, "r3": 23}
AGENTS = (1, 2, 3)
REDIS = ("r1", "r2", "r3")
RAFT_PORT, API_PORT, REDIS_PORT = 7000, 26379, 6379
GROUP = "g"
HEAL_TIMEOUT = 60.0
# down-after counts from the master's last valid reply the leader has
# processed, which may precede the fault by one probe interval (100 ms), a
# round trip, and the time a loaded machine takes to run the agent's loop
# (up to ~120 ms seen with ctest -j2 beside other tests).
EARLY_SLACK = 0.3

FAULTS = ("kill-master", "stop-master", "kill-replica", "stop-replica",
          "kill-leader", "stop-leader", "kill-follower", "stop-follower",
          "isolate-leader", "leader-cut-master", "minority-partition",
          "isolate-master", "partition-master", "restart-master-empty",
          "restart-agent", "slow-links")


class EnvError(Exception):
    """The machine cannot run the suite (exit 2)."""


def ip_of(node):
    return "%s.%d" % (SUBNET, IP[node])


def sh(*argv, input=None, check=True):
    p = subprocess.run(argv, input=input, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise EnvError("%s: %s" % (" ".join(argv), p.stderr.strip()))
    return p


def say(*a):
    print(*a, flush=True)


def wait_for(pred, timeout, what, interval=0.05):
    return poll(pred, timeout, what, interval, error=TimeoutError)


