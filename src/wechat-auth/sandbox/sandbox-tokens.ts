import { daysAt, Quota } from '../../common/store/quota';
import { StoreKeys } from '../../common/store/store-keys';
import {
  DAY,
  jsonObject,
  MINUTE,
  SANDBOX_ERRCODE,
  SECOND,
  type SandboxContext,
  type WechatAnswer,
} from './sandbox-context';

export const ACCESS_TOKEN_LIFETIME_MS = 7200 * SECOND;
/** Normal-mode stable_token renews this long before expiry; old and new overlap for it. */
export const ACCESS_TOKEN_RENEW_WINDOW_MS = 5 * MINUTE;
/** Expired tokens are remembered this much longer, so they answer 42001 (expired) rather than 40001 (unknown). */
const EXPIRED_TOKEN_MEMORY_MS = DAY;
export const FORCE_REFRESH_MIN_GAP_MS = 30 * SECOND;
export const FORCE_REFRESH_PER_DAY = 20;
/** WeChat's quota day is Beijing's (UTC+8). */
const QUOTA_DAY_OFFSET_MS = 8 * 60 * MINUTE;

/** A type alias, not an interface, so it stays assignable to an endpoint's answer. */
export type AccessTokenAnswer = { access_token: string; expires_in: number };

interface TokenRecord {
  appid: string;
  expiresAt: number;
  /** Force-refresh generation of the app when issued; a later force refresh invalidates every earlier token. */
  epoch: number;
}

interface CurrentToken {
  token: string;
  expiresAt: number;
  epoch: number;
}

/** Interface tokens: stable_token in normal and force-refresh mode, and the check every token-guarded API makes. */
export class SandboxTokens {
  /** WeChat's own limit on force_refresh: 20 a day per app. */
  private readonly forceRefreshes: Quota;

  constructor(private readonly ctx: SandboxContext) {
    this.forceRefreshes = new Quota(ctx.store, ctx.clock, daysAt(QUOTA_DAY_OFFSET_MS));
  }

  /** See `SandboxWechat.issueAccessToken`. */
  async issueAccessToken(
    appid: string,
    opts: { token?: string; expiresIn?: number } = {},
  ): Promise<AccessTokenAnswer> {
    const now = this.ctx.clock.now();
    const lifetime = (opts.expiresIn ?? ACCESS_TOKEN_LIFETIME_MS / SECOND) * SECOND;
    const current: CurrentToken = {
      token: opts.token ?? this.newAccessToken(),
      expiresAt: now + lifetime,
      epoch: await this.epoch(appid),
    };
    if (opts.token) this.ctx.issued('accessToken', opts.token);
    await this.saveToken(appid, current);
    await this.setCurrent(appid, current);
    return tokenAnswer(current, now);
  }

  /** `POST /cgi-bin/stable_token` */
  async stableToken(body: unknown): Promise<WechatAnswer> {
    const { ctx } = this;
    const b = jsonObject(body);
    if (typeof b === 'number') return ctx.error(b);
    if (b.grant_type !== 'client_credential') return ctx.error(SANDBOX_ERRCODE.INVALID_GRANT_TYPE);
    const appid = typeof b.appid === 'string' ? b.appid : '';
    const refused = ctx.credentialsError(appid, b.secret);
    if (refused !== undefined) return ctx.error(refused);
    if (b.force_refresh !== undefined && typeof b.force_refresh !== 'boolean') {
      return ctx.error(SANDBOX_ERRCODE.DATA_FORMAT_ERROR);
    }
    return b.force_refresh ? this.forceRefresh(appid) : this.normalToken(appid);
  }

  /** The app an interface token belongs to, or WeChat's errcode for it. */
  async tokenApp(q: URLSearchParams): Promise<string | number> {
    const token = q.get('access_token');
    if (!token) return SANDBOX_ERRCODE.ACCESS_TOKEN_MISSING;
    const record = await this.ctx.readJson<TokenRecord>(StoreKeys.sandboxToken(token));
    // Replaced by a force refresh → 40001 "not latest", which clients answer by fetching a new one.
    if (!record || record.epoch !== (await this.epoch(record.appid)))
      return SANDBOX_ERRCODE.INVALID_CREDENTIAL;
    if (this.ctx.clock.now() >= record.expiresAt) return SANDBOX_ERRCODE.ACCESS_TOKEN_EXPIRED;
    return record.appid;
  }

  /** A POST with `?access_token=…` and a JSON body: the token's app and the body, or WeChat's errcode. */
  async tokenPost(
    q: URLSearchParams,
    body: unknown,
  ): Promise<number | { appid: string; body: Record<string, unknown> }> {
    const appid = await this.tokenApp(q);
    if (typeof appid === 'number') return appid;
    const b = jsonObject(body);
    return typeof b === 'number' ? b : { appid, body: b };
  }

