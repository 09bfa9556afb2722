import { randomBytes } from 'node:crypto';
import { weakSecretReason } from './secret-strength';
import { ConfigError, loadConfig } from './load-config';
import { printable } from '../testing/printable-secret';

// Issue 19 item 14: a readable label around a strong random part was refused ("prod-" + 64 hex characters
// reads as base64 in one letter case); the random part is what is judged now, and what people type stays refused.
describe('weakSecretReason: a readable label around the random part', () => {
  const hex = (bytes = 32) => randomBytes(bytes).toString('hex');

  it.each([
    ['prod- + openssl rand -hex 32', () => `prod-${hex()}`],
    ['PROD_ + upper-case hex', () => `PROD_${hex().toUpperCase()}`],
    ['prod- + base64url of 32 bytes', () => `prod-${randomBytes(32).toString('base64url')}`],
    [
      'wxauth-staging- + openssl rand -base64 32',
      () => `wxauth-staging-${randomBytes(32).toString('base64')}`,
    ],
    ['a path-like label (k8s/prod/jwt:)', () => `k8s/prod/jwt:${hex()}`],
    ['a label after it (hex + -2024)', () => `${hex()}-2024`],
    ['labels on both sides', () => `prod.${hex()}.v2`],
    ['prod: + a password manager’s 40 characters', () => `prod:${printable(40)}`],
  ])('accepts a strong random part with a label: %s', (_name, generate) => {
    for (let i = 0; i < 200; i++) {
      const secret = generate();
      expect({ secret, reason: weakSecretReason(secret) }).toEqual({ secret, reason: undefined });
    }
  });

  it.each([
    // Typed phrases, with and without a label.
    ['prod-correct horse battery staple correct horse battery', 'it repeats itself'],
    ['prod-MyCompanyAuthServiceProductionSigningKey2024', 'it reads like words'],
    ['MyCompanyAuthServiceProductionSigningKey2024', 'it reads like words'],
    ['staging-WeChatMiniProgramAuthBackendForAcmeCorpInShanghai', 'it reads like words'],
    ['Prod-Auth-Service-Signing-Key-For-The-WeChat-Backend', 'it reads like words'],
    ['prod-ThisIsMyVeryLongAndSecureJwtSigningSecret!2024', 'it contains a common word'],
    ['prod-' + 'Password'.repeat(6), 'it repeats itself'],
    ['prod-changeme-changeme-changeme-changeme-1234', 'it repeats itself'],
    // Repeated characters and sequences behind a label.
    ['prod-' + 'x'.repeat(64), 'it repeats itself'],
    ['prod-' + '0123456789abcdef'.repeat(4), 'it repeats itself'],
    ['prod-Zr8vQ2pL9xW4mN7bK1cT6yH3jF5gD0sAabcdefeRuIo7Xb4Ne8Rk', 'it contains a run or sequence'],
    // Keyboard walks (rows, columns, shifted), with and without a label.
    ['1QAZ2wsx3EDC4rfv5TGB6yhn7UJM8ik,9OL.0p;/', 'it follows a keyboard pattern'],
    ['prod-1QAZ2wsx3EDC4rfv5TGB6yhn7UJM8ik,9OL.0p;/', 'it follows a keyboard pattern'],
    ['prod-!QAZ@WSX#EDC$RFV%TGB^YHN&UJM*IK<(OL>)P:?', 'it follows a keyboard pattern'],
    ['prod-zaq1XSW2cde3VFR4bgt5NHY6mju7<KI8>LO9?:P0', 'it follows a keyboard pattern'],
    ['wxauth-1qaz2WSX3edc4RFV5tgb6YHN7ujm8IK,9ol.0P;/-2024', 'it follows a keyboard pattern'],
    // The random part alone is too short: the label's characters are not randomness.
    ['my-jwt-secret-for-prod-Zr8vQ2pL9xW4mN7bK1cT6yH3jF5gD0sA', 'it contains a common word'],
    [
      'prod-3f9c0a7d1e5b8f2a6c4d09e7b1a3f5c8e1d2c3b4a5f60718293a4b5c6d7e8f9',
      'it uses too few distinct characters',
    ],
  ])('refuses what people type, label or not: %s', (secret, reason) => {
    expect(weakSecretReason(secret)).toBe(reason);
  });

  it('a label never makes a weak random part pass: 31 random bytes of hex behind prod- stay refused', () => {
    for (let i = 0; i < 50; i++) expect(weakSecretReason(`prod-${hex(31)}`)).toBeDefined();
  });

  describe('in production', () => {
    const prod = (env: Record<string, string>) => ({
      NODE_ENV: 'production',
      SESSION_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      WECHAT_APPID: 'wx1234567890abcdef',
      WECHAT_SECRET: 'real-secret',
      DATABASE_URL: 'sqlite::memory:',
      PUBLIC_URL: 'https://auth.example.com',
      ...env,
    });

    it('starts with JWT_SECRET, JWT_PREVIOUS_SECRETS and SERVICE_CLIENTS secrets of prod- + 64 hex', () => {
      const config = loadConfig(
        prod({
          JWT_SECRET: `prod-${hex()}`,
          JWT_PREVIOUS_SECRETS: `prod-${hex()}`,
          SERVICE_CLIENTS: `orders:prod-${hex()}`,
        }),
      );
      expect(config.jwt.keys.map((k) => k.source)).toEqual(['secret', 'previous-secret']);
      expect(config.serviceClients.clients.has('orders')).toBe(true);
    });

    it('still refuses a keyboard walk behind a label, naming the rule and never the value', () => {
      const walk = 'prod-!QAZ@WSX#EDC$RFV%TGB^YHN&UJM*IK<(OL>)P:?';
      let error: ConfigError | undefined;
      try {
        loadConfig(prod({ JWT_SECRET: walk, SERVICE_CLIENTS: `orders:${walk}` }));
      } catch (e) {
        error = e as ConfigError;
      }
      expect(error?.problems).toEqual([
        'JWT_SECRET is too weak for production (it follows a keyboard pattern): use at least 32 random bytes, ' +
          'e.g. `openssl rand -base64 48` (or `openssl rand -hex 32`)',
        'SERVICE_CLIENTS: the secret of "orders" is too weak for production (it follows a keyboard pattern); ' +
          'generate one with `openssl rand -base64 32`',
      ]);
      expect(error?.message).not.toContain(walk);
    });
  });
});
