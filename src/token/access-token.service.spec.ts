import { createHmac, type KeyObject } from 'node:crypto';
import { JwtService, type JwtModuleOptions } from '@nestjs/jwt';
import { FakeClock } from '../common/clock/fake-clock';
import { AppException } from '../common/errors/app.exception';
import { Random } from '../common/random/random';
import { secretKey } from '../config/jwt-keys';
import { testConfig } from '../testing/test-config';
import {
  ACCESS_TOKEN_TYP,
  AccessTokenService,
  IAT_LEEWAY_SECONDS,
  VERIFIED_CACHE_SIZE,
} from './access-token.service';
import { JwtKeyManager } from './keys/jwt-key-manager';

const ISSUER = 'wechat-auth';
const AUDIENCE = 'miniprogram';
const TTL = 900;

function b64(json: unknown): string {
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

async function expectInvalid(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppException);
  const e = error as AppException;
  expect(e.code).toBe('UNAUTHORIZED');
  expect(e.getStatus()).toBe(401);
  expect(e.extras.headers).toEqual({ 'www-authenticate': 'Bearer error="invalid_token"' });
}

/**
 * jsonwebtoken, configured the way tokens were made before key rotation (HS256, no kid): a tool to build
 * well-formed tokens with one thing changed. Kid-less HS256 tokens still verify under JWT_SECRET.
 */
function legacyOptions(secret: KeyObject): JwtModuleOptions {
  return {
    secret,
    signOptions: {
      algorithm: 'HS256',
      issuer: ISSUER,
      audience: AUDIENCE,
      header: { alg: 'HS256', typ: ACCESS_TOKEN_TYP },
    },
  };
}

