import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Clock } from '../common/clock/clock';
import { BoundedMap } from '../common/collections/bounded-map';
import type { KvStore } from '../common/store/kv-store';
import { StoreKeys } from '../common/store/store-keys';
import { WindowCounter } from '../common/store/window-counter';

/** A window of failed service-client logins starts at the first failure and lasts this long. */
export const FAILED_LOGIN_WINDOW_MS = 5 * 60_000;
/** Failed logins a client IP may make in a window; the next one, and every login until the window ends, is 429. */
export const FAILED_LOGINS_PER_IP = 10;
/**
 * Failed logins a client id may see in a window, from anywhere (a guesser spread over many addresses).
 * Higher than per IP: anyone who knows a partner's id can spend this budget and lock the partner out
 * until the window ends, so it only has to stop guessing at scale, which the per-IP limit cannot.
 */
export const FAILED_LOGINS_PER_CLIENT = 30;
/** Blocks remembered by one instance at most (each costs a limit's worth of failures to create). */
const MAX_BLOCKS = 10_000;

/** The presented id, hashed: a fixed-length store key whatever the caller sent. */
const idKey = (id: string) =>
  StoreKeys.clientLoginFailuresById(createHash('sha256').update(id, 'utf8').digest('base64url').slice(0, 22));
const ipKey = (ip: string) => StoreKeys.clientLoginFailuresByIp(ip);

/**
 * Counts failed HTTP Basic logins of service clients per client IP and per presented client id, in the
 * shared store (WindowCounter: one round trip a failure, per instance while Redis does not answer).
 * Successes are never counted, and cost nothing: whether a caller is blocked is answered from memory —
 * the blocks this instance has seen its own counts reach. A right guess is refused as well while blocked
 * (otherwise 200 versus 429 would still tell a guesser when it is right). With several instances a key is
 * refused on an instance from its first failure there past the limit, so a guesser gets at most the limit
 * plus one answer per other instance in a window.
 */
export class FailedClientLogins {
  private readonly counter: WindowCounter;
  private readonly logger = new Logger(FailedClientLogins.name);
  /** Keys over their limit, and until when (ms since the epoch). */
  private readonly blocked = new BoundedMap<string, number>(MAX_BLOCKS);

  constructor(
    store: KvStore,
    private readonly clock: Clock,
  ) {
    this.counter = new WindowCounter(store, clock, FailedClientLogins.name);
  }

  /** Seconds until this IP and client id may try again (0: now). Checked before the credentials. */
  retryAfter(ip: string, clientId: string): number {
    const now = this.clock.now();
    let until = 0;
    for (const key of [ipKey(ip), idKey(clientId)]) {
      const blockedUntil = this.blocked.get(key);
      if (blockedUntil === undefined) continue;
      if (blockedUntil <= now) this.blocked.delete(key);
      else until = Math.max(until, blockedUntil);
    }
    return until ? Math.max(1, Math.ceil((until - now) / 1000)) : 0;
  }

  /**
   * Counts one failed login; the seconds to wait when it went over a limit (this answer is then 429
   * too), else 0.
   */
  async failed(ip: string, clientId: string, known: boolean): Promise<number> {
    const [byIp, byClient] = await Promise.all([
      this.counter.hit(ipKey(ip), FAILED_LOGIN_WINDOW_MS),
      this.counter.hit(idKey(clientId), FAILED_LOGIN_WINDOW_MS),
    ]);
    const now = this.clock.now();
    let wait = 0;
    for (const [key, counted, limit] of [
      [ipKey(ip), byIp, FAILED_LOGINS_PER_IP],
      [idKey(clientId), byClient, FAILED_LOGINS_PER_CLIENT],
    ] as const) {
      if (counted.count <= limit) continue;
      this.block(key, now + counted.remainingMs);
      wait = Math.max(wait, counted.remainingMs);
      // Once per key and window: the failure that crossed the limit (later ones are refused before counting).
      if (counted.count === limit + 1)
        this.logger.warn(
          // An unknown id is whatever the caller typed: not worth a log line's trust.
          {
            ip,
            client: known ? clientId : '(unknown id)',
            limit: key === ipKey(ip) ? 'ip' : 'client',
          },
          'service client logins refused after repeated failures',
        );
    }
    return wait ? Math.max(1, Math.ceil(wait / 1000)) : 0;
  }

  private block(key: string, until: number): void {
    if (this.blocked.full) {
      const now = this.clock.now();
      this.blocked.deleteWhere((u) => u <= now);
    }
    // Still full: the oldest is forgotten (the shared count still holds it on its next failure).
    this.blocked.set(key, until);
  }
}
