"""deploy/ validated offline: every Kubernetes document against the
Kubernetes OpenAPI schemas (npm's kubernetes-models, with js-yaml, installed
here with `npm ci` from tests/k8s/package-lock.json) plus the project's
rules (tests/k8s/validate.mjs); deliberately broken copies must fail; the
Redis config of the ConfigMap is loaded by a real redis-server; the hook
script parses; the Dockerfile has the shape the issue asks for. (The image
itself cannot be built here: there is no container engine.)
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from rsmtest import HOST, Proc, Redis, TestCase, wait_until

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(SRC, "deploy")
K8S = os.path.join(SRC, "tests", "k8s")


def validate(path):
    return subprocess.run(["node", os.path.join(K8S, "validate.mjs"), path],
                          capture_output=True, text=True, timeout=120,
                          cwd=K8S)


class DeployTest(TestCase):

    @classmethod
    def setUpClass(cls):
        if shutil.which("node") is None or shutil.which("npm") is None:
            raise unittest.SkipTest("node/npm not installed")
        p = subprocess.run(["npm", "ci", "--no-audit", "--no-fund",
                            "--loglevel=error"], cwd=K8S, capture_output=True,
                           text=True, timeout=300)
        if p.returncode != 0:
            raise AssertionError("npm ci in tests/k8s failed:\n" +
                                 p.stdout[-2000:] + p.stderr[-2000:])

    def test_every_document_validates(self):
        p = validate(DEPLOY)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"^ok: \d+ documents")
        print(p.stdout.strip())

    def broken(self, rel, old, new, expect):
        """A copy of deploy/ with one edit must fail, saying expect."""
        tmp = tempfile.mkdtemp(prefix="rsm-deploy-")
        try:
            dst = os.path.join(tmp, "deploy")
            shutil.copytree(DEPLOY, dst)
            path = os.path.join(dst, rel)
            with open(path) as f:
                text = f.read()
            self.assertIn(old, text, "the mutation must apply")
            with open(path, "w") as f:
                f.write(text.replace(old, new, 1))
            p = validate(dst)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.assertEqual(p.returncode, 1, "%s: %r -> %r passed:\n%s" %
                         (rel, old, new, p.stdout + p.stderr))
        self.assertIn(expect, p.stdout)

    def test_broken_copies_fail(self):
        cases = [
            # schema errors
            ("agents.yaml", "replicas: 3", "replicas: \"3\"",
             "must be integer"),
            ("agents.yaml", "containerPort: 26380", "containerPort: http",
             "schema"),
            ("redis.yaml", "kind: StatefulSet", "kind: StatefullSet",
             "unknown apiVersion/kind"),
            ("network-policy.yaml", "policyTypes: [\"Ingress\"]",
             "policyTypes: Ingress", "schema"),
            ("agents.yaml", "  name: rsm\n", "  name: rsm\n bad: [\n",
             "YAML"),
            # project rules
            ("agents.yaml", "podManagementPolicy: Parallel",
             "podManagementPolicy: OrderedReady", "not Parallel"),
            ("agents.yaml", "publishNotReadyAddresses: true",
             "publishNotReadyAddresses: false", "not-ready"),
            ("agents.yaml", "path: /readyz", "path: /ready",
             "readiness is not httpGet /readyz"),
            ("agents.yaml", "rsm-2.rsm.$(POD_NAMESPACE)",
             "rsm-3.rsm.$(POD_NAMESPACE)", "RSM_PEERS is not"),
            ("agents.yaml", "readOnlyRootFilesystem: true",
             "readOnlyRootFilesystem: false", "not read-only"),
            ("agents.yaml", "drop: [\"ALL\"]", "drop: [\"NET_RAW\"]",
             "capabilities not dropped"),
            ("agents.yaml", "maxUnavailable: 1", "maxUnavailable: 2",
             "maxUnavailable != 1"),
            ("redis.yaml", "repl-ping-replica-period 1",
             "repl-ping-replica-period 10", "repl-ping-replica-period 1"),
            ("redis.yaml", "- redis-boot", "- redis-bot", "redis-boot"),
            ("redis.yaml", "            - name: POD_NAMESPACE\n",
             "            - name: NAMESPACE\n", "before it is defined"),
            ("network-policy.yaml", "        - port: 26380",
             "        - port: 26381", "no container port"),
            ("agents.yaml", "runAsUser: 65532\n        runAsGroup",
             "runAsUser: 0\n        runAsGroup", "numeric non-root"),
            ("kustomization.yaml", "- redis.yaml", "- redis2.yaml",
             "does not exist"),
            ("agents.yaml", "            - name: RSM_CLUSTER_SECRET_FILE\n",
             "            - name: RSM_CLUSTER_SECRET_FILEX\n",
             "RSM_CLUSTER_SECRET_FILE is not in a mounted Secret"),
            ("agents.yaml", "              mountPath: /run/secrets/rsm\n",
             "              mountPath: /run/rsm\n",
             "RSM_CLUSTER_SECRET_FILE is not in a mounted Secret"),
        ]
        for rel, old, new, expect in cases:
            with self.subTest(file=rel, new=new):
                self.broken(rel, old, new, expect)

    def test_redis_config_loads_in_redis_server(self):
        with open(os.path.join(DEPLOY, "redis.yaml")) as f:
            text = f.read()
        m = re.search(r"redis\.conf: \|\n((?:    .*\n|\n)+)", text)
        self.assertIsNotNone(m)
        conf = "\n".join(l[4:] for l in m.group(1).splitlines())
        r = Redis(self.workdir)
        conf = conf.replace("port 6379", "port %d" % r.port)
        conf = conf.replace("bind * -::*", "bind %s" % HOST)
        conf = conf.replace("dir /data", "dir %s" % r.dir)
        r.extra = []
        path = os.path.join(r.dir, "k8s.conf")
        with open(path, "w") as f:
            f.write(conf + '\nrequirepass "pw"\nmasterauth "pw"\n')
        r.proc = Proc(["redis-server", path], os.path.join(r.dir, "log"))
        self._procs.append(r)
        r.password = "pw"
        wait_until(lambda: r.proc.alive() and _ping(r), timeout=10,
                   what="redis with the ConfigMap's config")
        self.assertEqual(r.call("CONFIG", "GET", "repl-ping-replica-period"),
                         ["repl-ping-replica-period", "1"])
        self.assertEqual(r.call("CONFIG", "GET", "appendonly"),
                         ["appendonly", "yes"])

    def test_hook_and_dockerfile(self):
        hook = os.path.join(DEPLOY, "hooks", "label-master.sh")
        self.assertTrue(os.access(hook, os.X_OK))
        self.assertEqual(subprocess.run(["sh", "-n", hook]).returncode, 0)
        p = subprocess.run([hook], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)  # usage without 4 arguments
        with open(os.path.join(DEPLOY, "Dockerfile")) as f:
            df = f.read()
        froms = re.findall(r"^FROM (\S+)(?: AS (\S+))?$", df, re.M)
        self.assertEqual([f[1] for f in froms],
                         ["build", "runtime", "agent", "redis"])
        for image, _ in froms:
            self.assertIn(image, ("debian:bookworm-slim", "runtime"))
        self.assertRegex(df, r"ctest [^\n]*-R '\^\(unit\|cluster\)\\\.'")
        users = re.findall(r"^USER (\S+)$", df, re.M)
        self.assertTrue(users and all(re.match(r"^\d+:\d+$", u) and
                                      not u.startswith("0:") for u in users))
        for ep in re.findall(r"^ENTRYPOINT (.*)$", df, re.M):
            self.assertRegex(ep, r'^\["/usr/local/bin/[^"]+"(, "[^"]+")*\]$')
        for src in re.findall(r"^COPY (?!--from)(\S+)", df, re.M):
            self.assertTrue(os.path.exists(os.path.join(SRC, src)), src)


def _ping(r):
    try:
        return r.call("PING", timeout=0.5) == "PONG"
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main()
