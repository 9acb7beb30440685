import { readFile } from "node:fs/promises";
import { parse, parseAllDocuments } from "yaml";

const DEPLOY = new URL("../../deploy/", import.meta.url);

export type ComposeService = {
  image?: string;
  command?: string[];
  environment?: Record<string, string | number | boolean>;
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: unknown;
};

/** deploy/compose.yaml's services, anchors and merge keys resolved. */
export async function composeServices(): Promise<Record<string, ComposeService>> {
  const text = await readFile(new URL("compose.yaml", DEPLOY), "utf8");
  return (parse(text, { merge: true }) as { services: Record<string, ComposeService> }).services;
}

/** What the Dockerfile's final stage gives every container: its ENTRYPOINT, ENV and HEALTHCHECK command. */
export async function imageDefaults(): Promise<{
  entrypoint: string[];
  env: Record<string, string>;
  healthcheck: string[];
}> {
  const text = await readFile(new URL("Dockerfile", DEPLOY), "utf8");
  const finalStage = text.slice(text.lastIndexOf("\nFROM "));
  const instructions = finalStage.replace(/\\\n\s*/g, " ").split("\n");
  const env: Record<string, string> = {};
  let entrypoint: string[] = [];
  let healthcheck: string[] = [];
  for (const line of instructions) {
    const [instruction, ...rest] = line.trim().split(/\s+/);
    if (instruction === "ENV") {
      for (const pair of rest) {
        const [name, value] = pair.split("=") as [string, string];
        env[name] = value;
      }
    }
    if (instruction === "ENTRYPOINT") entrypoint = JSON.parse(rest.join(" ")) as string[];
    if (instruction === "HEALTHCHECK")
      healthcheck = JSON.parse(line.slice(line.indexOf(" CMD ") + 5)) as string[];
  }
  return { entrypoint, env, healthcheck };
}

export type K8sObject = {
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
};

/** Every object of every manifest in deploy/k8s/. */
export async function k8sObjects(files: string[]): Promise<K8sObject[]> {
  const objects: K8sObject[] = [];
  for (const file of files) {
    const text = await readFile(new URL(`k8s/${file}`, DEPLOY), "utf8");
    for (const doc of parseAllDocuments(text)) if (doc.contents) objects.push(doc.toJS() as K8sObject);
  }
  return objects;
}
