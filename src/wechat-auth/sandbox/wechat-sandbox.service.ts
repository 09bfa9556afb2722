import { Injectable } from '@nestjs/common';
import { Random } from '../../common/random/random';
import { KvStore } from '../../common/store/kv-store';
import { AppConfig } from '../../config/app-config';
import { WX_ERRCODE } from '../wechat-error-mapping';

const CODE_TTL_MS = 5 * 60 * 1000;

interface MintedCode {
  appid: string;
  openid: string;
  unionid?: string;
}

export type SandboxAnswer = Record<string, string | number>;

/**
 * A stand-in for WeChat's login endpoint, for development without a real
 * AppID: single-use codes valid 5 minutes, WeChat's errcodes and wire format.
 * State lives in the shared store, so it also works across instances.
 */
@Injectable()
export class WechatSandboxService {
  constructor(
    private readonly config: AppConfig,
    private readonly store: KvStore,
    private readonly random: Random,
  ) {}

  /** What `wx.login()` would give the mini program. */
  async mintCode(input: {
    appid?: string;
    openid?: string;
    unionid?: string;
  }): Promise<{ code: string; appid: string; openid: string; expiresIn: number }> {
    const appid = input.appid ?? this.config.wechat.defaultAppid;
    const openid = input.openid ?? `o${this.random.bytes(20).toString('base64url')}`;
    const code = this.random.bytes(24).toString('base64url');
    const minted: MintedCode = { appid, openid, ...(input.unionid ? { unionid: input.unionid } : {}) };
    await this.store.set(`sandbox:code:${code}`, JSON.stringify(minted), CODE_TTL_MS);
    return { code, appid, openid, expiresIn: CODE_TTL_MS / 1000 };
  }

  /** `GET /sns/jscode2session`, answered the way WeChat does (errors as HTTP 200 + errcode). */
  async jscode2session(query: Record<string, unknown>): Promise<SandboxAnswer> {
    const { appid, secret, js_code: code, grant_type: grantType } = query;
    const app = typeof appid === 'string' ? this.config.wechat.apps.get(appid) : undefined;
    if (!app) return this.error(WX_ERRCODE.INVALID_APPID, 'invalid appid');
    if (secret !== app.secret) return this.error(WX_ERRCODE.INVALID_SECRET, 'invalid appsecret');
    if (grantType !== 'authorization_code' || typeof code !== 'string' || !code)
      return this.error(WX_ERRCODE.INVALID_CODE, 'invalid code');

    const raw = await this.store.get(`sandbox:code:${code}`);
    const minted = raw ? (JSON.parse(raw) as MintedCode) : undefined;
    if (!minted || minted.appid !== app.appid) return this.error(WX_ERRCODE.INVALID_CODE, 'invalid code');
    if (!(await this.store.setIfAbsent(`sandbox:used:${code}`, '1', CODE_TTL_MS))) {
      return this.error(WX_ERRCODE.CODE_USED, 'code been used');
    }
    return {
      openid: minted.openid,
      session_key: this.random.bytes(16).toString('base64'),
      ...(minted.unionid ? { unionid: minted.unionid } : {}),
    };
  }

  private error(errcode: number, errmsg: string): SandboxAnswer {
    return { errcode, errmsg: `${errmsg}, rid: ${this.random.uuid().slice(0, 8)}-sandbox` };
  }
}
