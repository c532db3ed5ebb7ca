import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { parseConfigText } from "../../src/config/load.js";
import {
  DEFAULT_HTTP_PORT,
  type HttpServer,
  startHttpServer,
} from "../../src/runtime/http/server.js";
import { createLogger } from "../../src/runtime/infra/logger.js";
import { DEFAULT_SHUTDOWN_GRACE_MS } from "../../src/runtime/infra/shutdown.js";
import { daemonStatus } from "../runtime/http/statusPageFixture.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const K8S = `${ROOT}deploy/kubernetes/`;

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML, checked field by field
type Manifest = any;

/** Every document of every manifest in a directory, by kind. */
function manifests(dir: string): Map<string, Manifest> {
  const byKind = new Map<string, Manifest>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".yaml"))) {
    for (const doc of parseAllDocuments(readFileSync(dir + file, "utf8"))) {
      expect(doc.errors, file).toEqual([]);
      const m = doc.toJS();
      expect(byKind.has(m.kind), `one ${m.kind} in ${dir}`).toBe(false);
      byKind.set(m.kind, m);
    }
  }
  return byKind;
}

/** The Dockerfile's runtime stage: instruction -> arguments, continuation lines joined. */
function runtimeStage(): { op: string; args: string }[] {
  const text = readFileSync(`${ROOT}Dockerfile`, "utf8").replace(/\\\n/g, " ");
  const lines = text.split("\n").filter((l) => l.trim() !== "" && !l.trim().startsWith("#"));
  const start = lines.findIndex((l) => /^FROM .* AS runtime$/.test(l.trim()));
  return lines.slice(start + 1).map((l) => {
    const [op = "", ...rest] = l.trim().split(/\s+/);
    return { op, args: rest.join(" ") };
  });
}

const stage = runtimeStage();
const dockerArgs = (op: string) => stage.filter((i) => i.op === op).map((i) => i.args);
/** ENV NAME=value pairs of the runtime stage. */
const dockerEnv = new Map(
  dockerArgs("ENV").flatMap((a) =>
    [...a.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1] as string, m[2] as string]),
  ),
);

const base = manifests(K8S);
const operator = manifests(`${K8S}prometheus-operator/`);
const deployment = base.get("Deployment");
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const env = new Map<string, string>(
  container.env.map((e: { name: string; value: string }) => [e.name, e.value]),
);
const mountAt = (path: string) =>
  container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === path);
const volume = (name: string) => pod.volumes.find((v: { name: string }) => v.name === name);

