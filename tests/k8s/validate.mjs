// validate.mjs - offline validation of the Kubernetes manifests in deploy/.
//
//   node validate.mjs DIR
//
// Every YAML document under DIR (recursively) is parsed with js-yaml and
// validated against the Kubernetes 1.27 OpenAPI schema of its kind with
// kubernetes-models; kustomization.yaml files are checked for the files
// they list. Then the project's own rules, which a schema cannot express:
// StatefulSets (3 replicas, Parallel, headless Service that publishes
// not-ready addresses, PDB maxUnavailable 1, anti-affinity, restricted
// security context, resources), the agents' probes, peers and monitor list
// derived from the StatefulSets' names, redis-boot for Redis, $(VAR)
// references that Kubernetes can expand, Services and NetworkPolicies that
// select pods and name ports that exist. Prints one line per problem and
// exits 1 if there is any, else prints a summary and exits 0.
import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";

const errors = [];
const docs = []; // {file, index, doc}

function fail(where, msg) {
  errors.push(`${where}: ${msg}`);
}

function where(d) {
  const name = d.doc?.metadata?.name ?? "?";
  return `${d.file}#${d.index} ${d.doc?.kind ?? "?"}/${name}`;
}

function yamlFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

// kubernetes-models module of an apiVersion/kind, e.g. apps/v1 StatefulSet
// -> kubernetes-models/apps/v1/StatefulSet.
async function modelOf(apiVersion, kind) {
  if (!/^[a-zA-Z0-9.\/-]+$/.test(apiVersion) || !/^[A-Za-z]+$/.test(kind))
    return null;
  try {
    const mod = await import(`kubernetes-models/${apiVersion}/${kind}`);
    return mod[kind] ?? null;
  } catch {
    return null;
  }
}

function checkKustomization(d, dir) {
  const k = d.doc;
  for (const r of k.resources ?? []) {
    const p = path.join(dir, r);
    if (!fs.existsSync(p)) fail(where(d), `resource ${r} does not exist`);
    else if (fs.statSync(p).isDirectory() &&
             !fs.existsSync(path.join(p, "kustomization.yaml")))
      fail(where(d), `resource ${r} is a directory without kustomization.yaml`);
  }
  for (const pt of k.patches ?? []) {
    if (!pt.target?.kind || !pt.target?.name)
      fail(where(d), "a patch without target kind and name");
    if (pt.patch) {
      const ops = yaml.load(pt.patch);
      if (!Array.isArray(ops) || ops.some((o) => !o.op || !o.path))
        fail(where(d), "a JSON 6902 patch that is not a list of {op, path}");
    }
  }
}

// ---------------------------------------------------------------------
// Project rules
// ---------------------------------------------------------------------

const objects = () => docs.filter((d) => d.doc.kind !== "Kustomization");
const ofKind = (kind) => objects().filter((d) => d.doc.kind === kind);
const matches = (selector, labels) =>
  Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);

function allContainers(spec) {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}

function checkSecurity(w, spec) {
  const psc = spec.securityContext ?? {};
  if (psc.runAsNonRoot !== true) fail(w, "pod securityContext.runAsNonRoot is not true");
  if (!Number.isInteger(psc.runAsUser) || psc.runAsUser <= 0)
    fail(w, "pod securityContext.runAsUser is not a numeric non-root user");
  if (psc.seccompProfile?.type !== "RuntimeDefault")
    fail(w, "pod seccompProfile is not RuntimeDefault");
  for (const c of allContainers(spec)) {
    const sc = c.securityContext ?? {};
    const cw = `${w} container ${c.name}`;
    if (sc.readOnlyRootFilesystem !== true) fail(cw, "root filesystem not read-only");
    if (sc.allowPrivilegeEscalation !== false) fail(cw, "privilege escalation allowed");
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) fail(cw, "capabilities not dropped (ALL)");
    for (const r of ["requests", "limits"])
      for (const x of ["cpu", "memory"])
        if (!c.resources?.[r]?.[x]) fail(cw, `no resources.${r}.${x}`);
  }
}

