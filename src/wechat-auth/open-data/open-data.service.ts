import type { RequestContext } from '../../common/request-context';
import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { AuthPrincipal } from '../../common/auth/auth-principal';
import { Clock } from '../../common/clock/clock';
import { AppException } from '../../common/errors/app.exception';
import { SingleFlight } from '../../common/concurrency/single-flight';
import { KvStore } from '../../common/store/kv-store';
import { MINUTE, Quota } from '../../common/store/quota';
import { StoreKeys } from '../../common/store/store-keys';
import { AppConfig, type WechatAppCredentials } from '../../config/app-config';
import { userGone, UsersService } from '../../users/users.service';
import { PhoneService } from '../phone/phone.service';
import { Deadline } from '../upstream/deadline';
import { WechatApi } from '../wechat-api';
import { wechatApp } from '../wechat-apps';
import { CheckSessionEndpoint } from './check-session.endpoint';
import type { DecryptRequest } from './dto/decrypt.request';
import type { DecryptResponse } from './dto/decrypt.response';
import {
  checkWatermark,
  decryptOpenData,
  OpenDataError,
  splitWatermark,
  verifyRawDataSignature,
} from './open-data-crypto';

export interface SessionCheck {
  valid: boolean;
  checkedAt: string;
}

/** WeChat is asked about one key at most once per this; a rotation shows within this delay. */
const CHECK_CACHE_MS = 1_000;
/** checksession calls one user may cause per minute (each one spends the app's WeChat quota). */
const CHECKS_PER_MINUTE = 20;

const PHONE_FIELDS = ['phoneNumber', 'purePhoneNumber', 'countryCode'] as const;

/**
 * The user's WeChat session_key on the server: whether WeChat still holds it valid, and legacy open data
 * decrypted with it. A failed decryption is told apart: when WeChat says the key rotated (a wx.login ran
 * after the data was encrypted) the answer is 401 SESSION_STALE — log in again and retry — else 400
 * DECRYPT_FAILED. Never a 500.
 */
@Injectable()
export class OpenDataService {
  private readonly checkSession = new CheckSessionEndpoint();
  private readonly checks = new SingleFlight<boolean>();
  private readonly checksPerUser: Quota;

  constructor(
    private readonly config: AppConfig,
    private readonly wechat: WechatApi,
    private readonly users: UsersService,
    private readonly phones: PhoneService,
    private readonly clock: Clock,
    private readonly store: KvStore,
  ) {
    this.checksPerUser = new Quota(store, clock, MINUTE);
  }

  /** `context`: the request, whose id goes on the WeChat call's log lines. */
  async check(principal: AuthPrincipal, context?: RequestContext): Promise<SessionCheck> {
    const app = wechatApp(this.config, principal.appid);
    const session = await this.session(principal, app);
    // No session_key (an identity from another channel): nothing WeChat could confirm.
    const valid = session ? await this.isValid(app, session, context) : false;
    return { valid, checkedAt: this.clock.date().toISOString() };
  }

  /** `context`: the request's id and client IP, for the audit trail (a phone number bound) and the logs. */
  async decrypt(
    principal: AuthPrincipal,
    body: DecryptRequest,
    context?: RequestContext,
  ): Promise<DecryptResponse> {
    const app = wechatApp(this.config, principal.appid);
    const session = await this.session(principal, app);
    if (!session) throw new AppException('SESSION_STALE');
    let plain: Record<string, unknown>;
    try {
      if (body.rawData !== undefined && body.signature !== undefined) {
        if (!verifyRawDataSignature(body.rawData, session.sessionKey, body.signature))
          throw new OpenDataError('signature_mismatch');
      }
      plain = decryptOpenData(session.sessionKey, body.encryptedData, body.iv);
    } catch (e) {
      if (!(e instanceof OpenDataError)) throw e;
      if (e.reason === 'invalid_base64')
        throw new AppException('VALIDATION_FAILED', { details: [e.message] });
      // Made with another key than ours: ask WeChat whether ours went stale.
      if (!(await this.isValid(app, session, context))) throw new AppException('SESSION_STALE', { cause: e });
      throw new AppException('DECRYPT_FAILED', { cause: e }, `${ERRORS_PREFIX}${e.message}.`);
    }
    try {
      checkWatermark(plain, app.appid, this.clock.now(), this.config.openData.maxAgeSeconds);
    } catch (e) {
      if (!(e instanceof OpenDataError)) throw e;
      throw new AppException('DECRYPT_FAILED', { cause: e }, `${ERRORS_PREFIX}${e.message}.`);
    }
    const { data, watermark } = splitWatermark(plain);
    const phone = phoneOf(data);
    if (!phone) return { data, watermark };
    for (const field of PHONE_FIELDS) delete data[field];
    const bound = await this.phones.bind(
      principal.userId,
      phone.purePhoneNumber,
      phone.countryCode,
      app.appid,
      context,
    );
    return { data, watermark, phone: { masked: bound.phone, countryCode: bound.countryCode } };
  }

