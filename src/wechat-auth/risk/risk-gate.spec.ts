import type { AuditEventInput, AuditService } from '../../audit/audit.service';
import { FakeClock } from '../../common/clock/fake-clock';
import { AppException } from '../../common/errors/app.exception';
import type { WechatAppCredentials } from '../../config/app-config';
import { testConfig } from '../../testing/test-config';
import { Deadline } from '../upstream/deadline';
import type { WechatEndpoint } from '../upstream/wechat-endpoint';
import { WechatUpstreamError } from '../upstream/wechat-upstream.error';
import type { WechatApi } from '../wechat-api';
import { GetUserRiskRankCall, type RiskRankInput } from './get-user-risk-rank.endpoint';
import { RiskGate, type RiskCheck } from './risk-gate';

const CONTEXT = { requestId: 'req-1', clientIp: '203.0.113.7' };

type Call = [WechatEndpoint<RiskRankInput, number>, WechatAppCredentials, RiskRankInput, Deadline];

/** The gate over a fake WechatApi (no network) and a recording audit trail; `answer` is WeChat's. */
function setup(env: Record<string, string>, answer: () => Promise<number> = () => Promise.resolve(0)) {
  const config = testConfig(env);
  const clock = new FakeClock();
  const calls: Call[] = [];
  const wechat = {
    call: jest.fn((...args: Call) => {
      calls.push(args);
      return answer();
    }),
  };
  const events: AuditEventInput[] = [];
  const audit = { record: (e: AuditEventInput) => Promise.resolve(void events.push(e)) };
  const gate = new RiskGate(config, wechat as unknown as WechatApi, audit as unknown as AuditService, clock);
  const check = (over: Partial<RiskCheck> = {}) =>
    gate.check({ appid: 'wxapp_one', openid: 'o-1', scene: 'signup', context: CONTEXT, ...over });
  return { gate, check, calls, events, clock, wechat };
}

