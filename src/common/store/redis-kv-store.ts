import { type Cluster, type Redis, ReplyError } from 'ioredis';
import { KvStore } from './kv-store';
import { SCRIPTS } from './redis-scripts';
import { StoreUnavailableError } from './store-unavailable.error';

/** ioredis states in which a command could only wait in the offline queue for a connection that is not there. */
const DISCONNECTED: ReadonlySet<string> = new Set(['reconnecting', 'close', 'end']);

/** Seconds a client is told to wait when the store is unavailable. */
const RETRY_AFTER_S = 5;

export interface RedisKvStoreTimings {
  /** Subscriber connections are PINGed this often; a PING without answer means the feed is lost. */
  heartbeatMs: number;
  /** While the main connection is suspect (a command got no answer), a PING probes it this often. */
  probeMs: number;
  /** A subscriber connection that gave up (a Cluster node gone) is replaced by a new one this much later. */
  resubscribeMs: number;
  /**
   * The longest one call may take, whatever ioredis does meanwhile: a backstop over its command timeout
   * (1 s), which bounds one attempt but not a Cluster's retries towards a node that just went away.
   */
  deadlineMs: number;
  /** A main connection ioredis gave up on (status `end`) is connected again this much later, and again after each failure. */
  restartMs: number;
}

const DEFAULT_TIMINGS: RedisKvStoreTimings = {
  heartbeatMs: 1000,
  probeMs: 500,
  resubscribeMs: 500,
  deadlineMs: 1500,
  restartMs: 500,
};

/**
 * Redis-backed store; a Redis failure becomes `StoreUnavailableError` (answered 503 SERVICE_UNAVAILABLE),
 * never a 500 and never a hang. The store owns its connections: `close()` ends them all.
 *
 * Topologies: `client` is one connection (a single server, or a Sentinel-monitored master that ioredis
 * follows through failovers) or a `Cluster`. In a Cluster every command here touches one key (each
 * script too: KEYS[1] only) except `claim`, whose two keys the caller gives one hash tag; the key strings
 * are the same in every topology; `entries` scans every master; pub/sub uses classic PUBLISH, which a Cluster forwards to
 * every node, so a subscriber connected to any node hears every instance.
 *
 * Failing fast: a command is refused at once (no offline queueing) while the connection is down
 * (ioredis reconnecting), and while it is suspect — a command got no answer within the command timeout
 * (Redis paused, or a network path that drops packets: the TCP connection looks up) — until a PING in the
 * background answers again. Otherwise each command is bounded by ioredis' `commandTimeout`.
 */
export class RedisKvStore extends KvStore {
  readonly kind = 'redis' as const;
  private readonly subscribers = new Set<Redis>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly timings: RedisKvStoreTimings;
  private suspect = false;
  private closed = false;

  /**
   * `newSubscriber`: a new connection for a subscription; by default a duplicate of `client` (it
   * reconnects by itself, through Sentinel too). A Cluster has no such connection: pass one to a node
   * (any node hears every PUBLISH); when it gives up (`end`) the store asks for another.
   */
  constructor(
    readonly client: Redis | Cluster,
    private readonly prefix: string,
    timings: Partial<RedisKvStoreTimings> = {},
    private readonly newSubscriber: () => Redis = () => duplicate(client),
  ) {
    super();
    this.timings = { ...DEFAULT_TIMINGS, ...timings };
    for (const [name, definition] of Object.entries(SCRIPTS)) client.defineCommand(name, definition);
    // A (re)established connection answers again.
    client.on('ready', () => (this.suspect = false));
    // ioredis ends a connection for good in a case its retry strategy never sees: with Sentinel, a failover
    // announced (+switch-master) while the client is already reconnecting aborts the sentinel lookup under
    // way, and the client ends ("Connection is closed") instead of following the failover. The store does
    // not stay ended while it is open: it connects again, as long as it takes.
    client.on('end', () => this.restartLater());
  }

  /** Whether commands are currently refused without trying (connection down or not answering). */
  get unavailable(): boolean {
    return this.closed || this.suspect || DISCONNECTED.has(this.client.status);
  }