describe('AccessTokenService', () => {
  const JWT_SECRET = 'unit-test-jwt-secret-0123456789-abcdefghij';
  // The same key loadConfig derives from JWT_SECRET (same bytes, same kid): the tests sign and compare with it.
  const hsKey = secretKey(JWT_SECRET, 'secret');
  const secret = hsKey.signingKey;
  const config = testConfig({
    JWT_SECRET,
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    ACCESS_TOKEN_TTL: String(TTL),
    REFRESH_TOKEN_TTL: '3600',
  });
  const claims = { userId: 'user-1', appid: 'wxapp', roles: ['user', 'admin'], sessionId: 'family-1' };

  let clock: FakeClock;
  let jwt: JwtService;
  let service: AccessTokenService;

  beforeEach(() => {
    clock = new FakeClock();
    jwt = new JwtService(legacyOptions(secret));
    service = new AccessTokenService(
      new JwtService(),
      new JwtKeyManager(config),
      config,
      clock,
      new Random(),
    );
  });

  /** Signs with the module's key and options, plus overrides; iat from the fake clock. */
  function signRaw(payload: Record<string, unknown>, options: Parameters<JwtService['signAsync']>[1] = {}) {
    return jwt.signAsync({ iat: clock.nowSeconds(), ...payload }, options);
  }

  const fullPayload = { appid: 'wxapp', roles: ['user'], sid: 'family-1' };
  const fullOptions = { subject: 'user-1', jwtid: 'jti-1', expiresIn: TTL };
  /** A complete, current claim set written out, for tokens built by hand (what jsonwebtoken would not sign). */
  const handClaims = (overrides: Record<string, unknown> = {}) => {
    const now = clock.nowSeconds();
    return {
      ...fullPayload,
      sub: 'user-1',
      jti: 'j',
      iss: ISSUER,
      aud: AUDIENCE,
      iat: now,
      exp: now + TTL,
      ...overrides,
    };
  };

  it('round-trips to the AuthPrincipal', async () => {
    const token = await service.sign(claims);
    await expect(service.verify(token)).resolves.toEqual({
      userId: 'user-1',
      appid: 'wxapp',
      roles: ['user', 'admin'],
      sessionId: 'family-1',
      expiresAt: clock.nowSeconds() + TTL,
      issuedAt: clock.nowSeconds(),
      userEpoch: 0,
    });
  });

  it('carries the user revocation epoch as uv, and refuses a uv that is not a non-negative integer', async () => {
    const token = await service.sign({ ...claims, userEpoch: 1_767_225_600_123 });
    await expect(service.verify(token)).resolves.toMatchObject({ userEpoch: 1_767_225_600_123 });
    const [h, p] = token.split('.');
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    expect(payload.uv).toBe(1_767_225_600_123);
    expect(h).toBeTruthy();
  });

  it("signs HS256 with typ at+jwt, the secret's kid, iss, aud, a unique jti and iat from the clock", async () => {
    const a = jwt.decode<{ header: Record<string, unknown>; payload: Record<string, unknown> }>(
      await service.sign(claims),
      { complete: true },
    );
    const b = jwt.decode<Record<string, unknown>>(await service.sign(claims));
    expect(a.header).toEqual({ alg: 'HS256', typ: 'at+jwt', kid: hsKey.kid });
    expect(a.payload).toMatchObject({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'user-1',
      iat: clock.nowSeconds(),
      exp: clock.nowSeconds() + TTL,
    });
    expect(a.payload.jti).toEqual(expect.any(String));
    expect(a.payload.jti).not.toBe(b.jti);
  });

  it('expires once the clock reaches exp, without sleeping', async () => {
    const token = await service.sign(claims);
    clock.advance((TTL - 1) * 1000);
    await expect(service.verify(token)).resolves.toMatchObject({ userId: 'user-1' });
    clock.advance(1000);
    await expectInvalid(service.verify(token));
  });

  it('accepts a well-formed token built by hand (sanity check for the negative cases)', async () => {
    await expect(service.verify(await signRaw(fullPayload, fullOptions))).resolves.toMatchObject({
      userId: 'user-1',
      sessionId: 'family-1',
    });
  });

  it('rejects another typ (e.g. a plain JWT or an ID token)', async () => {
    for (const typ of ['JWT', 'id+jwt', undefined]) {
      const token = await signRaw(fullPayload, { ...fullOptions, header: { alg: 'HS256', typ } });
      await expectInvalid(service.verify(token));
    }
  });

  it('rejects alg none', async () => {
    const payload = handClaims();
    await expectInvalid(service.verify(`${b64({ alg: 'none', typ: ACCESS_TOKEN_TYP })}.${b64(payload)}.`));
  });

  it('rejects a token signed with another secret', async () => {
    const other = secretKey('another-secret-0123456789-abcdefghijklmnop', 'secret').signingKey;
    const token = await new JwtService(legacyOptions(other)).signAsync(
      { iat: clock.nowSeconds(), ...fullPayload },
      fullOptions,
    );
    await expectInvalid(service.verify(token));
  });

  it('rejects a tampered payload', async () => {
    const [h, , s] = (await service.sign(claims)).split('.');
    const forged = b64({ ...fullPayload, roles: ['admin'], sub: 'user-1', iss: ISSUER, aud: AUDIENCE });
    await expectInvalid(service.verify(`${h}.${forged}.${s}`));
  });

  it('rejects a wrong issuer or audience', async () => {
    await expectInvalid(
      service.verify(await signRaw(fullPayload, { ...fullOptions, issuer: 'someone-else' })),
    );
    await expectInvalid(
      service.verify(await signRaw(fullPayload, { ...fullOptions, audience: 'other-app' })),
    );
  });

  describe('verified-token cache', () => {
    it('a token verified before still expires: refused once the clock passes exp, also from the cache', async () => {
      const token = await service.sign(claims);
      await expect(service.verify(token)).resolves.toMatchObject({ userId: 'user-1' });
      clock.advance((TTL - 1) * 1000);
      await expect(service.verify(token)).resolves.toMatchObject({ userId: 'user-1' });
      clock.advance(1000);
      await expectInvalid(service.verify(token));
      await expectInvalid(service.verify(token));
    });

    it('only the exact text hits: a cached token with its signature or claims altered is checked, and refused', async () => {
      const token = await service.sign(claims);
      await service.verify(token);
      const [h, p, sig] = token.split('.');
      const flipped = `${sig.slice(0, -2)}${sig.at(-2) === 'A' ? 'B' : 'A'}${sig.at(-1)}`;
      await expectInvalid(service.verify(`${h}.${p}.${flipped}`));
      await expectInvalid(
        service.verify(
          `${h}.${b64({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), roles: ['admin'] })}.${sig}`,
        ),
      );
      await expect(service.verify(token)).resolves.toMatchObject({ roles: ['user', 'admin'] });
    });

    it('hands out a frozen principal (one object is shared by every request with that token)', async () => {
      const token = await service.sign(claims);
      const first = await service.verify(token);
      expect(Object.isFrozen(first)).toBe(true);
      expect(Object.isFrozen(first.roles)).toBe(true);
      expect(() => first.roles.push('admin')).toThrow(TypeError);
      await expect(service.verify(token)).resolves.toBe(first);
    });

    it(`keeps at most ${VERIFIED_CACHE_SIZE} tokens, dropping the oldest first`, async () => {
      const first = await service.sign(claims);
      await service.verify(first);
      for (let i = 0; i < VERIFIED_CACHE_SIZE; i++) await service.verify(hs256Token(`s-${i}`));
      const cache = (service as unknown as { verified: Map<string, unknown> }).verified;
      expect(cache.size).toBe(VERIFIED_CACHE_SIZE);
      expect(cache.has(first)).toBe(false);
      // Still valid, verified afresh (and cached again).
      await expect(service.verify(first)).resolves.toMatchObject({ userId: 'user-1' });
      expect(cache.has(first)).toBe(true);
    });

    /** Distinct valid tokens without paying for signAsync each time. */
    function hs256Token(sid: string): string {
      const iat = clock.nowSeconds();
      return hs256(
        { alg: 'HS256', typ: ACCESS_TOKEN_TYP, kid: hsKey.kid },
        {
          appid: 'wxapp',
          roles: ['user'],
          sid,
          iat,
          exp: iat + TTL,
          aud: AUDIENCE,
          iss: ISSUER,
          sub: 'u',
          jti: sid,
        },
      );
    }
  });

  it('rejects tokens missing a required claim', async () => {
    const { subject: _s, ...noSub } = fullOptions;
    const { jwtid: _j, ...noJti } = fullOptions;
    const { expiresIn: _e, ...noExp } = fullOptions;
    const { sid: _sid, ...noSid } = fullPayload;
    const { appid: _a, ...noAppid } = fullPayload;
    const { roles: _r, ...noRoles } = fullPayload;
    const cases: [Record<string, unknown>, object][] = [
      [fullPayload, noSub],
      [fullPayload, noJti],
      [fullPayload, noExp],
      [noSid, fullOptions],
      [noAppid, fullOptions],
      [noRoles, fullOptions],
    ];
    for (const [payload, options] of cases)
      await expectInvalid(service.verify(await signRaw(payload, options)));
  });

  it('rejects claims of the wrong type', async () => {
    const cases = [
      { ...fullPayload, roles: 'user' },
      { ...fullPayload, roles: ['user', 1] },
      { ...fullPayload, sid: 42 },
      { ...fullPayload, appid: null },
    ];
    for (const payload of cases) await expectInvalid(service.verify(await signRaw(payload, fullOptions)));
  });

  it('rejects garbage', async () => {
    for (const token of ['', 'not-a-jwt', 'a.b.c', `${b64({ alg: 'HS256' })}.${b64({})}.`]) {
      await expectInvalid(service.verify(token));
    }
  });

  describe('time claims', () => {
    const at = (offsetSeconds: number) => clock.nowSeconds() + offsetSeconds;

    it('accepts iat up to 30 s in the future (clock skew between instances) and refuses beyond', async () => {
      for (const [offset, ok] of [
        [0, true],
        [1, true],
        [IAT_LEEWAY_SECONDS, true],
        [IAT_LEEWAY_SECONDS + 1, false],
        [3600, false],
      ] as const) {
        const token = await signRaw({ ...fullPayload, iat: at(offset) }, fullOptions);
        if (ok) await expect(service.verify(token)).resolves.toMatchObject({ issuedAt: at(offset) });
        else await expectInvalid(service.verify(token));
      }
    });

    it('refuses a token without iat or with a non-numeric one', async () => {
      await expectInvalid(service.verify(await signRaw(fullPayload, { ...fullOptions, noTimestamp: true })));
      for (const iat of ['0', null, { n: 1 }]) {
        // Built by hand: jsonwebtoken refuses to sign a non-numeric iat.
        const body = handClaims({ iat });
        await expectInvalid(service.verify(hs256({ alg: 'HS256', typ: ACCESS_TOKEN_TYP }, body)));
      }
    });

    it('refuses nbf in the future (no leeway) and accepts nbf now or in the past', async () => {
      const nbf = async (offset: number) =>
        signRaw({ ...fullPayload, nbf: at(offset) }, fullOptions).then((t) => service.verify(t));
      await expectInvalid(nbf(1));
      await expectInvalid(nbf(60));
      await expect(nbf(0)).resolves.toMatchObject({ userId: 'user-1' });
      await expect(nbf(-60)).resolves.toMatchObject({ userId: 'user-1' });
    });
  });

  describe('header members', () => {
    const now = () => clock.nowSeconds();
    const body = () => ({
      ...fullPayload,
      sub: 'user-1',
      jti: 'j',
      iss: ISSUER,
      aud: AUDIENCE,
      iat: now(),
      exp: now() + TTL,
    });

    it('accepts exactly { alg, typ } when hand-built (sanity check for the cases below)', async () => {
      await expect(
        service.verify(hs256({ alg: 'HS256', typ: ACCESS_TOKEN_TYP }, body())),
      ).resolves.toMatchObject({
        userId: 'user-1',
      });
    });

    it.each([
      ['jku', { jku: 'http://127.0.0.1:1/jwks.json' }],
      ['x5u', { x5u: 'http://127.0.0.1:1/cert.pem' }],
      ['jwk', { jwk: { kty: 'oct', k: 'AAAA' } }],
      ['x5c', { x5c: ['MIIB'] }],
      ['crit', { crit: ['exp'] }],
      ['crit (unknown extension)', { crit: ['http://example.com/ext'], 'http://example.com/ext': true }],
      ['an unknown kid', { kid: 'unknown-key' }],
      ['kid path traversal', { kid: '../../../../dev/null' }],
      ['cty', { cty: 'JWT' }],
    ])('refuses a correctly signed token carrying %s', async (_name, extra) => {
      await expectInvalid(service.verify(hs256({ alg: 'HS256', typ: ACCESS_TOKEN_TYP, ...extra }, body())));
    });
  });

  /** HS256 over exactly this header and payload, with the right key: only our checks can refuse it. */
  function hs256(header: Record<string, unknown>, payload: Record<string, unknown>): string {
    const input = `${b64(header)}.${b64(payload)}`;
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
  }
});
