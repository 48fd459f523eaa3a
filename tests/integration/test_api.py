"""Integration tests of the agents' client port and of `rsmctl status` /
`rsmctl members` against real rsm-agent processes on loopback.

Each agent gets a Raft port and an API port from free_port(); the peer
list names both ("id=127.0.0.1:raft/api") so every agent knows every
other agent's API address.
"""

import json
import os
import signal
import socket
import subprocess
import unittest

from rsmtest import (HOST, Proc, Resp, RespError, TestCase, binary, call,
                     free_port, parse_info, require_test_faults, wait_until)


class Agent:
    def __init__(self, tc, id_):
        self.tc = tc
        self.id = id_
        self.raft_port = free_port()
        self.api_port = free_port()
        self.data_dir = os.path.join(tc.workdir, "agent%d" % id_)
        self.proc = None

    @property
    def api(self):
        return "%s:%d" % (HOST, self.api_port)

    def member_addr(self):
        return "%s:%d/%d" % (HOST, self.raft_port, self.api_port)

    def start(self, peers, *extra, env=None):
        argv = [binary("rsm-agent"), "--id", str(self.id), "--peers", peers,
                "--data-dir", self.data_dir,
                "--api-bind", self.api, "--http-bind", "off", *extra]
        log = os.path.join(self.tc.workdir, "agent%d.log" % self.id)
        self.proc = Proc(argv, log, env=env)
        self.tc._procs.append(self.proc)
        return self

    def call(self, *args):
        return call(self.api_port, *args)

    def status(self):
        return json.loads(self.call("RSM", "STATUS"))

    def members(self):
        return self.call("RSM", "MEMBERS")


def peers_of(agents):
    return ",".join("%d=%s" % (a.id, a.member_addr()) for a in agents)