  private async session(
    principal: AuthPrincipal,
    app: WechatAppCredentials,
  ): Promise<{ userId: string; openid: string; sessionKey: string } | null> {
    const identity = await this.users.identityOf(principal.userId, app.appid);
    if (!identity) {
      // A user merged away (or deleted) since the token was issued is no longer a valid caller.
      if (!(await this.users.findById(principal.userId))) throw userGone();
      throw new AppException('NO_WECHAT_SESSION');
    }
    return identity.sessionKey
      ? { userId: principal.userId, openid: identity.openid, sessionKey: identity.sessionKey }
      : null;
  }

  /**
   * WeChat's answer for this exact key, shared for a second: one user's burst of checks (or of
   * garbage to decrypt) must not spend the app's minute quota, which would stop every user's checks.
   * Concurrent checks of one key on this instance share one call; beyond CHECKS_PER_MINUTE per user the
   * answer is 429 RATE_LIMITED without calling WeChat. A shared call's log lines name the request that started it.
   */
  private isValid(
    app: WechatAppCredentials,
    session: { userId: string; openid: string; sessionKey: string },
    context: RequestContext | undefined,
  ): Promise<boolean> {
    // The openid and its session_key, hashed together: the key names neither (the session_key is secret).
    const sessionTag = createHash('sha256')
      .update(`${session.openid}\n${session.sessionKey}`)
      .digest('base64url')
      .slice(0, 32);
    const cacheKey = StoreKeys.checkSession(app.appid, sessionTag);
    // Registered before the first await, so every concurrent check of this key joins it.
    return this.checks.run(cacheKey, () => this.checkOnce(app, session, cacheKey, context));
  }

  private async checkOnce(
    app: WechatAppCredentials,
    session: { userId: string; openid: string; sessionKey: string },
    cacheKey: string,
    context: RequestContext | undefined,
  ): Promise<boolean> {
    const cached = await this.store.get(cacheKey);
    if (cached !== null) return cached === '1';
    const take = await this.checksPerUser.take(StoreKeys.checkSessionRate(session.userId), CHECKS_PER_MINUTE);
    if (!take.allowed) throw new AppException('RATE_LIMITED', { retryAfter: take.retryAfterSeconds });
    const deadline = Deadline.after(this.clock, this.config.wechat.apiDeadlineMs);
    const valid = await this.wechat.call(this.checkSession, app, session, deadline, context);
    await this.store.set(cacheKey, valid ? '1' : '0', CHECK_CACHE_MS);
    return valid;
  }
}

const ERRORS_PREFIX = 'The encrypted data was refused: ';

/** A phone-number payload (getPhoneNumber's legacy encryptedData). */
function phoneOf(data: Record<string, unknown>): { purePhoneNumber: string; countryCode: string } | null {
  if (!PHONE_FIELDS.some((f) => f in data)) return null;
  // Any phone field makes it a phone payload: bound when well-formed, refused otherwise — never echoed.
  const { purePhoneNumber, countryCode } = data;
  if (
    typeof purePhoneNumber !== 'string' ||
    typeof countryCode !== 'string' ||
    !/^\d{4,20}$/.test(purePhoneNumber) ||
    !/^\d{1,4}$/.test(countryCode)
  )
    throw new AppException('DECRYPT_FAILED', {}, `${ERRORS_PREFIX}the phone number in it is malformed.`);
  return { purePhoneNumber, countryCode };
}
