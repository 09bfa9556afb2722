import request from 'supertest';
import { TEST_DB } from '../support/test-database';
import { useTestApp } from '../support/use-test-app';

const APPS = { wxapp_one: 'secret-one', wxapp_two: 'secret-two' };
const BEFORE = 'https://cdn.example.com/before.png';

/**
 * Avatar URLs through the HTTP API (PUT, as the mini-program SDK sends it, and PATCH): what is refused answers
 * 400 VALIDATION_FAILED naming the rule and leaves the stored avatar as it was; WeChat's own avatar URL, as
 * its open data hands it over, is stored verbatim. The full table of rules is in src/users/profile-rules.spec.ts.
 */
describe(`avatar URLs over HTTP (${TEST_DB})`, () => {
  const fx = useTestApp({ apps: APPS });
  let access: string;
  let openid: string;

  const http = () => request(fx.t.server);
  const auth = () => ({ authorization: `Bearer ${access}` });
  const storedAvatar = async (): Promise<unknown> =>
    (await http().get('/users/me').set(auth())).body.avatarUrl;

  beforeAll(async () => {
    openid = 'o-avatar-1';
    const login = await http()
      .post('/auth/wechat/login')
      .send({ code: fx.wechat.mint({ openid }) });
    expect(login.status).toBe(200);
    access = login.body.accessToken;
  });

  beforeEach(async () => {
    const res = await http().put('/users/me').set(auth()).send({ avatarUrl: BEFORE });
    expect(res.status).toBe(200);
  });

  it.each([
    ['a double quote', 'https://cdn.example.com/a.png"onerror="alert(1)', /quotes, angle brackets/],
    ['angle brackets', 'https://cdn.example.com/<svg/onload=alert(1)>', /quotes, angle brackets/],
    ['a space', 'https://cdn.example.com/a b.png', /printable ASCII/],
    ['a newline', 'https://cdn.example.com/a.png\nX-Injected: 1', /printable ASCII/],
    ['a control character', 'https://cdn.example.com/a\u0001.png', /printable ASCII/],
    ['credentials', 'https://admin:hunter2@cdn.example.com/a.png', /credentials/],
    ['http', 'http://cdn.example.com/a.png', /https/],
    ['localhost', 'https://localhost/a.png', /public host/],
    ['a name under localhost', 'https://img.localhost./a.png', /public host/],
    ['loopback', 'https://127.0.0.1:3000/a.png', /public host/],
    ['loopback, decimal', 'https://2130706433/a.png', /public host/],
    ['loopback, octal', 'https://0177.0.0.1/a.png', /public host/],
    ['loopback, hex', 'https://0x7f.0.0.1/a.png', /public host/],
    ['a private address', 'https://192.168.1.10/a.png', /public host/],
    ['CGNAT', 'https://100.64.1.1/a.png', /public host/],
    ['link-local (cloud metadata)', 'https://169.254.169.254/latest/meta-data/', /public host/],
    ['unspecified', 'https://0.0.0.0/a.png', /public host/],
    ['IPv6 loopback', 'https://[::1]/a.png', /public host/],
    ['IPv6 ULA', 'https://[fd00::1]/a.png', /public host/],
    ['IPv4-mapped IPv6 loopback', 'https://[::ffff:127.0.0.1]/a.png', /public host/],
    ['too long', `https://cdn.example.com/${'a'.repeat(600)}`, /at most 512/],
  ])('PUT refuses %s: 400 VALIDATION_FAILED, the stored avatar unchanged', async (_, avatarUrl, rule) => {
    const res = await http().put('/users/me').set(auth()).send({ avatarUrl });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
    expect(res.body.details.join('\n')).toMatch(rule);
    // The answer names the rule, never echoes the value.
    expect(JSON.stringify(res.body)).not.toContain(avatarUrl);
    expect(await storedAvatar()).toBe(BEFORE);
  });

  it('PATCH applies the same rules', async () => {
    const res = await http().patch('/users/me').set(auth()).send({ avatarUrl: 'https://10.0.0.1/a.png' });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(await storedAvatar()).toBe(BEFORE);
  });

  it("stores WeChat's own avatar URL from the user's open data verbatim", async () => {
    // What wx.getUserInfo hands over (decrypted by the service), then saved as the profile's avatar.
    const decrypted = await http()
      .post('/auth/wechat/decrypt')
      .set(auth())
      .send(await fx.wechat.mintOpenData({ openid }));
    expect(decrypted.status).toBe(200);
    const fromWechat = decrypted.body.data.avatarUrl as string;
    expect(fromWechat).toMatch(/^https:\/\/thirdwx\.qlogo\.cn\/mmopen\//);
    for (const avatarUrl of [fromWechat, 'https://thirdwx.qlogo.cn/mmopen/vi_32/Q0j4TwGTfTK_xyz-AbC/132']) {
      const res = await http().put('/users/me').set(auth()).send({ avatarUrl });
      expect(res.status).toBe(200);
      expect(res.body.avatarUrl).toBe(avatarUrl);
      expect(await storedAvatar()).toBe(avatarUrl);
    }
  });

  it('accepts a public CDN URL with a port, query and percent-encoding, and null clears it', async () => {
    const avatarUrl = 'https://cdn.example.com:8443/u/%E5%A4%B4%E5%83%8F.png?w=132&sig=a~b_c';
    expect((await http().put('/users/me').set(auth()).send({ avatarUrl })).body.avatarUrl).toBe(avatarUrl);
    expect((await http().put('/users/me').set(auth()).send({ avatarUrl: null })).body.avatarUrl).toBeNull();
  });
});
