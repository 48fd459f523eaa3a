"""The chaos suite (scripts/chaos), short: a fixed set of seeds, one run of
each fault that matters most, every invariant checked (see the script's
docstring). About a minute.

It needs root, network namespaces and nftables: CI runs as root on the
same kind of machine, so if they are missing this test FAILS (it is never
skipped): a chaos suite that silently does nothing would be worse than
none. The long run is `scripts/chaos --runs 200 --cycle`.
"""

import os
import re
import subprocess
import sys
import unittest

from rsmtest import BUILD_DIR

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(SRC, "scripts", "chaos")
SEED = 7001
FAULTS = ("kill-master", "leader-cut-master", "isolate-master",
          "restart-master-empty", "isolate-leader", "stop-leader")


class ChaosTest(unittest.TestCase):

    def test_fixed_seeds(self):
        self.assertEqual(os.geteuid(), 0,
                         "the chaos test needs root (network namespaces); "
                         "CI runs as root")
        p = subprocess.run([sys.executable, SCRIPT, "--seed", str(SEED),
                            "--runs", str(len(FAULTS)), "--cycle",
                            "--faults", ",".join(FAULTS),
                            "--build", os.path.abspath(BUILD_DIR)],
                           capture_output=True, text=True, timeout=280)
        print(p.stdout)
        self.assertNotEqual(p.returncode, 2,
                            "chaos cannot run here:\n" + p.stdout + p.stderr)
        self.assertEqual(p.returncode, 0,
                         "an invariant failed:\n" + p.stdout + p.stderr)
        runs = re.findall(r"^seed=(\d+) fault=(\S+) .* (OK|FAILED)$",
                          p.stdout, re.M)
        self.assertEqual([f for _, f, _ in runs], list(FAULTS))
        self.assertTrue(all(ok == "OK" for _, _, ok in runs), runs)
        # the faults that must fail over did, the others did not
        fo = dict(re.findall(r"^seed=\d+ fault=(\S+) .*failovers=(\d+)",
                             p.stdout, re.M))
        for f in ("kill-master", "isolate-master", "restart-master-empty"):
            self.assertEqual(fo[f], "1", f)
        for f in ("leader-cut-master", "isolate-leader", "stop-leader"):
            self.assertEqual(fo[f], "0", f)


if __name__ == "__main__":
    unittest.main()
