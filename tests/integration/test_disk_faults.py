"""Disk faults under real rsm-agent processes.

A damaged Raft data dir: the agent either refuses to start with a message
naming the damaged file, or recovers (libraft sets the damaged tail aside
and the entries come again from the leader) and then holds exactly the
leader's state; it never applies garbage (no rejected entry, no failed
snapshot restore) and never hangs or crashes (libraft 0.15 does both on
some of these by itself: see include/rsm/datadir.h).

A full data disk on the leader (each data dir is a small tmpfs, so this
needs root, as CI has): the leader hands leadership over and proposes
nothing more; the new leader does the next failover; every agent agrees
on every decision, and the only REPLICAOF NO ONE sent is the committed
one.
"""

import json
import os
import re
import signal
import subprocess
import time
import unittest

from rsmtest import (HOST, Proc, TestCase, binary, call, free_port,
                     require_test_faults, wait_until)

_FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def events(text):
    out = []
    for line in text.splitlines():
        ev = {}
        for k, v in _FIELD.findall(line):
            ev[k] = v[1:-1] if v.startswith('"') else v
        if "event" in ev:
            out.append(ev)
    return out


class Agent:
    def __init__(self, tc, id_, data_dir):
        self.tc, self.id, self.data_dir = tc, id_, data_dir
        self.raft_port, self.api_port = free_port(), free_port()
        self.proc, self.starts = None, 0

    def start(self, peers, extra=(), env=None):
        self.starts += 1
        log = os.path.join(self.tc.workdir, "agent%d.%d.log" % (self.id,
                                                                 self.starts))
        argv = [binary("rsm-agent"), "--id", str(self.id), "--peers", peers,
                "--data-dir", self.data_dir,
                "--api-bind", "%s:%d" % (HOST, self.api_port),
                "--http-bind", "off", "--log-level", "debug"] + list(extra)
        self.proc = Proc(argv, log, env=env)
        self.tc._procs.append(self.proc)

    def status(self):
        return json.loads(call(self.api_port, "RSM", "STATUS"))

    def events(self, name=None):
        evs = events(self.proc.output()) if self.proc else []
        return [e for e in evs if name is None or e["event"] == name]


