import { Logger } from '@nestjs/common';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { AppConfig, RedisNode, RedisTopology } from '../../config/app-config';
import type { Clock } from '../clock/clock';
import type { KvStore } from './kv-store';
import { MemoryKvStore } from './memory-kv-store';
import { RedisKvStore } from './redis-kv-store';

/**
 * Fail fast: a request waiting on a dead Redis should become a 503, not hang. Every command (also one
 * waiting for a connection) ends within commandTimeout; RedisKvStore refuses commands at once while the
 * connection is known to be down.
 */
const FAIL_FAST = { maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 1000 } as const;

/**
 * Commands issued in the same event-loop turn (by parallel requests) leave in one write: a login or a
 * refresh pays a socket write per round trip, and under load most of them share one (docs/benchmark.md).
 */
const PIPELINE = { enableAutoPipelining: true } as const;

/** Reconnect for ever, at most 2 s apart: recovery needs no restart. */
const reconnect = (attempt: number) => Math.min(attempt * 100, 2000);

export function createKvStore(config: AppConfig, clock: Clock): KvStore {
  const topology: RedisTopology | undefined =
    config.redis.topology ?? (config.redis.url ? { kind: 'single', url: config.redis.url } : undefined);
  if (!topology) return new MemoryKvStore(clock);
  const logger = new Logger('Redis');
  const secrets = secretsOfTopology(topology);
  switch (topology.kind) {
    case 'single': {
      const client = new Redis(topology.url, { ...FAIL_FAST, ...PIPELINE, retryStrategy: reconnect });
      logOutages(client, logger, secrets);
      return new RedisKvStore(client, config.redis.keyPrefix);
    }
    case 'sentinel': {
      const client = new Redis(sentinelOptions(topology));
      logOutages(client, logger, secrets);
      return new RedisKvStore(client, config.redis.keyPrefix);
    }
    case 'cluster': {
      const client = new Cluster(nodesOf(topology.nodes), {
        ...PIPELINE,
        redisOptions: { ...FAIL_FAST, password: topology.password },
        clusterRetryStrategy: reconnect,
        // A moved or failed-over slot is retried after this, up to maxRedirections times; RedisKvStore's
        // deadline bounds the whole call.
        retryDelayOnFailover: 100,
        retryDelayOnClusterDown: 100,
      });
      logOutages(client, logger, secrets);
      // "node error": one node's connection failed (the Cluster itself stays up for the other slots).
      client.on('node error', (err: Error) =>
        logger.debug(`redis cluster node error: ${redact(err.message, secrets)}`),
      );
      return new RedisKvStore(client, config.redis.keyPrefix, {}, () =>
        clusterSubscriber(client, topology.nodes, topology.password),
      );
    }
  }
}

/**
 * A Sentinel-monitored master: ioredis asks the sentinels for the master's address on every
 * (re)connection, so after a failover it reaches the promoted replica by itself.
 */
export function sentinelOptions(topology: Extract<RedisTopology, { kind: 'sentinel' }>): RedisOptions {
  return {
    ...FAIL_FAST,
    ...PIPELINE,
    sentinels: nodesOf(topology.sentinels),
    name: topology.masterName,
    password: topology.password,
    sentinelPassword: topology.sentinelPassword,
    // A sentinel that does not answer is skipped for the next one within this.
    sentinelCommandTimeout: 1000,
    retryStrategy: reconnect,
    // A failover the old master survives (SENTINEL FAILOVER, a network split) does not close our
    // connection: the sentinels' +switch-master makes ioredis reconnect to the new master at once, and a
    // write refused as READONLY (we reached a demoted master) does the same.
    failoverDetector: true,
    reconnectOnError: (err: Error) => err.message.startsWith('READONLY'),
  };
}

/**
 * A Cluster's subscriber: a plain connection to one master (PUBLISH is forwarded to every node, so any
 * node hears every instance) that does not reconnect: when that node is gone the store asks for a new
 * one, to a node the Cluster knows then (or, before it knows any, one of the configured nodes).
 */
function clusterSubscriber(cluster: Cluster, seeds: readonly RedisNode[], password?: string): Redis {
  const known = cluster.nodes('master').map((n) => ({ host: n.options.host, port: n.options.port }));
  const pool = known.length > 0 ? known : seeds;
  const node = pool[Math.floor(Math.random() * pool.length)];
  return new Redis({ ...FAIL_FAST, host: node.host, port: node.port, password, retryStrategy: () => null });
}

function nodesOf(nodes: readonly RedisNode[]): Array<{ host: string; port: number }> {
  return nodes.map((n) => ({ host: n.host, port: n.port }));
}

/** Every credential a topology carries, for redaction from log lines. */
function secretsOfTopology(topology: RedisTopology): string[] {
  if (topology.kind === 'single') return secretsOf(topology.url);
  const secrets = [topology.password, topology.kind === 'sentinel' ? topology.sentinelPassword : undefined];
  return secrets.filter((s): s is string => s !== undefined && s.length >= 3);
}

/**
 * One warning when the connection breaks (ioredis emits an error on every reconnection attempt: the rest
 * go to debug) and one line when it is back. Only the error's message, with the URL's credentials
 * removed should a message ever quote them.
 */
export function logOutages(
  client: Pick<Redis | Cluster, 'on'>,
  logger: Pick<Logger, 'warn' | 'log' | 'debug'>,
  secrets: string[],
): void {
  let down = false;
  let failures = 0;
  client.on('error', (err: Error) => {
    const message = redact(err.message, secrets);
    failures++;
    if (down) return logger.debug({ failures }, `redis error: ${message}`);
    down = true;
    logger.warn(
      { alert: 'REDIS_UNAVAILABLE' },
      `redis error: ${message} (reconnecting; shared-state routes answer 503 meanwhile)`,
    );
  });
  client.on('ready', () => {
    if (!down) return;
    logger.log({ failures }, 'redis connection ready again');
    down = false;
    failures = 0;
  });
}

/** The user name and password of a redis:// URL, raw and percent-decoded. */
export function secretsOf(url: string): string[] {
  try {
    const u = new URL(url);
    return [u.password, u.username].filter((s) => s.length >= 3).flatMap((s) => [s, decodeURIComponent(s)]);
  } catch {
    return [];
  }
}

function redact(message: string, secrets: string[]): string {
  return secrets.reduce((m, s) => m.split(s).join('***'), message);
}
