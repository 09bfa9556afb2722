import { StoreKeys } from '../../common/store/store-keys';
import {
  CODE_TTL_SECONDS,
  DAY,
  SANDBOX_ERRCODE,
  type SandboxContext,
  type WechatAnswer,
} from './sandbox-context';

/** WeChat does not publish a session_key lifetime; long enough that a dev session outlives a working day or a test run. */
const SESSION_KEY_TTL_MS = 30 * DAY;

export interface MintedLoginCode {
  code: string;
  appid: string;
  openid: string;
  expiresIn: number;
}

interface LoginCodeRecord {
  appid: string;
  openid: string;
}

interface UserRecord {
  sessionKey: string;
  unionid?: string;
}

/** wx.login and code2Session: login codes, and the session_key (and unionid) WeChat holds per user and app. */
export class SandboxLogin {
  constructor(private readonly ctx: SandboxContext) {}

  /** See `SandboxWechat.mintLoginCode`. */
  async mintLoginCode(
    input: {
      appid?: string;
      openid?: string;
      unionid?: string;
      keepSessionKey?: boolean;
      code?: string;
    } = {},
  ): Promise<MintedLoginCode> {
    const { ctx } = this;
    const appid = input.appid ?? ctx.defaultAppid;
    const openid = input.openid ?? `o${ctx.random.bytes(20).toString('base64url')}`;
    const code = input.code ?? ctx.random.bytes(24).toString('base64url');
    ctx.issued('loginCode', code);

    const existing = await this.user(appid, openid);
    const sessionKey =
      input.keepSessionKey && existing ? existing.sessionKey : ctx.random.bytes(16).toString('base64');
    if (sessionKey !== existing?.sessionKey) ctx.issued('sessionKey', sessionKey);
    // unionid belongs to the person, not to one login: once known it comes back with every later code.
    const unionid = input.unionid ?? existing?.unionid;
    const user: UserRecord = { sessionKey, ...(unionid ? { unionid } : {}) };
    await ctx.store.set(StoreKeys.sandboxUser(appid, openid), JSON.stringify(user), SESSION_KEY_TTL_MS);

    const record: LoginCodeRecord = { appid, openid };
    await ctx.saveCode(StoreKeys.sandboxCode(code), record);
    return { code, appid, openid, expiresIn: CODE_TTL_SECONDS };
  }

  /** The session_key WeChat currently holds for this user, as code2Session would return it now. */
  async sessionKey(appid: string, openid: string): Promise<string | undefined> {
    return (await this.user(appid, openid))?.sessionKey;
  }

  /** `GET /sns/jscode2session` */
  async jscode2session(q: URLSearchParams): Promise<WechatAnswer> {
    const { ctx } = this;
    const appid = q.get('appid') ?? '';
    const refused = ctx.credentialsError(appid, q.get('secret'));
    if (refused !== undefined) return ctx.error(refused);
    const code = q.get('js_code');
    if (q.get('grant_type') !== 'authorization_code' || !code) return ctx.error(SANDBOX_ERRCODE.INVALID_CODE);

    const minted = await ctx.readJson<LoginCodeRecord>(StoreKeys.sandboxCode(code));
    // A code of another app and a phone code (another namespace) are just invalid here, as at WeChat.
    if (!minted || minted.appid !== appid) return ctx.error(SANDBOX_ERRCODE.INVALID_CODE);
    if (!(await ctx.spendCode(StoreKeys.sandboxCodeUsed(code)))) {
      return ctx.error(SANDBOX_ERRCODE.CODE_USED);
    }
    const user = await this.user(appid, minted.openid);
    // The user record outlives its codes by far; gone only if the store was flushed between mint and exchange.
    if (!user) return ctx.error(SANDBOX_ERRCODE.INVALID_CODE);
    return {
      openid: minted.openid,
      session_key: user.sessionKey,
      ...(user.unionid ? { unionid: user.unionid } : {}),
    };
  }

  private async user(appid: string, openid: string): Promise<UserRecord | undefined> {
    return await this.ctx.readJson<UserRecord>(StoreKeys.sandboxUser(appid, openid));
  }
}
