"""Integration tests of `rsmctl` as an operator uses it: status, failover,
pause, resume and history against 3 real rsm-agent processes watching 1
real redis-server master and 2 replicas on loopback.

What is checked is what the operator sees: rsmctl's output and exit codes,
and, for the actions, the outcome on the Redis servers (INFO replication)
and in the agents' committed state (RSM STATUS).
"""

import json
import os
import pty
import re
import select
import signal
import subprocess
import time
import unittest

from rsmtest import (HOST, Agents, TestCase, binary, free_port,
                     wait_until)

DOWN_AFTER_MS = 1000
ELECTION_MS = 300
HEARTBEAT_MS = 30
FAILOVER_WAIT_S = 20
PASSWORD = "s3cret-agent-pw"

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class RsmctlTest(TestCase):

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------
    def start(self, extra=(), env=None, password=None):
        """1 master + 2 replicas, 3 agents watching them as group g1; once
        every agent has committed the master. Sets self.m, self.rs,
        self.ag, self.leader, self.followers."""
        self.m, self.rs = self.replication_set(2)
        args = ["--down-after-ms", DOWN_AFTER_MS, "--probe-interval-ms", 100,
                "--failover-timeout-ms", 10000,
                "--min-failover-interval-ms", 60000,
                "--monitor", "g1=%s" % ",".join(
                    r.addr for r in [self.m] + self.rs)]
        self.ag = Agents(self, 3, args=args + list(extra), env=env,
                         election_ms=ELECTION_MS, heartbeat_ms=HEARTBEAT_MS,
                         password=password)
        self.ag.start()
        self.leader = self.ag.wait_leader(timeout=20)
        self.followers = [a for a in self.ag if a is not self.leader]
        self.ag.wait_group("g1", lambda g: g["master"] == self.m.addr,
                           every=True, timeout=20,
                           what="every agent records the master")

    def ctl(self, *args, env=None, password=None, timeout=90):
        """Run rsmctl without RSM_AGENT / RSM_AGENT_PASSWORD from the test
        environment (unless given)."""
        e = dict(os.environ)
        e.pop("RSM_AGENT", None)
        e.pop("RSM_AGENT_PASSWORD", None)
        e.pop("NO_COLOR", None)
        if password is not None:
            e["RSM_AGENT_PASSWORD"] = password
        if env:
            e.update(env)
        return self.run_cmd([binary("rsmctl")] + [str(a) for a in args],
                            timeout=timeout, env=e)

    def assert_fits_80(self, text):
        for line in text.splitlines():
            self.assertLessEqual(len(line), 80, "too wide: %r" % line)

    def instance_rows(self, out):
        """{addr: [ROLE, STATE, LINK, OFFSET, LAG, PRIO]} from the instance
        table of group g1 in rsmctl status's human output."""
        lines = out[out.index("Group g1:"):].splitlines()
        self.assertEqual(lines[1].split(), ["INSTANCE", "ROLE", "STATE",
                                            "LINK", "OFFSET", "LAG", "PRIO"])
        rows = {}
        for line in lines[2:]:
            f = line.split()
            if not line.startswith("  ") or not f or \
                    not re.match(r"^\S+:\d+$", f[0]):
                break
            rows[f[0]] = f[1:]
        return rows

    def by_addr(self, addr):
        for r in [self.m] + self.rs:
            if r.addr == addr:
                return r
        self.fail("%s is not one of ours" % addr)

    # ------------------------------------------------------------------
    # status
    # ------------------------------------------------------------------
    def test_status_shows_every_instance_from_any_agent(self):
        self.start()
        self.m.write_keys("k", 200)
        f = self.followers[0]

        # Through a follower: says who answered, and shows the leader's
        # view of every instance.
        def settled():
            r = self.ctl("status", "--agents", f.api)
            if r.returncode != 0:
                return None
            rows = self.instance_rows(r.stdout)
            # (a replica reports slave_repl_offset:0 for a while after
            # its first sync)
            if all(rows.get(x.addr, [None] * 5)[4] == "0" and
                   rows[x.addr][3] not in ("0", "-") for x in self.rs):
                return r
            return None
        r = wait_until(settled, timeout=15, what="replicas caught up")
        out = r.stdout
        self.assertIn("Answered by agent %d at %s (follower, term"
                      % (f.id, f.api), out)
        self.assertIn("Leader: agent %d (API %s)." % (self.leader.id,
                                                      self.leader.api), out)
        self.assertIn("Instances as the leader, agent %d at %s, sees them."
                      % (self.leader.id, self.leader.api), out)
        self.assertIn("Group g1: master %s, epoch 0" % self.m.addr, out)
        rows = self.instance_rows(out)
        self.assertEqual(sorted(rows), sorted(x.addr for x in
                                              [self.m] + self.rs))
        self.assertEqual(rows[self.m.addr][:3], ["master", "up", "-"])
        self.assertEqual(rows[self.m.addr][4:], ["-", "-"])
        for x in self.rs:
            role, state, link, offset, lag, prio = rows[x.addr]
            self.assertEqual((role, state, link, lag, prio),
                             ("replica", "up", "up", "0", "100"))
            self.assertGreater(int(offset), 0)
        self.assertIn("  Master check: ok", out)
        self.assertIn("  Last failover: none", out)
        self.assertNotIn("\x1b[", out)  # not a terminal: no colors
        self.assert_fits_80(out)

        # --json parses, with the leader's instances.
        r = self.ctl("status", "--agents", f.api, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(out["answered_by"], f.api)
        self.assertEqual(out["status"]["id"], f.id)
        self.assertEqual(out["instances_from"],
                         {"id": self.leader.id, "api": self.leader.api})
        mg = out["monitor"]["groups"][0]
        self.assertEqual(mg["name"], "g1")
        self.assertTrue(mg["acting"])
        self.assertEqual(mg["verdict"]["status"], "ok")
        inst = {i["addr"]: i for i in mg["instances"]}
        self.assertEqual(inst[self.m.addr]["role"], "master")
        for x in self.rs:
            self.assertEqual(inst[x.addr]["role"], "replica")
            self.assertEqual(inst[x.addr]["master"], self.m.addr)
            self.assertEqual(inst[x.addr]["link"], "up")
            self.assertEqual(inst[x.addr]["priority"], 100)
            self.assertIsInstance(inst[x.addr]["lag_bytes"], int)
        # A follower's own monitor has no INFO (it only PINGs masters).
        own = out["status"]["monitor"]["groups"][0]
        self.assertFalse(own["acting"])
        self.assertIsNone(own["verdict"])

        # --agents tries each in turn: a dead one first is reported.
        dead = "%s:%d" % (HOST, free_port())
        r = self.ctl("status", "--agents", "%s,%s" % (dead, f.api))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Answered by agent %d" % f.id, r.stdout)
        self.assertIn("agent %s is down or not listening" % dead, r.stderr)
        # --agent is the same flag; RSM_AGENT the default.
        r = self.ctl("status", "--agent", dead, "--agent", self.leader.api)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Answered by agent %d" % self.leader.id, r.stdout)

    def test_status_against_a_down_agent(self):
        self.start()
        dead = "%s:%d" % (HOST, free_port())
        r = self.ctl("status", "--agents", dead)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn("agent %s is down or not listening" % dead, r.stderr)
        self.assertIn("no agent answered", r.stderr)

        # An agent of the group that was killed: shown as unreachable by
        # the others, and asked directly it is an exit 3.
        f = self.followers[1]
        f.kill()
        r = self.ctl("status", "--agents", f.api)
        self.assertEqual(r.returncode, 3)
        self.assertIn("agent %s is down or not listening" % f.api, r.stderr)
        r = self.ctl("status", "--agents", self.followers[0].api)
        self.assertEqual(r.returncode, 0, r.stderr)
        row = [l.split() for l in r.stdout.splitlines()
               if l.split()[:2] == [str(f.id), f.api]]
        self.assertEqual(row, [[str(f.id), f.api, "-", "-", "-", "-",
                                "unreachable"]])
        self.assertIn(f.api, r.stderr)

        # The leader killed: a follower still answers from the committed
        # state, and says it has no leader's view until a new one is up.
        self.leader.kill()
        r = self.ctl("status", "--agents", self.followers[0].api)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Group g1: master %s" % self.m.addr, r.stdout)

        # Usage errors contact nothing.
        for args in (["status", "--agents", "nohost"],
                     ["status", "--interval", "0"],
                     ["status", "extra"],
                     ["failover"], ["pause"], ["resume", "a", "b"],
                     ["history", "bad name"], ["failover", "--json", "g1"],
                     ["status", "--password-file", "/nonexistent/pw"]):
            with self.subTest(args=args):
                r = self.ctl(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("rsmctl %s:" % args[0], r.stderr)

    def test_watch_redraws_until_ctrl_c(self):
        self.start()
        e = dict(os.environ)
        e.pop("RSM_AGENT", None)
        # Not a terminal: one frame after the other.
        p = subprocess.Popen([binary("rsmctl"), "status", "--watch",
                              "--interval", "1", "--agents",
                              self.followers[0].api],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=e)
        try:
            frames = 0
            deadline = time.monotonic() + 20
            while frames < 3 and time.monotonic() < deadline:
                line = p.stdout.readline()
                if line.startswith("Answered by agent %d"
                                   % self.followers[0].id):
                    frames += 1
            self.assertEqual(frames, 3)
            p.send_signal(signal.SIGINT)
            self.assertEqual(p.wait(timeout=10), 0)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
            p.stderr.close()

        # --json --watch: one JSON object per line.
        p = subprocess.Popen([binary("rsmctl"), "status", "--watch", "-n",
                              "1", "--json", "--agents", self.leader.api],
                             stdout=subprocess.PIPE, text=True, env=e)
        try:
            objs = [json.loads(p.stdout.readline()) for _ in range(2)]
            for o in objs:
                self.assertEqual(o["status"]["id"], self.leader.id)
                self.assertEqual(o["monitor"]["groups"][0]["name"], "g1")
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(timeout=10), 0)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()

    def test_colors_only_on_a_terminal(self):
        self.start()

        def on_pty(env):
            master, slave = pty.openpty()
            e = dict(os.environ, TERM="xterm")
            e.pop("NO_COLOR", None)
            e.update(env)
            p = subprocess.Popen([binary("rsmctl"), "status", "--agents",
                                  self.leader.api], stdout=slave,
                                 stderr=slave, stdin=subprocess.DEVNULL,
                                 env=e)
            os.close(slave)
            out = b""
            try:
                while True:
                    r, _, _ = select.select([master], [], [], 15)
                    if not r:
                        break
                    try:
                        chunk = os.read(master, 65536)
                    except OSError:  # EIO: the child closed the pty
                        break
                    if not chunk:
                        break
                    out += chunk
            finally:
                os.close(master)
                self.assertEqual(p.wait(timeout=10), 0)
            return out.decode()

        out = on_pty({})
        self.assertIn("\x1b[", out)
        plain = ANSI.sub("", out)
        self.assertIn("Group g1: master %s" % self.m.addr, plain)
        self.assert_fits_80(plain.replace("\r", ""))
        self.assertNotIn("\x1b[", on_pty({"NO_COLOR": "1"}))

    # ------------------------------------------------------------------
    # pause / resume / failover / history
    # ------------------------------------------------------------------
    def test_pause_holds_off_failover_until_resume(self):
        self.start()
        f = self.followers[0]

        # Through a follower: rsmctl follows -NOTLEADER.
        r = self.ctl("pause", "g1", "--agents", f.api)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("not the leader; sending to leader %d at %s"
                      % (self.leader.id, self.leader.api), r.stderr)
        self.assertIn("group g1 paused", r.stdout)
        self.ag.wait_group("g1", lambda g: g["paused"], every=True,
                           what="paused everywhere")
        r = self.ctl("status", "--agents", f.api)
        self.assertIn("Group g1: master %s, epoch 0, PAUSED" % self.m.addr,
                      r.stdout)

        # Master killed: well past down-after, nothing happens.
        old = self.m
        old.kill()
        time.sleep(3 * DOWN_AFTER_MS / 1000.0)
        g = self.ag.group_status("g1")
        self.assertEqual((g["master"], g["epoch"], g["in_flight"],
                          g["history"]), (old.addr, 0, None, []))
        for x in self.rs:
            self.assertEqual(x.info()["role"], "slave")
        r = self.ctl("status", "--agents", self.leader.api, "--json")
        mg = json.loads(r.stdout)["monitor"]["groups"][0]
        self.assertEqual(mg["verdict"]["status"], "down")
        self.assertIn("paused", mg["last_reason"])
        r = self.ctl("status", "--agents", self.leader.api)
        self.assertEqual(self.instance_rows(r.stdout)[old.addr][1], "down")

        # Resumed: the failover happens.
        r = self.ctl("resume", "g1", "--agents", f.api)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("group g1 resumed", r.stdout)
        g = self.ag.wait_group(
            "g1", lambda g: len(g["history"]) == 1 and g["in_flight"] is None,
            timeout=FAILOVER_WAIT_S, every=True, what="the failover done")
        new = self.by_addr(g["master"])
        self.assertIn(new, self.rs)
        self.assertFalse(g["paused"])
        wait_until(lambda: new.info()["role"] == "master", timeout=10,
                   what="new master promoted")

        # history lists it; status shows it as the last failover.
        r = self.ctl("history", "g1", "--agents", f.api)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^g1  epoch 1  \d{4}-\d\d-\d\d "
                                   r"\d\d:\d\d:\d\d  automatic  completed")
        self.assertIn("%s -> %s, data at risk" % (old.addr, new.addr),
                      r.stdout)
        self.assert_fits_80(r.stdout)
        r = self.ctl("history", "--json", "--agents", f.api)
        h = json.loads(r.stdout)
        self.assertEqual([(x["group"], x["epoch"], x["old_master"],
                           x["new_master"]) for x in h],
                         [("g1", 1, old.addr, new.addr)])
        r = self.ctl("status", "--agents", f.api)
        self.assertRegex(" ".join(r.stdout.split()),
                         r"Last failover: \d{4}-\d\d-\d\d "
                                   r"\d\d:\d\d:\d\d \(\d+s ago\), %s -> %s, "
                                   r"epoch 1, automatic, completed"
                         % (re.escape(old.addr), re.escape(new.addr)))

    def test_manual_failover_through_a_follower(self):
        self.start()
        f = self.followers[1]
        for x in self.rs:
            wait_until(lambda x=x: x.linked_to(self.m.port), timeout=10)
        # Paused: no automatic failover, but a manual one is still allowed.
        r = self.ctl("pause", "g1", "--agents", self.leader.api)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("not the leader", r.stderr)
        r = self.ctl("failover", "g1", "--agents", f.api)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("not the leader; sending to leader %d at %s"
                      % (self.leader.id, self.leader.api), r.stderr)
        self.assertIn("failover of g1 requested from the leader at %s"
                      % self.leader.api, r.stdout)
        m = re.search(r"failover of g1 completed: epoch 1, (\S+) -> (\S+), "
                      r"data at risk", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        self.assertEqual(m.group(1), self.m.addr)
        new = self.by_addr(m.group(2))
        self.assertIn(new, self.rs)
        g = self.ag.group_status("g1")
        self.assertEqual((g["master"], g["epoch"], g["paused"]),
                         (new.addr, 1, True))
        self.assertEqual(g["history"][-1]["kind"], "manual")
        wait_until(lambda: new.info()["role"] == "master", timeout=10,
                   what="new master promoted")
        other = next(x for x in self.rs if x is not new)
        wait_until(lambda: other.linked_to(new.port), timeout=15,
                   what="the other replica follows the new master")
        r = self.ctl("history", "--agents", self.leader.api)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("g1  epoch 1", r.stdout)
        self.assertIn("  manual  completed", r.stdout)
        self.assertIn("%s -> %s" % (self.m.addr, new.addr), r.stdout)
        r = self.ctl("history", "nope", "--agents", f.api)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no such group 'nope'", r.stderr)

        # An unknown group: refused before anything is sent.
        r = self.ctl("failover", "nope", "--agents", f.api)
        self.assertEqual(r.returncode, 1)
        self.assertIn("the agents know no group 'nope'", r.stderr)

    # ------------------------------------------------------------------
    # password
    # ------------------------------------------------------------------
    def test_wrong_password(self):
        pwfile = os.path.join(self.workdir, "agent.pw")
        with open(pwfile, "w") as fh:
            fh.write(PASSWORD + "\n")
        os.chmod(pwfile, 0o600)
        badfile = os.path.join(self.workdir, "bad.pw")
        with open(badfile, "w") as fh:
            fh.write("not-the-password\n")
        self.start(extra=["--requirepass-file", pwfile], password=PASSWORD)
        f = self.followers[0]

        # No password: exit 4, and what to do about it.
        for args in (["status"], ["members"], ["history"],
                     ["pause", "g1"]):
            with self.subTest(args=args):
                r = self.ctl(*args, "--agents", f.api)
                self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
                self.assertIn("agent %s requires a password" % f.api,
                              r.stderr)
                self.assertIn("--password-file", r.stderr)
        # A wrong one, from a file or from the environment: exit 4.
        r = self.ctl("status", "--agents", f.api, "--password-file", badfile)
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        self.assertIn("agent %s refused the password" % f.api, r.stderr)
        r = self.ctl("pause", "g1", "--agents", f.api, password="wrong")
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        self.assertIn("refused the password", r.stderr)
        self.assertFalse(self.ag.group_status("g1")["paused"])

        # The right one: everything works, through the follower too.
        r = self.ctl("status", "--agents", f.api, "--password-file", pwfile)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Group g1: master %s" % self.m.addr, r.stdout)
        rows = self.instance_rows(r.stdout)
        self.assertEqual(rows[self.m.addr][0], "master")
        r = self.ctl("pause", "g1", "--agents", f.api, password=PASSWORD)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.ctl("resume", "g1", "--agents", f.api, password=PASSWORD)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # The password never shows.
        for a in self.ag:
            self.assertNotIn(PASSWORD, a.output())


if __name__ == "__main__":
    unittest.main()
