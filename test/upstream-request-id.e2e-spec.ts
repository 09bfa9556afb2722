import request from 'supertest';
import type { FakeAnswer } from './support/fake-wechat';
import { TEST_DB } from './support/test-database';
import { useTestApp } from './support/use-test-app';

const APPS = { wxapp_one: 'secret-one', wxapp_two: 'secret-two' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type LogLine = Record<string, unknown> & { msg?: string; req?: { id?: string } };

/**
 * The request id a client gets back (`requestId` in an error body, `X-Request-Id`) finds the service's log lines
 * about the WeChat call that request made — what WeChat answered, the retries, the final failure — although
 * nothing in the process carries a per-request async context: the RequestContext is passed down explicitly.
 */
describe(`request id on the upstream log lines (${TEST_DB})`, () => {
  const fx = useTestApp({ apps: APPS, env: { WECHAT_MAX_RETRIES: '2', WECHAT_BREAKER_THRESHOLD: '1000' } });
  let access: string;
  const openid = 'o-reqid-1';

  const busy: FakeAnswer = { kind: 'json', body: { errcode: -1, errmsg: 'system error rid: 0a1b2c3d-busy' } };
  const invalidCode: FakeAnswer = { kind: 'json', body: { errcode: 40029, errmsg: 'invalid code' } };
  /** Every log line written since `from`, parsed. */
  const linesSince = (from: number): LogLine[] => fx.t.logs.slice(from).map((l) => JSON.parse(l) as LogLine);
  const upstreamLines = (lines: LogLine[], api: string) =>
    lines.filter((l) => l.api === api && typeof l.msg === 'string' && /wechat/.test(l.msg));

  beforeAll(async () => {
    const login = await request(fx.t.server)
      .post('/auth/wechat/login')
      .send({ code: fx.wechat.mint({ openid }) });
    expect(login.status).toBe(200);
    access = login.body.accessToken;
  });

  it("a login WeChat answers with errors: each answer, the retry and the access log carry the client's request id", async () => {
    const code = fx.wechat.mint({ openid: 'o-reqid-2' });
    fx.wechat.script(code, busy, invalidCode);
    const from = fx.t.logs.length;

    const res = await request(fx.t.server)
      .post('/auth/wechat/login')
      .set('x-request-id', 'e2e-upstream-login-0001')
      .send({ code });

    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'WX_CODE_INVALID', requestId: 'e2e-upstream-login-0001' });
    const lines = linesSince(from);
    const upstream = upstreamLines(lines, 'jscode2session');
    expect(upstream.map((l) => [l.msg, l.errcode ?? null])).toEqual([
      ['wechat answered an error', -1],
      ['retrying wechat call', -1],
      ['wechat answered an error', 40029],
    ]);
    for (const line of upstream) expect(line.requestId).toBe('e2e-upstream-login-0001');
    // The same id as the access-log line of that request.
    expect(lines.filter((l) => l.msg === 'request completed').map((l) => l.req?.id)).toEqual([
      'e2e-upstream-login-0001',
    ]);
  });

  it('a login WeChat never answers (connection reset): the failures carry the minted id the client got back', async () => {
    const code = fx.wechat.mint({ openid: 'o-reqid-3' });
    fx.wechat.script(code, { kind: 'reset' }, { kind: 'reset' }, { kind: 'reset' });
    const from = fx.t.logs.length;

    const res = await request(fx.t.server).post('/auth/wechat/login').send({ code });

    expect(res.status).toBe(503);
    expect(res.body.requestId).toMatch(UUID);
    const failed = upstreamLines(linesSince(from), 'jscode2session').filter(
      (l) => l.msg === 'wechat call failed',
    );
    expect(failed).toHaveLength(3);
    for (const line of failed)
      expect(line).toMatchObject({ requestId: res.body.requestId, failure: 'network' });
  });

  it('a phone lookup (interface token path) WeChat answers with an error carries the request id', async () => {
    fx.wechat.scriptPath('/wxa/business/getuserphonenumber', busy, busy, busy);
    const from = fx.t.logs.length;

    const res = await request(fx.t.server)
      .post('/auth/wechat/phone')
      .set('authorization', `Bearer ${access}`)
      .set('x-request-id', 'e2e-upstream-phone-0001')
      .send({ code: await fx.wechat.mintPhoneCode({ openid }) });

    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ code: 'WX_UNAVAILABLE', requestId: 'e2e-upstream-phone-0001' });
    const upstream = upstreamLines(linesSince(from), 'getuserphonenumber');
    expect(upstream.filter((l) => l.msg === 'wechat answered an error')).toHaveLength(3);
    for (const line of upstream) expect(line.requestId).toBe('e2e-upstream-phone-0001');
  });

  it('lines of calls made outside the failing request do not borrow its id', async () => {
    const from = fx.t.logs.length;
    const ok = await request(fx.t.server)
      .post('/auth/wechat/login')
      .set('x-request-id', 'e2e-upstream-ok-0001')
      .send({ code: fx.wechat.mint({ openid: 'o-reqid-4' }) });
    expect(ok.status).toBe(200);
    const lines = linesSince(from);
    expect(lines.some((l) => l.requestId === 'e2e-upstream-login-0001')).toBe(false);
    expect(upstreamLines(lines, 'jscode2session')).toEqual([]);
  });
});
