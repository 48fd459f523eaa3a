"""Every libFuzzer target (tests/fuzz/fuzz_*.c) for a fixed number of
iterations, from its checked-in seeds (regressions included), with a fixed
seed so a run repeats.

The targets are built with clang (-DRSM_FUZZ=ON, ASan + UBSan) in a build
directory of their own, inside the ctest build directory. Without clang the
test is skipped (scripts/deps.sh installs clang and libclang-rt-14-dev, so
CI has them). Long runs: scripts/fuzz.sh TARGET SECONDS.
"""

import glob
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from rsmtest import BUILD_DIR

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# Iterations per target (about 2-5 s each here); others get DEFAULT_RUNS.
RUNS = {"flags": 200000, "info": 100000, "entry": 5000}
DEFAULT_RUNS = 20000


def targets():
    return sorted(re.sub(r"^fuzz_|\.c$", "", os.path.basename(p))
                  for p in glob.glob(os.path.join(SRC, "tests/fuzz/fuzz_*.c")))


def seeds(target):
    out = [d for d in [os.path.join(SRC, "tests/fuzz/corpus", target)]
           if os.path.isdir(d)]
    if target == "info":
        out.append(os.path.join(SRC, "tests/unit/fixtures/info"))
    return out


class FuzzTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if shutil.which("clang") is None:
            raise unittest.SkipTest("clang not installed (scripts/deps.sh)")
        cls.build = os.path.join(os.path.abspath(BUILD_DIR), "fuzz")
        env = dict(os.environ, CC="clang")
        subprocess.run(["cmake", "-S", SRC, "-B", cls.build, "-DRSM_FUZZ=ON",
                        "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], env=env,
                       check=True, capture_output=True)
        p = subprocess.run(["cmake", "--build", cls.build, "-j2", "--target"] +
                           ["fuzz_" + t for t in targets()],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise AssertionError("building the fuzz targets failed:\n" +
                                 p.stdout[-4000:] + p.stderr[-4000:])

    def run_target(self, target):
        runs = RUNS.get(target, DEFAULT_RUNS)
        work = tempfile.mkdtemp(prefix="rsm-fuzz-%s-" % target)
        try:
            argv = [os.path.join(self.build, "fuzz_" + target),
                    "-runs=%d" % runs, "-seed=1", "-print_final_stats=1",
                    "-artifact_prefix=%s/" % work, work] + seeds(target)
            p = subprocess.run(argv, capture_output=True, text=True,
                               timeout=240)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        m = re.search(r"stat::number_of_executed_units:\s*(\d+)", p.stderr)
        execs = int(m.group(1)) if m else 0
        print("fuzz_%s: %d executions (exit %d)" % (target, execs,
                                                    p.returncode))
        self.assertEqual(p.returncode, 0, "fuzz_%s found something:\n%s" %
                         (target, p.stderr[-6000:]))
        self.assertGreaterEqual(execs, runs)

    def test_every_target(self):
        ts = targets()
        self.assertIn("flags", ts)
        for t in ts:
            with self.subTest(target=t):
                self.run_target(t)


if __name__ == "__main__":
    unittest.main()
