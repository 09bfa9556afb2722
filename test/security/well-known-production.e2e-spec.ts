import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { ConfigError } from '../../src/config/load-config';
import { createTestApp, type TestApp } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

/**
 * Issue 19 item 11, through HTTP: in production the RFC 8414 metadata takes its issuer and links from
 * PUBLIC_URL (required, https), never from Host or X-Forwarded-Host, even behind a trusted proxy.
 */
describe('/.well-known/oauth-authorization-server in production', () => {
  let db: TestDatabase;
  let t: TestApp;
  const production = (env: Record<string, string> = {}): Record<string, string> => ({
    NODE_ENV: 'production',
    JWT_SECRET: randomBytes(48).toString('base64'),
    SESSION_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    WECHAT_API_BASE: 'http://127.0.0.1:9', // loopback: allowed in production, never called here
    TRUST_PROXY: 'true',
    ...env,
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    t = await createTestApp({
      databaseUrl: db.url,
      env: production({ PUBLIC_URL: 'https://auth.example.com' }),
    });
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it.each([
    ['Host', { host: 'evil.example' }],
    [
      'X-Forwarded-Host and -Proto (proxy trusted)',
      { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' },
    ],
  ])('names PUBLIC_URL whatever %s says, and may be cached by anyone', async (_name, headers) => {
    const res = await request(t.server).get('/.well-known/oauth-authorization-server').set(headers);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    expect(res.body).toMatchObject({
      issuer: 'https://auth.example.com',
      jwks_uri: 'https://auth.example.com/.well-known/jwks.json',
      introspection_endpoint: 'https://auth.example.com/oauth/introspect',
    });
    expect(res.text).not.toContain('evil.example');
  });

  it('does not start without PUBLIC_URL, or with a cleartext one', async () => {
    for (const env of [production(), production({ PUBLIC_URL: 'http://auth.example.com' })])
      await expect(createTestApp({ databaseUrl: db.url, env })).rejects.toBeInstanceOf(ConfigError);
  });
});