class DiskFaultTest(TestCase):

    def group(self, extra=(), env=None, data_dirs=None):
        self.agents = [Agent(self, i, (data_dirs or {}).get(i) or os.path.join(
            self.workdir, "data%d" % i)) for i in (1, 2, 3)]
        self.peers = ",".join("%d=%s:%d/%d" % (a.id, HOST, a.raft_port,
                                               a.api_port)
                              for a in self.agents)
        self.extra = list(extra)
        for a in self.agents:
            a.start(self.peers, self.extra, env=env)
        return self.agents

    def leader(self, timeout=15):
        def pred():
            sts = {}
            for a in self.agents:
                if a.proc is not None and a.proc.alive():
                    try:
                        sts[a.id] = a.status()
                    except (OSError, ValueError):
                        return None
            ids = {(st.get("leader") or {}).get("id") for st in sts.values()}
            if len(ids) != 1 or None in ids:
                return None
            lid = ids.pop()
            return next((a for a in self.agents if a.id == lid and
                         sts.get(lid, {}).get("role") == "leader"), None)
        return wait_until(pred, timeout=timeout, what="an agreed leader")

    # ------------------------------------------------------------------
    # damaged data dir
    # ------------------------------------------------------------------
    def prepared_victim(self, sig):
        """3 agents with a few hundred entries, snapshots every 64: a
        follower stopped with sig, its data dir listed."""
        require_test_faults(self)  # RSM_BENCH_APPLIES
        self.group(["--snapshot-threshold", "64"],
                   env=dict(os.environ, RSM_BENCH_APPLIES="300"))
        ld = self.leader()
        wait_until(lambda: ld.events("bench-apply"), timeout=30,
                   what="the leader's 300 entries")
        last = ld.status()["last_index"]
        for a in self.agents:
            wait_until(lambda a=a: a.status()["applied_index"] >= last,
                       timeout=10, what="agent %d caught up" % a.id)
        self.expected = ld.status()
        victim = next(a for a in self.agents if a is not ld)
        victim.proc.stop(sig)
        files = sorted(os.listdir(victim.data_dir))
        self.closed = [f for f in files if re.match(r"^\d+-\d+$", f)]
        self.opens = [f for f in files if f.startswith("open-")]
        self.snaps = [f for f in files if f.startswith("snapshot-") and
                      not f.endswith(".meta")]
        self.assertGreaterEqual(len(self.closed), 3, files)
        self.assertTrue(self.snaps, files)
        return victim

    def damage(self, victim, name, how):
        path = os.path.join(victim.data_dir, name)
        size = os.path.getsize(path)
        if how == "truncate":
            os.truncate(path, size // 2)
        else:  # flip 4 bytes in the middle
            with open(path, "r+b") as f:
                f.seek(size // 2)
                b = f.read(4)
                f.seek(size // 2)
                f.write(bytes(x ^ 0xff for x in b))
        return name

    def written_open_segments(self, victim):
        out = []
        for name in self.opens:
            with open(os.path.join(victim.data_dir, name), "rb") as f:
                if f.read(8) != bytes(8):
                    out.append(name)
        self.assertTrue(out, self.opens)
        return out

    def assert_refuses(self, victim, name):
        victim.start(self.peers, self.extra)
        try:
            rc = victim.proc.p.wait(10)
        except subprocess.TimeoutExpired:
            self.fail("agent %d neither refused nor started in 10 s "
                      "(hung on %s?)" % (victim.id, name))
        out = victim.proc.output()
        self.assertEqual(rc, 1, out[-2000:])
        failed = victim.events("start-failed")
        self.assertEqual(len(failed), 1, out[-2000:])
        self.assertIn(name, failed[0]["detail"])
        self.assert_applied_nothing_bad(victim)

    def assert_applied_nothing_bad(self, victim):
        bad = [e for e in victim.events()
               if e["event"] in ("entry-rejected", "snapshot-restore-failed")]
        self.assertEqual(bad, [])

    def assert_recovers(self, victim):
        victim.start(self.peers, self.extra)
        want = self.expected

        def same():
            st = victim.status()
            return (st["applied_index"] >= want["applied_index"] and
                    st["groups"] == want["groups"] and st)
        wait_until(same, timeout=15, what="agent %d back with the "
                   "leader's state" % victim.id)
        self.assertTrue(victim.proc.alive())
        self.assert_applied_nothing_bad(victim)

    def test_truncated_closed_segment_refuses_naming_it(self):
        v = self.prepared_victim(signal.SIGTERM)
        self.assert_refuses(v, self.damage(v, self.closed[-1], "truncate"))

    def test_corrupt_older_closed_segment_refuses_naming_it(self):
        v = self.prepared_victim(signal.SIGTERM)
        self.assert_refuses(v, self.damage(v, self.closed[-3], "flip"))

    def test_corrupt_last_closed_segment_is_set_aside_and_refetched(self):
        v = self.prepared_victim(signal.SIGTERM)
        name = self.damage(v, self.closed[-1], "flip")
        self.assert_recovers(v)
        aside = v.events("data-file-set-aside")
        self.assertTrue(aside and aside[0]["file"].endswith(name), aside)

    def test_truncated_snapshot_refuses_naming_it(self):
        # libraft 0.15 alone loops forever in raft_start() on this one
        v = self.prepared_victim(signal.SIGTERM)
        self.assert_refuses(v, self.damage(v, self.snaps[-1], "truncate"))

    def test_corrupt_snapshot_refuses_naming_it(self):
        v = self.prepared_victim(signal.SIGTERM)
        self.assert_refuses(v, self.damage(v, self.snaps[-1], "flip"))

    def test_corrupt_snapshot_metadata_refuses_naming_it(self):
        v = self.prepared_victim(signal.SIGTERM)
        self.assert_refuses(v, self.damage(v, self.snaps[-1] + ".meta",
                                           "flip"))

    def test_truncated_open_segment_refuses_naming_it(self):
        # libraft 0.15 alone frees a buffer twice (abort) on this one
        v = self.prepared_victim(signal.SIGKILL)
        with_entries = self.written_open_segments(v)
        path = os.path.join(v.data_dir, with_entries[0])
        os.truncate(path, 200)  # inside the second batch
        self.assert_refuses(v, with_entries[0])

    def test_corrupt_open_segment_recovers_from_the_leader(self):
        v = self.prepared_victim(signal.SIGKILL)
        with_entries = self.written_open_segments(v)
        with open(os.path.join(v.data_dir, with_entries[0]), "r+b") as f:
            f.seek(100)
            f.write(b"\xff\xff\xff\xff")
        self.assert_recovers(v)

    # ------------------------------------------------------------------
    # full data disk on the leader
    # ------------------------------------------------------------------
    def mount_tmpfs(self, path, size):
        os.makedirs(path)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size,
                            "tmpfs", path], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0,
                         "cannot mount a tmpfs (needs root; CI runs as "
                         "root): %s" % p.stderr)
        self.addCleanup(subprocess.run, ["umount", "-l", path])

    def test_full_disk_on_the_leader_hands_over_and_decides_nothing(self):
        m, rs = self.replication_set(2)
        dirs = {}
        for i in (1, 2, 3):
            dirs[i] = os.path.join(self.workdir, "tmpfs%d" % i)
            self.mount_tmpfs(dirs[i], "8m")
        # the agents stop (tearDown) before the umounts (cleanups run after)
        self.group(["--monitor", "g=%s" % ",".join(r.addr for r in [m] + rs),
                    "--down-after-ms", "1000"], data_dirs=dirs)
        old = self.leader()
        wait_until(lambda: old.status()["groups"] and
                   old.status()["groups"][0]["master"] == m.addr,
                   timeout=15, what="the master recorded")
        try:
            with open(os.path.join(old.data_dir, "fill"), "wb") as f:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
        except OSError:
            pass  # full
        wait_until(lambda: old.events("data-disk-low"), timeout=5,
                   what="the leader to see its disk full")
        new = self.leader()
        self.assertIsNot(new, old, "the leader with a full disk kept "
                         "leading")
        self.assertTrue(old.events("leadership-transfer"))
        t_low = time.time()
        m.kill()
        wait_until(lambda: new.status()["groups"][0]["master"] != m.addr,
                   timeout=15, what="a failover by the new leader")
        g = new.status()["groups"][0]
        wait_until(lambda: all(r.linked_to(int(g["master"].split(":")[1]))
                               for r in rs if r.addr != g["master"]),
                   timeout=15, what="the replica linked to the new master")
        # nothing proposed by the old leader once its disk was full
        low_at = old.events("data-disk-low")[0]["ts"]
        late = [e for e in old.events("propose") if e["ts"] > low_at]
        self.assertEqual(late, [])
        # every live agent holds the same single decision
        hist = {}
        for a in self.agents:
            if a.proc.alive():
                wait_until(lambda a=a: a.status()["groups"][0]["epoch"] == 1
                           and a.status()["groups"][0]["in_flight"] is None,
                           timeout=10, what="agent %d applied it" % a.id)
                hist[a.id] = json.dumps(a.status()["groups"][0]["history"])
        self.assertEqual(len(set(hist.values())), 1, hist)
        decided = json.loads(next(iter(hist.values())))
        self.assertEqual(len(decided), 1)
        promoted = [e["addr"] for a in self.agents
                    for e in a.events("redis-command")
                    if e.get("command") == "REPLICAOF NO ONE"]
        self.assertEqual(set(promoted), {decided[0]["new_master"]})
        # room again: the old agent says so
        os.unlink(os.path.join(old.data_dir, "fill"))
        if old.proc.alive():
            wait_until(lambda: old.events("data-disk-ok"), timeout=5,
                       what="the old leader to see room again")
        print("disk full -> failover by agent %d in %.2f s after the kill"
              % (new.id, time.time() - t_low))


if __name__ == "__main__":
    unittest.main()
