import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit, Optional } from '@nestjs/common';
import { Clock } from '../../common/clock/clock';
import { AppException } from '../../common/errors/app.exception';
import type { RequestContext } from '../../common/request-context';
import { Random } from '../../common/random/random';
import { KvStore } from '../../common/store/kv-store';
import { AppConfig, type WechatAppCredentials } from '../../config/app-config';
import { Metrics, NO_METRICS } from '../../metrics/metrics';
import { UsageMeter } from '../usage/usage-meter';
import { CircuitBreaker } from './circuit-breaker';
import { ConcurrencyLimiter, LimiterRejected } from './concurrency-limiter';
import type { Deadline } from './deadline';
import { MinuteQuotaBlocks } from './minute-quota-blocks';
import { backoffMs, isRetryable, isUpstreamFailure } from './retry-policy';
import { meaningOf, msToNextMinute, toAppException, WX, type WechatEndpoint } from './wechat-endpoint';
import { type LogContext, WechatHttp } from './wechat-http';
import { WechatUpstreamError } from './wechat-upstream.error';

/** An attempt with less time than this left is not worth starting. */
export const MIN_ATTEMPT_MS = 200;

/** What a call carries besides its input. */
export interface CallOptions {
  /** The interface access_token, for endpoints that use one (WechatApi fetches it). */
  accessToken?: string;
  /**
   * The request this call serves. Its id goes on every log line of the call — each failed attempt (WechatHttp),
   * retries, shedding, breaker changes, the misconfiguration alert — so an upstream failure is found from the
   * `requestId` a client reports. Passed down explicitly: an AsyncLocalStorage entered per request would
   * do it implicitly, but its process-wide promise hooks cost ~40 % of the hot paths' throughput.
   */
  context?: RequestContext;
}

/** The log fields of a call made for `context`'s request (none outside a request: jobs, a shared fetch). */
export function requestLogFields(context: RequestContext | undefined): LogContext {
  return context ? { requestId: context.requestId } : {};
}

/** WeChat refused the interface access_token the call carried (40001/40014/42001). */
export class InterfaceTokenRejected extends Error {
  constructor(
    readonly token: string | undefined,
    readonly failure: WechatUpstreamError,
  ) {
    super(`interface token rejected: ${failure.message}`);
    this.name = 'InterfaceTokenRejected';
  }
}

/**
 * The rules around every call to WeChat, the same for every endpoint and keyed by (appid, endpoint):
 * the caller's deadline, retries of what is safe to retry (capped, jittered backoff), a circuit breaker,
 * a stop after 45011 until the next minute (every instance holds them: MinuteQuotaBlocks), a cap on calls in flight with a
 * bounded queue, and a once-only alert for a wrong AppID/AppSecret. What an errcode means comes from the
 * endpoint's adapter. Answers with API errors (AppException), or InterfaceTokenRejected for the client
 * above to refetch the token.
 */
