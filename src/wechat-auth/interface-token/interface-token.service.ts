import { Injectable, Logger, Optional } from '@nestjs/common';
import { Clock } from '../../common/clock/clock';
import { AppException } from '../../common/errors/app.exception';
import type { RequestContext } from '../../common/request-context';
import { Random } from '../../common/random/random';
import { SingleFlight } from '../../common/concurrency/single-flight';
import { KvStore } from '../../common/store/kv-store';
import { Quota } from '../../common/store/quota';
import { StoreKeys } from '../../common/store/store-keys';
import { AppConfig, type WechatAppCredentials } from '../../config/app-config';
import { Metrics, NO_METRICS } from '../../metrics/metrics';
import type { Deadline } from '../upstream/deadline';
import { BEIJING_DAY } from '../wechat-apps';
import { MIN_ATTEMPT_MS, WechatCallPolicy } from '../upstream/wechat-call-policy';
import { type StableToken, StableTokenEndpoint } from './stable-token.endpoint';

const POLL_MS = 50;
/** WeChat spaces force_refresh calls at least this far apart. */
const FORCE_REFRESH_GAP_MS = 30_000;

interface Cached {
  accessToken: string;
  /** Epoch ms after which the token is renewed (before WeChat's expiry, by the configured margin). */
  useUntil: number;
}

/**
 * The interface access_token of each app, one for every caller of every instance. Kept in the store
 * (memory, or Redis with REDIS_URL) until WeChat's `expires_in` minus a margin. Concurrent callers share
 * one fetch: single-flight in-process, and across instances a lock in the store (SET NX with a lease,
 * released by compare-and-delete) whose holder re-reads the cache before fetching. A token WeChat
 * refused is replaced once; `force_refresh` is used only when WeChat hands back the very token it just
 * refused, within a daily budget far below WeChat's own 20.
 */
@Injectable()
export class InterfaceTokenService {
  private readonly logger = new Logger('InterfaceToken');
  private readonly endpoint = new StableTokenEndpoint();
  private readonly fetches = new SingleFlight<string>();
  private readonly forceRefreshes: Quota;

  constructor(
    private readonly policy: WechatCallPolicy,
    private readonly store: KvStore,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly config: AppConfig,
    @Optional() private readonly metrics: Metrics = NO_METRICS,
  ) {
    this.forceRefreshes = new Quota(store, clock, BEIJING_DAY);
  }

  /** A token to call WeChat with: the cached one, else one fetch shared by all concurrent callers. */
  async get(app: WechatAppCredentials, deadline: Deadline, context?: RequestContext): Promise<string> {
    return (await this.readCache(app.appid)) ?? this.fetchOnce(app, deadline, undefined, context);
  }

  /** WeChat refused `rejected` (40001/40014/42001): a token that is not that one. */
  async replaceRejected(
    app: WechatAppCredentials,
    rejected: string,
    deadline: Deadline,
    context?: RequestContext,
  ): Promise<string> {
    const cached = await this.readCache(app.appid);
    if (cached && cached !== rejected) return cached;
    return this.fetchOnce(app, deadline, rejected, context);
  }

  /** `context`: the request that starts the fetch (the log lines of a shared fetch name the first caller's). */
  private fetchOnce(
    app: WechatAppCredentials,
    deadline: Deadline,
    rejected: string | undefined,
    context?: RequestContext,
  ): Promise<string> {
    return this.fetches.run(`${app.appid}\n${rejected ?? ''}`, () =>
      this.fetchUnderLock(app, deadline, rejected, context),
    );
  }

