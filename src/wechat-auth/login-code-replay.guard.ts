import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock/clock';
import { AppException } from '../common/errors/app.exception';
import type { ErrorCode } from '../common/errors/error-codes';
import { KvStore } from '../common/store/kv-store';
import { AppConfig } from '../config/app-config';
import { CODE_LIFETIME_MS, loginCodeHash } from './login-code';

const POLL_MS = 50;
/** Outcomes that make the code useless for good; anything else (503s) lets the same code be tried again. */
const FINAL: ReadonlySet<ErrorCode> = new Set([
  'WX_CODE_INVALID',
  'WX_CODE_USED',
  'WX_USER_BLOCKED',
  'WX_RETRY_LOGIN',
]);

const USED = 'used';
const PENDING = 'pending';

/**
 * A code reaches WeChat from one request at a time, and never again once WeChat has answered for it
 * (only ResilientWechatClient's retries of an unanswered call resend it). Keyed by SHA-256(appid, code):
 * - concurrent requests with one code on this instance share one exchange (single-flight);
 * - across instances a `SET NX` claim in the store (Redis when configured) elects one caller,
 *   the others wait for its outcome;
 * - once the exchange succeeded, the code answers 401 WX_CODE_USED for its remaining life without a call.
 * Only the caller that ran the exchange gets its result (and so a session); the others get
 * WX_CODE_USED, or the same error when the exchange failed.
 */
@Injectable()
export class LoginCodeReplayGuard {
  private readonly logger = new Logger(LoginCodeReplayGuard.name);
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: KvStore,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  async exchangeOnce<T>(appid: string, code: string, exchange: () => Promise<T>): Promise<T> {
    const key = `wx:code:${loginCodeHash(appid, code)}`;
    const running = this.inFlight.get(key);
    if (running) return follow(running);
    const leader = this.claimAndRun(key, exchange);
    this.inFlight.set(key, leader);
    try {
      return await leader;
    } finally {
      this.inFlight.delete(key);
    }
  }

  private async claimAndRun<T>(key: string, exchange: () => Promise<T>): Promise<T> {
    const deadline = this.clock.now() + this.config.wechat.loginDeadlineMs;
    // The pending claim expires by itself if its holder dies mid-call.
    while (!(await this.store.setIfAbsent(key, PENDING, this.config.wechat.loginDeadlineMs + 1000))) {
      const state = await this.store.get(key);
      if (state === USED) throw new AppException('WX_CODE_USED');
      if (state?.startsWith('error:')) throw remembered(state.slice('error:'.length) as ErrorCode);
      if (state === PENDING) {
        // Another instance is exchanging this code right now: wait for its outcome.
        if (this.clock.now() + POLL_MS > deadline)
          throw new AppException('WX_UNAVAILABLE', { retryAfter: 1 });
        await this.clock.sleep(POLL_MS);
      }
      // null: the claim was just released; try to take it.
    }
    let result: T;
    try {
      result = await exchange();
    } catch (e) {
      const final = e instanceof AppException && FINAL.has(e.code);
      // Bookkeeping must not hide the real error; a claim left behind expires by itself.
      await this.bestEffort(() =>
        final ? this.store.set(key, `error:${e.code}`, CODE_LIFETIME_MS) : this.store.delete(key),
      );
      throw e;
    }
    // The exchange succeeded and WeChat has spent the code: the session is the caller's even if the store
    // cannot record it (WeChat itself would answer 40163 to a replay).
    await this.bestEffort(() => this.store.set(key, USED, CODE_LIFETIME_MS));
    return result;
  }

  private async bestEffort(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (e) {
      this.logger.warn(
        { error: e instanceof Error ? e.name : 'unknown' },
        'replay guard could not record a code outcome',
      );
    }
  }
}

/** A final outcome read back from the store, with the Retry-After its first answer had. */
function remembered(code: ErrorCode): AppException {
  return new AppException(code, code === 'WX_RETRY_LOGIN' ? { retryAfter: 1 } : {});
}

/** A concurrent duplicate: the same failure, or WX_CODE_USED when the exchange succeeded for the other request. */
async function follow<T>(running: Promise<unknown>): Promise<T> {
  try {
    await running;
  } catch (e) {
    throw e instanceof AppException ? new AppException(e.code, e.extras, e.message) : e;
  }
  throw new AppException('WX_CODE_USED');
}
