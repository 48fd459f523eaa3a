"""The --on-failover hook gets no secret (issue #13 part 5).

The hook runs in a clean environment: the failover's RSM_GROUP, RSM_EPOCH,
RSM_OLD_MASTER, RSM_NEW_MASTER, PATH, and the variables listed with
--hook-env, nothing else; a --hook-env naming a secret stops the agent at
start. Here 3 real agents, whose environment holds both passwords
(RSM_REDIS_PASSWORD for Redis, RSM_REQUIREPASS for their own port), fail
over a real master; the hook writes the environment it was started with
(/proc/<pid>/environ, which its shell cannot add to) and its arguments.
"""

import os
import subprocess
import unittest

from rsmtest import HOST, Agents, TestCase, binary, wait_until

REDIS_PASSWORD = "hook-it-redis-Pw-5521"
API_PASSWORD = "hook-it-api-Pw-7730"
SECRET_VARS = ("RSM_REDIS_PASSWORD", "RSM_REQUIREPASS", "RSM_CLUSTER_SECRET")


class HookTest(TestCase):

    def hook_script(self):
        """A hook that dumps its arguments and environment; returns the
        paths (script, args file, env file)."""
        hook = os.path.join(self.workdir, "hook.sh")
        args = os.path.join(self.workdir, "hook.args")
        env = os.path.join(self.workdir, "hook.env")
        with open(hook, "w") as f:
            f.write("#!/bin/sh\n"
                    "echo \"$@\" > %s\n"
                    "tr '\\000' '\\n' < /proc/$$/environ > %s.tmp\n"
                    "mv %s.tmp %s\n" % (args, env, env, env))
        os.chmod(hook, 0o755)
        return hook, args, env

    def agent_usage(self, *args, env=None):
        """rsm-agent with the required flags and args, expected to refuse
        its flags: returns its stderr."""
        data = os.path.join(self.workdir, "data")
        argv = [binary("rsm-agent"), "--id", "1", "--peers",
                "1=%s:1" % HOST, "--data-dir", data, *args]
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10,
                           env=e)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertFalse(os.path.exists(data), "the agent started")
        return p.stderr

    # ------------------------------------------------------------------
    def test_hook_gets_the_event_path_and_listed_variables_never_a_secret(
            self):
        hook, args_file, env_file = self.hook_script()
        m, rs = self.replication_set(2, password=REDIS_PASSWORD)
        agent_env = {"RSM_REDIS_PASSWORD": REDIS_PASSWORD,
                     "RSM_REQUIREPASS": API_PASSWORD,
                     "HOOK_LISTED": "listed-value",
                     "HOOK_NOT_LISTED": "not-listed-value"}
        ag = Agents(self, 3, env=agent_env, password=API_PASSWORD, args=[
            "--down-after-ms", 1000, "--probe-interval-ms", 100,
            "--failover-timeout-ms", 10000,
            "--min-failover-interval-ms", 60000,
            "--monitor", "g=" + ",".join(r.addr for r in [m] + rs),
            "--on-failover", hook, "--hook-env", "HOOK_LISTED",
            "--hook-env", "HOME_IS_NOT_SET,PATH"])
        ag.start()
        ag.wait_leader(timeout=15)
        ag.wait_group("g", lambda g: g["master"] == m.addr, every=True,
                      what="every agent records the master")
        m.kill()
        g = ag.wait_group("g", lambda g: (len(g["history"]) == 1 and
                                          g["in_flight"] is None),
                          timeout=20, every=True, what="the failover")
        new = g["master"]
        wait_until(lambda: os.path.exists(env_file), timeout=10,
                   what="the hook to run")
        wait_until(lambda: ag.events("hook-done"), timeout=10,
                   what="the hook to end")
        with open(args_file) as f:
            self.assertEqual(f.read(), "g 1 %s %s\n" % (m.addr, new))
        with open(env_file) as f:
            dump = f.read()
        env = dict(line.split("=", 1) for line in dump.splitlines())
        self.assertEqual(
            {k: v for k, v in env.items() if k != "PATH"},
            {"RSM_GROUP": "g", "RSM_EPOCH": "1", "RSM_OLD_MASTER": m.addr,
             "RSM_NEW_MASTER": new, "HOOK_LISTED": "listed-value"})
        self.assertEqual(env["PATH"], os.environ.get(
            "PATH", "/usr/local/bin:/usr/bin:/bin"))
        for name in SECRET_VARS:
            self.assertNotIn(name, dump)
        for secret in (REDIS_PASSWORD, API_PASSWORD):
            self.assertNotIn(secret, dump)
        # ... nor in the agents' logs of the hook
        for _, e in ag.events():
            if e["event"].startswith("hook-"):
                self.assertNotIn(REDIS_PASSWORD, str(e))
                self.assertNotIn(API_PASSWORD, str(e))
        # once, on the leader only
        self.assertEqual(len(ag.events("hook-started")), 1)

    def test_hook_env_from_the_variable_and_the_flag_wins(self):
        """RSM_HOOK_ENV takes names separated by ','; a --hook-env flag
        replaces it, as every flag its variable. (What the hook gets is
        checked above; here the agent stops at a later bad flag, so that
        it gets past the list without starting.)"""
        hook, _, _ = self.hook_script()
        err = self.agent_usage("--on-failover", hook, "--max-clients", "0",
                               env={"RSM_HOOK_ENV": "A, B,PATH"})
        self.assertIn("--max-clients: 0 is out of range", err)
        err = self.agent_usage("--hook-env", "HOME", "--max-clients", "0",
                               env={"RSM_HOOK_ENV": "RSM_REQUIREPASS"})
        self.assertIn("--max-clients: 0 is out of range", err)
        err = self.agent_usage("--max-clients", "0", env={"RSM_HOOK_ENV": ""})
        self.assertIn("--max-clients: 0 is out of range", err)

    # ------------------------------------------------------------------
    def test_a_secret_in_hook_env_is_refused_at_start(self):
        for name in SECRET_VARS:
            err = self.agent_usage("--hook-env", "HOME", "--hook-env",
                                   "LANG," + name)
            self.assertIn("--hook-env: %s holds a secret" % name, err)
            err = self.agent_usage(env={"RSM_HOOK_ENV": "HOME," + name})
            self.assertIn("RSM_HOOK_ENV: %s holds a secret" % name, err)
        err = self.agent_usage("--hook-env", "RSM_NEW_MASTER")
        self.assertIn("--hook-env: RSM_NEW_MASTER is set by the agent", err)
        err = self.agent_usage("--hook-env", "NOT-A-NAME")
        self.assertIn("--hook-env: 'NOT-A-NAME' is not a variable name", err)

    def test_help_documents_the_hook_environment(self):
        p = subprocess.run([binary("rsm-agent"), "--help"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 0)
        text = " ".join(p.stdout.split())
        self.assertIn("--hook-env NAME", text)
        self.assertIn("env RSM_HOOK_ENV", text)
        self.assertIn("RSM_REDIS_PASSWORD, RSM_REQUIREPASS, "
                      "RSM_CLUSTER_SECRET) is refused", text)
        self.assertIn("in an environment of only RSM_GROUP", text)


if __name__ == "__main__":
    unittest.main()