describe("deploy/kubernetes", () => {
  describe("kustomization.yaml", () => {
    it("lists every manifest of its directory, and the operator overlay builds on it", () => {
      const listed = (dir: string) => manifests(dir).get("Kustomization").resources as string[];
      const files = (dir: string) =>
        readdirSync(dir).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
      expect([...listed(K8S)].sort()).toEqual(files(K8S).sort());
      const overlay = listed(`${K8S}prometheus-operator/`);
      expect(overlay).toContain("../");
      expect(overlay.filter((r) => r !== "../").sort()).toEqual(
        files(`${K8S}prometheus-operator/`).sort(),
      );
    });

    it("sets the image named in the Deployment to the package's version", () => {
      const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8"));
      const images = base.get("Kustomization").images;
      expect(images).toEqual([expect.objectContaining({ name: container.image })]);
      expect(images[0].newTag).toBe(pkg.version);
    });
  });

  describe("Deployment", () => {
    it("runs one replica and never two during a rollout", () => {
      expect(deployment.spec.replicas).toBe(1);
      expect(deployment.spec.strategy).toEqual({ type: "Recreate" });
    });

    it("runs the image's own command", () => {
      const cmd = JSON.parse(dockerArgs("CMD")[0] as string);
      expect(container.args).toEqual(cmd);
      expect(container.command).toBeUndefined();
    });

    it("runs as the image's user, non-root, read-only, with no capabilities", () => {
      const [uid, gid] = (dockerArgs("USER")[0] as string).split(":").map(Number);
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: gid,
        fsGroup: gid,
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(container.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        privileged: false,
        capabilities: { drop: ["ALL"] },
      });
    });

    it("listens where the image and the daemon do, on a port named http", () => {
      const exposed = Number(dockerArgs("EXPOSE")[0]);
      expect(exposed).toBe(DEFAULT_HTTP_PORT);
      expect(container.ports).toEqual([
        { name: "http", containerPort: DEFAULT_HTTP_PORT, protocol: "TCP" },
      ]);
      expect(env.get("KEEPWARM_HTTP_PORT")).toBe(String(DEFAULT_HTTP_PORT));
      expect(env.get("KEEPWARM_HTTP_PORT")).toBe(dockerEnv.get("KEEPWARM_HTTP_PORT"));
      expect(env.get("KEEPWARM_HTTP_HOST")).toBe("0.0.0.0");
      expect(env.get("KEEPWARM_HTTP_HOST")).toBe(dockerEnv.get("KEEPWARM_HTTP_HOST"));
      expect(deployment.spec.template.metadata.annotations["prometheus.io/port"]).toBe(
        String(DEFAULT_HTTP_PORT),
      );
    });

    it("mounts the ConfigMap as the directory the command reads, never with subPath", () => {
      const configPath = container.args[container.args.indexOf("--config") + 1] as string;
      const dir = configPath.slice(0, configPath.lastIndexOf("/"));
      const file = configPath.slice(dir.length + 1);
      const mount = mountAt(dir);
      expect(mount).toMatchObject({ name: "config", readOnly: true });
      expect(volume(mount.name).configMap.name).toBe(base.get("ConfigMap").metadata.name);
      expect(Object.keys(base.get("ConfigMap").data)).toEqual([file]);
      for (const m of container.volumeMounts) expect(m.subPath, m.mountPath).toBeUndefined();
    });

    it("keeps its state on a volume at the image's state directory", () => {
      const stateDir = dockerEnv.get("KEEPWARM_STATE_DIR") as string;
      expect(dockerArgs("VOLUME")[0]).toBe(JSON.stringify([stateDir]));
      expect(env.get("KEEPWARM_STATE_DIR")).toBe(stateDir);
      expect(mountAt(stateDir).readOnly).toBeUndefined();
      expect(mountAt("/tmp"), "a writable /tmp on the read-only root").toBeDefined();
    });

    it("keeps the state across pods on a small ReadWriteOnce claim, one pod at a time", () => {
      // An emptyDir would lose the learned timings and announced budget crossings too.
      const v = volume(mountAt(dockerEnv.get("KEEPWARM_STATE_DIR") as string).name);
      expect(v.emptyDir).toBeUndefined();
      const claim = base.get("PersistentVolumeClaim");
      expect(v.persistentVolumeClaim).toEqual({ claimName: claim.metadata.name });
      expect(claim.spec.accessModes).toEqual(["ReadWriteOnce"]);
      expect(claim.spec.resources.requests.storage).toMatch(/^\d+(Mi|Gi)$/);
      expect(deployment.spec.replicas).toBe(1);
      expect(deployment.spec.strategy.type, "RWO: the old pod must let go first").toBe("Recreate");
    });

    it("takes the page's token from an optional Secret, never from the manifest", () => {
      const token = container.env.find((e: { name: string }) => e.name === "KEEPWARM_HTTP_TOKEN");
      expect(token.value).toBeUndefined();
      expect(token.valueFrom.secretKeyRef).toMatchObject({ key: "token", optional: true });
    });

    it("gives an in-flight ping its shutdown grace before the kill", () => {
      expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(DEFAULT_SHUTDOWN_GRACE_MS);
    });

    it("asks for memory above the peak RSS BENCHMARKS.md measured with Node's defaults", () => {
      const bench = readFileSync(`${ROOT}BENCHMARKS.md`, "utf8");
      const row = /^\| defaults \|[^|]*\| (\d+)-(\d+) MB \|/m.exec(bench);
      expect(row, "the daemon benchmark's defaults row").not.toBeNull();
      const peakBytes = Number(row?.[2]) * 1e6;
      const mi = (q: string) => Number(/^(\d+)Mi$/.exec(q)?.[1]) * 2 ** 20;
      const { requests, limits } = container.resources;
      expect(mi(limits.memory)).toBeGreaterThan(peakBytes);
      expect(mi(requests.memory)).toBeLessThanOrEqual(mi(limits.memory));
      expect(requests.cpu).toBeDefined();
      expect(limits.cpu).toBeDefined();
    });

    it("runs as the ServiceAccount that carries the IRSA role", () => {
      const sa = base.get("ServiceAccount");
      expect(pod.serviceAccountName).toBe(sa.metadata.name);
      expect(sa.metadata.annotations["eks.amazonaws.com/role-arn"]).toMatch(
        /^arn:aws:iam::\d{12}:role\/[\w+=,.@-]+$/,
      );
    });
  });

  describe("probes and scrape paths against the daemon's HTTP server, with the page's token set", () => {
    let ready = false;
    let server: HttpServer;
    beforeAll(async () => {
      server = await startHttpServer({
        port: 0,
        registry: new Registry(),
        status: () => daemonStatus({ models: [], ready, firstReconcileDone: ready }),
        logger: createLogger({ level: "silent" }),
        token: "0123456789abcdef0123456789abcdef",
      });
    });
    afterAll(() => server.close());
    const status = async (path: string) => (await fetch(server.url + path)).status;

    it("liveness and start-up answer /healthz at once", async () => {
      for (const probe of [container.livenessProbe, container.startupProbe]) {
        expect(probe.httpGet.port).toBe("http");
        expect(await status(probe.httpGet.path)).toBe(200);
      }
    });

    it("readiness fails until the first reconcile, then passes", async () => {
      const path = container.readinessProbe.httpGet.path;
      ready = false;
      expect(await status(path)).toBe(503);
      ready = true;
      expect(await status(path)).toBe(200);
    });

    it("the scrape annotation and the ServiceMonitor point at /metrics", async () => {
      const path = deployment.spec.template.metadata.annotations["prometheus.io/path"];
      expect(await status(path)).toBe(200);
      const endpoint = operator.get("ServiceMonitor").spec.endpoints[0];
      expect(endpoint.path).toBe(path);
      expect(await status("/no-such-probe")).toBe(404);
      expect(await status("/"), "the page, not a probe, needs the token").toBe(401);
    });
  });

  describe("Service and ServiceMonitor", () => {
    it("select the Deployment's pods and its http port", () => {
      const service = base.get("Service");
      const podLabels = deployment.spec.template.metadata.labels;
      expect(deployment.spec.selector.matchLabels).toEqual(service.spec.selector);
      expect(podLabels).toMatchObject(service.spec.selector);
      expect(service.spec.ports).toEqual([
        { name: "http", port: DEFAULT_HTTP_PORT, targetPort: "http", protocol: "TCP" },
      ]);
      const monitor = operator.get("ServiceMonitor");
      expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
      expect(monitor.spec.endpoints.map((e: { port: string }) => e.port)).toEqual(["http"]);
    });

    it("name the scrape job keepwarm, the job the alerting rules select", () => {
      // The Operator names a ServiceMonitor's job after the Service.
      expect(base.get("Service").metadata.name).toBe("keepwarm");
      const rules = readFileSync(`${ROOT}deploy/monitoring/keepwarm.rules.yaml`, "utf8");
      const jobs = new Set([...rules.matchAll(/job="([^"]+)"/g)].map((m) => m[1]));
      expect([...jobs]).toEqual(["keepwarm"]);
    });
  });

  describe("ConfigMap", () => {
    it("holds a keepwarm.yaml that keepwarm accepts", () => {
      const text = base.get("ConfigMap").data["keepwarm.yaml"];
      const result = parseConfigText(text, "configmap.yaml#keepwarm.yaml");
      expect(result.ok ? [] : result.problems).toEqual([]);
    });

    it("leaves the timings to auto, as the main sample config does", () => {
      const ours = parse(base.get("ConfigMap").data["keepwarm.yaml"]).defaults;
      const sample = parse(readFileSync(`${ROOT}config/keepwarm.yaml`, "utf8")).defaults;
      for (const key of ["cadence", "leadTime", "evictionDelay"]) {
        expect(ours[key], key).toBe("auto");
        expect(ours[key], key).toBe(sample[key]);
      }
    });
  });

  describe("NetworkPolicy", () => {
    const policy = base.get("NetworkPolicy");
    const rule0 = () => policy.spec.ingress[0];

    it("selects the Deployment's pods and lets in only the scrapers, on its http port", () => {
      expect(deployment.spec.template.metadata.labels).toMatchObject(
        policy.spec.podSelector.matchLabels,
      );
      expect(policy.spec.podSelector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
      expect(policy.spec.policyTypes).toEqual(["Ingress"]);
      expect(policy.spec.ingress).toHaveLength(1);
      const [rule] = policy.spec.ingress;
      const ports = container.ports.map((p: { name: string }) => p.name);
      expect(rule.ports).toEqual([{ port: "http", protocol: "TCP" }]);
      expect(ports).toContain(rule.ports[0].port);
      // One peer with both selectors: pods of that label in that namespace, not either.
      expect(rule.from).toHaveLength(1);
      const [peer] = rule.from;
      expect(Object.keys(peer).sort()).toEqual(["namespaceSelector", "podSelector"]);
      expect(Object.keys(peer.namespaceSelector.matchLabels).length).toBeGreaterThan(0);
      expect(Object.keys(peer.podSelector.matchLabels).length).toBeGreaterThan(0);
    });

    it("is named in the install guide with how to fit its selectors", () => {
      const install = readFileSync(`${ROOT}docs/install.md`, "utf8");
      const section = install.slice(
        install.indexOf("## Kubernetes"),
        install.indexOf("## Plain npm"),
      );
      expect(section).toContain("networkpolicy.yaml");
      for (const [key, value] of Object.entries({
        ...rule0().from[0].namespaceSelector.matchLabels,
        ...rule0().from[0].podSelector.matchLabels,
      })) {
        expect(section).toContain(`${key}: ${value}`);
      }
      expect(section).toContain("KEEPWARM_HTTP_TOKEN");
      expect(section).toMatch(/loopback/);
    });
  });

  describe("PrometheusRule", () => {
    it("holds exactly the rules of deploy/monitoring/keepwarm.rules.yaml", () => {
      const rules = parse(readFileSync(`${ROOT}deploy/monitoring/keepwarm.rules.yaml`, "utf8"));
      expect(operator.get("PrometheusRule").spec.groups).toEqual(rules.groups);
    });
  });
});