// $(VAR) in env values, command and args must name an env var defined
// earlier in the same container, or Kubernetes leaves the text as is.
function checkVarRefs(w, c) {
  const defined = new Set();
  const refs = (s, what) => {
    for (const m of String(s).matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g))
      if (!defined.has(m[1])) fail(`${w} container ${c.name}`, `${what} uses $(${m[1]}) before it is defined`);
  };
  for (const e of c.env ?? []) {
    if (e.value !== undefined) refs(e.value, `env ${e.name}`);
    if (/PASSWORD$/.test(e.name) && e.value !== undefined)
      fail(`${w} container ${c.name}`, `env ${e.name} holds a literal password`);
    defined.add(e.name);
  }
  for (const s of [...(c.command ?? []), ...(c.args ?? [])]) refs(s, "command");
}

function checkVolumes(w, spec, claims) {
  const vols = new Set([...(spec.volumes ?? []).map((v) => v.name), ...claims]);
  for (const c of allContainers(spec))
    for (const m of c.volumeMounts ?? [])
      if (!vols.has(m.name)) fail(`${w} container ${c.name}`, `mounts unknown volume ${m.name}`);
}

function portOf(c, p) {
  if (typeof p === "number") return p;
  return (c.ports ?? []).find((x) => x.name === p)?.containerPort;
}

function checkProbes(w, c) {
  for (const kind of ["startupProbe", "livenessProbe", "readinessProbe"]) {
    const pr = c[kind];
    const port = pr?.httpGet?.port ?? pr?.tcpSocket?.port;
    if (port !== undefined && portOf(c, port) === undefined)
      fail(`${w} container ${c.name}`, `${kind} port ${port} is not a container port`);
  }
}

function env(c, name) {
  return (c.env ?? []).find((e) => e.name === name)?.value;
}

function checkStatefulSet(d) {
  const w = where(d);
  const s = d.doc.spec;
  const pod = s.template?.metadata?.labels ?? {};
  const spec = s.template?.spec ?? {};
  if (s.replicas !== 3) fail(w, "replicas is not 3");
  if (s.podManagementPolicy !== "Parallel") fail(w, "podManagementPolicy is not Parallel");
  if (!matches(s.selector?.matchLabels, pod)) fail(w, "selector does not match the pod labels");
  const svc = ofKind("Service").find((x) => x.doc.metadata.name === s.serviceName);
  if (!svc) fail(w, `serviceName ${s.serviceName}: no such Service`);
  else {
    if (svc.doc.spec.clusterIP !== "None") fail(w, `Service ${s.serviceName} is not headless`);
    if (svc.doc.spec.publishNotReadyAddresses !== true)
      fail(w, `Service ${s.serviceName} does not publish not-ready addresses`);
  }
  const pdb = ofKind("PodDisruptionBudget").find((x) => matches(x.doc.spec.selector?.matchLabels, pod));
  if (!pdb) fail(w, "no PodDisruptionBudget selects its pods");
  else if (pdb.doc.spec.maxUnavailable !== 1) fail(w, "its PodDisruptionBudget has maxUnavailable != 1");
  const anti = spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
  if (!anti.some((t) => t.topologyKey === "kubernetes.io/hostname" && matches(t.labelSelector?.matchLabels, pod)))
    fail(w, "no required pod anti-affinity per node");
  checkSecurity(w, spec);
  checkVolumes(w, spec, (s.volumeClaimTemplates ?? []).map((v) => v.metadata.name));
  for (const c of allContainers(spec)) {
    checkVarRefs(w, c);
    checkProbes(w, c);
  }
}

function stsByApp(app) {
  return ofKind("StatefulSet").find((x) => x.doc.spec.template?.metadata?.labels?.["app.kubernetes.io/name"] === app);
}

const podName = (sts, i) => `${sts.metadata.name}-${i}.${sts.spec.serviceName}.$(POD_NAMESPACE).svc`;

