import { createHash, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { ResolvedAccess } from '../common/auth/access.decorator';
import { ServiceClientVerifier } from '../common/auth/verifiers';
import { Clock } from '../common/clock/clock';
import { AppException } from '../common/errors/app.exception';
import { KvStore } from '../common/store/kv-store';
import { StoreKeys } from '../common/store/store-keys';
import { WindowCounter } from '../common/store/window-counter';
import { AppConfig } from '../config/app-config';
import { FailedClientLogins } from './failed-client-logins';

export const BASIC_CHALLENGE = 'Basic realm="wechat-auth", charset="UTF-8"';
const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2})$/i;
const WINDOW_MS = 60_000;

/** A fixed-length digest, so comparing secrets of different lengths takes the same time. */
const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
/** Compared when the client id is unknown: the answer takes as long as for a known one. */
const UNKNOWN_CLIENT_DIGEST = digest('unknown-client\u0000');

export function invalidClient(): AppException {
  return new AppException('INVALID_CLIENT', { headers: { 'www-authenticate': BASIC_CHALLENGE } });
}

/** RFC 6749 §2.3.1: id and secret are form-encoded inside Basic; most clients send them as they are. */
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * The service side of AccessGuard: a partner back-end (SERVICE_CLIENTS) with HTTP Basic, the secret
 * compared in constant time (SHA-256 digests, timingSafeEqual), 401 INVALID_CLIENT with
 * `WWW-Authenticate: Basic` otherwise. Failed logins are limited per client IP and per client id
 * (FailedClientLogins: 429 CLIENT_AUTH_RATE_LIMITED with Retry-After). Then a fixed-window limit per
 * client and route, counted in the shared store (SERVICE_CLIENT_RATE_LIMIT a minute): 429 RATE_LIMITED
 * with Retry-After. The secret is never logged (request logs omit headers) and never part of an error.
 */
@Injectable()
export class ServiceClientBasicVerifier extends ServiceClientVerifier {
  private readonly counter: WindowCounter;
  private readonly failures: FailedClientLogins;

  constructor(
    private readonly config: AppConfig,
    store: KvStore,
    clock: Clock,
  ) {
    super();
    // A Redis outage must not lock partners out: their limit is then counted per instance.
    this.counter = new WindowCounter(store, clock, ServiceClientBasicVerifier.name);
    this.failures = new FailedClientLogins(store, clock);
  }

  async verify(
    request: FastifyRequest,
    access: Extract<ResolvedAccess, { kind: 'service' }>,
  ): Promise<string> {
    const clientId = await this.authenticate(request);
    if (access.wechatToken && !this.config.serviceClients.wechatTokenClients.has(clientId))
      throw new AppException('FORBIDDEN');
    const route = request.routeOptions.url ?? '';
    const key = StoreKeys.serviceClientRate(route, clientId);
    const { count, remainingMs } = await this.counter.hit(key, WINDOW_MS);
    if (count > this.config.serviceClients.rateLimitPerMinute)
      throw new AppException('RATE_LIMITED', { retryAfter: Math.max(1, Math.ceil(remainingMs / 1000)) });
    return clientId;
  }

  /** The client id when the Basic credentials are right; a 401 or 429 AppException otherwise. */
  private async authenticate(request: FastifyRequest): Promise<string> {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? BASIC.exec(header) : null;
    // No credentials at all is no guess: answered, not counted.
    if (!match) throw invalidClient();
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw invalidClient();
    const rawId = decoded.slice(0, colon);
    const rawSecret = decoded.slice(colon + 1);
    const id = formDecode(rawId) ?? rawId;
    // Before the secret is compared: while blocked, a right guess is refused like a wrong one.
    const wait = this.failures.retryAfter(request.ip, id);
    if (wait) throw new AppException('CLIENT_AUTH_RATE_LIMITED', { retryAfter: wait });
    const client = this.config.serviceClients.clients.get(id);
    const expected = client ? digest(client.secret) : UNKNOWN_CLIENT_DIGEST;
    // Both spellings are compared, always: the time taken does not depend on which one matched.
    const asSent = timingSafeEqual(digest(rawSecret), expected);
    const asFormDecoded = timingSafeEqual(digest(formDecode(rawSecret) ?? rawSecret), expected);
    if (client && (asSent || asFormDecoded)) return client.id;
    const retryAfter = await this.failures.failed(request.ip, id, client !== undefined);
    if (retryAfter) throw new AppException('CLIENT_AUTH_RATE_LIMITED', { retryAfter });
    throw invalidClient();
  }
}
