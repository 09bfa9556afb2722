import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import type { JwtKeyConfig } from '../config/app-config';
import { defineSlice, integer, text } from '../config/config-slice';
import { DEV_JWT_KEY_FILE, loadOrCreateDevJwtKey } from '../config/dev-secrets';
import { asymmetricKey, parsePrivateKeys, secretKey } from '../config/jwt-keys';
import { weakSecretReason } from '../config/secret-strength';

/** Signing keys, the claims partners pin, token lifetimes and the session rules. */
export const tokenConfig = defineSlice({
  title: 'Tokens and sessions',
  variables: {
    JWT_PRIVATE_KEYS: text({
      defaultDoc: 'development: an ES256 key generated into `DATA_DIR/dev-jwt-key.pem` (0600)',
      format: 'PEM private keys, concatenated (literal newlines or `\\n` escapes); at most 64 KiB',
      maxLength: 64 * 1024,
      operator: true,
      secret: true,
      description:
        'the keys that sign access tokens: PKCS#8, SEC1 `EC PRIVATE KEY` (an `EC PARAMETERS` block is skipped) or ' +
        'PKCS#1 `RSA PRIVATE KEY`, unencrypted. EC P-256 → ES256, RSA ≥ 2048 bits → RS256, Ed25519 → EdDSA; anything ' +
        'else (P-384, RSA < 2048, RSA-PSS, Ed448, a public or encrypted key, text outside PEM blocks, the same key ' +
        'twice, more than 10 keys) refuses to start, naming the key by position, never its content. The first ' +
        'signs; all verify and are published in the JWKS. Production needs this or `JWT_SECRET`',
    }),
    JWT_SECRET: text({
      defaultDoc: '',
      format: '≥ 32 bytes; in production ≥ 256 bits of randomness (`openssl rand -base64 48`)',
      operator: true,
      secret: true,
      description:
        'HS256, for setups without partners: signs when `JWT_PRIVATE_KEYS` is not set, only verifies when it is ' +
        '(a move to ES256). In production it must carry ≥ 256 bits of entropy for its alphabet (≥ 43 base64 or 64 ' +
        'hex characters; a readable label such as `prod-` does not count) without repeats, runs, sequences, keyboard ' +
        'walks, words glued together, common words or a single letter case; anything else refuses to start with the ' +
        'reason, never the value',
    }),
    JWT_PREVIOUS_SECRETS: text({
      defaultDoc: '',
      format: 'comma-separated secrets',
      secret: true,
      description:
        'retired HS256 secrets whose tokens still verify (by `kid`) during a rotation; each held to the ' +
        '`JWT_SECRET` rules',
    }),
    JWT_ISSUER: text({
      default: 'wechat-auth',
      format: '1–256 characters',
      maxLength: 256,
      operator: true,
      description:
        'the `iss` of every access token, pinned on verification here and by partners. Changing it invalidates ' +
        'live access tokens and every partner pinning the old value. New deployments: set it to `PUBLIC_URL`, so ' +
        'the RFC 8414 metadata `issuer` and the tokens agree',
    }),
    JWT_AUDIENCE: text({
      default: 'miniprogram',
      format: '1–256 characters',
      maxLength: 256,
      operator: true,
      description: 'the `aud` of every access token, pinned on verification here and by partners',
    }),
    ACCESS_TOKEN_TTL: integer({
      default: 900,
      min: 30,
      max: 86400,
      unit: 'seconds',
      description: 'lifetime of an access token; partners refuse tokens claiming a longer one',
    }),
    REFRESH_TOKEN_TTL: integer({
      default: 30 * 24 * 3600,
      defaultDoc: '{default} (30 days)',
      min: 300,
      max: 31536000,
      unit: 'seconds',
      description: 'lifetime of a refresh token; each rotation starts a new full period',
    }),
    REFRESH_REUSE_INTERVAL: integer({
      default: 10,
      min: 0,
      max: 60,
      unit: 'seconds',
      description:
        'a just-rotated refresh token answers the same successor pair for this long (a retry after a lost ' +
        'answer); `0`: every reuse is treated as theft',
    }),
    MAX_SESSIONS_PER_USER: integer({
      default: 20,
      min: 0,
      max: 1000,
      description: 'live sessions per user; the oldest is ended beyond it; `0`: unlimited',
    }),
  },
  build(v, ctx) {
    // Signing keys: JWT_PRIVATE_KEYS first (the first of them signs), then JWT_SECRET, then retired secrets.
    const keys: JwtKeyConfig[] = [];
    if (v.JWT_PRIVATE_KEYS !== undefined) {
      const parsed = parsePrivateKeys(v.JWT_PRIVATE_KEYS);
      parsed.problems.forEach((p) => ctx.problem(p));
      keys.push(...parsed.keys);
    }
    const secretProblem = (name: string, value: string): string | undefined => {
      if (Buffer.byteLength(value) < 32) return `${name} must be at least 32 bytes`;
      // Never the value, only which rule it broke, and what to use instead.
      const reason = ctx.isProd ? weakSecretReason(value) : undefined;
      return reason
        ? `${name} is too weak for production (${reason}): use at least 32 random bytes, ` +
            'e.g. `openssl rand -base64 48` (or `openssl rand -hex 32`)'
        : undefined;
    };
    if (v.JWT_SECRET !== undefined) {
      const problem = secretProblem('JWT_SECRET', v.JWT_SECRET);
      if (problem) ctx.problem(problem);
      else keys.push(secretKey(v.JWT_SECRET, 'secret'));
    }
    const previous = (v.JWT_PREVIOUS_SECRETS ?? '').split(',').filter((s) => s.trim() !== '');
    previous.forEach((value, i) => {
      const problem = secretProblem(`JWT_PREVIOUS_SECRETS entry #${i + 1}`, value.trim());
      if (problem) ctx.problem(problem);
      else keys.push(secretKey(value.trim(), 'previous-secret'));
    });
    if (v.JWT_PRIVATE_KEYS === undefined && v.JWT_SECRET === undefined) {
      if (ctx.isProd)
        ctx.problem(
          'JWT_PRIVATE_KEYS (an EC P-256, RSA ≥ 2048 or Ed25519 PEM private key) or JWT_SECRET (at least 32 random ' +
            'bytes) is required in production',
        );
      else {
        // Development keeps its key in the data folder (restarts keep tokens and the JWKS); tests get an ephemeral one.
        const key =
          ctx.env === 'test'
            ? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
            : createPrivateKey(loadOrCreateDevJwtKey(ctx.dataDir));
        keys.unshift(asymmetricKey(key, 'ES256'));
        if (ctx.env === 'development')
          ctx.warn(
            `JWT_PRIVATE_KEYS not set: signing ES256 with a generated key kept in ${join(ctx.dataDir, DEV_JWT_KEY_FILE)}`,
          );
      }
    }
    const kids = keys.map((k) => k.kid);
    if (new Set(kids).size !== kids.length)
      ctx.problem('the same JWT key or secret is configured twice (JWT_SECRET / JWT_PREVIOUS_SECRETS)');
    if (keys.length === 0) return undefined;

    return {
      jwt: {
        secret: keys.find((k) => k.source === 'secret')?.signingKey,
        keys,
        issuer: v.JWT_ISSUER,
        audience: v.JWT_AUDIENCE,
        accessTtlSeconds: v.ACCESS_TOKEN_TTL,
        refreshTtlSeconds: v.REFRESH_TOKEN_TTL,
      },
      sessions: {
        refreshReuseIntervalSeconds: v.REFRESH_REUSE_INTERVAL,
        maxPerUser: v.MAX_SESSIONS_PER_USER,
      },
    };
  },
});