function checkAgents(agents, redis) {
  const w = where(agents);
  const s = agents.doc.spec;
  const c = s.template.spec.containers[0];
  const http = portOf(c, "http");
  if (http !== 26380) fail(w, "the http port is not 26380");
  if (portOf(c, "api") !== 26379) fail(w, "the api port is not 26379");
  if (c.livenessProbe?.httpGet?.path !== "/healthz") fail(w, "liveness is not httpGet /healthz");
  if (c.readinessProbe?.httpGet?.path !== "/readyz") fail(w, "readiness is not httpGet /readyz");
  if (!env(c, "RSM_ID_FROM_HOSTNAME") && !env(c, "RSM_ID")) fail(w, "no agent id (RSM_ID_FROM_HOSTNAME)");
  const raft = portOf(c, "raft");
  const want = Array.from({ length: s.replicas }, (_, i) => `${i + 1}=${podName(agents.doc, i)}:${raft}`).join(",");
  if (env(c, "RSM_PEERS") !== want) fail(w, `RSM_PEERS is not ${want}`);
  const mounts = c.volumeMounts ?? [];
  const inSecret = (file) => file && mounts.some((m) => file.startsWith(m.mountPath + "/") &&
      (s.template.spec.volumes ?? []).some((v) => v.name === m.name && v.secret));
  if (!inSecret(env(c, "RSM_REDIS_PASSWORD_FILE")))
    fail(w, "RSM_REDIS_PASSWORD_FILE is not in a mounted Secret");
  // the Raft port is authenticated, from a file (never a plain variable)
  if (!inSecret(env(c, "RSM_CLUSTER_SECRET_FILE")))
    fail(w, "RSM_CLUSTER_SECRET_FILE is not in a mounted Secret");
  if ((c.env ?? []).some((e) => e.name === "RSM_CLUSTER_SECRET"))
    fail(w, "RSM_CLUSTER_SECRET is set: mount the secret as a file instead");
  const dataDir = env(c, "RSM_DATA_DIR");
  if (!mounts.some((m) => m.mountPath === dataDir && (s.volumeClaimTemplates ?? []).some((v) => v.metadata.name === m.name)))
    fail(w, "RSM_DATA_DIR is not on a PersistentVolumeClaim");
  if (redis) {
    const rc = redis.doc.spec.template.spec.containers[0];
    const members = Array.from({ length: redis.doc.spec.replicas }, (_, i) => `${podName(redis.doc, i)}:${portOf(rc, "redis")}`);
    const mon = env(c, "RSM_MONITOR") ?? "";
    const m = /^([^=]+)=(.*)$/.exec(mon);
    if (!m || m[2] !== members.join(",")) fail(w, `RSM_MONITOR does not list ${members.join(",")}`);
    checkRedis(redis, agents, m ? m[1] : null);
  }
}

function checkRedis(redis, agents, group) {
  const w = where(redis);
  const c = redis.doc.spec.template.spec.containers[0];
  const cmd = [...(c.command ?? []), ...(c.args ?? [])];
  const arg = (flag) => cmd[cmd.indexOf(flag) + 1];
  if (cmd[0] !== "rsmctl" || cmd[1] !== "redis-boot") fail(w, "Redis is not started through rsmctl redis-boot");
  if (!cmd.includes("--") || cmd[cmd.indexOf("--") + 1] !== "redis-server") fail(w, "no -- redis-server");
  if (arg("--group") !== group) fail(w, `--group is not ${group}`);
  const self = `$(POD_NAME).${redis.doc.spec.serviceName}.$(POD_NAMESPACE).svc:${portOf(c, "redis")}`;
  if (arg("--self") !== self) fail(w, `--self is not ${self}`);
  const ac = agents.doc.spec.template.spec.containers[0];
  const want = Array.from({ length: agents.doc.spec.replicas }, (_, i) => `${podName(agents.doc, i)}:${portOf(ac, "api")}`).join(",");
  if (arg("--agents") !== want) fail(w, `--agents is not ${want}`);
  const cm = ofKind("ConfigMap").find((x) => (redis.doc.spec.template.spec.volumes ?? []).some((v) => v.configMap?.name === x.doc.metadata.name));
  if (!cm || !/^repl-ping-replica-period 1$/m.test(cm.doc.data?.["redis.conf"] ?? ""))
    fail(w, "its config has no repl-ping-replica-period 1");
}

