"""chaoslib - the chaos suite behind scripts/chaos (its docstring says what
it does and how to run it).

    common    the topology's names, addresses and ports; sh(), say(),
              wait_for(), INFO and logfmt parsing
    netns     network namespaces: the hub, bridge and veths (Net), nftables
              cuts, tc slow links, and RESP connections made inside a
              namespace (dial)
    procs     processes started inside a namespace, stopped by PID (Proc)
    cluster   3 agents and 3 Redis servers in their namespaces (Cluster):
              start, query, health
    load      the writer and the pollers that run during a fault, the
              replication lineage, the two-master windows
    faults    the fault catalogue: parameters drawn from the seed, then
              injected, held and removed
    checks    the invariants checked after a run
    run       one seeded run, start to teardown
    report    the table per fault type
    cli       the command line (main), preflight and --cleanup

The RESP client is the tests' (tests/integration/resp.py), put on sys.path
here.
"""

import os
import sys

_TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "tests", "integration")
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
