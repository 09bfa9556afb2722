import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock/clock';
import { AppException } from '../common/errors/app.exception';
import { Random } from '../common/random/random';
import { KvStore } from '../common/store/kv-store';
import { AppConfig, type WechatAppCredentials } from '../config/app-config';
import { CircuitBreaker } from './upstream/circuit-breaker';
import { ConcurrencyLimiter, LimiterRejected } from './upstream/concurrency-limiter';
import { backoffMs, isRetryable, isUpstreamFailure } from './upstream/retry-policy';
import { CODE_LIFETIME_MS, loginCodeHash } from './login-code';
import { type Code2SessionResult, WechatApiClient } from './wechat-api.client';
import { msToNextMinute, toAppException, WX_ERRCODE } from './wechat-error-mapping';
import { WechatUpstreamError } from './wechat-upstream.error';

const ENDPOINT = 'jscode2session';
/** An attempt with less time than this left is not worth starting. */
const MIN_ATTEMPT_MS = 200;

/**
 * The rules around every call to WeChat: a deadline for the whole login,
 * retries of what is safe to retry (with capped, jittered backoff), a circuit
 * breaker per (appid, endpoint), a per-appid stop after 45011 until the next
 * minute (shared through the store), a cap on concurrent calls, and a
 * once-only alert for a wrong AppID/AppSecret. Answers with API errors.
 */
@Injectable()
export class ResilientWechatClient {
  private readonly logger = new Logger('WechatUpstream');
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly limiter: ConcurrencyLimiter;
  private readonly misconfigAlerted = new Set<string>();

  constructor(
    private readonly client: WechatApiClient,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly store: KvStore,
  ) {
    this.limiter = new ConcurrencyLimiter(config.wechat.maxConcurrency, config.wechat.maxQueue, clock);
  }

  breaker(appid: string): CircuitBreaker {
    const key = `${appid}:${ENDPOINT}`;
    let breaker = this.breakers.get(key);
    if (!breaker) {
      breaker = new CircuitBreaker(
        this.config.wechat.breakerThreshold,
        this.config.wechat.breakerCooldownMs,
        this.clock,
      );
      this.breakers.set(key, breaker);
    }
    return breaker;
  }

  async code2Session(app: WechatAppCredentials, code: string): Promise<Code2SessionResult> {
    const deadline = this.clock.now() + this.config.wechat.loginDeadlineMs;
    const quotaKey = `wx:quota:${app.appid}`;
    await this.refuseIfQuotaBlocked(quotaKey);
    // Set when an earlier login with this code ended without knowing whether WeChat used it.
    const unsureKey = `wx:unsure:${loginCodeHash(app.appid, code)}`;

    let release: () => void;
    try {
      // Waiting for a slot only makes sense while an attempt still fits before the deadline.
      release = await this.limiter.acquire(deadline - MIN_ATTEMPT_MS);
    } catch (e) {
      if (!(e instanceof LimiterRejected)) throw e;
      this.logger.warn(
        { appid: app.appid, reason: e.reason, inFlight: this.limiter.inFlight },
        'wechat call shed',
      );
      throw new AppException('WX_UNAVAILABLE', { retryAfter: 2, cause: e });
    }
    try {
      return await this.attempts(app, code, deadline, quotaKey, unsureKey);
    } finally {
      release();
    }
  }

  private async attempts(
    app: WechatAppCredentials,
    code: string,
    deadline: number,
    quotaKey: string,
    unsureKey: string,
  ): Promise<Code2SessionResult> {
    const unsureBefore = (await this.store.get(unsureKey)) !== null;
    const doubt = { spent: unsureBefore };
    try {
      return await this.attemptLoop(app, code, deadline, quotaKey, unsureBefore, doubt);
    } catch (e) {
      // However this login ends without a session, if a call may have spent the code, remember it: a retry
      // with this code that then gets 40163 answers WX_RETRY_LOGIN, not 401.
      if (doubt.spent) {
        await this.store.set(unsureKey, '1', CODE_LIFETIME_MS).catch(() => undefined);
      }
      throw e;
    }
  }

  private async attemptLoop(
    app: WechatAppCredentials,
    code: string,
    deadline: number,
    quotaKey: string,
    unsureBefore: boolean,
    doubt: { spent: boolean },
  ): Promise<Code2SessionResult> {
    const breaker = this.breaker(app.appid);
    for (let attempt = 0; ; attempt++) {
      // Re-checked before every attempt (also after waiting for a slot): a parallel call or another
      // instance may have hit 45011 meanwhile.
      await this.refuseIfQuotaBlocked(quotaKey);
      if (deadline - this.clock.now() < MIN_ATTEMPT_MS)
        throw new AppException('WX_UNAVAILABLE', { retryAfter: 2 });
      const permit = breaker.tryAcquire();
      if (!permit.allowed)
        throw new AppException('WX_UNAVAILABLE', { retryAfter: permit.retryAfterMs / 1000 });
      const timeoutMs = Math.min(this.config.wechat.timeoutMs, deadline - this.clock.now());
      let failure: WechatUpstreamError;
      try {
        const result = await this.client.code2Session(app, code, { timeoutMs });
        breaker.onSuccess();
        this.misconfigAlerted.delete(app.appid);
        return result;
      } catch (e) {
        if (!(e instanceof WechatUpstreamError)) {
          breaker.onAbandon(permit);
          throw e;
        }
        failure = e;
      }

      if (isUpstreamFailure(failure)) breaker.onFailure();
      else breaker.onSuccess();
      const errcode = failure.details.errcode;
      if (failure.details.maybeDelivered) doubt.spent = true;
      // An earlier attempt (this login's or a previous one's) may have reached WeChat and consumed the
      // code: the user must wx.login() again. Never a 401 for that.
      if ((attempt > 0 || unsureBefore) && errcode === WX_ERRCODE.CODE_USED)
        throw new AppException('WX_RETRY_LOGIN', { retryAfter: 1, cause: failure });
      // WeChat's quota resets on the wall-clock minute: block exactly until then.
      if (errcode === WX_ERRCODE.MINUTE_QUOTA)
        await this.store.set(quotaKey, '1', msToNextMinute(this.clock.now()));
      if (errcode === WX_ERRCODE.INVALID_APPID || errcode === WX_ERRCODE.INVALID_SECRET)
        this.alertMisconfigured(app.appid, errcode);

      const delay = backoffMs(attempt, () => this.random.fraction());
      const retry =
        isRetryable(failure) &&
        attempt < this.config.wechat.maxRetries &&
        this.clock.now() + delay + MIN_ATTEMPT_MS <= deadline;
      if (!retry) throw toAppException(failure, this.clock.now());
      this.logger.warn(
        { appid: app.appid, attempt: attempt + 1, failure: failure.failure, errcode, delayMs: delay },
        'retrying wechat call',
      );
      await this.clock.sleep(delay);
    }
  }

  private async refuseIfQuotaBlocked(quotaKey: string): Promise<void> {
    const blockedMs = await this.store.ttl(quotaKey);
    if (blockedMs > 0) throw new AppException('WX_RATE_LIMITED', { retryAfter: Math.ceil(blockedMs / 1000) });
  }

  private alertMisconfigured(appid: string, errcode: number): void {
    if (this.misconfigAlerted.has(appid)) return;
    this.misconfigAlerted.add(appid);
    this.logger.error(
      { alert: 'WECHAT_MISCONFIGURED', appid, errcode },
      'WeChat rejected this AppID/AppSecret: every login of this app fails until the configuration is fixed',
    );
  }
}
