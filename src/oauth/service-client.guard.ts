import { createHash, timingSafeEqual } from 'node:crypto';
import {
  applyDecorators,
  type CanActivate,
  createParamDecorator,
  type ExecutionContext,
  Injectable,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiSecurity } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Clock } from '../common/clock/clock';
import { ApiErrors } from '../common/errors/api-errors.decorator';
import { AppException } from '../common/errors/app.exception';
import { KvStore } from '../common/store/kv-store';
import { WindowCounter } from '../common/store/window-counter';
import { AppConfig } from '../config/app-config';
import { MarkServiceRoute } from '../token/service-route';

/** Name of the HTTP Basic security scheme in the OpenAPI document (declared in app.setup.ts). */
export const SERVICE_CLIENT_SCHEME = 'serviceClient';
export const BASIC_CHALLENGE = 'Basic realm="wechat-auth", charset="UTF-8"';
const NEEDS_WECHAT_TOKEN = 'auth:serviceRoute:wechatToken';
const CLIENT = 'serviceClient';
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
 * Authenticates a partner back-end (SERVICE_CLIENTS) on a server-to-server route: HTTP Basic, the secret
 * compared in constant time (SHA-256 digests, timingSafeEqual), 401 INVALID_CLIENT with
 * `WWW-Authenticate: Basic` otherwise. Then a fixed-window limit per client and route, counted in the
 * shared store (SERVICE_CLIENT_RATE_LIMIT a minute): 429 RATE_LIMITED with Retry-After. The secret is
 * never logged (request logs omit headers) and never part of an error.
 */
@Injectable()
export class ServiceClientGuard implements CanActivate {
  private readonly counter: WindowCounter;

  constructor(
    private readonly config: AppConfig,
    store: KvStore,
    private readonly reflector: Reflector,
    clock: Clock,
  ) {
    // A Redis outage must not lock partners out: their limit is then counted per instance.
    this.counter = new WindowCounter(store, clock, ServiceClientGuard.name);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest & Record<string, unknown>>();
    const clientId = this.authenticate(request.headers.authorization);
    if (!clientId) throw invalidClient();
    if (
      this.reflector.getAllAndOverride<boolean>(NEEDS_WECHAT_TOKEN, [
        context.getHandler(),
        context.getClass(),
      ]) &&
      !this.config.serviceClients.wechatTokenClients.has(clientId)
    )
      throw new AppException('FORBIDDEN');
    const route = request.routeOptions.url ?? '';
    const key = `svc:rate:${route}:${clientId}`;
    const { count, remainingMs } = await this.counter.hit(key, WINDOW_MS);
    if (count > this.config.serviceClients.rateLimitPerMinute)
      throw new AppException('RATE_LIMITED', { retryAfter: Math.max(1, Math.ceil(remainingMs / 1000)) });
    request[CLIENT] = clientId;
    return true;
  }

  /** The client id when the Basic credentials are right, else undefined. */
  private authenticate(header: string | undefined): string | undefined {
    const match = typeof header === 'string' ? BASIC.exec(header) : null;
    if (!match) return undefined;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const rawId = decoded.slice(0, colon);
    const rawSecret = decoded.slice(colon + 1);
    const id = formDecode(rawId) ?? rawId;
    const client = this.config.serviceClients.clients.get(id);
    const expected = client ? digest(client.secret) : UNKNOWN_CLIENT_DIGEST;
    // Both spellings are compared, always: the time taken does not depend on which one matched.
    const asSent = timingSafeEqual(digest(rawSecret), expected);
    const asFormDecoded = timingSafeEqual(digest(formDecode(rawSecret) ?? rawSecret), expected);
    return client && (asSent || asFormDecoded) ? client.id : undefined;
  }
}

/**
 * A server-to-server route: no user access token (the global guard lets it through), a service client
 * with HTTP Basic instead, documented as such. `wechatToken: true` also requires the client to be listed
 * in WECHAT_TOKEN_CLIENTS (403 FORBIDDEN otherwise).
 */
export function ServiceRoute(opts: { wechatToken?: boolean } = {}): MethodDecorator {
  return applyDecorators(
    MarkServiceRoute(),
    SetMetadata(NEEDS_WECHAT_TOKEN, opts.wechatToken === true),
    UseGuards(ServiceClientGuard),
    ApiSecurity(SERVICE_CLIENT_SCHEME),
    ApiErrors('INVALID_CLIENT', ...(opts.wechatToken ? (['FORBIDDEN'] as const) : []), 'RATE_LIMITED'),
  );
}

/** The authenticated service client's id (only on a @ServiceRoute()). */
export const ServiceClientId = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const id = ctx.switchToHttp().getRequest<Record<string, unknown>>()[CLIENT];
  if (typeof id !== 'string') throw invalidClient();
  return id;
});
