import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { createPartnerApp } from '../examples/partner-service/src/partner.module';
import { FakeWechat } from './support/fake-wechat';
import { freePort } from './support/free-port';
import { createTestApp, type TestApp } from './support/test-app';
import { createTestDatabase, type TestDatabase } from './support/test-database';

/**
 * Our service and the partner example (examples/partner-service) side by side, on loopback: the partner
 * verifies our tokens with our JWKS only (jose), and asks introspection where revocation matters.
 */
describe('a partner service verifies our tokens (examples/partner-service)', () => {
  const pem = (k: KeyObject) => k.export({ format: 'pem', type: 'pkcs8' }).toString();
  const k1 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const k2 = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const CLIENT_SECRET = 'orders-secret-W3rT8yU1iO6pA4sD9fG2hJ7k';

  let wechat: FakeWechat;
  let db: TestDatabase;
  let port: number;
  let ours: TestApp | undefined;
  let partner: NestFastifyApplication;
  let partnerUrl: string;

  /** (Re)starts our service on the same port with these keys: a rotation is a deploy with a new JWT_PRIVATE_KEYS. */
  async function startOurs(keys: KeyObject[]): Promise<void> {
    await ours?.close();
    ours = await createTestApp({
      databaseUrl: db.url,
      wechatApiBase: wechat.baseUrl,
      listen: true,
      env: {
        PORT: String(port),
        JWT_PRIVATE_KEYS: keys.map(pem).join(''),
        // Unset: asymmetric keys only (an empty value counts as unset).
        JWT_SECRET: '',
        SERVICE_CLIENTS: `orders-service:${CLIENT_SECRET}`,
      },
    });
  }
  const loginOnOurs = async (openid: string) => {
    const res = await request(ours!.server)
      .post('/auth/wechat/login')
      .send({ code: wechat.mint({ openid }) });
    expect(res.status).toBe(200);
    return res.body as { accessToken: string; refreshToken: string; user: { id: string } };
  };
  const partnerGet = (path: string, token?: string) => {
    const req = request(partnerUrl).get(path);
    return token ? req.set('authorization', `Bearer ${token}`) : req;
  };
  const kidOf = (token: string) =>
    JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).kid as string;
  const resign = (token: string, payload: Record<string, unknown>, key: KeyObject) => {
    const [h] = token.split('.');
    const input = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    return `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  };
  const payloadOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());

  beforeAll(async () => {
    wechat = await new FakeWechat({ wxapp_one: 'secret-one', wxapp_two: 'secret-two' }).start();
    db = await createTestDatabase();
    port = await freePort();
    await startOurs([k1.privateKey]);
    partner = await createPartnerApp({
      baseUrl: `http://127.0.0.1:${port}`,
      issuer: 'wechat-auth',
      audience: 'miniprogram',
      clientId: 'orders-service',
      clientSecret: CLIENT_SECRET,
      // The example's defaults follow our Cache-Control (300 s) and jose's 30 s cooldown; shortened so the test runs fast.
      jwksCacheMaxAgeMs: 300,
      jwksCooldownMs: 0,
    });
    await partner.listen(0, '127.0.0.1');
    await partner.getHttpAdapter().getInstance().ready();
    partnerUrl = await partner.getUrl();
  });

  afterAll(async () => {
    const logs = ours?.logs.join('\n') ?? '';
    expect(logs.includes(CLIENT_SECRET)).toBe(false);
    await partner?.close();
    await ours?.close();
    await db?.drop();
    await wechat?.stop();
  });

  it("a login's token opens the partner's route; forged, expired or missing ones do not", async () => {
    const { accessToken, user } = await loginOnOurs('o-partner-1');
    const ok = await partnerGet('/orders', accessToken);
    expect({ status: ok.status, body: ok.body }).toEqual({
      status: 200,
      body: { userId: user.id, orders: [] },
    });

    const claims = payloadOf(accessToken);
    const forged: [string, string | undefined][] = [
      ['no token', undefined],
      [
        'tampered payload, original signature',
        `${accessToken.split('.')[0]}.${Buffer.from(JSON.stringify({ ...claims, roles: ['admin'] })).toString('base64url')}.${accessToken.split('.')[2]}`,
      ],
      ['our kid, signed by an attacker key', resign(accessToken, claims, attacker.privateKey)],
      [
        'expired, signed by our key',
        resign(accessToken, { ...claims, iat: claims.iat - 1000, exp: claims.iat - 100 }, k1.privateKey),
      ],
      [
        'another audience, signed by our key',
        resign(accessToken, { ...claims, aud: 'someone-else' }, k1.privateKey),
      ],
      [
        'alg none',
        `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${accessToken.split('.')[1]}.`,
      ],
    ];
    for (const [name, token] of forged) {
      const res = await partnerGet('/orders', token);
      expect({ name, status: res.status }).toEqual({ name, status: 401 });
    }
  });

  it('after logout, introspection says inactive: the live route refuses at once (the JWKS route until expiry)', async () => {
    const { accessToken } = await loginOnOurs('o-partner-2');
    expect((await partnerGet('/wallet', accessToken)).status).toBe(200);
    expect(
      (await request(ours!.server).post('/auth/logout').set('authorization', `Bearer ${accessToken}`)).status,
    ).toBe(204);

    const introspected = await request(ours!.server)
      .post('/oauth/introspect')
      .auth('orders-service', CLIENT_SECRET)
      .type('form')
      .send({ token: accessToken });
    expect(introspected.body).toEqual({ active: false });
    expect((await partnerGet('/wallet', accessToken)).status).toBe(401);
    // Verification with the JWKS alone cannot see a logout: the signature is still good until `exp`.
    expect((await partnerGet('/orders', accessToken)).status).toBe(200);
  });

  it('a key rotation: old and new tokens pass while both keys are listed; the old key dropped, its tokens stop', async () => {
    const before = await loginOnOurs('o-partner-3');
    expect((await partnerGet('/orders', before.accessToken)).status).toBe(200);

    // Deploy 1: the new key first (it signs), the old one kept (it still verifies and is published).
    await startOurs([k2.privateKey, k1.privateKey]);
    const after = await loginOnOurs('o-partner-4');
    expect(kidOf(after.accessToken)).not.toBe(kidOf(before.accessToken));
    expect(JSON.parse(Buffer.from(after.accessToken.split('.')[0], 'base64url').toString()).alg).toBe(
      'RS256',
    );
    for (const token of [before.accessToken, after.accessToken]) {
      expect((await partnerGet('/orders', token)).status).toBe(200);
      expect(
        (await request(ours!.server).get('/auth/session').set('authorization', `Bearer ${token}`)).status,
      ).toBe(200);
    }

    // Deploy 2, once the old key's tokens have expired: the old key dropped.
    await startOurs([k2.privateKey]);
    expect(
      (await request(ours!.server).get('/auth/session').set('authorization', `Bearer ${before.accessToken}`))
        .status,
    ).toBe(401);
    await new Promise((r) => setTimeout(r, 400)); // the partner's JWKS cache (300 ms here, 300 s by default)
    expect((await partnerGet('/orders', before.accessToken)).status).toBe(401);
    expect((await partnerGet('/orders', after.accessToken)).status).toBe(200);
  });
});
