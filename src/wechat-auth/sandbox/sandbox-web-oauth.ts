import { createHash } from 'node:crypto';
import { StoreKeys } from '../../common/store/store-keys';
import { SANDBOX_ERRCODE, SECOND, type SandboxContext, type WechatAnswer } from './sandbox-context';

/** A web access token lives 2 hours at WeChat (`expires_in: 7200`). */
const SNS_TOKEN_TTL_MS = 7200 * SECOND;

/**
 * Who can sign in on the sandbox's authorize and QR pages. One person has one unionid across every app of
 * the sandbox (as under one Open Platform account) and one openid per app, so the same persona through
 * the mini program (mint with `unionid: sandboxUnionid(name)`), an Official Account and a website is one
 * person. `snapshot` is WeChat's "snapshot page" visitor: a virtual account (`is_snapshotuser: 1`).
 */
export const SANDBOX_PERSONAS = {
  alice: { nickname: 'Alice', unionid: true, snapshot: false },
  bob: { nickname: 'Bob', unionid: true, snapshot: false },
  /** An app not bound to an Open Platform account: no unionid ever. */
  carol: { nickname: 'Carol', unionid: false, snapshot: false },
  snapshot: { nickname: '微信用户', unionid: false, snapshot: true },
} as const;

export type SandboxPersona = keyof typeof SANDBOX_PERSONAS;

interface PersonaTraits {
  nickname: string;
  unionid: boolean;
  snapshot: boolean;
}

/** Any other lower-case name (from a test or a hand-edited URL) is a person with a unionid. */
const CUSTOM_PERSONA = /^[a-z][a-z0-9_-]{0,31}$/;

function personaOf(name: string): PersonaTraits {
  return Object.hasOwn(SANDBOX_PERSONAS, name)
    ? SANDBOX_PERSONAS[name as SandboxPersona]
    : { nickname: name, unionid: true, snapshot: false };
}

/** A persona's unionid: the same for every app. */
export function sandboxUnionid(persona: string): string {
  return `u_sandbox_${persona}`;
}

/** A persona's openid for one app: stable, different per app (like WeChat's). */
export function sandboxOpenid(appid: string, persona: string): string {
  return `o${createHash('sha256').update(`${appid}:${persona}`).digest('base64url').slice(0, 27)}`;
}

/** A granted authorization code: whose, for which app and scope (also minted by SandboxApp). */
export interface OAuthGrant {
  appid: string;
  openid: string;
  scope: string;
  persona: string;
}

const SCOPES_BY_PAGE = {
  authorize: ['snsapi_base', 'snsapi_userinfo'],
  qrconnect: ['snsapi_login'],
} as const;

export type SandboxPage = keyof typeof SCOPES_BY_PAGE;

/** An HTML answer of the pages, or a redirect. */
export type PageAnswer = { html: string; csp?: string } | { location: string };

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * WeChat's browser side of web OAuth: the Official Account authorize page (`/connect/oauth2/authorize`) and
 * the website QR page (`/connect/qrconnect`) as one small form (pick a persona, allow or decline; the QR
 * scan is the same choice), then the API side: `/sns/oauth2/access_token`, `/sns/userinfo`, `/sns/auth`.
 * Like WeChat: a code is single use and lives 5 minutes; a declined authorization returns without `code`.
 */
export class SandboxWebOAuth {
  constructor(private readonly ctx: SandboxContext) {}