  get(key: string): Promise<string | null> {
    return this.call(() => this.client.get(this.prefix + key));
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.call(() => this.client.set(this.prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs))));
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    const res = await this.call(() =>
      this.client.set(this.prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'),
    );
    return res === 'OK';
  }

  async increment(key: string, ttlMs: number, by = 1): Promise<number> {
    const res = await this.call(() =>
      this.client.kvIncrementWithTtl(this.prefix + key, Math.max(1, Math.ceil(ttlMs)), by),
    );
    return Number(res);
  }

  override async hit(key: string, windowMs: number): Promise<{ count: number; remainingMs: number }> {
    const window = Math.max(1, Math.ceil(windowMs));
    const [count, remainingMs] = await this.call(() => this.client.kvHit(this.prefix + key, window));
    return { count: Number(count), remainingMs: Number(remainingMs) };
  }

  override async claim(
    key: string,
    value: string,
    ttlMs: number,
    companion: string,
  ): Promise<{ created: boolean; value: string | null }> {
    const ttl = Math.max(1, Math.ceil(ttlMs));
    const [created, current] = await this.call(() =>
      this.client.kvClaim(this.prefix + key, this.prefix + companion, value, ttl),
    );
    return { created: Number(created) === 1, value: current ?? null };
  }

  async ttl(key: string): Promise<number> {
    const res = await this.call(() => this.client.pttl(this.prefix + key));
    return res < 0 ? -1 : res;
  }

  async delete(key: string): Promise<void> {
    await this.call(() => this.client.del(this.prefix + key));
  }

  async deleteIfEquals(key: string, value: string): Promise<boolean> {
    const res = await this.call(() => this.client.kvDeleteIfEquals(this.prefix + key, value));
    return Number(res) === 1;
  }

  /**
   * SCAN of each server holding keys (a Cluster: every master; a key SCAN sees on one master is on no
   * other), then the values: one MGET per batch on one server; in a Cluster one GET per key, which
   * ioredis routes to its slot's master (MGET of keys in several slots would be refused with CROSSSLOT).
   */
  async entries(prefix: string): Promise<Array<[string, string]>> {
    const out: Array<[string, string]> = [];
    const cluster = isCluster(this.client) ? this.client : undefined;
    const servers = cluster ? await this.call(async () => cluster.nodes('master')) : [this.client as Redis];
    for (const server of servers) {
      let cursor = '0';
      do {
        const [next, keys] = await this.call(() =>
          server.scan(cursor, 'MATCH', `${escapeGlob(this.prefix + prefix)}*`, 'COUNT', 500),
        );
        cursor = next;
        if (keys.length === 0) continue;
        const values = await this.call(() =>
          cluster ? Promise.all(keys.map((k) => cluster.get(k))) : server.mget(...keys),
        );
        keys.forEach((k, i) => {
          const v = values[i];
          if (v !== null) out.push([k.slice(this.prefix.length), v]);
        });
      } while (cursor !== '0');
    }
    return out;
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.call(() => this.client.publish(this.prefix + channel, message));
  }

  /**
   * A second connection in subscriber mode (a subscribed connection can run no other command).
   *
   * On every `ready` (first connection and each reconnection) the channel is subscribed explicitly and
   * `onResync` is called only once Redis confirmed it: a re-read started then cannot miss a message
   * published between the read and the subscription. (ioredis' own re-subscription is sent after its
   * `ready` event, so that event alone is too early.)
   *
   * `onLost`: the connection closed, or a heartbeat PING got no answer within the command timeout — a
   * paused Redis keeps the TCP connection up and delivers nothing; the connection is then dropped and
   * re-established, which re-subscribes.
   */
  async subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onResync: () => void,
    onLost: () => void = () => undefined,
  ): Promise<void> {
    const name = this.prefix + channel;
    let active = false;
    let beating = false;
    const lost = () => {
      if (!active) return;
      active = false;
      onLost();
    };
    const connect = (): Redis => {
      const subscriber = this.newSubscriber();
      this.subscribers.add(subscriber);
      const activate = async (): Promise<void> => {
        try {
          await subscriber.subscribe(name);
        } catch {
          // Connected but not answering: start over (the next `ready` tries again).
          if (!this.closed) subscriber.disconnect(true);
          return;
        }
        if (this.closed || subscriber !== current) return;
        active = true;
        onResync();
      };
      subscriber.on('ready', () => void activate());
      subscriber.on('close', lost);
      subscriber.on('message', (ch: string, message: string) => {
        if (ch === name) onMessage(message);
      });
      // The main client logs the outage (same servers); a subscriber reconnects by itself.
      subscriber.on('error', () => undefined);
      // A connection that stopped reconnecting (a Cluster node's, when the node is gone): another one,
      // to whichever node the factory picks then.
      subscriber.once('end', () => {
        this.subscribers.delete(subscriber);
        if (this.closed || subscriber !== current) return;
        lost();
        this.after(this.timings.resubscribeMs, () => {
          if (!this.closed) current = connect();
        });
      });
      return subscriber;
    };
    let current = connect();
    this.every(this.timings.heartbeatMs, () => {
      if (!active || beating) return;
      beating = true;
      const subscriber = current;
      subscriber
        .ping()
        .catch(() => {
          lost();
          if (!this.closed) subscriber.disconnect(true);
        })
        .finally(() => (beating = false));
    });
    // Resolves once subscribed (if the store answers now); the subscription is kept either way.
    await this.call(() => current.subscribe(name));
  }

  /**
   * Stops the heartbeat and probe timers, then quits the subscriber connections and the main one (each
   * disconnected at once should it not answer the QUIT). No callback runs after it; commands are refused.
   */
  override async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const quit = async (c: Redis | Cluster) => {
      // An ended connection has nothing left to quit, and disconnect() would keep a timer (ioredis'
      // disconnectTimeout) waiting for a stream that already closed. With Sentinel it still ends the
      // failover detector's connections.
      if (c.status === 'end') return sentinelBacked(c) ? c.disconnect() : undefined;
      return c.quit().then(
        // A QUIT leaves the connector as it is: with Sentinel its failover detector keeps connections to
        // the sentinels, which only disconnect() ends.
        () => (sentinelBacked(c) ? c.disconnect() : undefined),
        () => c.disconnect(),
      );
    };
    await Promise.all([...this.subscribers].map(quit));
    await quit(this.client);
  }

  /** A real PING (also while suspect: /health is the honest answer); a success clears the suspicion. */
  async ping(): Promise<void> {
    if (this.closed || DISCONNECTED.has(this.client.status)) throw unavailable();
    try {
      await this.client.ping();
      this.suspect = false;
    } catch (cause) {
      this.markSuspect(cause);
      throw unavailable(cause);
    }
  }

  private async call<T>(op: () => Promise<T>): Promise<T> {
    if (this.unavailable) throw unavailable();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer from Redis in time')), this.timings.deadlineMs);
      timer.unref();
    });
    try {
      return await Promise.race([op(), deadline]);
    } catch (cause) {
      this.markSuspect(cause);
      throw unavailable(cause);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Anything but an error reply from Redis itself (a timeout, a closed connection) makes the connection suspect. */
  private markSuspect(cause: unknown): void {
    if (cause instanceof ReplyError || this.suspect || this.closed) return;
    this.suspect = true;
    const probe = () =>
      this.after(this.timings.probeMs, () => {
        if (!this.suspect || this.closed) return;
        this.client.ping().then(
          () => (this.suspect = false),
          () => probe(),
        );
      });
    probe();
  }

  private restartLater(): void {
    if (this.closed) return;
    this.after(this.timings.restartMs, () => {
      if (this.closed || this.client.status !== 'end') return;
      // A failed attempt ends the client again, and its `end` schedules the next one.
      this.client.connect().catch(() => undefined);
    });
  }

  private after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  private every(ms: number, fn: () => void): void {
    const tick = () =>
      this.after(ms, () => {
        fn();
        if (!this.closed) tick();
      });
    tick();
  }
}

function isCluster(client: Redis | Cluster): client is Cluster {
  return client.isCluster;
}

function sentinelBacked(client: Redis | Cluster): boolean {
  // Test doubles may have no options at all.
  return !isCluster(client) && Boolean((client.options as Redis['options'] | undefined)?.sentinels);
}

function duplicate(client: Redis | Cluster): Redis {
  if (isCluster(client))
    throw new Error('RedisKvStore: a Cluster client needs a subscriber factory (a connection to one node)');
  return client.duplicate();
}

function unavailable(cause?: unknown): StoreUnavailableError {
  return new StoreUnavailableError(RETRY_AFTER_S, { cause });
}

/** SCAN MATCH treats `*?[]\\` as glob syntax: a prefix is matched literally. */
function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
