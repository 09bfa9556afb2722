import type { RedisConfig, RedisNode, RedisTopology } from '../../config/app-config';
import { type ConfigContext, defineSlice, integer, text } from '../../config/config-slice';

/** `host:port`, the host a name, an IPv4 address or a bracketed IPv6 address. */
const NODE = String.raw`(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}`;
const NODE_LIST = new RegExp(String.raw`^\s*${NODE}(?:\s*,\s*${NODE})*\s*$`);

/** The three ways to name a Redis; at most one of them may be set. */
const TOPOLOGY_VARIABLES = ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const;

/** The shared store: several instances share state through Redis; without it, one instance keeps it in memory. */
export const storeConfig = defineSlice({
  title: 'Shared store (Redis)',
  variables: {
    REDIS_URL: text({
      defaultDoc: 'none (state in memory: one instance only)',
      format: '`redis://[:password@]host:6379/0` or `rediss://…`',
      pattern: /^rediss?:\/\//,
      invalid: 'must start with redis:// or rediss://',
      operator: true,
      // It may carry the Redis password.
      secret: true,
      description:
        'shared state for several instances: login-code ledger, WeChat minute-quota stop, interface ' +
        'access_token cache and its lock, phone-lookup caps, rate limits, revocations, sandbox state. One ' +
        'Redis server; for a Sentinel-monitored master set `REDIS_SENTINELS` instead, for a Redis Cluster ' +
        '`REDIS_CLUSTER_NODES` (at most one of the three)',
    }),
    REDIS_SENTINELS: text({
      defaultDoc: 'none',
      format: '`host:port,host:port,…` (sentinels, usually port 26379)',
      pattern: NODE_LIST,
      invalid: 'must be a comma-separated list of host:port',
      operator: true,
      description:
        'Redis behind Sentinel (high availability): the sentinels to ask for the current master of ' +
        '`REDIS_SENTINEL_MASTER`. After a failover the service follows the promoted replica by itself; shared-state ' +
        'routes answer `503` with `Retry-After` meanwhile. Instead of `REDIS_URL`',
    }),
    REDIS_SENTINEL_MASTER: text({
      defaultDoc: 'none (required with `REDIS_SENTINELS`)',
      format: 'the master group name of `sentinel monitor`',
      pattern: /^[A-Za-z0-9_.-]{1,128}$/,
      invalid: 'must be 1-128 characters of [A-Za-z0-9_.-]',
      operator: true,
      description: 'the master group name the sentinels monitor (`sentinel monitor <name> …`)',
    }),
    REDIS_SENTINEL_PASSWORD: text({
      defaultDoc: 'none (sentinels without AUTH)',
      format: 'text',
      operator: true,
      secret: true,
      description:
        'the password of the sentinels themselves (`requirepass` in sentinel.conf), with `REDIS_SENTINELS`',
    }),
    REDIS_CLUSTER_NODES: text({
      defaultDoc: 'none',
      format: '`host:port,host:port,…` (some cluster nodes; the rest are discovered)',
      pattern: NODE_LIST,
      invalid: 'must be a comma-separated list of host:port',
      operator: true,
      description:
        'Redis Cluster: nodes to discover the cluster from (one reachable node is enough; list several). Keys ' +
        'are spread over the masters; revocations are published cluster-wide. Instead of `REDIS_URL`',
    }),
    REDIS_PASSWORD: text({
      defaultDoc: 'none (no AUTH)',
      format: 'text',
      operator: true,
      secret: true,
      description:
        'the Redis password (`requirepass`) of the master and replicas with `REDIS_SENTINELS`, of every node ' +
        'with `REDIS_CLUSTER_NODES`. With `REDIS_URL` the password goes in the URL',
    }),
    REDIS_KEY_PREFIX: text({
      default: 'wxauth:',
      format: '1–64 characters of `[A-Za-z0-9:_.-]`',
      pattern: /^[A-Za-z0-9:_.-]{1,64}$/,
      invalid: 'must be 1-64 characters of [A-Za-z0-9:_.-]',
      description: 'prefix of every key, so deployments can share one Redis',
    }),
    REDIS_OUTAGE_GRACE_S: integer({
      default: 30,
      min: 0,
      max: 86400,
      unit: 'seconds',
      mustBe: 'whole seconds',
      description:
        'an instance whose revocation feed from Redis broke keeps accepting access tokens from its in-memory ' +
        'copy this long; then Bearer routes and refresh answer `503 SERVICE_UNAVAILABLE` until the feed is back ' +
        'and re-read. `0`: fail closed at once',
    }),
  },
  build: (v, ctx): { redis: RedisConfig } | undefined => {
    const topology = redisTopology(v, ctx);
    if (topology === false) return undefined;
    return {
      redis: {
        url: v.REDIS_URL,
        topology,
        keyPrefix: v.REDIS_KEY_PREFIX,
        outageGraceSeconds: v.REDIS_OUTAGE_GRACE_S,
      },
    };
  },
});

