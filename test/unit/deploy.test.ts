import { describe, expect, it } from "vitest";
import { readSettings } from "../../scripts/config-docs.ts";
import { composeServices, imageDefaults, type K8sObject, k8sObjects } from "../support/deployFiles.ts";

const MANIFESTS = ["config.yaml", "secret.yaml", "migrate-job.yaml", "api.yaml", "worker.yaml"];

type Probe = { httpGet: { path: string; port: string } };
type Container = {
  args: string[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  envFrom: ({ configMapRef: { name: string } } | { secretRef: { name: string } })[];
};
type PodSpec = { containers: Container[]; securityContext?: { runAsNonRoot?: boolean } };

const podSpec = (object: K8sObject) => (object.spec as { template: { spec: PodSpec } }).template.spec;

describe("deploy/k8s", () => {
  it("lists every manifest in its kustomization", async () => {
    const [kustomization] = await k8sObjects(["kustomization.yaml"]);
    expect((kustomization as unknown as { resources: string[] }).resources).toEqual(MANIFESTS);
  });

  it("probes each role's /healthz (liveness) and /readyz (readiness) on the port the image gives it", async () => {
    const { env } = await imageDefaults();
    const deployments = (await k8sObjects(MANIFESTS)).filter((o) => o.kind === "Deployment");
    const portOf = { api: Number(env.PORT), worker: Number(env.WORKER_PORT) };
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(["hookpost-api", "hookpost-worker"]);
    for (const deployment of deployments) {
      const spec = podSpec(deployment);
      expect(spec.securityContext?.runAsNonRoot).toBe(true);
      const [container] = spec.containers;
      const role = container!.args[0] as keyof typeof portOf;
      const [port] = container!.ports ?? [];
      expect(port?.containerPort, deployment.metadata.name).toBe(portOf[role]);
      expect(container!.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: port!.name });
      expect(container!.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: port!.name });
    }
  });

  it("gives the migrate Job, the api and the worker the same settings", async () => {
    const objects = await k8sObjects(MANIFESTS);
    const pods = objects.filter((o) => o.kind === "Deployment" || o.kind === "Job").map(podSpec);
    expect(pods).toHaveLength(3);
    const settings = pods.map((pod) => pod.containers[0]!.envFrom);
    for (const envFrom of settings) expect(envFrom).toEqual(settings[0]);
    expect(pods.map((pod) => pod.containers[0]!.args)).toEqual([["migrate"], ["api"], ["worker"]]);
  });
});

describe("deploy files' settings", () => {
  it("name only variables src/config.ts knows", async () => {
    const known = new Set(readSettings().map((s) => s.name));
    const services = await composeServices();
    const hookpostServices = ["migrate", "api", "worker"].map((name) => services[name]!);
    const k8sSettings = (await k8sObjects(MANIFESTS)).filter(
      (o) => o.kind === "ConfigMap" || o.kind === "Secret",
    );
    const named = [
      ...Object.keys((await imageDefaults()).env).filter((name) => name !== "MALLOC_ARENA_MAX"),
      ...hookpostServices.flatMap((service) => Object.keys(service.environment ?? {})),
      ...k8sSettings.flatMap((o) => Object.keys({ ...o.data, ...o.stringData })),
    ];
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((name) => !known.has(name))).toEqual([]);
  });
});