function podsSelectedBy(selector) {
  return ofKind("StatefulSet").filter((x) => matches(selector, x.doc.spec.template?.metadata?.labels));
}

function checkServices() {
  for (const d of ofKind("Service")) {
    const pods = podsSelectedBy(d.doc.spec.selector);
    if (!pods.length) {
      // a selector on a label that a hook sets later (rsm.io/role)
      const base = { ...d.doc.spec.selector };
      delete base["rsm.io/role"];
      if (!podsSelectedBy(base).length) fail(where(d), "selects no pods");
      continue;
    }
    for (const p of d.doc.spec.ports ?? []) {
      const ok = pods.some((x) => x.doc.spec.template.spec.containers.some((c) => portOf(c, p.targetPort ?? p.port) !== undefined));
      if (!ok) fail(where(d), `targetPort ${p.targetPort} is no container port`);
    }
  }
}

function checkNetworkPolicies() {
  for (const d of ofKind("NetworkPolicy")) {
    const pods = podsSelectedBy(d.doc.spec.podSelector?.matchLabels);
    if (!pods.length) fail(where(d), "selects no pods");
    const ports = new Set(pods.flatMap((x) => x.doc.spec.template.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.containerPort))));
    for (const rule of d.doc.spec.ingress ?? []) {
      for (const p of rule.ports ?? []) {
        if (!ports.has(p.port)) fail(where(d), `port ${p.port} is no container port of the selected pods`);
        if (p.port === 7000) {
          const onlyAgents = (rule.from ?? []).every((f) => f.podSelector?.matchLabels?.["app.kubernetes.io/name"] === "rsm-agent" && !f.namespaceSelector);
          if (!onlyAgents) fail(where(d), "the Raft port is open to more than the agents");
        }
      }
    }
  }
}

// ---------------------------------------------------------------------

async function main() {
  const dir = process.argv[2];
  if (!dir) {
    console.error("usage: node validate.mjs DIR");
    process.exit(2);
  }
  const files = yamlFiles(dir);
  for (const f of files) {
    let loaded;
    try {
      loaded = yaml.loadAll(fs.readFileSync(f, "utf8"));
    } catch (e) {
      fail(path.relative(dir, f), `YAML: ${e.message.split("\n")[0]}`);
      continue;
    }
    loaded.forEach((doc, index) => {
      if (doc != null) docs.push({ file: path.relative(dir, f), dir: path.dirname(f), index, doc });
    });
  }
  for (const d of docs) {
    if (typeof d.doc !== "object" || !d.doc.apiVersion || !d.doc.kind) {
      fail(where(d), "not a Kubernetes object (no apiVersion or kind)");
      continue;
    }
    if (d.doc.kind === "Kustomization") {
      checkKustomization(d, d.dir);
      continue;
    }
    const Model = await modelOf(d.doc.apiVersion, d.doc.kind);
    if (!Model) {
      fail(where(d), `unknown apiVersion/kind ${d.doc.apiVersion} ${d.doc.kind}`);
      continue;
    }
    try {
      new Model(d.doc).validate();
    } catch (e) {
      fail(where(d), `schema: ${String(e.message).split("\n").slice(0, 4).join("; ")}`);
    }
  }
  if (errors.length === 0) {
    for (const d of ofKind("StatefulSet")) checkStatefulSet(d);
    const agents = stsByApp("rsm-agent");
    if (!agents) fail(dir, "no StatefulSet of rsm-agent pods");
    else checkAgents(agents, stsByApp("redis"));
    checkServices();
    checkNetworkPolicies();
  }
  for (const e of errors) console.log(e);
  if (errors.length) {
    console.log(`FAILED: ${errors.length} problem(s) in ${docs.length} documents`);
    process.exit(1);
  }
  const kinds = {};
  for (const d of docs) kinds[d.doc.kind] = (kinds[d.doc.kind] ?? 0) + 1;
  console.log(`ok: ${docs.length} documents in ${files.length} files valid (${Object.entries(kinds).map(([k, n]) => `${n} ${k}`).join(", ")})`);
}

main();