class ApiTest(TestCase):

    def setUp(self):
        super().setUp()
        self.agents = [Agent(self, i) for i in (1, 2, 3)]

    def start_all(self, env=None):
        for a in self.agents:
            a.start(peers_of(self.agents), env=env)

    def rsmctl(self, *args, env=None):
        e = dict(os.environ)
        e.pop("RSM_AGENT", None)
        if env:
            e.update(env)
        return self.run_cmd([binary("rsmctl")] + list(args), timeout=60,
                            env=e)

    def stop_cleanly(self, agents):
        """SIGTERM: each agent exits 0 with every handle closed (under ASan
        a leak or a memory error would make the exit status non-zero)."""
        for a in agents:
            a.proc.signal(signal.SIGTERM)
        for a in agents:
            self.assertEqual(a.proc.p.wait(timeout=20), 0, a.proc.output())
            self.assertIn("event=agent-exit status=0", a.proc.output())

    def wait_leader(self, agents=None):
        """The leader id every agent reports, once they all agree and the
        leader itself says it leads."""
        agents = agents or self.agents

        def agreed():
            sts = [a.status() for a in agents]
            ids = {(s["leader"] or {}).get("id") for s in sts}
            if len(ids) != 1 or None in ids:
                return None
            lid = ids.pop()
            if not any(s["id"] == lid and s["role"] == "leader"
                       for s in sts):
                return None
            return lid
        lid = wait_until(agreed, timeout=20, what="an agreed leader")
        return next(a for a in self.agents if a.id == lid)

    # ------------------------------------------------------------------
    def test_status_members_and_bad_requests(self):
        self.start_all()
        leader = self.wait_leader()
        followers = [a for a in self.agents if a is not leader]

        # rsmctl status on every agent: same leader, says who answered.
        for a in self.agents:
            r = self.rsmctl("status", "--agent", a.api, "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            out = json.loads(r.stdout)
            self.assertEqual(out["answered_by"], a.api)
            self.assertEqual(out["status"]["id"], a.id)
            self.assertEqual(out["status"]["leader"]["id"], leader.id)
            self.assertEqual(out["status"]["leader"]["api"], leader.api)
            views = {v["id"]: v for v in out["agents"]}
            self.assertEqual(sorted(views), [1, 2, 3])
            for v in views.values():
                self.assertTrue(v["reachable"], v)
                self.assertEqual(v["leader_id"], leader.id)
                self.assertEqual(v["role"], "leader" if v["id"] == leader.id
                                 else "follower")
            r = self.rsmctl("status", "--agent", a.api)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("Answered by agent %d at %s" % (a.id, a.api),
                          r.stdout)
            self.assertIn("Leader: agent %d (API %s)" % (leader.id,
                                                         leader.api),
                          r.stdout)
            self.assertIn("Groups: none yet", r.stdout)

        # The first agent that answers is used; RSM_AGENT is the default.
        dead = "%s:%d" % (HOST, free_port())
        r = self.rsmctl("status", env={"RSM_AGENT": "%s,%s" % (
            dead, followers[0].api)})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Answered by agent %d" % followers[0].id, r.stdout)
        self.assertIn(dead, r.stderr)
        r = self.rsmctl("status", "--agent", dead)
        self.assertEqual(r.returncode, 3)
        self.assertIn("no agent answered", r.stderr)
        r = self.rsmctl("status", "--agent", "nohost")
        self.assertEqual(r.returncode, 2)

        # RSM MEMBERS through our client and through redis-cli.
        for a in self.agents:
            ms = a.members()
            self.assertEqual(len(ms), 3)
            byid = {m[0]: m for m in ms}
            self.assertEqual(sorted(byid), [1, 2, 3])
            for b in self.agents:
                self.assertEqual(byid[b.id][1:4],
                                 ["%s:%d" % (HOST, b.raft_port), b.api, 1])
            self.assertEqual([m[0] for m in ms if m[4] == 1], [leader.id])
        cli = subprocess.run(["redis-cli", "-p", str(followers[1].api_port),
                              "RSM", "MEMBERS"], capture_output=True,
                             text=True, timeout=10)
        self.assertEqual(cli.returncode, 0)
        for b in self.agents:
            self.assertIn(b.api, cli.stdout)
        info = parse_info(subprocess.run(
            ["redis-cli", "-p", str(followers[1].api_port), "INFO", "raft"],
            capture_output=True, text=True, timeout=10).stdout)
        self.assertEqual(info["raft_role"], "follower")
        self.assertEqual(info["raft_leader_id"], str(leader.id))
        self.assertEqual(info["raft_leader_api"], leader.api)
        self.assertEqual(info["raft_members"], "3")
        r = self.rsmctl("members", "--agent", followers[0].api)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["ID", "RAFT", "ADDRESS", "API",
                                            "ADDRESS", "VOTER", "LEADER"])
        self.assertEqual(len(lines), 4)
        self.assertTrue(any(l.split()[0] == str(leader.id) and
                            l.rstrip().endswith("*") for l in lines[1:]))

        # A follower names the leader's API address.
        for f in followers:
            with self.assertRaises(RespError) as cm:
                f.call("RSM", "MEMBER", "REMOVE", "3")
            self.assertEqual(str(cm.exception),
                             "NOTLEADER %d %s" % (leader.id, leader.api))

        # Bad requests get errors; the agent keeps serving.
        f = followers[0]
        with Resp(f.api_port) as c:
            for args, want in [
                (("FLUSHALL",), "ERR unknown command 'FLUSHALL'"),
                (("PING", "a", "b"), "ERR wrong number of arguments for "
                                     "'ping' command"),
                (("RSM", "NOPE"), "ERR unknown subcommand 'NOPE'"),
                (("RSM", "MEMBER", "ADD", "4"), "ERR wrong number of "
                                                "arguments"),
                (("RSM", "MEMBER", "REMOVE", "x"), None),
            ]:
                with self.assertRaises(RespError) as cm:
                    c.call(*args)
                if want:
                    self.assertTrue(str(cm.exception).startswith(want),
                                    str(cm.exception))
            self.assertEqual(c.call("PING"), "PONG")
        with self.assertRaises(RespError) as cm:
            leader.call("RSM", "MEMBER", "REMOVE", "x")
        self.assertEqual(str(cm.exception), "ERR invalid member id 'x'")
        with self.assertRaises(RespError) as cm:
            leader.call("RSM", "MEMBER", "ADD", "5", "no-port")
        self.assertIn("ERR invalid member address 'no-port'",
                      str(cm.exception))
        # Garbage bytes: an error, then the connection is closed.
        with socket.create_connection((HOST, f.api_port), timeout=5) as s:
            s.sendall(b"*1\r\n$abc\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            self.assertTrue(data.startswith(b"-ERR Protocol error"), data)
        # Inline commands (telnet style) work too.
        with socket.create_connection((HOST, f.api_port), timeout=5) as s:
            s.sendall(b"PING\r\n")
            self.assertEqual(s.recv(64), b"+PONG\r\n")
        self.assertEqual(f.call("PING"), "PONG")
        self.stop_cleanly(self.agents)

    # ------------------------------------------------------------------
    def test_add_and_remove_a_fourth_agent(self):
        self.start_all()
        leader = self.wait_leader()
        follower = next(a for a in self.agents if a is not leader)
        fourth = Agent(self, 4)
        fourth.start(peers_of(self.agents + [fourth]), "--join")

        # Sent to a follower: rsmctl follows -NOTLEADER to the leader.
        r = self.rsmctl("members", "--agent", follower.api, "add", "4",
                        fourth.member_addr())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("not the leader; sending to leader %d at %s"
                      % (leader.id, leader.api), r.stderr)
        self.assertIn("member 4 added", r.stdout)

        everyone = self.agents + [fourth]
        for a in everyone:
            wait_until(lambda a=a: len(a.members()) == 4, timeout=15,
                       what="agent %d sees 4 members" % a.id)
        wait_until(lambda: fourth.status()["leader"] and
                   fourth.status()["leader"]["id"] == leader.id,
                   timeout=15, what="the new agent follows the leader")
        byid = {m[0]: m for m in leader.members()}
        self.assertEqual(byid[4][1:4], ["%s:%d" % (HOST, fourth.raft_port),
                                        fourth.api, 1])
        r = self.rsmctl("status", "--agent", fourth.api, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(sorted(v["id"] for v in out["agents"]),
                         [1, 2, 3, 4])
        self.assertTrue(all(v["reachable"] for v in out["agents"]))

        # Adding it again is refused with a reason; exit 1.
        r = self.rsmctl("members", "--agent", leader.api, "add", "4",
                        fourth.member_addr())
        self.assertEqual(r.returncode, 1)
        self.assertIn("member 4 already exists", r.stderr)

        # Removed (through the leader directly this time).
        r = self.rsmctl("members", "--agent", leader.api, "remove", "4")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("member 4 removed", r.stdout)
        self.assertNotIn("not the leader", r.stdout)
        for a in self.agents:
            wait_until(lambda a=a: len(a.members()) == 3, timeout=15,
                       what="agent %d sees 3 members" % a.id)
        r = self.rsmctl("members", "--agent", follower.api, "remove", "4")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no member 4", r.stderr)

        # The group still works; everyone stops cleanly.
        self.assertEqual(self.wait_leader(), leader)
        self.stop_cleanly([fourth] + self.agents)

    # ------------------------------------------------------------------
    def test_status_shows_replicated_groups(self):
        """With the test-only RSM_BENCH_APPLIES the leader proposes three
        ObserveMaster entries of group "bench". Every agent then shows the
        same committed group in RSM STATUS, rsmctl status and INFO."""
        require_test_faults(self)
        self.start_all(env=dict(os.environ, RSM_BENCH_APPLIES="3"))
        leader = self.wait_leader()

        def three_done(a):
            st = a.status()
            # 3 bench entries, plus each agent's AdvertiseAgent
            adv = sum(1 for m in st["members"] if m.get("advertised"))
            return st["groups"] and \
                st["fsm"]["applied"] + st["fsm"]["rejected"] - adv == 3
        wait_until(lambda: three_done(leader), timeout=15,
                   what="the leader applied its 3 entries")
        want = leader.status()["groups"]
        self.assertEqual(len(want), 1)
        g = want[0]
        self.assertEqual((g["name"], g["epoch"], g["in_flight"],
                          g["history"], g["paused"]),
                         ("bench", 0, None, [], False))
        self.assertRegex(g["master"], r"^127\.0\.0\.1:\d+$")
        for a in self.agents:
            wait_until(lambda a=a: three_done(a), timeout=15,
                       what="agent %d applied the 3 entries" % a.id)
            r = self.rsmctl("status", "--agent", a.api, "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(json.loads(r.stdout)["status"]["groups"], want)
            r = self.rsmctl("status", "--agent", a.api)
            self.assertEqual(r.returncode, 0, r.stderr)
            lines = r.stdout[r.stdout.index("Group bench:"):].splitlines()
            self.assertEqual(lines[0], "Group bench: master %s, epoch 0"
                             % g["master"])
            self.assertIn("  Last failover: none", lines)
            info = parse_info(a.call("INFO", "groups"))
            self.assertEqual(info["groups"], "1")
            self.assertEqual(info["group0"], "name=bench,master=%s,epoch=0,"
                             "paused=0,in_flight=0" % g["master"])
        self.stop_cleanly(self.agents)


class RsmctlUsageTest(TestCase):
    """Input rsmctl refuses before contacting anything."""

    def rsmctl(self, *args):
        e = dict(os.environ)
        e.pop("RSM_AGENT", None)
        return self.run_cmd([binary("rsmctl")] + list(args), timeout=60,
                            env=e)

    def test_rsmctl_members_usage(self):
        for args in (["members", "add", "x", "127.0.0.1:1"],
                     ["members", "add", "4"],
                     ["members", "add", "4", "nohost"],
                     ["members", "remove"],
                     ["members", "frob"],
                     ["members", "--agent", "bad", "list"]):
            with self.subTest(args=args):
                r = self.rsmctl(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("rsmctl members:", r.stderr)
        dead = "%s:%d" % (HOST, free_port())
        r = self.rsmctl("members", "--agent", dead)
        self.assertEqual(r.returncode, 3)


if __name__ == "__main__":
    unittest.main()
