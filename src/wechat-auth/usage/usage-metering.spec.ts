import { Logger } from '@nestjs/common';
import { FakeClock } from '../../common/clock/fake-clock';
import { Random } from '../../common/random/random';
import { MemoryKvStore } from '../../common/store/memory-kv-store';
import type { WechatAppCredentials } from '../../config/app-config';
import { NO_METRICS } from '../../metrics/metrics';
import { testConfig } from '../../testing/test-config';
import { GetPhoneNumberCall } from '../phone/get-phone-number.endpoint';
import { Code2SessionCall } from '../login/code2session.endpoint';
import { Deadline } from '../upstream/deadline';
import { WechatCallPolicy } from '../upstream/wechat-call-policy';
import type { WechatHttp } from '../upstream/wechat-http';
import { WechatUpstreamError } from '../upstream/wechat-upstream.error';
import type { UsageMeter } from './usage-meter';

const APP: WechatAppCredentials = { appid: 'wxapp_one', secret: 'secret-one' };
const PHONE_BODY = {
  phone_info: {
    purePhoneNumber: '13800138000',
    countryCode: '86',
    watermark: { appid: 'wxapp_one', timestamp: 1 },
  },
};

/** The call policy counts every request of a metered endpoint, once, with its outcome. */
describe('usage metering in the call policy', () => {
  beforeEach(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  function setup(answers: Array<Record<string, unknown> | Error>) {
    const clock = new FakeClock(Date.UTC(2026, 11, 6, 6, 0, 0));
    const send = jest.fn(() => {
      const next = answers.shift();
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next ?? {});
    });
    const records: Array<[string, string, boolean]> = [];
    const meter = {
      record: (...a: [string, string, boolean]) => void records.push(a),
    } as unknown as UsageMeter;
    const policy = new WechatCallPolicy(
      { send } as unknown as WechatHttp,
      testConfig({ WECHAT_MAX_RETRIES: '2' }),
      clock,
      new Random(),
      new MemoryKvStore(clock),
      NO_METRICS,
      meter,
    );
    jest.spyOn(clock, 'sleep').mockResolvedValue(undefined);
    const deadline = () => Deadline.after(clock, 10_000);
    return { policy, records, send, deadline };
  }

  it('a phone lookup answered: one record, answered', async () => {
    const { policy, records, deadline } = setup([PHONE_BODY]);
    await policy.call(new GetPhoneNumberCall(), APP, { code: 'c', openid: 'o' }, deadline(), {
      accessToken: 't',
    });
    expect(records).toEqual([['wxapp_one', 'phone', true]]);
  });

  it('a phone lookup refused by WeChat (40029): one record, failed', async () => {
    const { policy, records, deadline } = setup([new WechatUpstreamError('errcode', { errcode: 40029 })]);
    await expect(
      policy.call(new GetPhoneNumberCall(), APP, { code: 'c', openid: 'o' }, deadline(), {
        accessToken: 't',
      }),
    ).rejects.toThrow();
    expect(records).toEqual([['wxapp_one', 'phone', false]]);
  });

  it('each attempt that left counts: a retried -1 then an answer is two sent, one failed, one answered', async () => {
    const { policy, records, send, deadline } = setup([
      new WechatUpstreamError('errcode', { errcode: -1 }),
      PHONE_BODY,
    ]);
    await policy.call(new GetPhoneNumberCall(), APP, { code: 'c', openid: 'o' }, deadline(), {
      accessToken: 't',
    });
    expect(send).toHaveBeenCalledTimes(2);
    expect(records).toEqual([
      ['wxapp_one', 'phone', false],
      ['wxapp_one', 'phone', true],
    ]);
  });

  it('endpoints without a meter (the login) are not counted', async () => {
    const { policy, records, deadline } = setup([{ openid: 'o', session_key: 'c2Vzc2lvbi1rZXktMTIzNA==' }]);
    await policy.call(new Code2SessionCall(false), APP, 'code', deadline());
    expect(records).toEqual([]);
  });
});