  private async fetchUnderLock(
    app: WechatAppCredentials,
    deadline: Deadline,
    rejected: string | undefined,
    context: RequestContext | undefined,
  ): Promise<string> {
    const lockKey = StoreKeys.interfaceTokenLock(app.appid);
    const nonce = this.random.uuid();
    // The lease outlives this request's deadline only by a little: a holder that dies frees it by itself.
    while (!(await this.store.setIfAbsent(lockKey, nonce, Math.max(1000, deadline.remainingMs() + 1000)))) {
      // Another instance is fetching; its token lands in the cache.
      const cached = await this.readCache(app.appid);
      if (cached && cached !== rejected) return cached;
      if (!deadline.allows(POLL_MS + MIN_ATTEMPT_MS))
        throw new AppException('WX_UNAVAILABLE', { retryAfter: 1 });
      await this.clock.sleep(POLL_MS);
    }
    try {
      // Re-read under the lock: the previous holder may have filled the cache a moment ago.
      const cached = await this.readCache(app.appid);
      if (cached && cached !== rejected) return cached;
      // Every fetch is counted, the first included: a storm of them means the cache is not shared or kept.
      this.metrics.interfaceTokenFetch(app.appid, rejected === undefined ? 'expired' : 'rejected');
      let fresh = await this.policy.call(this.endpoint, app, { forceRefresh: false }, deadline, { context });
      let forced = false;
      if (rejected !== undefined && fresh.accessToken === rejected) {
        await this.spendForceRefresh(app.appid);
        this.metrics.interfaceTokenFetch(app.appid, 'forced');
        fresh = await this.policy.call(this.endpoint, app, { forceRefresh: true }, deadline, { context });
        forced = true;
      }
      await this.writeCache(app.appid, fresh);
      this.logger.log(
        { appid: app.appid, expiresIn: fresh.expiresIn, forced, replacedRejected: rejected !== undefined },
        'interface token fetched',
      );
      return fresh.accessToken;
    } finally {
      await this.store.deleteIfEquals(lockKey, nonce).catch(() => undefined);
    }
  }

  /** Rations force_refresh: ≥ 30 s apart and a per-app daily budget, both in the shared store. */
  private async spendForceRefresh(appid: string): Promise<void> {
    const gapKey = StoreKeys.forceRefreshGap(appid);
    if (!(await this.store.setIfAbsent(gapKey, '1', FORCE_REFRESH_GAP_MS))) {
      const left = await this.store.ttl(gapKey);
      throw new AppException('WX_UNAVAILABLE', { retryAfter: Math.max(1, Math.ceil(left / 1000)) });
    }
    const budget = this.config.wechat.forceRefreshDailyBudget;
    const { allowed, used, retryAfterSeconds } = await this.forceRefreshes.take(
      StoreKeys.forceRefreshDaily(appid),
      budget,
    );
    this.metrics.quotaUsed(appid, 'force_refresh', used, this.clock.now() + retryAfterSeconds * 1000);
    if (!allowed) {
      this.logger.error(
        { alert: 'WECHAT_FORCE_REFRESH_BUDGET', appid, used: used - 1, budget },
        'WeChat keeps refusing the interface token and the force_refresh budget for today is spent: ' +
          'another system may be fetching tokens for this AppID with /cgi-bin/token',
      );
      throw new AppException('WX_UNAVAILABLE', { retryAfter: retryAfterSeconds });
    }
    this.logger.warn(
      { alert: 'WECHAT_FORCE_REFRESH', appid, used, budget },
      'WeChat refused the token it keeps handing out: forcing a new one',
    );
  }

  private async readCache(appid: string): Promise<string | null> {
    const raw = await this.store.get(StoreKeys.interfaceToken(appid));
    if (!raw) return null;
    try {
      const cached = JSON.parse(raw) as Cached;
      return cached.useUntil > this.clock.now() ? cached.accessToken : null;
    } catch {
      return null;
    }
  }

  private async writeCache(appid: string, token: StableToken): Promise<void> {
    const margin = this.config.wechat.accessTokenMarginSeconds;
    // Near its end WeChat may still hand out the old token with little time left: use half of what is
    // left then, rather than refetching on every call.
    const useFor = token.expiresIn > 2 * margin ? token.expiresIn - margin : token.expiresIn / 2;
    const value: Cached = { accessToken: token.accessToken, useUntil: this.clock.now() + useFor * 1000 };
    await this.store.set(StoreKeys.interfaceToken(appid), JSON.stringify(value), token.expiresIn * 1000);
  }
}