  /**
   * Same token for every caller while it has more than 5 minutes left; in the
   * last 5 minutes the first caller gets a successor and the old one stays
   * valid until it expires, so every answer is good for at least 300 s.
   */
  private async normalToken(appid: string): Promise<WechatAnswer> {
    const { store } = this.ctx;
    const now = this.ctx.clock.now();
    const epoch = await this.epoch(appid);
    const current = await this.ctx.readJson<CurrentToken>(StoreKeys.sandboxStable(appid));
    const live = current && current.epoch === epoch && current.expiresAt > now ? current : undefined;
    if (live && live.expiresAt - now > ACCESS_TOKEN_RENEW_WINDOW_MS) return tokenAnswer(live, now);

    // Renew once across instances: the first to claim "the successor of X" wins, the others hand out its token.
    const candidate: CurrentToken = {
      token: this.newAccessToken(),
      expiresAt: now + ACCESS_TOKEN_LIFETIME_MS,
      epoch,
    };
    await this.saveToken(appid, candidate);
    // Keyed by the last current token, live or expired, so each one has exactly one successor.
    const claim = StoreKeys.sandboxStableNext(appid, epoch, current?.token ?? 'none');
    if (await store.setIfAbsent(claim, JSON.stringify(candidate), ACCESS_TOKEN_LIFETIME_MS)) {
      await this.setCurrent(appid, candidate);
      return tokenAnswer(candidate, now);
    }
    const winner = await this.ctx.readJson<CurrentToken>(claim);
    if (!winner) {
      // The claim expired in between (only if this call stalled for hours): this candidate is as good as any.
      await this.setCurrent(appid, candidate);
      return tokenAnswer(candidate, now);
    }
    // Lost the race: the candidate was never handed out, so it must not stay valid.
    await store.delete(StoreKeys.sandboxToken(candidate.token));
    return tokenAnswer(winner, now);
  }

  /**
   * A new token that invalidates every earlier one at once. WeChat's limits:
   * 20 a day (then 45009), and at least 30 s apart — the docs say a call
   * inside 30 s "does not refresh", so it gets the current token unchanged
   * rather than an error, and does not count toward the 20.
   */
  private async forceRefresh(appid: string): Promise<WechatAnswer> {
    const { store } = this.ctx;
    if (!(await store.setIfAbsent(StoreKeys.sandboxForceGap(appid), '1', FORCE_REFRESH_MIN_GAP_MS))) {
      return this.normalToken(appid);
    }
    const now = this.ctx.clock.now();
    if (
      !(await this.forceRefreshes.take(StoreKeys.sandboxForceCount(appid), FORCE_REFRESH_PER_DAY)).allowed
    ) {
      return this.ctx.error(SANDBOX_ERRCODE.DAILY_QUOTA);
    }
    // Tokens compare epochs for equality: if this key expires (30 days on), older tokens stay invalid, never revive.
    const epoch = await store.increment(StoreKeys.sandboxTokenEpoch(appid), 30 * DAY);
    const fresh: CurrentToken = {
      token: this.newAccessToken(),
      expiresAt: now + ACCESS_TOKEN_LIFETIME_MS,
      epoch,
    };
    await this.saveToken(appid, fresh);
    await this.setCurrent(appid, fresh);
    return tokenAnswer(fresh, now);
  }

  private async epoch(appid: string): Promise<number> {
    return Number((await this.ctx.store.get(StoreKeys.sandboxTokenEpoch(appid))) ?? 0);
  }

  private async saveToken(appid: string, t: CurrentToken): Promise<void> {
    const record: TokenRecord = { appid, expiresAt: t.expiresAt, epoch: t.epoch };
    const ttl = t.expiresAt - this.ctx.clock.now() + EXPIRED_TOKEN_MEMORY_MS;
    await this.ctx.store.set(StoreKeys.sandboxToken(t.token), JSON.stringify(record), ttl);
  }

  private async setCurrent(appid: string, t: CurrentToken): Promise<void> {
    const ttl = t.expiresAt - this.ctx.clock.now() + EXPIRED_TOKEN_MEMORY_MS;
    await this.ctx.store.set(StoreKeys.sandboxStable(appid), JSON.stringify(t), ttl);
  }

  private newAccessToken(): string {
    const token = this.ctx.random.bytes(48).toString('base64url');
    this.ctx.issued('accessToken', token);
    return token;
  }
}

function tokenAnswer(t: CurrentToken, now: number): AccessTokenAnswer {
  return { access_token: t.token, expires_in: Math.floor((t.expiresAt - now) / SECOND) };
}