  /** `GET /connect/oauth2/authorize` and `GET /connect/qrconnect`. */
  page(page: SandboxPage, q: URLSearchParams, approveAction: string): PageAnswer {
    const problem = this.checkRequest(page, q);
    if (problem) return { html: layout('WeChat sandbox', `<p id="error">${escape(problem)}</p>`) };
    const hidden = ['appid', 'redirect_uri', 'scope', 'state']
      .map((name) => `<input type="hidden" name="${name}" value="${escape(q.get(name) ?? '')}">`)
      .join('');
    const personas = Object.entries(SANDBOX_PERSONAS)
      .map(
        ([name, p], i) =>
          `<label><input type="radio" name="persona" value="${name}"${i === 0 ? ' checked' : ''}> ` +
          `${escape(p.nickname)} (${name}${p.snapshot ? ', snapshot-page visitor' : p.unionid ? '' : ', no unionid'})</label><br>`,
      )
      .join('');
    const what =
      page === 'qrconnect'
        ? 'Website login (QR): scanning with WeChat is this choice.'
        : `Official Account page asks for ${escape(q.get('scope') ?? '')}.`;
    return {
      html: layout(
        'WeChat sandbox: authorize',
        `<h1>WeChat sandbox</h1><p>${what} App <code>${escape(q.get('appid') ?? '')}</code>.</p>` +
          `<form id="authorize" method="get" action="${escape(approveAction)}">${hidden}` +
          `<fieldset><legend>Sign in as</legend>${personas}</fieldset>` +
          '<label><input type="checkbox" name="twice" value="1"> deliver the callback twice (WeChat sometimes does)</label><br>' +
          '<button type="submit" name="decision" value="allow" id="allow">Allow</button> ' +
          '<button type="submit" name="decision" value="deny" id="deny">Decline</button></form>',
      ),
    };
  }

  /** The form's answer: a code for the chosen persona and back to `redirect_uri` (without code when declined). */
  async approve(q: URLSearchParams): Promise<PageAnswer> {
    const { ctx } = this;
    const scope = q.get('scope') ?? '';
    const page: SandboxPage = scope === 'snsapi_login' ? 'qrconnect' : 'authorize';
    const problem = this.checkRequest(page, q);
    if (problem) return { html: layout('WeChat sandbox', `<p id="error">${escape(problem)}</p>`) };
    const back = new URL(q.get('redirect_uri')!);
    const state = q.get('state');
    if (q.get('decision') === 'allow') {
      const persona = q.get('persona');
      if (persona === null || !CUSTOM_PERSONA.test(persona))
        return { html: layout('WeChat sandbox', '<p id="error">pick a persona</p>') };
      const appid = q.get('appid')!;
      const code = ctx.random.bytes(24).toString('base64url');
      ctx.issued('loginCode', code);
      const openid = personaOf(persona).snapshot
        ? sandboxOpenid(appid, `snapshot-${ctx.random.bytes(6).toString('hex')}`)
        : sandboxOpenid(appid, persona);
      const grant: OAuthGrant = { appid, openid, scope, persona };
      await ctx.saveCode(StoreKeys.sandboxOAuthCode(code), grant);
      back.searchParams.set('code', code);
    }
    if (state !== null) back.searchParams.set('state', state);
    if (q.get('twice') !== '1') return { location: back.href };
    // WeChat's double delivery: the callback is requested once in the background, then navigated to.
    const url = escape(back.href);
    return {
      html: layout(
        'WeChat sandbox: redirecting',
        `<img src="${url}" alt="" width="1" height="1"><meta http-equiv="refresh" content="1;url=${url}">` +
          `<p><a href="${url}">continue</a></p>`,
      ),
      csp: `default-src 'none'; img-src ${back.origin}; frame-ancestors 'none'`,
    };
  }

