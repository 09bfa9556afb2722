import { createCipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { SANDBOX_ERRCODE, type SandboxContext, type WechatAnswer } from './sandbox-context';
import type { SandboxLogin } from './sandbox-login';
import { phoneFields } from './sandbox-phone';
import type { SandboxTokens } from './sandbox-tokens';

/** WeChat's legacy open data, as the mini program gets it from wx.getUserInfo / the old getPhoneNumber button. */
export interface OpenData {
  encryptedData: string;
  iv: string;
  rawData: string;
  signature: string;
}

/** Minting open data needs the session_key the user got at login; there is none for this (appid, openid). */
export class NoSandboxSessionError extends Error {
  constructor() {
    super('no session_key for this user and app: mint a login code and log in first');
  }
}

/** What the user's session_key proves: checkSession, and legacy open data encrypted and signed with it. */
export class SandboxSession {
  constructor(
    private readonly ctx: SandboxContext,
    private readonly login: SandboxLogin,
    private readonly tokens: SandboxTokens,
  ) {}

  /** See `SandboxWechat.mintOpenData`. */
  async mintOpenData(input: {
    appid?: string;
    openid: string;
    data?: Record<string, unknown>;
    phoneNumber?: string;
    countryCode?: string;
    watermarkTimestamp?: number;
    watermarkAppid?: string;
  }): Promise<OpenData> {
    const { ctx } = this;
    const appid = input.appid ?? ctx.defaultAppid;
    const sessionKey = await this.login.sessionKey(appid, input.openid);
    if (!sessionKey) throw new NoSandboxSessionError();
    if (input.phoneNumber !== undefined) ctx.issued('phoneNumber', input.phoneNumber);
    const data =
      input.phoneNumber !== undefined
        ? phoneFields(input.phoneNumber, input.countryCode ?? '86')
        : (input.data ?? defaultUserInfo());
    const rawData = JSON.stringify(data);
    const watermark = {
      appid: input.watermarkAppid ?? appid,
      timestamp: input.watermarkTimestamp ?? ctx.clock.nowSeconds(),
    };
    const iv = ctx.random.bytes(16);
    // createCipheriv pads with PKCS#7 by default, which is what WeChat uses.
    const cipher = createCipheriv('aes-128-cbc', Buffer.from(sessionKey, 'base64'), iv);
    const plaintext = Buffer.from(JSON.stringify({ ...data, watermark }), 'utf8');
    const encrypted = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return {
      encryptedData: encrypted.toString('base64'),
      iv: iv.toString('base64'),
      rawData,
      signature: createHash('sha1')
        .update(rawData + sessionKey, 'utf8')
        .digest('hex'),
    };
  }

  /**
   * `GET /wxa/checksession`. An unknown openid and a sig_method other than
   * hmac_sha256 are both answered 87009: the signature cannot be the valid
   * one, and 87009 is what makes a client do the right thing (log in again).
   */
  async checkSession(q: URLSearchParams): Promise<WechatAnswer> {
    const { ctx } = this;
    const appid = await this.tokens.tokenApp(q);
    if (typeof appid === 'number') return ctx.error(appid);
    const openid = q.get('openid');
    if (!openid) return ctx.error(SANDBOX_ERRCODE.OPENID_MISSING);
    const sessionKey = await this.login.sessionKey(appid, openid);
    if (!sessionKey || q.get('sig_method') !== 'hmac_sha256')
      return ctx.error(SANDBOX_ERRCODE.INVALID_SIGNATURE);
    // Keyed with the session_key's characters, not its decoded bytes, over the empty string (WECHAT.md).
    const expected = Buffer.from(createHmac('sha256', sessionKey).update('').digest('hex'));
    const given = Buffer.from(q.get('signature') ?? '');
    const ok = given.length === expected.length && timingSafeEqual(given, expected);
    return ok ? { errcode: 0, errmsg: 'ok' } : ctx.error(SANDBOX_ERRCODE.INVALID_SIGNATURE);
  }
}

/** What wx.getUserInfo returns since WeChat stopped exposing profiles (2022): a placeholder user. */
function defaultUserInfo(): Record<string, unknown> {
  return {
    nickName: '微信用户',
    gender: 0,
    language: '',
    city: '',
    province: '',
    country: '',
    avatarUrl: 'https://thirdwx.qlogo.cn/mmopen/vi_32/sandbox/132',
  };
}
