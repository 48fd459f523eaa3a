"""rsmctl redis-boot against real agents and real redis-servers on
loopback: first bootstrap (every instance starts through redis-boot, the
agents elect one master), a replica boots as a replica of the committed
master, the committed master restarted without data waits for the agents
to fail over and then comes back as a replica with nothing lost, the
committed master with its data comes back as master, and the bounded
fallback when no agent answers.
"""

import os
import re
import signal
import time
import unittest

from agentset import Agents
from rsmtest import (HOST, Proc, Redis, TestCase, binary, call, free_port,
                     parse_info, wait_until)

GROUP = "g"


class BootRedis(Redis):
    """A redis-server started through `rsmctl redis-boot`."""

    def __init__(self, workdir, agents, persist=False, **kw):
        super().__init__(workdir, **kw)
        self.agents = agents
        self.persist = persist
        self.boot_log = os.path.join(self.dir, "boot.log")

    def conf(self):
        conf = ["port %d" % self.port, "bind %s" % HOST, "dir %s" % self.dir,
                "appendonly no", "daemonize no", "protected-mode no",
                "repl-ping-replica-period 1", "repl-timeout 5",
                "repl-diskless-sync-delay 0", "logfile \"\""]
        conf.append("save 3600 1" if self.persist else "save \"\"")
        path = os.path.join(self.dir, "redis.conf")
        with open(path, "w") as f:
            f.write("\n".join(conf) + "\n")
        return path

    def boot_argv(self, *extra):
        return [binary("rsmctl"), "redis-boot",
                "--agents", ",".join("%s:%d" % (HOST, self.agents.api[i])
                                     for i in self.agents.ids),
                "--group", GROUP, "--self", self.addr,
                "--poll-ms", "100", "--timeout-ms", "500"] + list(extra) + \
            ["--", "redis-server", self.conf()]

    def boot(self, wait_up=True, *extra):
        """Start through redis-boot (the process becomes redis-server)."""
        self.proc = Proc(self.boot_argv(*extra), self.boot_log)
        if wait_up:
            wait_until(lambda: self.up(), timeout=20,
                       what="redis %d up" % self.port)
        return self

    def up(self):
        try:
            return self.call("PING", timeout=0.5) == "PONG"
        except OSError:
            return False

    def save(self):
        """SAVE, retried while a background save (a replica's sync) runs."""
        def try_save():
            try:
                return self.call("SAVE") == "OK"
            except Exception as e:  # RespError: background save running
                if "in progress" not in str(e):
                    raise
                return False
        wait_until(try_save, timeout=10, what="SAVE")

    def role(self):
        return self.info().get("role")

    def boot_output(self):
        with open(self.boot_log, errors="replace") as f:
            return f.read()


def dry_run(tc, r, *extra, timeout=30):
    p = tc.run_cmd(r.boot_argv("--dry-run", *extra), timeout=timeout)
    return p.returncode, p.stdout.strip(), p.stderr


