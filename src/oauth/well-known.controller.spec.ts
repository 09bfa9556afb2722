import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/app-config';
import { testConfig } from '../testing/test-config';
import type { JwtKeyManager } from '../token/keys/jwt-key-manager';
import { WellKnownController } from './well-known.controller';

/** Issue 19 item 11: the RFC 8414 metadata names PUBLIC_URL, never what a request's Host header says. */
describe('WellKnownController: authorization server metadata', () => {
  const keys = { algorithms: () => ['ES256'], publicKeys: () => [] } as unknown as JwtKeyManager;
  const fetch = (config: AppConfig, host = 'evil.example:8443') => {
    const headers: Record<string, string> = {};
    const reply = {
      header: (name: string, value: string) => (headers[name] = value),
    } as unknown as FastifyReply;
    const request = { protocol: 'http', host } as FastifyRequest;
    return { body: new WellKnownController(keys, config).metadata(request, reply), headers };
  };

  it('with PUBLIC_URL: issuer and links from it whatever the Host header, cacheable by anyone', () => {
    const { body, headers } = fetch(testConfig({ PUBLIC_URL: 'https://auth.example.com/' }));
    expect(body).toMatchObject({
      issuer: 'https://auth.example.com',
      jwks_uri: 'https://auth.example.com/.well-known/jwks.json',
      introspection_endpoint: 'https://auth.example.com/oauth/introspect',
      access_token_signing_alg_values_supported: ['ES256'],
    });
    expect(JSON.stringify(body)).not.toContain('evil.example');
    expect(headers['cache-control']).toBe('public, max-age=300');
  });

  it('keeps the tokens’ iss (JWT_ISSUER) apart: the metadata issuer is where it is published (RFC 8414 §3.3)', () => {
    const config = testConfig({ PUBLIC_URL: 'https://auth.example.com', JWT_ISSUER: 'wechat-auth' });
    expect(config.jwt.issuer).toBe('wechat-auth');
    expect(fetch(config).body.issuer).toBe('https://auth.example.com');
    const aligned = testConfig({
      PUBLIC_URL: 'https://auth.example.com',
      JWT_ISSUER: 'https://auth.example.com',
    });
    expect(fetch(aligned).body.issuer).toBe(aligned.jwt.issuer);
  });

  it('outside production without PUBLIC_URL: the origin the request came to, private to that caller', () => {
    const { body, headers } = fetch(testConfig(), 'localhost:3000');
    expect(body).toMatchObject({
      issuer: 'http://localhost:3000',
      jwks_uri: 'http://localhost:3000/.well-known/jwks.json',
      introspection_endpoint: 'http://localhost:3000/oauth/introspect',
    });
    expect(headers['cache-control']).toBe('private, max-age=300');
  });

  it('refuses to serve production metadata without PUBLIC_URL (no Host header fallback there)', () => {
    const config = { ...testConfig(), env: 'production', publicUrl: undefined } as AppConfig;
    expect(() => new WellKnownController(keys, config)).toThrow(/PUBLIC_URL is required in production/);
  });
});
