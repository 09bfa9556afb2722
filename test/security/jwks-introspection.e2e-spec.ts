import { createHmac, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { calculateJwkThumbprint, createLocalJWKSet, jwtVerify } from 'jose';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { User } from '../../src/users/user.entity';
import { TEST_JWT_SECRET } from '../support/test-app';
import { useTestApp } from '../support/use-test-app';
import { accessClaims, b64urlJson as enc, nowSeconds as now } from '../support/access-claims';

/**
 * Asymmetric keys, the JWKS, the RFC 8414 metadata, RFC 7662 introspection and the interface-token
 * route for sibling services (issue 10). Every refusal listed, every answer asserted.
 */
describe('JWKS, key selection, introspection and service clients (security e2e)', () => {
  const pem = (k: KeyObject) => k.export({ format: 'pem', type: 'pkcs8' }).toString();
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ed = generateKeyPairSync('ed25519');
  const attackerEc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  // As an environment file gives it: `\n` escapes, keys one after the other; the EC key signs.
  const PRIVATE_KEYS = [ec, rsa, ed]
    .map((k) => pem(k.privateKey))
    .join('')
    .replace(/\n/g, '\\n');
  const PARTNER_SECRET = 'partner-secret-Q9vK2mX7pL4wR8tZ1nB6cD3f';
  const WX_CLIENT_SECRET = 'wx-client-secret-H5jN0sV9aE2uY7kM4qT1gW8x';
  const SERVICE_CLIENTS = `partner-a:${PARTNER_SECRET},wx-client:${WX_CLIENT_SECRET}`;

  const fx = useTestApp({
    env: {
      JWT_PRIVATE_KEYS: PRIVATE_KEYS,
      // Kept while tokens it signed may still be alive (a move from HS256 to ES256).
      JWT_SECRET: TEST_JWT_SECRET,
      SERVICE_CLIENTS,
      WECHAT_TOKEN_CLIENTS: 'wx-client',
    },
  });
  let kids: { ec: string; rsa: string; ed: string };
  let login: { accessToken: string; refreshToken: string; user: { id: string } };

  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  const PARTNER = basic('partner-a', PARTNER_SECRET);
  const claims = (extra: Record<string, unknown> = {}) => accessClaims(login.user.id, 'hand-made', extra);
  /** A JWS over exactly this header and payload: the signature is right for `alg`, whatever our checks say. */
  const jws = (
    header: Record<string, unknown>,
    payload: unknown,
    key: KeyObject | string,
    alg = header.alg,
  ) => {
    const input = `${enc(header)}.${enc(payload)}`;
    const data = Buffer.from(input);
    const sig =
      alg === 'HS256'
        ? createHmac('sha256', key).update(data).digest()
        : alg === 'ES256'
          ? sign('sha256', data, { key: key as KeyObject, dsaEncoding: 'ieee-p1363' })
          : alg === 'ES256-DER'
            ? sign('sha256', data, key as KeyObject)
            : alg === 'EdDSA'
              ? sign(null, data, key as KeyObject)
              : sign('sha256', data, key as KeyObject);
    return `${input}.${sig.toString('base64url')}`;
  };
  const session = (token: string) =>
    request(fx.t.server).get('/auth/session').set('authorization', `Bearer ${token}`);
  const introspect = (token: string, authorization = PARTNER) =>
    request(fx.t.server)
      .post('/oauth/introspect')
      .set('authorization', authorization)
      .type('form')
      .send({ token, token_type_hint: 'access_token' });

  beforeAll(async () => {
    kids = {
      ec: await calculateJwkThumbprint(ec.publicKey.export({ format: 'jwk' }) as never),
      rsa: await calculateJwkThumbprint(rsa.publicKey.export({ format: 'jwk' }) as never),
      ed: await calculateJwkThumbprint(ed.publicKey.export({ format: 'jwk' }) as never),
    };
    login = (await request(fx.t.server).post('/auth/wechat/login').send({ code: fx.wechat.mint() })).body;
    expect(login.accessToken).toEqual(expect.any(String));
  });

  afterAll(async () => {
    // Nothing secret of the service clients or the private keys is ever logged.
    const logs = fx.t.logs.join('\n');
    for (const secret of [
      PARTNER_SECRET,
      WX_CLIENT_SECRET,
      'PRIVATE KEY',
      ec.privateKey.export({ format: 'jwk' }).d!,
    ])
      expect(logs.includes(secret)).toBe(false);
  });

  describe('publishing', () => {
    it('GET /.well-known/jwks.json: the public keys only, kid = RFC 7638 thumbprint, cacheable', async () => {
      const res = await request(fx.t.server).get('/.well-known/jwks.json');
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('public, max-age=300');
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const keys = res.body.keys as Record<string, unknown>[];
      expect(keys.map((k) => [k.kid, k.alg, k.use, k.kty])).toEqual([
        [kids.ec, 'ES256', 'sig', 'EC'],
        [kids.rsa, 'RS256', 'sig', 'RSA'],
        [kids.ed, 'EdDSA', 'sig', 'OKP'],
      ]);
      // No private member, no HS256 secret (kty oct), ever.
      for (const key of keys)
        for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(key).not.toHaveProperty(m);
      expect(JSON.stringify(res.body)).not.toContain(Buffer.from(TEST_JWT_SECRET).toString('base64url'));
    });

    it('GET /.well-known/oauth-authorization-server: issuer, absolute links, algorithms', async () => {
      const res = await request(fx.t.server)
        .get('/.well-known/oauth-authorization-server')
        .set('host', 'auth.test:8443');
      expect(res.status).toBe(200);
      // Built from the Host header (no PUBLIC_URL): never for a shared cache.
      expect(res.headers['cache-control']).toBe('private, max-age=300');
      expect(res.body).toEqual({
        // RFC 8414 §3.3: the origin the metadata was fetched under (tokens keep JWT_ISSUER as `iss`).
        issuer: 'http://auth.test:8443',
        jwks_uri: 'http://auth.test:8443/.well-known/jwks.json',
        introspection_endpoint: 'http://auth.test:8443/oauth/introspect',
        introspection_endpoint_auth_methods_supported: ['client_secret_basic'],
        access_token_signing_alg_values_supported: ['ES256', 'RS256', 'EdDSA', 'HS256'],
        response_types_supported: [],
        grant_types_supported: [],
      });
    });

    it('a login token is ES256 under the first key, and verifies with the published JWKS alone (jose)', async () => {
      const header = JSON.parse(Buffer.from(login.accessToken.split('.')[0], 'base64url').toString());
      expect(header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: kids.ec });
      const jwks = createLocalJWKSet((await request(fx.t.server).get('/.well-known/jwks.json')).body);
      const { payload } = await jwtVerify(login.accessToken, jwks, {
        issuer: 'wechat-auth',
        audience: 'miniprogram',
        typ: 'at+jwt',
      });
      expect(payload.sub).toBe(login.user.id);
    });
  });

  describe('which key verifies a token', () => {
    it.each([
      [
        'ES256 under the signing key',
        () => jws({ alg: 'ES256', typ: 'at+jwt', kid: kids.ec }, claims(), ec.privateKey),
      ],
      [
        'RS256 under the second key',
        () => jws({ alg: 'RS256', typ: 'at+jwt', kid: kids.rsa }, claims(), rsa.privateKey),
      ],
      [
        'EdDSA under the third key',
        () => jws({ alg: 'EdDSA', typ: 'at+jwt', kid: kids.ed }, claims(), ed.privateKey),
      ],
      [
        'HS256 under JWT_SECRET, with its kid',
        () =>
          jws({ alg: 'HS256', typ: 'at+jwt', kid: fx.t.config.jwt.keys[3].kid }, claims(), TEST_JWT_SECRET),
      ],
      [
        'HS256 under JWT_SECRET without kid (issued before rotation existed)',
        () => jws({ alg: 'HS256', typ: 'at+jwt' }, claims(), TEST_JWT_SECRET),
      ],
    ])('%s → 200', async (_name, token) => {
      expect((await session(token())).status).toBe(200);
    });

    const ecPublicPem = () => ec.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const REFUSED: [string, () => string][] = [
      [
        'an unknown kid (an attacker key)',
        () => jws({ alg: 'ES256', typ: 'at+jwt', kid: 'attacker' }, claims(), attackerEc.privateKey),
      ],
      [
        'our kid, signed by an attacker key',
        () => jws({ alg: 'ES256', typ: 'at+jwt', kid: kids.ec }, claims(), attackerEc.privateKey),
      ],
      [
        'the RSA key’s kid with alg ES256 (alg does not match the key)',
        () => jws({ alg: 'ES256', typ: 'at+jwt', kid: kids.rsa }, claims(), ec.privateKey),
      ],
      [
        'the EC key’s kid with alg RS256, signed by our RSA key',
        () => jws({ alg: 'RS256', typ: 'at+jwt', kid: kids.ec }, claims(), rsa.privateKey),
      ],
      [
        'the EC key’s kid with alg EdDSA, signed by our Ed25519 key',
        () => jws({ alg: 'EdDSA', typ: 'at+jwt', kid: kids.ec }, claims(), ed.privateKey),
      ],
      [
        'key confusion: HS256 keyed with our EC public key (PEM)',
        () => jws({ alg: 'HS256', typ: 'at+jwt', kid: kids.ec }, claims(), ecPublicPem()),
      ],
      [
        'key confusion: HS256 keyed with our RSA public key (PEM)',
        () =>
          jws(
            { alg: 'HS256', typ: 'at+jwt', kid: kids.rsa },
            claims(),
            rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
          ),
      ],
      [
        'HS256 under JWT_SECRET but naming the EC key',
        () => jws({ alg: 'HS256', typ: 'at+jwt', kid: kids.ec }, claims(), TEST_JWT_SECRET),
      ],
      [
        'ES256 without kid (only legacy HS256 tokens may omit it)',
        () => jws({ alg: 'ES256', typ: 'at+jwt' }, claims(), ec.privateKey),
      ],
      [
        'ES256 with a DER signature instead of r||s',
        () => jws({ alg: 'ES256', typ: 'at+jwt', kid: kids.ec }, claims(), ec.privateKey, 'ES256-DER'),
      ],
      ['kid a number', () => jws({ alg: 'ES256', typ: 'at+jwt', kid: 1 }, claims(), ec.privateKey)],
      [
        'kid __proto__',
        () => jws({ alg: 'ES256', typ: 'at+jwt', kid: '__proto__' }, claims(), ec.privateKey),
      ],
      [
        'kid constructor',
        () => jws({ alg: 'ES256', typ: 'at+jwt', kid: 'constructor' }, claims(), ec.privateKey),
      ],
      [
        'kid with a trailing space',
        () => jws({ alg: 'ES256', typ: 'at+jwt', kid: `${kids.ec} ` }, claims(), ec.privateKey),
      ],
      [
        'jku next to a right kid and signature',
        () =>
          jws(
            { alg: 'ES256', typ: 'at+jwt', kid: kids.ec, jku: 'http://127.0.0.1:1/jwks.json' },
            claims(),
            ec.privateKey,
          ),
      ],
      [
        'x5u next to a right kid and signature',
        () =>
          jws(
            { alg: 'ES256', typ: 'at+jwt', kid: kids.ec, x5u: 'http://127.0.0.1:1/c.pem' },
            claims(),
            ec.privateKey,
          ),
      ],
      [
        'jwk (the attacker key) next to our kid',
        () =>
          jws(
            {
              alg: 'ES256',
              typ: 'at+jwt',
              kid: kids.ec,
              jwk: attackerEc.publicKey.export({ format: 'jwk' }),
            },
            claims(),
            attackerEc.privateKey,
          ),
      ],
      [
        'expired, under our key',
        () =>
          jws(
            { alg: 'ES256', typ: 'at+jwt', kid: kids.ec },
            claims({ iat: now() - 700, exp: now() - 1 }),
            ec.privateKey,
          ),
      ],
      [
        'typ JWT, under our key',
        () => jws({ alg: 'ES256', typ: 'JWT', kid: kids.ec }, claims(), ec.privateKey),
      ],
    ];

    it.each(REFUSED)('%s → 401 invalid_token, and introspection says inactive', async (_name, token) => {
      const res = await session(token());
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 401, code: 'UNAUTHORIZED' });
      expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      expect((await introspect(token())).body).toEqual({ active: false });
    });
  });

  describe('POST /oauth/introspect', () => {
    it('a live access token → active with its claims, no-store', async () => {
      const res = await introspect(login.accessToken);
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({
        active: true,
        sub: login.user.id,
        appid: 'wxapp_one',
        roles: ['user'],
        exp: expect.any(Number),
        iat: expect.any(Number),
        iss: 'wechat-auth',
        aud: 'miniprogram',
        sid: expect.any(String),
        jti: expect.any(String),
        token_type: 'Bearer',
      });
    });

    it.each([
      ['garbage', () => 'not-a-token'],
      ['a refresh token', () => login.refreshToken],
      [
        'a forged token (tampered roles)',
        () => {
          const [h, , s] = login.accessToken.split('.');
          return `${h}.${enc(claims({ roles: ['user', 'admin'] }))}.${s}`;
        },
      ],
      ['a huge token', () => 'a'.repeat(9000)],
      [
        'a session id no refresh token belongs to (right key)',
        () => jws({ alg: 'ES256', typ: 'at+jwt', kid: kids.ec }, claims(), ec.privateKey),
      ],
    ])('%s → { active: false }', async (_name, token) => {
      const res = await introspect(token());
      expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { active: false } });
    });

    it.each([
      ['no Authorization', undefined],
      ['a wrong secret', basic('partner-a', `${PARTNER_SECRET}x`)],
      ['an unknown client', basic('nobody', PARTNER_SECRET)],
      ['another client’s secret', basic('partner-a', WX_CLIENT_SECRET)],
      ['an empty secret', basic('partner-a', '')],
      ['no colon', `Basic ${Buffer.from('partner-a').toString('base64')}`],
      ['not base64', 'Basic !!!'],
      ['a Bearer token instead', 'Bearer abc.def.ghi'],
    ])(
      'client authentication with %s → 401 INVALID_CLIENT, WWW-Authenticate: Basic',
      async (_name, authorization) => {
        let req = request(fx.t.server).post('/oauth/introspect').type('form');
        if (authorization) req = req.set('authorization', authorization);
        const res = await req.send({ token: login.accessToken });
        expect({ status: res.status, code: res.body.code }).toEqual({ status: 401, code: 'INVALID_CLIENT' });
        expect(res.headers['www-authenticate']).toBe('Basic realm="wechat-auth", charset="UTF-8"');
        expect(JSON.stringify(res.body)).not.toContain('active');
      },
    );

    it('takes a form-encoded secret inside Basic too (RFC 6749 §2.3.1)', async () => {
      const res = await introspect(login.accessToken, basic('partner-a', encodeURIComponent(PARTNER_SECRET)));
      expect(res.body.active).toBe(true);
    });

    it('refuses JSON (415), a missing token (400) and a repeated parameter (400)', async () => {
      const json = await request(fx.t.server)
        .post('/oauth/introspect')
        .set('authorization', PARTNER)
        .send({ token: login.accessToken });
      expect({ status: json.status, code: json.body.code }).toEqual({
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      });
      const missing = await request(fx.t.server)
        .post('/oauth/introspect')
        .set('authorization', PARTNER)
        .type('form')
        .send('');
      expect({ status: missing.status, code: missing.body.code }).toEqual({
        status: 400,
        code: 'VALIDATION_FAILED',
      });
      const twice = await request(fx.t.server)
        .post('/oauth/introspect')
        .set('authorization', PARTNER)
        .type('form')
        .send(`token=${login.accessToken}&token=x`);
      expect({ status: twice.status, code: twice.body.code }).toEqual({
        status: 400,
        code: 'VALIDATION_FAILED',
      });
    });

    it('no other route takes a form body (415, as before)', async () => {
      for (const path of ['/auth/wechat/login', '/auth/refresh']) {
        const res = await request(fx.t.server)
          .post(path)
          .type('form')
          .send({ code: 'abc', refreshToken: 'x' });
        expect({ path, status: res.status, code: res.body.code }).toEqual({
          path,
          status: 415,
          code: 'UNSUPPORTED_MEDIA_TYPE',
        });
      }
    });

    it('after logout → inactive (while the JWT itself still verifies until it expires elsewhere)', async () => {
      const other = (
        await request(fx.t.server)
          .post('/auth/wechat/login')
          .send({ code: fx.wechat.mint({ openid: 'o-logout' }) })
      ).body;
      expect((await introspect(other.accessToken)).body.active).toBe(true);
      const out = await request(fx.t.server)
        .post('/auth/logout')
        .set('authorization', `Bearer ${other.accessToken}`);
      expect(out.status).toBe(204);
      expect((await introspect(other.accessToken)).body).toEqual({ active: false });
    });

    it('a user disabled in the database (e.g. by the CLI, another process) → inactive', async () => {
      const other = (
        await request(fx.t.server)
          .post('/auth/wechat/login')
          .send({ code: fx.wechat.mint({ openid: 'o-disabled' }) })
      ).body;
      expect((await introspect(other.accessToken)).body.active).toBe(true);
      await fx.t.app
        .get(DataSource)
        .getRepository(User)
        .update({ id: other.user.id }, { status: 'disabled' });
      expect((await introspect(other.accessToken)).body).toEqual({ active: false });
    });
  });

  describe('GET /internal/wechat/access-token', () => {
    const WX = basic('wx-client', WX_CLIENT_SECRET);

    it('a client in WECHAT_TOKEN_CLIENTS gets the shared interface token (one stable_token call), logged by client id', async () => {
      const before = fx.wechat.callsTo('/cgi-bin/stable_token').length;
      const answers = await Promise.all(
        [undefined, 'wxapp_one', 'wxapp_one'].map((appid) =>
          request(fx.t.server)
            .get('/internal/wechat/access-token')
            .query(appid ? { appid } : {})
            .set('authorization', WX),
        ),
      );
      for (const res of answers) {
        expect(res.status).toBe(200);
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.body).toEqual({ access_token: expect.any(String), expires_in: 300, appid: 'wxapp_one' });
      }
      expect(new Set(answers.map((r) => r.body.access_token)).size).toBe(1);
      expect(fx.wechat.accessTokens).toContain(answers[0].body.access_token);
      expect(fx.wechat.callsTo('/cgi-bin/stable_token').length - before).toBe(1);
      const lines = fx.t.logs.filter((l) => l.includes('interface access_token handed to a service client'));
      expect(lines.length).toBeGreaterThanOrEqual(3);
      expect(lines.every((l) => l.includes('"client":"wx-client"'))).toBe(true);
      // The other app has a token of its own.
      const two = await request(fx.t.server)
        .get('/internal/wechat/access-token?appid=wxapp_two')
        .set('authorization', WX);
      expect(two.body.appid).toBe('wxapp_two');
      expect(two.body.access_token).not.toBe(answers[0].body.access_token);
    });

    it('refuses a client not in WECHAT_TOKEN_CLIENTS (403), no credentials (401), an unknown appid (400)', async () => {
      const partner = await request(fx.t.server)
        .get('/internal/wechat/access-token')
        .set('authorization', PARTNER);
      expect({ status: partner.status, code: partner.body.code }).toEqual({ status: 403, code: 'FORBIDDEN' });
      const none = await request(fx.t.server).get('/internal/wechat/access-token');
      expect({ status: none.status, code: none.body.code }).toEqual({ status: 401, code: 'INVALID_CLIENT' });
      const bearer = await request(fx.t.server)
        .get('/internal/wechat/access-token')
        .set('authorization', `Bearer ${login.accessToken}`);
      expect({ status: bearer.status, code: bearer.body.code }).toEqual({
        status: 401,
        code: 'INVALID_CLIENT',
      });
      const unknown = await request(fx.t.server)
        .get('/internal/wechat/access-token?appid=wxnope')
        .set('authorization', WX);
      expect({ status: unknown.status, code: unknown.body.code }).toEqual({
        status: 400,
        code: 'UNKNOWN_APPID',
      });
      const bad = await request(fx.t.server)
        .get('/internal/wechat/access-token?appid=../x')
        .set('authorization', WX);
      expect({ status: bad.status, code: bad.body.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    });
  });
});

describe('service clients are rate-limited per client', () => {
  const fx = useTestApp({
    env: { SERVICE_CLIENTS: 'a:secret-of-client-a,b:secret-of-client-b', SERVICE_CLIENT_RATE_LIMIT: '3' },
  });

  it('the 4th introspection of a client in a minute → 429 RATE_LIMITED with Retry-After; another client is unaffected', async () => {
    const call = (id: string) =>
      request(fx.t.server)
        .post('/oauth/introspect')
        .set('authorization', `Basic ${Buffer.from(`${id}:secret-of-client-${id}`).toString('base64')}`)
        .type('form')
        .send({ token: 'x' });
    for (let i = 0; i < 3; i++) expect((await call('a')).body).toEqual({ active: false });
    const limited = await call('a');
    expect({ status: limited.status, code: limited.body.code }).toEqual({
      status: 429,
      code: 'RATE_LIMITED',
    });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await call('b')).status).toBe(200);
  });
});