class RedisBootTest(TestCase):

    def setUp(self):
        super().setUp()
        ports = [free_port() for _ in range(3)]
        addrs = ["%s:%d" % (HOST, p) for p in ports]
        self.agents = Agents(self, 3, "%s=%s" % (GROUP, ",".join(addrs)),
                             extra=["--repoint-grace-ms", "500",
                                    "--http-bind", "off"])
        self.agents.start_all()
        wait_until(lambda: self.agents.leader() is not None, timeout=20,
                   what="an agent leader")
        self.rs = [BootRedis(self.workdir, self.agents, port=p, persist=True)
                   for p in ports]
        self._procs.extend(self.rs)

    def committed(self):
        return self.agents.committed(self.agents.leader() or 1, GROUP)

    def by_addr(self, addr):
        return [r for r in self.rs if r.addr == addr][0]

    def bootstrap(self):
        """Every instance through redis-boot at once, as a StatefulSet with
        podManagementPolicy Parallel does; the agents pick one master."""
        rc, out, _ = dry_run(self, self.rs[0])
        self.assertEqual(rc, 0)
        self.assertTrue(out.startswith("master redis-server "), out)
        for r in self.rs:
            r.boot()
        wait_until(lambda: self.committed() is not None, timeout=20,
                   what="a master committed")
        m = self.by_addr(self.committed())
        for r in self.rs:
            if r is not m:
                wait_until(lambda r=r: r.linked_to(m.port), timeout=20,
                           what="replica %d linked" % r.port)
        return m

    def test_bootstrap_replica_and_master_restarted_empty(self):
        m = self.bootstrap()
        others = [r for r in self.rs if r is not m]
        self.assertIn("boot-decision action=master", m.boot_output())

        # A replica's boot: replica of the committed master, data or not.
        rc, out, _ = dry_run(self, others[0])
        self.assertEqual(rc, 0)
        self.assertTrue(out.startswith("replica redis-server "), out)
        self.assertTrue(out.endswith("--replicaof %s %d" % (HOST, m.port)),
                        out)

        # Data that must survive.
        m.write_keys("k", 500)
        wait_until(lambda: all(int(r.call("DBSIZE")) == 500 for r in others),
                   timeout=10, what="replicas have the keys")

        # The master dies and comes back empty, before the agents noticed.
        m.kill()
        for name in os.listdir(m.dir):
            if name.endswith(".rdb"):
                os.unlink(os.path.join(m.dir, name))
        t0 = time.monotonic()
        m.boot(wait_up=False)
        wait_until(lambda: "boot-wait" in m.boot_output(), timeout=10,
                   what="redis-boot waits")
        self.assertIn("holds no data", m.boot_output())
        self.assertFalse(m.up(), "an empty master must not start")
        # The agents fail over; redis-boot then starts it as a replica.
        wait_until(lambda: m.up(), timeout=30, what="the old master back")
        took = time.monotonic() - t0
        new = self.committed()
        self.assertNotEqual(new, m.addr)
        new_r = self.by_addr(new)
        self.assertIn("boot-decision action=replica master=%s" % new,
                      m.boot_output())
        wait_until(lambda: m.linked_to(new_r.port), timeout=20,
                   what="old master linked to the new one")
        for r in self.rs:
            wait_until(lambda r=r: int(r.call("DBSIZE")) == 500, timeout=10,
                       what="%d keys everywhere" % 500)
        self.assertEqual(new_r.call("GET", "k499"), "v" * 16)
        print("empty master came back as a replica %.1f s after its restart"
              % took)

    def test_master_with_data_comes_back_as_master(self):
        m = self.bootstrap()
        m.write_keys("d", 10)
        m.save()
        rc, out, err = dry_run(self, m)
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.startswith("master "), out)
        self.assertIn("holds data", err)
        # without the keys (an RDB with no key) it would wait
        m.call("FLUSHALL")
        m.save()
        p = Proc(m.boot_argv("--dry-run"), os.path.join(self.workdir, "dr"))
        self._procs.append(p)
        wait_until(lambda: "boot-wait" in p.output(), timeout=10,
                   what="dry run waits")
        self.assertIn("no keys", p.output())
        self.assertTrue(p.alive())
        p.stop()


class FallbackTest(TestCase):

    def test_no_agent_bounded_fallback(self):
        dead = free_port()
        r = Redis(self.workdir)
        conf = os.path.join(r.dir, "redis.conf")
        with open(conf, "w") as f:
            f.write("port %d\nbind %s\ndir %s\nsave \"\"\n" %
                    (r.port, HOST, r.dir))
        base = [binary("rsmctl"), "redis-boot", "--agents",
                "%s:%d" % (HOST, dead), "--group", GROUP, "--self", r.addr,
                "--poll-ms", "50", "--timeout-ms", "200", "--wait-ms", "600",
                "--dry-run", "--", "redis-server", conf]
        t0 = time.monotonic()
        p = self.run_cmd(base)
        took = time.monotonic() - t0
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("boot-no-agent", p.stderr)
        self.assertIn("boot-fallback action=give-up", p.stderr)
        self.assertTrue(0.6 <= took < 5, took)
        # a master recorded at the last boot: replica of it
        with open(os.path.join(r.dir, "rsm-boot.state"), "w") as f:
            f.write("master 10.1.2.3:6379\n")
        p = self.run_cmd(base)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.strip().endswith("--replicaof 10.1.2.3 6379"),
                        p.stdout)
        # ... unless it was this instance
        with open(os.path.join(r.dir, "rsm-boot.state"), "w") as f:
            f.write("master %s\n" % r.addr)
        self.assertEqual(self.run_cmd(base).returncode, 3)

    def test_usage_errors(self):
        base = [binary("rsmctl"), "redis-boot", "--agents", "127.0.0.1:1",
                "--group", GROUP]
        for argv in (base + ["--", "redis-server"],             # no --self
                     base + ["--self", "a:1"],                    # no command
                     base + ["--self", "a:1", "--", "redis-server",
                             "--replicaof", "b", "1"],
                     base + ["--self", "a", "--", "x"],
                     base + ["--self", "a:1", "--wait-ms", "x", "--", "x"]):
            p = self.run_cmd(argv)
            self.assertEqual(p.returncode, 2, (argv, p.stderr))


if __name__ == "__main__":
    unittest.main()
