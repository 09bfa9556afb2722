import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from '../../src/testing/free-port';
import { PrivateRedis } from '../../src/testing/private-redis';

/**
 * Redis topologies of a suite's own, from Debian's redis-server on free loopback ports (never the shared
 * Redis on 6379), each process stopped by pid: a Cluster of masters, and a master with a replica watched
 * by sentinels.
 */

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 100 ms until it holds; throws naming `what` after `ms`. */
export async function eventually(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(100);
  }
}

/** One short-lived command to one server (no reconnection: a dead server is an error, not a wait). */
export async function command(
  port: number,
  password: string | undefined,
  ...args: string[]
): Promise<unknown> {
  const c = new Redis({
    port,
    host: '127.0.0.1',
    password,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
    commandTimeout: 2000,
  });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return await c.call(args[0], ...args.slice(1));
  } finally {
    c.disconnect();
  }
}

/**
 * `n` ports that were free a moment ago, all different: two calls of freePort may return the same port
 * (it was closed again in between), and a sentinel started on its master's port would never start.
 */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

export class PrivateCluster {
  private constructor(
    readonly nodes: PrivateRedis[],
    readonly password: string,
  ) {}

  /** `masters` nodes (no replicas), every slot assigned, `cluster_state:ok` on each. */
  static async start(masters: number, password: string): Promise<PrivateCluster> {
    const nodes: PrivateRedis[] = [];
    const ports = await freePorts(2 * masters);
    for (let i = 0; i < masters; i++) {
      // The cluster bus needs a port too; by default port + 10000, which may be taken or beyond 65535.
      const busPort = ports[masters + i];
      nodes.push(
        await PrivateRedis.createWith({
          port: ports[i],
          password,
          args: () => [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-port',
            String(busPort),
            '--cluster-node-timeout',
            '2000',
            // The nodes authenticate to each other (replication) with it.
            '--masterauth',
            password,
          ],
        }),
      );
    }
    const cluster = new PrivateCluster(nodes, password);
    try {
      await Promise.all(nodes.map((n) => n.start()));
      await run(
        'redis-cli',
        [
          '--cluster',
          'create',
          ...nodes.map((n) => `127.0.0.1:${n.port}`),
          '--cluster-replicas',
          '0',
          '--cluster-yes',
        ],
        { env: { ...process.env, REDISCLI_AUTH: password }, timeout: 30_000 },
      );
      for (const n of nodes)
        await eventually(`cluster_state:ok on ${n.port}`, async () =>
          String(await command(n.port, password, 'CLUSTER', 'INFO')).includes('cluster_state:ok'),
        );
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  /** The value of REDIS_CLUSTER_NODES. */
  get nodeList(): string {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}

export const SENTINEL_MASTER = 'wxauth-master';

export class PrivateSentinelSet {
  private constructor(
    readonly master: PrivateRedis,
    readonly replica: PrivateRedis,
    readonly sentinels: PrivateRedis[],
    readonly password: string,
    readonly sentinelPassword: string,
  ) {}

  /**
   * A master, a replica of it and `sentinelCount` sentinels (quorum: a majority), which declare the master
   * down after `downAfterMs` without an answer; resolves once every sentinel knows the replica and the
   * other sentinels (else a failover could not be agreed on).
   */
  static async start(
    password: string,
    sentinelPassword: string,
    sentinelCount = 3,
    downAfterMs = 1000,
  ): Promise<PrivateSentinelSet> {
    const ports = await freePorts(2 + sentinelCount);
    const master = await PrivateRedis.createWith({
      port: ports[0],
      password,
      args: () => ['--masterauth', password],
    });
    const replica = await PrivateRedis.createWith({
      port: ports[1],
      password,
      args: () => ['--masterauth', password, '--replicaof', '127.0.0.1', String(master.port)],
    });
    const quorum = Math.floor(sentinelCount / 2) + 1;
    const sentinels: PrivateRedis[] = [];
    for (let i = 0; i < sentinelCount; i++)
      sentinels.push(
        await PrivateRedis.createWith({
          port: ports[2 + i],
          args: () => ['--sentinel'],
          config: (port) =>
            [
              `port ${port}`,
              'bind 127.0.0.1',
              `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${master.port} ${quorum}`,
              `sentinel auth-pass ${SENTINEL_MASTER} ${password}`,
              `sentinel down-after-milliseconds ${SENTINEL_MASTER} ${downAfterMs}`,
              `sentinel failover-timeout ${SENTINEL_MASTER} 10000`,
              `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
              // The sentinels' own password, which they also use with each other.
              `requirepass ${sentinelPassword}`,
              `sentinel sentinel-pass ${sentinelPassword}`,
              '',
            ].join('\n'),
        }),
      );
    const set = new PrivateSentinelSet(master, replica, sentinels, password, sentinelPassword);
    try {
      await master.start();
      await replica.start();
      await eventually('the replica in sync', async () =>
        String(await command(replica.port, password, 'INFO', 'replication')).includes(
          'master_link_status:up',
        ),
      );
      await Promise.all(sentinels.map((s) => s.start()));
      for (const s of sentinels) {
        let seen = '';
        await eventually(
          `sentinel ${s.port} knows the replica and the other sentinels (${seen})`,
          async () => {
            const ask = async (what: string) =>
              (
                (await command(s.port, sentinelPassword, 'SENTINEL', what, SENTINEL_MASTER)) as string[][]
              ).map((entry) => `${entry[entry.indexOf('port') + 1]}:${entry[entry.indexOf('flags') + 1]}`);
            const replicas = await ask('REPLICAS');
            const others = await ask('SENTINELS');
            seen = `replicas ${replicas.join(' ')}; sentinels ${others.join(' ')}`;
            return replicas.length === 1 && others.length === sentinelCount - 1;
          },
        ).catch((e: Error) => {
          throw new Error(`${e.message}: ${seen}`);
        });
      }
    } catch (e) {
      await set.stop();
      throw e;
    }
    return set;
  }

  /** The value of REDIS_SENTINELS. */
  get sentinelList(): string {
    return this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',');
  }

  /** The port of the master the sentinels report now. */
  async currentMasterPort(): Promise<number> {
    const [, port] = (await command(
      this.sentinels[0].port,
      this.sentinelPassword,
      'SENTINEL',
      'GET-MASTER-ADDR-BY-NAME',
      SENTINEL_MASTER,
    )) as [string, string];
    return Number(port);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.sentinels, this.replica, this.master].map((s) => s.stop()));
  }
}
