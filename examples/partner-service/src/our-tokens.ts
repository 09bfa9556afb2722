import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { createRemoteJWKSet, jwtVerify } from 'jose';

/** Where our tokens come from (the wechat-auth service) and how this service talks to it. */
export interface WechatAuthOptions {
  /** The wechat-auth service, e.g. https://auth.example.com */
  baseUrl: string;
  /** Its JWT_ISSUER / JWT_AUDIENCE (defaults `wechat-auth` / `miniprogram`). */
  issuer: string;
  audience: string;
  /** This service's entry in its SERVICE_CLIENTS (only for introspection). */
  clientId: string;
  clientSecret: string;
  /** How long a fetched JWKS is used; match the service's Cache-Control max-age (300 s). */
  jwksCacheMaxAgeMs?: number;
  /** Least time between two fetches when a token names an unknown kid (a rotation). */
  jwksCooldownMs?: number;
}
export const WECHAT_AUTH_OPTIONS = Symbol('WECHAT_AUTH_OPTIONS');

/** The caller, as the access token says. */
export interface WechatUser {
  userId: string;
  appid: string;
  roles: string[];
  sessionId: string;
}

type RequestWithUser = { headers: Record<string, string | string[] | undefined>; user?: WechatUser };

function bearerToken(request: RequestWithUser): string {
  const match = /^Bearer +(\S+)$/i.exec(String(request.headers.authorization ?? ''));
  if (!match) throw new UnauthorizedException();
  return match[1];
}

/**
 * Verifies our access tokens locally with the published JWKS: no call to wechat-auth per request (the
 * key set is fetched once, cached, and fetched again when a token names a new kid after a rotation).
 * Pins the algorithms (never `none`, never HS256 with a public key), issuer, audience and `typ`.
 * A token stays valid here until it expires (ACCESS_TOKEN_TTL, 15 min) even after a logout: use
 * LiveTokenGuard where revocation must be seen at once.
 */
@Injectable()
export class WechatTokenGuard implements CanActivate {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(@Inject(WECHAT_AUTH_OPTIONS) private readonly options: WechatAuthOptions) {
    this.jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', options.baseUrl), {
      cacheMaxAge: options.jwksCacheMaxAgeMs ?? 300_000,
      cooldownDuration: options.jwksCooldownMs ?? 30_000,
    });
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RequestWithUser>();
    try {
      const { payload } = await jwtVerify(bearerToken(request), this.jwks, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        typ: 'at+jwt',
        algorithms: ['ES256', 'RS256', 'EdDSA'],
        // Our access tokens live at most ACCESS_TOKEN_TTL (15 min): refuse longer-lived or future-dated ones.
        maxTokenAge: '15m',
      });
      request.user = {
        userId: String(payload.sub),
        appid: String(payload.appid),
        roles: Array.isArray(payload.roles) ? payload.roles.map(String) : [],
        sessionId: String(payload.sid),
      };
      return true;
    } catch {
      throw new UnauthorizedException();
    }
  }
}

/** RFC 7662 introspection at wechat-auth: sees logout, revoked sessions and disabled users at once. */
@Injectable()
export class WechatIntrospection {
  constructor(@Inject(WECHAT_AUTH_OPTIONS) private readonly options: WechatAuthOptions) {}

  async introspect(
    token: string,
  ): Promise<{ active: boolean; sub?: string; appid?: string; roles?: string[]; sid?: string }> {
    const { baseUrl, clientId, clientSecret } = this.options;
    const res = await fetch(new URL('/oauth/introspect', baseUrl), {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token }),
    });
    // 401: our client credentials are wrong; 429/5xx: retry later. Never treat those as "active".
    if (!res.ok) throw new ServiceUnavailableException();
    return (await res.json()) as { active: boolean };
  }
}

/** For routes that must refuse a logged-out session at once (payments, account changes): one call per request. */
@Injectable()
export class LiveTokenGuard implements CanActivate {
  constructor(private readonly introspection: WechatIntrospection) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RequestWithUser>();
    const answer = await this.introspection.introspect(bearerToken(request));
    if (!answer.active) throw new UnauthorizedException();
    request.user = {
      userId: String(answer.sub),
      appid: String(answer.appid),
      roles: answer.roles ?? [],
      sessionId: String(answer.sid),
    };
    return true;
  }
}
