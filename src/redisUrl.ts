/**
 * What REDIS_URL names: one Redis (any URL ioredis takes, e.g.
 * `redis://:pass@host:6379/0`, `rediss://…` for TLS) or a Redis Cluster,
 * `redis+cluster://[user:pass@]host1:6379,host2:6379` (`rediss+cluster://`
 * for TLS). A cluster's nodes are where discovery starts: one reachable node
 * is enough, the others are found from it.
 */
export type RedisTarget =
  | { kind: "single"; url: string }
  | {
      kind: "cluster";
      nodes: { host: string; port: number }[];
      username: string | undefined;
      password: string | undefined;
      tls: boolean;
    };

const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#@]+)\/?$/;
const NODE = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/;
const DEFAULT_PORT = 6379;

/** Parses REDIS_URL; throws with a reason when a cluster URL is malformed. */
export function parseRedisUrl(url: string): RedisTarget {
  if (!/^rediss?\+cluster:/.test(url)) return { kind: "single", url };
  const match = CLUSTER_URL.exec(url);
  if (!match)
    throw new Error(`"${redactRedisUrl(url)}" is not redis+cluster://[user:pass@]host:port,host:port`);
  const [, scheme, auth, hosts = ""] = match;
  const nodes = hosts.split(",").map((text) => {
    const node = NODE.exec(text.trim());
    const port = Number(node?.[3] ?? DEFAULT_PORT);
    if (!node || port < 1 || port > 65_535) throw new Error(`"${text}" is not host:port in REDIS_URL`);
    return { host: node[1] ?? node[2] ?? "", port };
  });
  const [username = "", password] = auth === undefined ? [] : auth.split(/:(.*)/s);
  return {
    kind: "cluster",
    nodes,
    username: username ? decodeURIComponent(username) : undefined,
    password: password ? decodeURIComponent(password) : undefined,
    tls: scheme === "rediss",
  };
}

/** REDIS_URL with its password hidden, for messages and logs. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/[^:@/]*:)[^@]*@/, "$1***@");
}