describe('RiskGate', () => {
  it('off (the default): calls nothing, audits nothing, answers no rank', async () => {
    const { gate, check, calls, events } = setup({});
    expect(gate.enabled).toBe(false);
    await expect(check()).resolves.toBeUndefined();
    expect(calls).toEqual([]);
    expect(events).toEqual([]);
  });

  it('observe: asks getuserriskrank with the openid and the client address, returns and audits the rank', async () => {
    const { gate, check, calls, events } = setup({ WECHAT_RISK_CHECK: 'observe' }, () => Promise.resolve(4));
    expect(gate.enabled).toBe(true);
    await expect(check()).resolves.toBe(4);
    expect(calls).toHaveLength(1);
    const [endpoint, app, input] = calls[0];
    expect(endpoint).toBeInstanceOf(GetUserRiskRankCall);
    expect(app.appid).toBe('wxapp_one');
    expect(input).toEqual({ openid: 'o-1', clientIp: '203.0.113.7' });
    expect(events).toEqual([
      expect.objectContaining({
        type: 'risk.ranked',
        appid: 'wxapp_one',
        userId: null,
        details: { riskScene: 'signup', riskRank: 4 },
        context: CONTEXT,
      }),
    ]);
  });

  it('block: refuses at WECHAT_RISK_BLOCK_RANK and above (403 RISK_BLOCKED, audited), lets lower ranks through', async () => {
    let rank = 2;
    const { check, events } = setup({ WECHAT_RISK_CHECK: 'block', WECHAT_RISK_BLOCK_RANK: '3' }, () =>
      Promise.resolve(rank),
    );
    await expect(check()).resolves.toBe(2);
    rank = 3;
    const refused = await check({ scene: 'phone', userId: 'user-1' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppException);
    expect(refused).toMatchObject({ code: 'RISK_BLOCKED' });
    expect((refused as AppException).getStatus()).toBe(403);
    rank = 4;
    await expect(check()).rejects.toMatchObject({ code: 'RISK_BLOCKED' });
    expect(events.map((e) => [e.type, e.reason ?? null, e.details])).toEqual([
      ['risk.ranked', null, { riskScene: 'signup', riskRank: 2 }],
      ['risk.blocked', 'RISK_BLOCKED', { riskScene: 'phone', riskRank: 3 }],
      ['risk.blocked', 'RISK_BLOCKED', { riskScene: 'signup', riskRank: 4 }],
    ]);
    expect(events[1].userId).toBe('user-1');
  });

  it('block with the default threshold (4): rank 3 passes', async () => {
    const { check } = setup({ WECHAT_RISK_CHECK: 'block' }, () => Promise.resolve(3));
    await expect(check()).resolves.toBe(3);
  });

  it('stores the rank through `store` before refusing, so a refused phone lookup still records it', async () => {
    const { check } = setup({ WECHAT_RISK_CHECK: 'block' }, () => Promise.resolve(4));
    const stored: number[] = [];
    await expect(check({ store: (r) => Promise.resolve(void stored.push(r)) })).rejects.toMatchObject({
      code: 'RISK_BLOCKED',
    });
    expect(stored).toEqual([4]);
  });

  it.each([
    [
      'errcode -1',
      () =>
        new AppException('WX_UNAVAILABLE', {
          cause: new WechatUpstreamError('errcode', { errcode: -1 }),
        }),
      'WX_UNAVAILABLE',
      -1,
    ],
    [
      'a timeout',
      () => new AppException('WX_UNAVAILABLE', { cause: new WechatUpstreamError('timeout') }),
      'WX_UNAVAILABLE',
      undefined,
    ],
    ['the minute quota', () => new AppException('WX_RATE_LIMITED'), 'WX_RATE_LIMITED', undefined],
    [
      'an open breaker',
      () => new AppException('WX_UNAVAILABLE', { retryAfter: 5 }),
      'WX_UNAVAILABLE',
      undefined,
    ],
    ['something unexpected', () => new Error('boom'), 'INTERNAL_ERROR', undefined],
  ])(
    'fails open on %s: no rank, audited risk.check_failed, even in block mode',
    async (_what, error, reason, errcode) => {
      const { check, events } = setup({ WECHAT_RISK_CHECK: 'block', WECHAT_RISK_BLOCK_RANK: '1' }, () =>
        Promise.reject(error()),
      );
      await expect(check()).resolves.toBeUndefined();
      expect(events).toEqual([
        expect.objectContaining({
          type: 'risk.check_failed',
          reason,
          details: { riskScene: 'signup', ...(errcode !== undefined ? { wxErrcode: errcode } : {}) },
        }),
      ]);
    },
  );

  it('without a client address (WeChat requires one) it fails open without calling', async () => {
    const { check, calls, events } = setup({ WECHAT_RISK_CHECK: 'block' });
    await expect(check({ context: undefined })).resolves.toBeUndefined();
    await expect(check({ context: { requestId: 'r', clientIp: '' } })).resolves.toBeUndefined();
    expect(calls).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(['risk.check_failed', 'risk.check_failed']);
  });

  it('spends at most one WeChat timeout of the request deadline', async () => {
    const { check, calls, clock } = setup({ WECHAT_RISK_CHECK: 'observe', WECHAT_TIMEOUT_MS: '3000' });
    await check({ deadline: Deadline.after(clock, 8000) });
    await check({ deadline: Deadline.after(clock, 1000) });
    await check();
    expect(calls.map(([, , , deadline]) => deadline.remainingMs())).toEqual([3000, 1000, 3000]);
  });
});

describe('GetUserRiskRankCall', () => {
  const app = { appid: 'wxapp_one', secret: 's' } as WechatAppCredentials;

  it('posts WeChat’s documented body: appid, openid, scene 0 (sign-up), client_ip', () => {
    expect(
      new GetUserRiskRankCall().request(app, { openid: 'o-1', clientIp: '203.0.113.7' }, 'TOKEN'),
    ).toEqual({
      method: 'POST',
      path: '/wxa/getuserriskrank',
      query: { access_token: 'TOKEN' },
      json: { appid: 'wxapp_one', openid: 'o-1', scene: 0, client_ip: '203.0.113.7' },
    });
  });

  it('is metered as `risk` and reads risk_rank 0–4 only', () => {
    const call = new GetUserRiskRankCall();
    expect(call.meter).toBe('risk');
    expect(call.parse({ errcode: 0, errmsg: 'getuserriskrank succ', risk_rank: 3, unoin_id: 1 })).toBe(3);
    for (const bad of [5, -1, 1.5, '2', undefined])
      expect(() => call.parse({ errcode: 0, risk_rank: bad })).toThrow(WechatUpstreamError);
  });

  it('does not retry -1 (the check fails open at once instead of spending the login’s deadline)', () => {
    expect(new GetUserRiskRankCall().errcodes[-1]).toMatchObject({ error: 'WX_UNAVAILABLE' });
    expect(new GetUserRiskRankCall().errcodes[-1].retryable).toBeUndefined();
  });
});
