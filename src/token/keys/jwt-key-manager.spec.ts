import { JwtService } from '@nestjs/jwt';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { FakeClock } from '../../common/clock/fake-clock';
import { AppException } from '../../common/errors/app.exception';
import { Random } from '../../common/random/random';
import type { AppConfig, JwtKeyConfig } from '../../config/app-config';
import { asymmetricKey, secretKey } from '../../config/jwt-keys';
import { testConfig } from '../../testing/test-config';
import { AccessTokenService } from '../access-token.service';
import { JwtKeyManager } from './jwt-key-manager';

const es256 = () => asymmetricKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ES256');
const rs256 = () => asymmetricKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'RS256');
const eddsa = () => asymmetricKey(generateKeyPairSync('ed25519').privateKey, 'EdDSA');

/**
 * A typed test config with exactly these keys, in this order. Set by hand rather than through JWT_* variables:
 * the tests compare the very key objects they made (`toBe`), and need a key set loadConfig never builds (none).
 */
function configWith(keys: JwtKeyConfig[]): AppConfig {
  const base = testConfig({ ACCESS_TOKEN_TTL: '900', REFRESH_TOKEN_TTL: '3600' });
  return {
    ...base,
    jwt: {
      ...base.jwt,
      secret: keys.find((k) => k.source === 'secret')?.signingKey,
      keys,
      issuer: 'wechat-auth',
      audience: 'miniprogram',
    },
  };
}

/** One instance's token service with exactly these keys (rotation = a restart with another list). */
function instance(keys: JwtKeyConfig[], clock: FakeClock): AccessTokenService {
  const config = configWith(keys);
  return new AccessTokenService(new JwtService(), new JwtKeyManager(config), config, clock, new Random());
}

const claims = { userId: 'u1', appid: 'wxapp', roles: ['user'], sessionId: 's1' };
const header = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()) as Record<string, unknown>;

async function refused(p: Promise<unknown>): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AppException);
  expect((e as AppException).code).toBe('UNAUTHORIZED');
}

describe('JwtKeyManager + AccessTokenService: algorithms, kid and rotation', () => {
  let clock: FakeClock;
  beforeEach(() => (clock = new FakeClock()));

  it.each([
    ['ES256', es256],
    ['RS256', rs256],
    ['EdDSA', eddsa],
  ] as const)('signs %s with the first key, its kid in the header, and verifies it', async (alg, make) => {
    const key = make();
    const svc = instance([key], clock);
    const token = await svc.sign(claims);
    expect(header(token)).toEqual({ alg, typ: 'at+jwt', kid: key.kid });
    await expect(svc.verify(token)).resolves.toMatchObject({ userId: 'u1', sessionId: 's1' });
  });

  it('rotation: new key first, old kept → both verify; old dropped → its tokens are refused', async () => {
    const k1 = es256();
    const k2 = rs256();
    const before = instance([k1], clock);
    const oldToken = await before.sign(claims);

    const during = instance([k2, k1], clock);
    const newToken = await during.sign(claims);
    expect(header(newToken).kid).toBe(k2.kid);
    await expect(during.verify(oldToken)).resolves.toMatchObject({ userId: 'u1' });
    await expect(during.verify(newToken)).resolves.toMatchObject({ userId: 'u1' });
    // An instance not yet restarted accepts neither more nor less than it did.
    await refused(before.verify(newToken));

    const after = instance([k2], clock);
    await refused(after.verify(oldToken));
    await expect(after.verify(newToken)).resolves.toMatchObject({ userId: 'u1' });
  });

  it('JWT_PREVIOUS_SECRETS: tokens of a retired secret verify by kid; once removed they do not', async () => {
    const old = secretKey('old-secret-old-secret-old-secret-0123456789', 'secret');
    const oldToken = await instance([old], clock).sign(claims);
    const current = secretKey('new-secret-new-secret-new-secret-0123456789', 'secret');
    const retired = secretKey('old-secret-old-secret-old-secret-0123456789', 'previous-secret');
    await expect(instance([current, retired], clock).verify(oldToken)).resolves.toMatchObject({
      userId: 'u1',
    });
    await refused(instance([current], clock).verify(oldToken));
  });

  it('a move from HS256 to ES256: the secret kept second verifies its tokens, the EC key signs', async () => {
    const secret = secretKey('hs-secret-hs-secret-hs-secret-0123456789ab', 'secret');
    const hsToken = await instance([secret], clock).sign(claims);
    const ec = es256();
    const svc = instance([ec, secret], clock);
    expect(header(await svc.sign(claims)).alg).toBe('ES256');
    await expect(svc.verify(hsToken)).resolves.toMatchObject({ userId: 'u1' });
  });

  it('publishes only public asymmetric keys, never a secret, and lists every algorithm', () => {
    const ec = es256();
    const rsa = rs256();
    const ed = eddsa();
    const secret = secretKey('hs-secret-hs-secret-hs-secret-0123456789ab', 'secret');
    const manager = new JwtKeyManager(configWith([ec, rsa, ed, secret]));
    const jwks = manager.publicKeys();
    expect(jwks.map((k) => [k.kid, k.alg, k.kty, k.use])).toEqual([
      [ec.kid, 'ES256', 'EC', 'sig'],
      [rsa.kid, 'RS256', 'RSA', 'sig'],
      [ed.kid, 'EdDSA', 'OKP', 'sig'],
    ]);
    for (const k of jwks)
      expect(Object.keys(k).filter((m) => ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].includes(m))).toEqual([]);
    expect(manager.algorithms()).toEqual(['ES256', 'RS256', 'EdDSA', 'HS256']);
  });

  it('a kid-less token verifies only under JWT_SECRET (tokens of earlier versions), never a previous secret or a key', async () => {
    const secret = secretKey('hs-secret-hs-secret-hs-secret-0123456789ab', 'secret');
    const manager = (keys: JwtKeyConfig[]) => new JwtKeyManager(configWith(keys));
    expect(manager([es256(), secret]).keyFor(undefined)).toBe(secret);
    expect(manager([es256()]).keyFor(undefined)).toBeUndefined();
    expect(
      manager([es256(), secretKey('x'.repeat(40), 'previous-secret')]).keyFor(undefined),
    ).toBeUndefined();
    for (const kid of ['__proto__', 'constructor', 'toString', 1, null, {}])
      expect(manager([secret]).keyFor(kid)).toBeUndefined();
  });

  it('refuses a signature of the wrong size before the crypto runs (ES256 DER, truncated RS256)', async () => {
    for (const key of [es256(), rs256(), eddsa()]) {
      const svc = instance([key], clock);
      const [h, p, s] = (await svc.sign(claims)).split('.');
      const sig = Buffer.from(s, 'base64url');
      for (const bad of [sig.subarray(1), Buffer.concat([sig, Buffer.from([0])])])
        await refused(svc.verify(`${h}.${p}.${bad.toString('base64url')}`));
    }
  });

  it('fails closed without keys', () => {
    expect(() => new JwtKeyManager(configWith([]))).toThrow(/no JWT signing key/);
  });

  it('key objects are never the private key in the JWKS path (public export only)', () => {
    const ec = es256();
    expect((ec.verificationKey as KeyObject).type).toBe('public');
    expect((ec.signingKey as KeyObject).type).toBe('private');
  });
});
