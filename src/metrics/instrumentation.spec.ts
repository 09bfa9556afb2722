import { FakeClock } from '../common/clock/fake-clock';
import { Random } from '../common/random/random';
import { MemoryKvStore } from '../common/store/memory-kv-store';
import type { WechatAppCredentials } from '../config/app-config';
import { testConfig } from '../testing/test-config';
import { Code2SessionCall } from '../wechat-auth/login/code2session.endpoint';
import { Deadline } from '../wechat-auth/upstream/deadline';
import { WechatCallPolicy } from '../wechat-auth/upstream/wechat-call-policy';
import type { WechatHttp } from '../wechat-auth/upstream/wechat-http';
import { WechatUpstreamError } from '../wechat-auth/upstream/wechat-upstream.error';
import { Metrics } from './metrics';

const APP: WechatAppCredentials = { appid: 'wxapp_one', secret: 'secret-one' };

async function samples(metrics: Metrics): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await metrics.render()).split('\n'))
    if (line && !line.startsWith('#'))
      out.set(line.slice(0, line.lastIndexOf(' ')), Number(line.split(' ').pop()));
  return out;
}

/** The WeChat call policy counts every attempt and reports its breaker (the e2e fake WeChat never trips it). */
describe('WeChat upstream instrumentation', () => {
  const setup = () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 12, 0, 0));
    const config = testConfig({
      WECHAT_MAX_RETRIES: '1',
      WECHAT_BREAKER_THRESHOLD: '2',
      WECHAT_BREAKER_COOLDOWN_MS: '30000',
    });
    const metrics = new Metrics({ appids: ['wxapp_one'], defaultMetrics: false });
    const answers: Array<Record<string, unknown> | Error> = [];
    const http = {
      send: () => {
        const next = answers.shift();
        return next instanceof Error ? Promise.reject(next) : Promise.resolve(next ?? {});
      },
    } as unknown as WechatHttp;
    jest.spyOn(clock, 'sleep').mockResolvedValue(undefined);
    const policy = new WechatCallPolicy(http, config, clock, new Random(), new MemoryKvStore(clock), metrics);
    const login = () =>
      policy
        .call(new Code2SessionCall(false), APP, 'code-1', Deadline.after(clock, 5000))
        .catch((e: Error) => e);
    return { metrics, answers, login, clock };
  };

  it('every attempt by outcome and errcode; the breaker gauge goes to 1 when it opens and back to 0', async () => {
    const { metrics, answers, login, clock } = setup();
    // Two attempts fail (a network error, then -1): the breaker (threshold 2) opens.
    answers.push(new WechatUpstreamError('network'), new WechatUpstreamError('errcode', { errcode: -1 }));
    await login();
    let s = await samples(metrics);
    const key = (outcome: string, errcode: string) =>
      `wechat_upstream_requests_total{endpoint="jscode2session",outcome="${outcome}",errcode="${errcode}"}`;
    expect(s.get(key('network', 'none'))).toBe(1);
    expect(s.get(key('errcode', '-1'))).toBe(1);
    expect(s.get('wechat_upstream_duration_seconds_count{endpoint="jscode2session"}')).toBe(2);
    expect(s.get('wechat_breaker_open{appid="wxapp_one",endpoint="jscode2session"}')).toBe(1);

    // Open: the next call fails fast, without an attempt.
    await login();
    expect(
      (await samples(metrics)).get('wechat_upstream_duration_seconds_count{endpoint="jscode2session"}'),
    ).toBe(2);

    // After the cooldown the probe gets an answer (WeChat is up: the breaker closes); a declared errcode is its number.
    clock.advance(30_000);
    answers.push(new WechatUpstreamError('errcode', { errcode: 40029 }));
    await login();
    s = await samples(metrics);
    expect(s.get(key('errcode', '40029'))).toBe(1);
    expect(s.get('wechat_breaker_open{appid="wxapp_one",endpoint="jscode2session"}')).toBe(0);

    // An errcode nobody declares is "other", never its number.
    answers.push(new WechatUpstreamError('errcode', { errcode: 61999 }));
    await login();
    s = await samples(metrics);
    expect(s.get(key('errcode', 'other'))).toBe(1);
    // No label anywhere carries the number (a duration sum may happen to hold those digits: look at labels only).
    expect(await metrics.render()).not.toMatch(/\{[^}]*61999[^}]*\}/);
  });
});
