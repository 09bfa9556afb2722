import type { Clock } from '../clock/clock';
import type { KvStore } from './kv-store';

/**
 * A calendar period for quotas: fixed-length windows aligned on the epoch, shifted by a UTC offset
 * (`utcOffsetMs: 8 h` makes days that start at midnight Beijing time, like WeChat's quotas).
 */
export interface QuotaPeriod {
  readonly lengthMs: number;
  readonly utcOffsetMs: number;
  /**
   * How long a counter is kept from its first use. At least the period's length; more for a day, so a
   * counter outlives its day a little whatever the clock skew between instances (they name the period by
   * their own clock).
   */
  readonly keepMs: number;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** Minutes of the epoch (UTC; every offset in use is whole minutes). */
export const MINUTE: QuotaPeriod = { lengthMs: MINUTE_MS, utcOffsetMs: 0, keepMs: MINUTE_MS };

/** Days starting at midnight `utcOffsetMs` east of UTC. */
export function daysAt(utcOffsetMs: number): QuotaPeriod {
  return { lengthMs: DAY_MS, utcOffsetMs, keepMs: DAY_MS + 2 * 3600_000 };
}

/** The period `nowMs` falls in, as a number (minutes or days since the shifted epoch). */
export function periodOf(period: QuotaPeriod, nowMs: number): number {
  return Math.floor((nowMs + period.utcOffsetMs) / period.lengthMs);
}

/** Milliseconds (≥ 1) until the period `nowMs` falls in ends. */
export function msToPeriodEnd(period: QuotaPeriod, nowMs: number): number {
  const into = (((nowMs + period.utcOffsetMs) % period.lengthMs) + period.lengthMs) % period.lengthMs;
  return Math.max(1, period.lengthMs - into);
}

/** One taking from a quota. */
export interface QuotaTake {
  /** Whether `used` is within the limit. A refused take stays counted (see `Quota.take`). */
  readonly allowed: boolean;
  /** The count this period, this take included. */
  readonly used: number;
  /** Seconds (≥ 1) until the period ends: the Retry-After of a refusal. */
  readonly retryAfterSeconds: number;
  /**
   * Gives this take back (a lookup refused before it was made, say). Best effort and once: a give-back
   * the store refuses leaves the count one high — never over what was really used.
   */
  giveBack(): Promise<void>;
}

/**
 * Per-period counters in the shared store: "at most N per key and minute/day", across instances. Each take
 * is one atomic increment, compared with the limit afterwards, so of N parallel takes exactly the allowed
 * number pass. The key's period is appended to the key (`<key>:<period>`), so a new period starts at 0.
 *
 * Unlike `WindowCounter` (rate limits, which fall back to counting per instance when the store does not
 * answer), a quota fails closed: it guards something that costs (paid WeChat lookups, WeChat's own daily
 * limits), so a store that does not answer is the store's `StoreUnavailableError` (503), never a free pass.
 */
export class Quota {
  constructor(
    private readonly store: KvStore,
    private readonly clock: Clock,
    readonly period: QuotaPeriod,
  ) {}

  /**
   * Counts one against `key` for the current period. A refused take is not given back by itself: the count
   * then stays above the limit for the rest of the period, so a caller looping on refusals cannot wear a
   * counter down; callers give back what they did not use (`giveBack`).
   */
  async take(key: string, limit: number): Promise<QuotaTake> {
    const now = this.clock.now();
    const counter = `${key}:${periodOf(this.period, now)}`;
    const used = await this.store.increment(counter, this.period.keepMs);
    let given = false;
    return {
      allowed: used <= limit,
      used,
      retryAfterSeconds: Math.ceil(msToPeriodEnd(this.period, now) / 1000),
      giveBack: async () => {
        if (given) return;
        given = true;
        await this.store.increment(counter, this.period.keepMs, -1).catch(() => undefined);
      },
    };
  }

  /** Today's (this minute's…) count for `key`, without counting. */
  async used(key: string): Promise<number> {
    const raw = await this.store.get(`${key}:${periodOf(this.period, this.clock.now())}`);
    return raw === null ? 0 : Number(raw);
  }
}