interface TopologyValues {
  readonly REDIS_URL?: string;
  readonly REDIS_SENTINELS?: string;
  readonly REDIS_SENTINEL_MASTER?: string;
  readonly REDIS_SENTINEL_PASSWORD?: string;
  readonly REDIS_CLUSTER_NODES?: string;
  readonly REDIS_PASSWORD?: string;
}

/**
 * Which Redis, from the variables that name one (undefined: none, the in-process store); false when they
 * do not fit together, after reporting every inconsistency (all of them, not the first).
 */
export function redisTopology(
  v: TopologyValues,
  ctx: Pick<ConfigContext, 'problem'>,
): RedisTopology | undefined | false {
  let ok = true;
  const problem = (message: string) => {
    ok = false;
    ctx.problem(message);
  };
  const set = TOPOLOGY_VARIABLES.filter((name) => v[name] !== undefined);
  if (set.length > 1)
    problem(
      'REDIS_URL (one server), REDIS_SENTINELS (Sentinel) and REDIS_CLUSTER_NODES (Cluster) each name the ' +
        `Redis to use: set at most one of them (set: ${set.join(', ')})`,
    );
  if (v.REDIS_SENTINELS === undefined) {
    if (v.REDIS_SENTINEL_MASTER !== undefined)
      problem('REDIS_SENTINEL_MASTER is only used with REDIS_SENTINELS');
    if (v.REDIS_SENTINEL_PASSWORD !== undefined)
      problem('REDIS_SENTINEL_PASSWORD is only used with REDIS_SENTINELS');
  } else if (v.REDIS_SENTINEL_MASTER === undefined)
    problem(
      'REDIS_SENTINEL_MASTER is required with REDIS_SENTINELS: the master group name the sentinels monitor',
    );
  if (
    v.REDIS_PASSWORD !== undefined &&
    v.REDIS_SENTINELS === undefined &&
    v.REDIS_CLUSTER_NODES === undefined
  )
    problem(
      v.REDIS_URL !== undefined
        ? 'REDIS_PASSWORD is not used with REDIS_URL: put the password in the URL (redis://:password@host:6379)'
        : 'REDIS_PASSWORD is only used with REDIS_SENTINELS or REDIS_CLUSTER_NODES',
    );
  const sentinels =
    v.REDIS_SENTINELS === undefined ? [] : nodeList('REDIS_SENTINELS', v.REDIS_SENTINELS, problem);
  const nodes =
    v.REDIS_CLUSTER_NODES === undefined
      ? []
      : nodeList('REDIS_CLUSTER_NODES', v.REDIS_CLUSTER_NODES, problem);
  if (!ok) return false;
  if (v.REDIS_URL !== undefined) return { kind: 'single', url: v.REDIS_URL };
  if (v.REDIS_SENTINELS !== undefined)
    return {
      kind: 'sentinel',
      sentinels,
      masterName: v.REDIS_SENTINEL_MASTER as string,
      password: v.REDIS_PASSWORD,
      sentinelPassword: v.REDIS_SENTINEL_PASSWORD,
    };
  if (v.REDIS_CLUSTER_NODES !== undefined) return { kind: 'cluster', nodes, password: v.REDIS_PASSWORD };
  return undefined;
}

/** A `host:port` list that matched NODE_LIST: ports in range, no entry twice. */
function nodeList(name: string, raw: string, problem: (message: string) => void): RedisNode[] {
  const out: RedisNode[] = [];
  const seen = new Set<string>();
  for (const entry of raw.split(',').map((s) => s.trim())) {
    const i = entry.lastIndexOf(':');
    const host = entry.slice(0, i).replace(/^\[(.*)\]$/, '$1');
    const port = Number(entry.slice(i + 1));
    if (port < 1 || port > 65535) problem(`${name}: the port of ${entry} must be from 1 to 65535`);
    else if (seen.has(`${host}:${port}`)) problem(`${name} lists ${entry} twice`);
    else out.push({ host, port });
    seen.add(`${host}:${port}`);
  }
  return out;
}
