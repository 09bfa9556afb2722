import { createHmac, generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { TEST_JWT_SECRET } from '../support/test-app';
import { useTestApp } from '../support/use-test-app';
import { accessClaims, b64urlJson as enc, nowSeconds as now } from '../support/access-claims';

/**
 * Forged access tokens, the way Keycloak and node-oidc-provider test themselves: each hostile
 * input listed, each answer asserted. Every row is sent to a route answered from the token alone
 * (`/auth/session`) and to one that reads the database (`/users/me`); every answer must be
 * `401 UNAUTHORIZED` with `WWW-Authenticate: Bearer error="invalid_token"` — never 200, never 500.
 */
describe('forged access tokens (security e2e)', () => {
  const ROUTES = ['/auth/session', '/users/me'];
  const fx = useTestApp();
  /** Anything that would fetch a key named by a token (jku, x5u) lands here. */
  let keyServer: Server;
  let keyServerUrl = '';
  const keyServerHits: string[] = [];
  let userId = '';
  let refreshToken = '';

  /** Exactly the claims our tokens carry, for the user logged in below. */
  const claims = (extra: Record<string, unknown> = {}) => accessClaims(userId, 'forged-jti', extra);
  const HEADER = { alg: 'HS256', typ: 'at+jwt' };
  /** HMAC over exactly this header and payload (any algorithm, any key), bypassing jsonwebtoken's own checks. */
  const hmac = (
    header: Record<string, unknown>,
    payload: unknown,
    opts: { hash?: string; key?: string } = {},
  ): string => {
    const input = `${enc(header)}.${enc(payload)}`;
    const sig = createHmac(opts.hash ?? 'sha256', opts.key ?? TEST_JWT_SECRET)
      .update(input)
      .digest('base64url');
    return `${input}.${sig}`;
  };
  /** A correct token of ours, with the header members or claims changed. */
  const ours = (header: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
    hmac({ ...HEADER, ...header }, claims(extra));

  const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const attackerJwk = attacker.publicKey.export({ format: 'jwk' });
  const ATTACKER_SECRET = 'attacker-secret-attacker-secret-attacker-secret';

  beforeAll(async () => {
    keyServer = createServer((req, res) => {
      keyServerHits.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [attackerJwk] }));
    });
    await new Promise<void>((resolve) => keyServer.listen(0, '127.0.0.1', resolve));
    keyServerUrl = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}`;

    const login = await request(fx.t.server).post('/auth/wechat/login').send({ code: fx.wechat.mint() });
    expect(login.status).toBe(200);
    userId = login.body.user.id;
    refreshToken = login.body.refreshToken;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => (keyServer ? keyServer.close(() => resolve()) : resolve()));
  });

  const get = (route: string, authorization?: string) => {
    const req = request(fx.t.server).get(route);
    return authorization === undefined ? req : req.set('authorization', authorization);
  };

  describe('controls: what must still pass', () => {
    it.each([
      ['our own token, as issued', () => ours()],
      ['iat 20 s in the future (within the 30 s leeway for clock skew)', () => ours({}, { iat: now() + 20 })],
      ['nbf in the past', () => ours({}, { nbf: now() - 60 })],
    ])('%s → 200 on both routes', async (_name, token) => {
      for (const route of ROUTES) {
        const res = await get(route, `Bearer ${token()}`);
        expect({ route, status: res.status }).toEqual({ route, status: 200 });
      }
    });
  });

  /** [name, the Authorization header (undefined = none), optional query string]. */
  const FORGED: [string, () => string | undefined, string?][] = [
    // The algorithm: pinned to HS256, whatever the header says.
    ['alg none, no signature', () => `Bearer ${enc({ alg: 'none', typ: 'at+jwt' })}.${enc(claims())}.`],
    ['alg None, no signature', () => `Bearer ${enc({ alg: 'None', typ: 'at+jwt' })}.${enc(claims())}.`],
    ['alg NONE, no signature', () => `Bearer ${enc({ alg: 'NONE', typ: 'at+jwt' })}.${enc(claims())}.`],
    ['alg none with a valid HS256 signature', () => `Bearer ${ours({ alg: 'none' })}`],
    ['alg missing', () => `Bearer ${hmac({ typ: 'at+jwt' }, claims())}`],
    ['alg null', () => `Bearer ${hmac({ alg: null, typ: 'at+jwt' }, claims())}`],
    ['alg empty string', () => `Bearer ${hmac({ alg: '', typ: 'at+jwt' }, claims())}`],
    ['alg hs256 (lower case)', () => `Bearer ${ours({ alg: 'hs256' })}`],
    [
      'HS384 signed with the right secret',
      () => `Bearer ${hmac({ ...HEADER, alg: 'HS384' }, claims(), { hash: 'sha384' })}`,
    ],
    [
      'HS512 signed with the right secret',
      () => `Bearer ${hmac({ ...HEADER, alg: 'HS512' }, claims(), { hash: 'sha512' })}`,
    ],
    [
      'RS256 signed with an attacker key',
      () =>
        `Bearer ${jwt.sign(claims(), attacker.privateKey, { algorithm: 'RS256', header: { alg: 'RS256', typ: 'at+jwt' } })}`,
    ],
    // The key and the signature.
    ['HS256 with another key', () => `Bearer ${hmac(HEADER, claims(), { key: ATTACKER_SECRET })}`],
    ['HS256 with an empty key', () => `Bearer ${hmac(HEADER, claims(), { key: '' })}`],
    [
      'tampered payload (admin role), original signature',
      () => {
        const [h, , s] = ours().split('.');
        return `Bearer ${h}.${enc(claims({ roles: ['user', 'admin'] }))}.${s}`;
      },
    ],
    [
      'tampered payload (another user), original signature',
      () => {
        const [h, , s] = ours().split('.');
        return `Bearer ${h}.${enc(claims({ sub: '00000000-0000-4000-8000-000000000001' }))}.${s}`;
      },
    ],
    ['signature stripped', () => `Bearer ${ours().split('.').slice(0, 2).join('.')}.`],
    [
      'signature of another token',
      () => `Bearer ${ours().split('.').slice(0, 2).join('.')}.${ours({}, { jti: 'x' }).split('.')[2]}`,
    ],
    // Time.
    ['expired a second ago', () => `Bearer ${ours({}, { iat: now() - 601, exp: now() - 1 })}`],
    [
      'a lifetime longer than ACCESS_TOKEN_TTL (a leaked key minting long-lived tokens)',
      () => `Bearer ${ours({}, { iat: now(), exp: now() + 10 * 365 * 86400 })}`,
    ],
    ['exp missing', () => `Bearer ${ours({}, { exp: undefined })}`],
    ['exp as a string', () => `Bearer ${ours({}, { exp: String(now() + 600) })}`],
    ['nbf 60 s in the future', () => `Bearer ${ours({}, { nbf: now() + 60 })}`],
    ['iat 60 s in the future (beyond the 30 s leeway)', () => `Bearer ${ours({}, { iat: now() + 60 })}`],
    [
      'iat a year in the future',
      () => `Bearer ${ours({}, { iat: now() + 365 * 86400, exp: now() + 366 * 86400 })}`,
    ],
    ['iat missing', () => `Bearer ${ours({}, { iat: undefined })}`],
    // Who it is for, and what it is.
    ['wrong iss', () => `Bearer ${ours({}, { iss: 'someone-else' })}`],
    ['wrong aud', () => `Bearer ${ours({}, { aud: 'other-api' })}`],
    ['aud as an array without ours', () => `Bearer ${ours({}, { aud: ['other-api'] })}`],
    ['typ JWT', () => `Bearer ${ours({ typ: 'JWT' })}`],
    ['typ missing', () => `Bearer ${hmac({ alg: 'HS256' }, claims())}`],
    ['typ id+jwt', () => `Bearer ${ours({ typ: 'id+jwt' })}`],
    ['a refresh token as access token', () => `Bearer ${refreshToken}`],
    // Shape.
    ['1 segment', () => `Bearer ${enc(HEADER)}`],
    ['2 segments', () => `Bearer ${enc(HEADER)}.${enc(claims())}`],
    ['4 segments', () => `Bearer ${ours()}.${enc({})}`],
    ['5 segments (JWE-shaped)', () => `Bearer ${enc({ alg: 'dir', enc: 'A256GCM' })}..aaaa.bbbb.cccc`],
    [
      'bad base64url in the header (+ and /)',
      () => `Bearer ${Buffer.from(JSON.stringify(HEADER)).toString('base64')}+/.${enc(claims())}.sig`,
    ],
    [
      'base64 padding (=) in the payload',
      () => `Bearer ${enc(HEADER)}.${Buffer.from(JSON.stringify(claims())).toString('base64')}==.sig`,
    ],
    [
      'header that is not JSON',
      () => `Bearer ${Buffer.from('not json').toString('base64url')}.${enc(claims())}.sig`,
    ],
    [
      'payload that is not JSON',
      () => `Bearer ${hmac(HEADER, 'x').split('.')[0]}.${Buffer.from('{"sub":').toString('base64url')}.sig`,
    ],
    ['payload a JSON string', () => `Bearer ${hmac(HEADER, 'just a string')}`],
    ['header a JSON array', () => `Bearer ${enc(['HS256'])}.${enc(claims())}.sig`],
    ['empty segments', () => 'Bearer ..'],
    [
      'a huge token (12 KB, under the header limit)',
      () => `Bearer ${enc(HEADER)}.${'A'.repeat(12 * 1024)}.sig`,
    ],
    // Where it is sent.
    ['no Authorization header at all', () => undefined],
    ['token in the query string only (access_token)', () => undefined, `?access_token=${'%TOKEN%'}`],
    ['token in the query string only (token)', () => undefined, `?token=${'%TOKEN%'}`],
    ['scheme Basic', () => `Basic ${Buffer.from('a:b').toString('base64')}`],
    ['scheme Token', () => `Token ${ours()}`],
    ['Bearer without a token', () => 'Bearer '],
    ['two tokens in one header', () => `Bearer ${ours()}, Bearer ${ours()}`],
    // Header members that name or carry keys: never fetched, never trusted.
    [
      'jku to a listener, signed with the attacker key',
      () =>
        `Bearer ${jwt.sign(claims(), attacker.privateKey, { algorithm: 'RS256', header: { alg: 'RS256', typ: 'at+jwt', jku: `${keyServerUrl}/jwks.json` } })}`,
    ],
    [
      'jku to a listener, signed with the right key',
      () => `Bearer ${ours({ jku: `${keyServerUrl}/jwks.json` })}`,
    ],
    ['x5u to a listener', () => `Bearer ${ours({ x5u: `${keyServerUrl}/cert.pem` })}`],
    [
      'jwk: the attacker RSA key embedded, RS256',
      () =>
        `Bearer ${jwt.sign(claims(), attacker.privateKey, { algorithm: 'RS256', header: { alg: 'RS256', typ: 'at+jwt', jwk: attackerJwk } as jwt.JwtHeader })}`,
    ],
    [
      'jwk: an attacker oct key embedded, HS256 under it',
      () =>
        `Bearer ${hmac({ ...HEADER, jwk: { kty: 'oct', k: Buffer.from(ATTACKER_SECRET).toString('base64url') } }, claims(), { key: ATTACKER_SECRET })}`,
    ],
    ['jwk embedded, signed with the right key', () => `Bearer ${ours({ jwk: attackerJwk })}`],
    ['x5c embedded', () => `Bearer ${ours({ x5c: ['MIIBszCCAVmgAwIBAgIUQ'] })}`],
    ['crit naming a registered claim', () => `Bearer ${ours({ crit: ['exp'] })}`],
    ['crit naming an unknown extension', () => `Bearer ${ours({ crit: ['urn:x:ext'], 'urn:x:ext': true })}`],
    ['an unknown kid, right key', () => `Bearer ${ours({ kid: 'unknown-key-2026' })}`],
    [
      'kid path traversal, empty key',
      () => `Bearer ${hmac({ ...HEADER, kid: '../../../../../dev/null' }, claims(), { key: '' })}`,
    ],
    ['kid SQL injection', () => `Bearer ${ours({ kid: "x' UNION SELECT 'key" })}`],
  ];

  describe.each(ROUTES)('GET %s', (route) => {
    // Every row padded to three cells: with fewer than the function's parameters, jest passes `done`.
    const rows = FORGED.map(([name, authorization, query]) => [name, authorization, query ?? ''] as const);
    it.each(rows)('%s → 401 invalid_token', async (_name, authorization, query) => {
      const before = { wechat: fx.wechat.calls.length, keys: keyServerHits.length };
      const res = await get(`${route}${query.replace('%TOKEN%', ours())}`, authorization());
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 401, code: 'UNAUTHORIZED' });
      expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      expect(res.body).toEqual({
        statusCode: 401,
        code: 'UNAUTHORIZED',
        message: expect.any(String),
        requestId: expect.any(String),
      });
      // Nothing fetched on the token's say-so, and nothing sent to WeChat.
      expect({ wechat: fx.wechat.calls.length, keys: keyServerHits.length }).toEqual(before);
    });
  });

  it('no row of the table made any request to the key listener', () => {
    expect(keyServerHits).toEqual([]);
  });

  it('a token over the 16 KiB header limit (20 KB) → 431 HEADERS_TOO_LARGE in the error format, never 500', async () => {
    for (const route of ROUTES) {
      const res = await get(route, `Bearer ${enc(HEADER)}.${'A'.repeat(20 * 1024)}.sig`);
      expect(res.status).toBe(431);
      expect(res.body).toMatchObject({ statusCode: 431, code: 'HEADERS_TOO_LARGE' });
    }
  });
});
