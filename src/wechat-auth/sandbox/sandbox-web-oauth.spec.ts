import { FakeClock } from '../../common/clock/fake-clock';
import { Random } from '../../common/random/random';
import { MemoryKvStore } from '../../common/store/memory-kv-store';
import { SandboxWechat, sandboxOpenid, sandboxUnionid, type IssuedSecret } from './sandbox-wechat';

const APPS = new Map([
  ['wxoa', 'oa-secret'],
  ['wxweb', 'web-secret'],
]);
const REDIRECT = 'https://auth.example.com/auth/wechat/oauth/callback';

describe('SandboxWechat web OAuth', () => {
  let clock: FakeClock;
  let issued: IssuedSecret[];
  let wx: SandboxWechat;

  beforeEach(() => {
    clock = new FakeClock();
    issued = [];
    wx = new SandboxWechat(APPS, new MemoryKvStore(clock), new Random(), clock, {
      onIssued: (s) => issued.push(s),
    });
  });

  type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const call = async (path: string, query: Record<string, string>) =>
    (await wx.handle({ method: 'GET', path, query: new URLSearchParams(query) })).body as Body;
  /** The page approved (or declined) as a persona: the code it redirects with (undefined when declined). */
  const approve = async (
    opts: { appid?: string; scope?: string; persona?: string; decision?: string } = {},
  ) => {
    const answer = await wx.oauthApprove({
      appid: opts.appid ?? 'wxoa',
      redirect_uri: REDIRECT,
      scope: opts.scope ?? 'snsapi_userinfo',
      state: 'st',
      persona: opts.persona ?? 'alice',
      decision: opts.decision ?? 'allow',
    });
    if (!('location' in answer)) throw new Error(answer.html);
    const back = new URL(answer.location);
    expect(back.origin + back.pathname).toBe(REDIRECT);
    expect(back.searchParams.get('state')).toBe('st');
    return back.searchParams.get('code') ?? undefined;
  };
  const token = (code: string, appid = 'wxoa', over: Record<string, string> = {}) =>
    call('/sns/oauth2/access_token', {
      appid,
      secret: APPS.get(appid) ?? 'x',
      code,
      grant_type: 'authorization_code',
      ...over,
    });

  it('the pages show a persona form for a valid request and an error for a bad one', () => {
    const ok = wx.oauthPage(
      'authorize',
      { appid: 'wxoa', redirect_uri: REDIRECT, response_type: 'code', scope: 'snsapi_base', state: 's' },
      '/sandbox/wechat/connect/approve',
    );
    expect('html' in ok && ok.html).toContain(
      '<form id="authorize" method="get" action="/sandbox/wechat/connect/approve">',
    );
    for (const [page, query, error] of [
      ['authorize', { appid: 'wxnope', redirect_uri: REDIRECT, scope: 'snsapi_base' }, '40013'],
      ['authorize', { appid: 'wxoa', redirect_uri: 'ftp://x', scope: 'snsapi_base' }, 'redirect_uri'],
      ['authorize', { appid: 'wxoa', redirect_uri: REDIRECT, scope: 'snsapi_login' }, 'scope'],
      ['qrconnect', { appid: 'wxweb', redirect_uri: REDIRECT, scope: 'snsapi_userinfo' }, 'scope'],
    ] as const) {
      const answer = wx.oauthPage(page, query, '/a');
      expect('html' in answer && answer.html).toContain(error);
    }
  });

  it('a code for a persona: openid per app, unionid per person, nickname and avatar with snsapi_userinfo', async () => {
    const at = await token((await approve())!);
    expect(at).toMatchObject({
      openid: sandboxOpenid('wxoa', 'alice'),
      unionid: sandboxUnionid('alice'),
      scope: 'snsapi_userinfo',
      expires_in: 7200,
    });
    expect(at.is_snapshotuser).toBeUndefined();
    const info = await call('/sns/userinfo', { access_token: at.access_token, openid: at.openid });
    expect(info).toMatchObject({ openid: at.openid, nickname: 'Alice', unionid: 'u_sandbox_alice' });
    expect(await call('/sns/auth', { access_token: at.access_token, openid: at.openid })).toEqual({
      errcode: 0,
      errmsg: 'ok',
    });
    expect((await call('/sns/auth', { access_token: at.access_token, openid: 'other' })).errcode).toBe(40003);
    expect((await call('/sns/auth', { access_token: 'nope', openid: at.openid })).errcode).toBe(40001);

    const web = await token((await approve({ appid: 'wxweb', scope: 'snsapi_login' }))!, 'wxweb');
    expect(web.openid).not.toBe(at.openid);
    expect(web.unionid).toBe(at.unionid);
    expect(issued.map((s) => s.kind)).toEqual(['loginCode', 'accessToken', 'loginCode', 'accessToken']);
  });

  it('snsapi_base: no unionid, and /sns/userinfo answers 48001', async () => {
    const at = await token((await approve({ scope: 'snsapi_base' }))!);
    expect(at.unionid).toBeUndefined();
    expect((await call('/sns/userinfo', { access_token: at.access_token, openid: at.openid })).errcode).toBe(
      48001,
    );
  });

  it('a snapshot visitor gets is_snapshotuser: 1 and a made-up openid; a declined page has no code', async () => {
    const at = await token((await approve({ persona: 'snapshot' }))!);
    expect(at.is_snapshotuser).toBe(1);
    expect(at.unionid).toBeUndefined();
    expect(await approve({ decision: 'deny' })).toBeUndefined();
  });

  it("WeChat's errcodes: appid, secret, grant_type, missing, unknown, foreign and used codes", async () => {
    const code = (await approve())!;
    expect((await token(code, 'wxnope')).errcode).toBe(40013);
    expect((await token(code, 'wxoa', { secret: 'wrong' })).errcode).toBe(40125);
    expect((await token(code, 'wxoa', { grant_type: 'client_credential' })).errcode).toBe(40002);
    expect((await token('', 'wxoa')).errcode).toBe(41008);
    expect((await token('never', 'wxoa')).errcode).toBe(40029);
    expect((await token(code, 'wxweb')).errcode).toBe(40029);
    expect((await token(code)).openid).toBeDefined();
    expect((await token(code)).errcode).toBe(40163);
  });

  it('any other lower-case name is a person with a unionid; anything else is refused by the page', async () => {
    const at = await token((await approve({ persona: 'dora' }))!);
    expect(at).toMatchObject({ openid: sandboxOpenid('wxoa', 'dora'), unionid: sandboxUnionid('dora') });
    const refused = await wx.oauthApprove({
      appid: 'wxoa',
      redirect_uri: REDIRECT,
      scope: 'snsapi_base',
      persona: 'Not A Name',
      decision: 'allow',
    });
    expect('html' in refused && refused.html).toContain('pick a persona');
  });

  it('a code expires after 5 minutes', async () => {
    const code = (await approve())!;
    clock.advance(5 * 60_000 + 1);
    expect((await token(code)).errcode).toBe(40029);
  });
});
