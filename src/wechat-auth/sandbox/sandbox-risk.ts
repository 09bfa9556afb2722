import { isIP } from 'node:net';
import { StoreKeys } from '../../common/store/store-keys';
import { DAY, SANDBOX_ERRCODE, type SandboxContext, type WechatAnswer } from './sandbox-context';
import type { SandboxLogin } from './sandbox-login';
import type { SandboxTokens } from './sandbox-tokens';

/** What a minted login code decides about its user's risk rank (see `SandboxWechat.mintLoginCode`). */
export interface RiskChoice {
  /** WeChat's rank for this user from now on, 0–4; default 0 (every mint sets it). */
  riskRank?: number;
  /** Answer getuserriskrank for this user with this errcode instead (e.g. -1, system busy). */
  riskErrcode?: number;
}

interface RiskRecord {
  rank: number;
  errcode?: number;
}

/** As long as the sandbox remembers the user's session_key: a rank outlives its codes. */
const RISK_TTL_MS = 30 * DAY;

/**
 * getuserriskrank: WeChat's user risk rank. WeChat rates the person, not a code, so the rank a mint chose is
 * kept per (appid, openid) and answered until the next mint for that user. Faithful where WeChat documents it:
 * POST with an interface token; `appid`, `openid`, `client_ip` required, `scene` 0 (sign-up) or 1 (marketing),
 * else 40129; an openid of another app is 43104; a user who has not logged in recently is 61010.
 */
export class SandboxRisk {
  constructor(
    private readonly ctx: SandboxContext,
    private readonly tokens: SandboxTokens,
    private readonly login: SandboxLogin,
  ) {}

  /** Called by every login-code mint: the user's rank (default 0) or the errcode to answer. */
  async choose(appid: string, openid: string, choice: RiskChoice): Promise<void> {
    const record: RiskRecord = {
      rank: choice.riskRank ?? 0,
      ...(choice.riskErrcode !== undefined ? { errcode: choice.riskErrcode } : {}),
    };
    await this.ctx.store.set(StoreKeys.sandboxRisk(appid, openid), JSON.stringify(record), RISK_TTL_MS);
  }

  /** `POST /wxa/getuserriskrank?access_token=…` */
  async riskRank(q: URLSearchParams, body: unknown): Promise<WechatAnswer> {
    const { ctx } = this;
    const post = await this.tokens.tokenPost(q, body);
    if (typeof post === 'number') return ctx.error(post);
    const { appid, openid, scene, client_ip: clientIp } = post.body;
    if (typeof appid !== 'string' || typeof openid !== 'string' || typeof clientIp !== 'string' || !openid)
      return ctx.error(SANDBOX_ERRCODE.DATA_FORMAT_ERROR);
    if (scene !== 0 && scene !== 1) return ctx.error(SANDBOX_ERRCODE.INVALID_SCENE);
    if (isIP(clientIp) === 0) return ctx.error(SANDBOX_ERRCODE.DATA_FORMAT_ERROR);
    if (appid !== post.appid) return ctx.error(SANDBOX_ERRCODE.APPID_OPENID_MISMATCH);
    // WeChat rates only users who used the mini program lately: here, users with a session.
    if ((await this.login.sessionKey(appid, openid)) === undefined)
      return ctx.error(SANDBOX_ERRCODE.USER_NOT_RECENT);
    const record = await ctx.readJson<RiskRecord>(StoreKeys.sandboxRisk(appid, openid));
    if (record?.errcode !== undefined) return ctx.error(record.errcode);
    // `unoin_id` (sic): WeChat's spelling of its per-request id.
    return {
      errcode: 0,
      errmsg: 'getuserriskrank succ',
      risk_rank: record?.rank ?? 0,
      unoin_id: ctx.random.bytes(4).readUInt32BE(0),
    };
  }
}