@Injectable()
export class WechatCallPolicy implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('WechatUpstream');
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly limiters = new Map<string, ConcurrencyLimiter>();
  private readonly misconfigAlerted = new Set<string>();
  private readonly quotaBlocks: MinuteQuotaBlocks;

  constructor(
    private readonly http: WechatHttp,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly random: Random,
    store: KvStore,
    @Optional() private readonly metrics: Metrics = NO_METRICS,
    /** Counts the requests of metered endpoints (absent where there is no database: some unit tests). */
    @Optional() private readonly meter?: UsageMeter,
  ) {
    this.quotaBlocks = new MinuteQuotaBlocks(store, clock, config.redis.outageGraceSeconds * 1000);
  }

  /** Loads the 45011 stops in force and follows new ones (until then, each check reads the store). */
  onModuleInit(): Promise<void> {
    return this.quotaBlocks.start();
  }

  onModuleDestroy(): void {
    this.quotaBlocks.stop();
  }

  breaker(appid: string, endpoint: string): CircuitBreaker {
    const { breakerThreshold, breakerCooldownMs } = this.config.wechat;
    const create = () => new CircuitBreaker(breakerThreshold, breakerCooldownMs, this.clock);
    return perEndpoint(this.breakers, appid, endpoint, create);
  }

  limiter(appid: string, endpoint: string): ConcurrencyLimiter {
    const { maxConcurrency, maxQueue } = this.config.wechat;
    const create = () => new ConcurrencyLimiter(maxConcurrency, maxQueue, this.clock);
    return perEndpoint(this.limiters, appid, endpoint, create);
  }

  async call<I, O>(
    endpoint: WechatEndpoint<I, O>,
    app: WechatAppCredentials,
    input: I,
    deadline: Deadline,
    options: CallOptions = {},
  ): Promise<O> {
    const log: LogContext = {
      api: endpoint.name,
      appid: app.appid,
      ...endpoint.logContext(input),
      ...requestLogFields(options.context),
    };
    const limiter = this.limiter(app.appid, endpoint.name);
    // Before queueing for a slot: a call WeChat would refuse must not wait for one. With a slot free, the
    // check before the first attempt (just below) is the same check.
    if (limiter.full) await this.refuseIfQuotaBlocked(app.appid, endpoint.name);
    let release: () => void;
    try {
      // Waiting for a slot only makes sense while an attempt still fits before the deadline.
      release = await limiter.acquire(deadline.at - MIN_ATTEMPT_MS);
    } catch (e) {
      if (!(e instanceof LimiterRejected)) throw e;
      this.logger.warn({ ...log, reason: e.reason, inFlight: limiter.inFlight }, 'wechat call shed');
      throw new AppException('WX_UNAVAILABLE', { retryAfter: 2, cause: e });
    }
    try {
      return await this.attempts(endpoint, app, input, deadline, options.accessToken, log);
    } finally {
      release();
    }
  }

  private async attempts<I, O>(
    endpoint: WechatEndpoint<I, O>,
    app: WechatAppCredentials,
    input: I,
    deadline: Deadline,
    accessToken: string | undefined,
    log: LogContext,
  ): Promise<O> {
    const breaker = this.breaker(app.appid, endpoint.name);
    for (let attempt = 0; ; attempt++) {
      // Re-checked before every attempt (also after waiting for a slot): a parallel call or another
      // instance may have hit 45011 meanwhile.
      await this.refuseIfQuotaBlocked(app.appid, endpoint.name);
      if (!deadline.allows(MIN_ATTEMPT_MS)) throw new AppException('WX_UNAVAILABLE', { retryAfter: 2 });
      const permit = breaker.tryAcquire();
      if (!permit.allowed)
        throw new AppException('WX_UNAVAILABLE', { retryAfter: permit.retryAfterMs / 1000 });
      const timeoutMs = Math.min(this.config.wechat.timeoutMs, deadline.remainingMs());
      let failure: WechatUpstreamError;
      const started = performance.now();
      try {
        const body = await this.http.send(endpoint.request(app, input, accessToken), log, timeoutMs);
        const result = parseOrUnparsable(endpoint, body);
        if (endpoint.meter) this.meter?.record(app.appid, endpoint.meter, true);
        this.metrics.upstream(endpoint.name, 'ok', undefined, false, (performance.now() - started) / 1000);
        this.upstreamAnswered(breaker, log);
        this.metrics.breaker(app.appid, endpoint.name, false);
        this.misconfigAlerted.delete(app.appid);
        return result;
      } catch (e) {
        if (!(e instanceof WechatUpstreamError)) {
          breaker.onAbandon(permit);
          throw e;
        }
        failure = e;
      }
      if (failure.failure === 'unparsable') this.logger.warn({ ...log, failure: 'unparsable' }, 'odd answer');

      // Only an errcode answer has a meaning: an errcode riding on another failure must not become a 401.
      const errcode = failure.failure === 'errcode' ? failure.details.errcode : undefined;
      const meaning = errcode !== undefined ? meaningOf(endpoint, errcode) : undefined;
      // Every failed attempt was sent (the HTTP layer makes no attempt it does not send); an errcode the
      // endpoint reads as an answer counts as answered.
      if (endpoint.meter)
        this.meter?.record(app.appid, endpoint.meter, meaning !== undefined && 'answer' in meaning);
      // The errcode label only takes the values some endpoint declares a meaning for ("other" otherwise).
      const seconds = (performance.now() - started) / 1000;
      this.metrics.upstream(endpoint.name, failure.failure, errcode, meaning !== undefined, seconds);
      if (isUpstreamFailure(failure, meaning)) this.upstreamFailed(breaker, log);
      else this.upstreamAnswered(breaker, log);
      this.metrics.breaker(app.appid, endpoint.name, breaker.current !== 'closed');
      if (meaning && 'answer' in meaning) return meaning.answer as O;
      const own = endpoint.onFailure?.(failure, attempt);
      if (own) throw own;
      if (meaning?.tokenRejected) throw new InterfaceTokenRejected(accessToken, failure);
      // WeChat's quota resets on the wall-clock minute: block exactly until then.
      if (errcode === WX.MINUTE_QUOTA) {
        const now = this.clock.now();
        await this.quotaBlocks.block(app.appid, endpoint.name, now + msToNextMinute(now));
      }
      if (errcode === WX.INVALID_APPID || errcode === WX.INVALID_SECRET)
        this.alertMisconfigured(app.appid, errcode, log);

      const delay = backoffMs(attempt, () => this.random.fraction());
      const retry =
        isRetryable(failure, meaning) &&
        !(endpoint.noResendAfterDoubt && failure.details.maybeDelivered) &&
        attempt < this.config.wechat.maxRetries &&
        deadline.allows(delay + MIN_ATTEMPT_MS);
      if (!retry) throw toAppException(failure, meaning, this.clock.now());
      this.logger.warn(
        { ...log, attempt: attempt + 1, failure: failure.failure, errcode, delayMs: delay },
        'retrying wechat call',
      );
      await this.clock.sleep(delay);
    }
  }

  private async refuseIfQuotaBlocked(appid: string, api: string): Promise<void> {
    const blockedMs = await this.quotaBlocks.blockedMs(appid, api);
    if (blockedMs > 0) throw new AppException('WX_RATE_LIMITED', { retryAfter: Math.ceil(blockedMs / 1000) });
  }

  /**
   * Breaker changes, one line each (not one per call failing fast): opened — with the call whose failure
   * tripped it, so its request shows what WeChat answered — and closed again.
   */
  private upstreamFailed(breaker: CircuitBreaker, log: LogContext): void {
    const before = breaker.current;
    breaker.onFailure();
    if (before !== 'open' && breaker.current === 'open')
      this.logger.warn(
        { ...log, breaker: 'open', cooldownMs: this.config.wechat.breakerCooldownMs },
        before === 'half-open'
          ? 'wechat circuit reopened: the probe failed'
          : 'wechat circuit opened: calls fail fast',
      );
  }

  private upstreamAnswered(breaker: CircuitBreaker, log: LogContext): void {
    const before = breaker.current;
    breaker.onSuccess();
    if (before !== 'closed') this.logger.log({ ...log, breaker: 'closed' }, 'wechat circuit closed');
  }

  private alertMisconfigured(appid: string, errcode: number, log: LogContext): void {
    if (this.misconfigAlerted.has(appid)) return;
    this.misconfigAlerted.add(appid);
    this.logger.error(
      // The request that found out, to look up what WeChat answered it.
      {
        alert: 'WECHAT_MISCONFIGURED',
        appid,
        errcode,
        ...(log.requestId ? { requestId: log.requestId } : {}),
      },
      'WeChat rejected this AppID/AppSecret: every call of this app fails until the configuration is fixed',
    );
  }
}

/** An answer of the wrong shape is an upstream fault (503), never a 500 from whatever stores it. */
function parseOrUnparsable<I, O>(endpoint: WechatEndpoint<I, O>, body: Record<string, unknown>): O {
  try {
    return endpoint.parse(body);
  } catch (e) {
    if (e instanceof WechatUpstreamError) throw e;
    throw new WechatUpstreamError('unparsable');
  }
}

/** The (app, endpoint)'s entry of `map`, made by `create` on first use. */
function perEndpoint<T>(map: Map<string, T>, appid: string, endpoint: string, create: () => T): T {
  const key = `${appid}:${endpoint}`;
  let entry = map.get(key);
  if (!entry) {
    entry = create();
    map.set(key, entry);
  }
  return entry;
}
