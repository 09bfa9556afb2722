import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock/clock';
import { CachedCheck, type CachedCheckOptions, type CheckOutcome } from './cached-check';
import { DatabasePing, StorePing } from './dependency-pings';

/**
 * A new ping per dependency at most once a second per instance, and 2 s before an unanswered one counts
 * as down (what the database check allowed before). Constants: they could become settings.
 */
export const READINESS_CHECKS: CachedCheckOptions = { intervalMs: 1000, timeoutMs: 2000 };

export interface DependencyState {
  status: 'up' | 'down';
  [key: string]: unknown;
}

/** The answer of a ready instance, in the shape `@nestjs/terminus` gave it (clients and probes read `status`). */
export interface ReadinessReport {
  status: 'ok';
  info: Record<string, DependencyState>;
  error: Record<string, never>;
  details: Record<string, DependencyState>;
}

/**
 * Whether this instance can serve: the database and the shared store answer. Answered from cached checks
 * (cached-check.ts), so any number of probes costs at most one ping per dependency per second; the log
 * says which dependency is down once each time the set changes, never per probe.
 */
@Injectable()
export class Readiness {
  private readonly logger = new Logger('Health');
  private readonly checks: ReadonlyArray<readonly [string, CachedCheck]>;
  /** The failing checks at the last answer, comma-separated ('' while ready). */
  private lastDown = '';

  constructor(database: DatabasePing, store: StorePing, clock: Clock) {
    this.checks = [
      ['database', new CachedCheck(() => database.ping(), clock, READINESS_CHECKS)],
      ['store', new CachedCheck(() => store.ping(), clock, READINESS_CHECKS)],
    ];
  }

  /** The report when every dependency is up; `undefined` when one is down (the caller answers 503). */
  async check(): Promise<ReadinessReport | undefined> {
    const outcomes = await Promise.all(
      this.checks.map(async ([name, check]) => [name, await check.check()] as [string, CheckOutcome]),
    );
    const down = outcomes.filter(([, o]) => !o.up).map(([name]) => name);
    this.report(down);
    if (down.length > 0) return undefined;
    const info = Object.fromEntries(
      outcomes.map(([name, o]) => [name, { status: 'up', ...o.info } satisfies DependencyState]),
    );
    return { status: 'ok', info, error: {}, details: info };
  }

  private report(down: string[]): void {
    const now = down.join(',');
    if (now === this.lastDown) return;
    if (down.length > 0) this.logger.warn({ down }, `not ready: ${now} not answering`);
    else this.logger.log(`ready again (was down: ${this.lastDown})`);
    this.lastDown = now;
  }
}
