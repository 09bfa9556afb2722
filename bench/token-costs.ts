import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { JwtService } from '@nestjs/jwt';
import { SystemClock } from '../src/common/clock/system-clock';
import { Random } from '../src/common/random/random';
import type { AppConfig, JwtKeyConfig } from '../src/config/app-config';
import { asymmetricKey, secretKey } from '../src/config/jwt-keys';
import { AccessTokenService } from '../src/token/access-token.service';
import { JwtKeyManager } from '../src/token/keys/jwt-key-manager';

export interface TokenCost {
  alg: string;
  signUs: number;
  /** A token this service instance has not verified before: the signature is checked. */
  verifyUs: number;
  /** The same token again: AccessTokenService's cache of verified tokens answers. */
  cachedVerifyUs: number;
  bytes: number;
}

async function usPerCall<T>(items: T[], fn: (item: T) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  for (const item of items) await fn(item);
  return ((performance.now() - start) * 1000) / items.length;
}

/**
 * Our AccessTokenService, in this process, with one key of each algorithm (the default, ES256,
 * first): µs per sign, per verify of a token never verified before, and per verify of a cached one.
 */
export async function tokenCosts(): Promise<TokenCost[]> {
  const keys: JwtKeyConfig[] = [
    asymmetricKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ES256'),
    secretKey(randomBytes(48).toString('base64'), 'secret'),
    asymmetricKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'RS256'),
    asymmetricKey(generateKeyPairSync('ed25519').privateKey, 'EdDSA'),
  ];
  const claims = { userId: 'u', appid: 'wxbench', roles: ['user'], sessionId: 's' };
  const results: TokenCost[] = [];
  for (const key of keys) {
    const config = {
      jwt: { keys: [key], issuer: 'wechat-auth', audience: 'miniprogram', accessTtlSeconds: 900 },
    } as unknown as AppConfig;
    const service = new AccessTokenService(
      new JwtService(),
      new JwtKeyManager(config),
      config,
      new SystemClock(),
      new Random(),
    );
    const n = key.alg === 'RS256' ? 500 : 3000;
    const warmup = Array.from({ length: 200 }, () => claims);
    await usPerCall(warmup, () => service.sign(claims).then((t) => service.verify(t)));
    const tokens: string[] = [];
    const signUs = await usPerCall(
      Array.from({ length: n }, () => claims),
      async (c) => {
        tokens.push(await service.sign(c));
      },
    );
    results.push({
      alg: key.alg,
      signUs,
      verifyUs: await usPerCall(tokens, (t) => service.verify(t)),
      cachedVerifyUs: await usPerCall(tokens, (t) => service.verify(t)),
      bytes: tokens[0].length,
    });
  }
  return results;
}