  /** `GET /sns/oauth2/access_token` */
  async accessToken(q: URLSearchParams): Promise<WechatAnswer> {
    const { ctx } = this;
    const appid = q.get('appid') ?? '';
    const refused = ctx.credentialsError(appid, q.get('secret'));
    if (refused !== undefined) return ctx.error(refused);
    if (q.get('grant_type') !== 'authorization_code') return ctx.error(SANDBOX_ERRCODE.INVALID_GRANT_TYPE);
    const code = q.get('code');
    if (!code) return ctx.error(SANDBOX_ERRCODE.CODE_MISSING);
    const grant = await ctx.readJson<OAuthGrant>(StoreKeys.sandboxOAuthCode(code));
    if (!grant || grant.appid !== appid) return ctx.error(SANDBOX_ERRCODE.INVALID_CODE);
    if (!(await ctx.spendCode(StoreKeys.sandboxOAuthCodeUsed(code))))
      return ctx.error(SANDBOX_ERRCODE.CODE_USED);
    const accessToken = ctx.random.bytes(32).toString('base64url');
    ctx.issued('accessToken', accessToken);
    await ctx.store.set(StoreKeys.sandboxSnsToken(accessToken), JSON.stringify(grant), SNS_TOKEN_TTL_MS);
    const persona = personaOf(grant.persona);
    // Per WeChat's documentation the unionid comes with the token only for a scope that asked for it.
    const unionid =
      persona.unionid && grant.scope !== 'snsapi_base' ? sandboxUnionid(grant.persona) : undefined;
    return {
      access_token: accessToken,
      expires_in: SNS_TOKEN_TTL_MS / SECOND,
      refresh_token: ctx.random.bytes(32).toString('base64url'),
      openid: grant.openid,
      scope: grant.scope,
      ...(unionid ? { unionid } : {}),
      ...(persona.snapshot ? { is_snapshotuser: 1 } : {}),
    };
  }

  /** `GET /sns/userinfo` */
  async userInfo(q: URLSearchParams): Promise<WechatAnswer> {
    const checked = await this.tokenFor(q);
    if ('error' in checked) return checked.error;
    const { grant } = checked;
    // snsapi_base grants no profile; a snapshot visitor's token neither.
    if (grant.scope === 'snsapi_base' || personaOf(grant.persona).snapshot)
      return this.ctx.error(SANDBOX_ERRCODE.API_UNAUTHORIZED);
    const persona = personaOf(grant.persona);
    return {
      openid: grant.openid,
      nickname: persona.nickname,
      sex: 0,
      province: '',
      city: '',
      country: '',
      headimgurl: `https://thirdwx.qlogo.cn/sandbox/${grant.persona}/132`,
      privilege: [],
      ...(persona.unionid ? { unionid: sandboxUnionid(grant.persona) } : {}),
    };
  }

  /** `GET /sns/auth`: whether a web access token is still valid for that openid. */
  async auth(q: URLSearchParams): Promise<WechatAnswer> {
    const checked = await this.tokenFor(q);
    return 'error' in checked ? checked.error : { errcode: 0, errmsg: 'ok' };
  }

  private async tokenFor(q: URLSearchParams): Promise<{ error: WechatAnswer } | { grant: OAuthGrant }> {
    const { ctx } = this;
    const token = q.get('access_token');
    if (!token) return { error: ctx.error(SANDBOX_ERRCODE.ACCESS_TOKEN_MISSING) };
    const grant = await ctx.readJson<OAuthGrant>(StoreKeys.sandboxSnsToken(token));
    if (!grant) return { error: ctx.error(SANDBOX_ERRCODE.INVALID_CREDENTIAL) };
    const openid = q.get('openid');
    if (!openid) return { error: ctx.error(SANDBOX_ERRCODE.OPENID_MISSING) };
    if (openid !== grant.openid) return { error: ctx.error(SANDBOX_ERRCODE.INVALID_OPENID) };
    return { grant };
  }

  /** What WeChat's page would refuse to show, or undefined. */
  private checkRequest(page: SandboxPage, q: URLSearchParams): string | undefined {
    const appid = q.get('appid') ?? '';
    if (!this.ctx.apps.has(appid)) return 'invalid appid (40013)';
    const redirect = q.get('redirect_uri') ?? '';
    if (!/^https?:\/\//.test(redirect) || !URL.canParse(redirect))
      return 'redirect_uri 参数错误 (invalid redirect_uri)';
    if (q.get('response_type') !== null && q.get('response_type') !== 'code') return 'invalid response_type';
    if (!(SCOPES_BY_PAGE[page] as readonly string[]).includes(q.get('scope') ?? ''))
      return 'scope 参数错误 (invalid scope)';
    return undefined;
  }
}

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head><body>${body}</body></html>`;
}
