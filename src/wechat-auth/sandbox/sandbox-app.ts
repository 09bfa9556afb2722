import { StoreKeys } from '../../common/store/store-keys';
import type { SandboxContext } from './sandbox-context';
import {
  SANDBOX_PERSONAS,
  sandboxOpenid,
  sandboxUnionid,
  type OAuthGrant,
  type SandboxPersona,
} from './sandbox-web-oauth';

export interface MintedAppCode {
  code: string;
  openid: string;
  unionid?: string;
}

/**
 * The mobile app's side of "Log in with WeChat" (the WeChat SDK's SendAuth, scope snsapi_userinfo): a
 * single-use code for one of the personas, which the app's server then exchanges at
 * `/sns/oauth2/access_token` (answered by SandboxWebOAuth, like WeChat: one endpoint for every OAuth door).
 * A persona is one person across the sandbox's apps: the same unionid at the mini program, the Official
 * Account, the website and the app, and its own openid in each.
 */
export class SandboxApp {
  constructor(private readonly ctx: SandboxContext) {}

  async mintAppCode(input: { appid: string; persona?: SandboxPersona }): Promise<MintedAppCode> {
    const { ctx } = this;
    if (!ctx.apps.has(input.appid)) throw new UnknownSandboxAppError();
    const persona = input.persona ?? 'alice';
    const code = ctx.random.bytes(24).toString('base64url');
    ctx.issued('loginCode', code);
    const openid = sandboxOpenid(input.appid, persona);
    const grant: OAuthGrant = { appid: input.appid, openid, scope: 'snsapi_userinfo', persona };
    await ctx.saveCode(StoreKeys.sandboxOAuthCode(code), grant);
    return {
      code,
      openid,
      ...(SANDBOX_PERSONAS[persona].unionid ? { unionid: sandboxUnionid(persona) } : {}),
    };
  }
}

/** An appid the sandbox does not know (not in WECHAT_APPID / WECHAT_APPS). */
export class UnknownSandboxAppError extends Error {}
