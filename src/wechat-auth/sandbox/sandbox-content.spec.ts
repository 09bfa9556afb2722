import { FakeClock } from '../../common/clock/fake-clock';
import { Random } from '../../common/random/random';
import { MemoryKvStore } from '../../common/store/memory-kv-store';
import { SandboxWechat, type SandboxMediaCheck } from './sandbox-wechat';

const APPS = new Map([['wxone', 'secret-one']]);

describe('SandboxWechat content checks (msg_sec_check, media_check_async)', () => {
  let wx: SandboxWechat;
  let pushed: SandboxMediaCheck[];
  let token: string;

  beforeEach(async () => {
    const clock = new FakeClock();
    pushed = [];
    wx = new SandboxWechat(APPS, new MemoryKvStore(clock), new Random(), clock, {
      onMediaCheck: (c) => void pushed.push(c),
    });
    token = (await wx.issueAccessToken('wxone')).access_token;
    await wx.mintLoginCode({ appid: 'wxone', openid: 'o-known' });
  });

  type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const post = async (path: string, body: unknown, accessToken = token) =>
    (await wx.handle({ method: 'POST', path, query: { access_token: accessToken }, body })).body as Body;
  const text = (content: string, extra: Record<string, unknown> = {}) =>
    post('/wxa/msg_sec_check', { content, version: 2, scene: 1, openid: 'o-known', ...extra });
  const image = (url: string, extra: Record<string, unknown> = {}) =>
    post('/wxa/media_check_async', {
      media_url: url,
      media_type: 2,
      version: 2,
      scene: 1,
      openid: 'o-known',
      ...extra,
    });

  it.each([
    ['Alice', 'pass', 100],
    ['please Review me', 'review', 21000],
    ['RISKY words', 'risky', 20001],
  ])('msg_sec_check judges %p by keyword: %s (label %d)', async (content, suggest, label) => {
    const res = await text(content);
    expect(res).toMatchObject({ errcode: 0, result: { suggest, label } });
    expect(res.trace_id).toMatch(/^[0-9a-f]{24}$/);
  });

  it('media_check_async answers a trace id and hands the verdict (by URL keyword) to the push', async () => {
    const ok = await image('https://cdn.example.com/a.png');
    const bad = await image('https://cdn.example.com/risky.png');
    expect(ok).toEqual({ errcode: 0, errmsg: 'ok', trace_id: expect.any(String) });
    expect(pushed).toEqual([
      { appid: 'wxone', traceId: ok.trace_id, suggest: 'pass', label: 100 },
      { appid: 'wxone', traceId: bad.trace_id, suggest: 'risky', label: 20002 },
    ]);
  });

  it('a URL containing `silent` gets a trace id and no verdict, ever', async () => {
    expect((await image('https://cdn.example.com/silent.png')).errcode).toBe(0);
    expect(pushed).toEqual([]);
  });

  it('refuses what WeChat refuses: version 1, a bad scene, an unknown openid, no token, a bad media type', async () => {
    expect((await text('x', { version: 1 })).errcode).toBe(47001);
    expect((await text('x', { scene: 9 })).errcode).toBe(40129);
    expect((await text('x', { openid: 'o-stranger' })).errcode).toBe(40003);
    expect((await text('x', { openid: undefined })).errcode).toBe(41009);
    expect((await post('/wxa/msg_sec_check', { content: 'x' }, 'not-a-token')).errcode).toBe(40001);
    expect((await image('https://cdn.example.com/a.png', { media_type: 3 })).errcode).toBe(47001);
    expect(pushed).toEqual([]);
  });
});
