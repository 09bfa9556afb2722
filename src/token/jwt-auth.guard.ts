import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { PRINCIPAL } from '../common/auth/current-user.decorator';
import { IS_PUBLIC } from '../common/auth/public.decorator';
import { AccessTokenService, invalidToken } from './access-token.service';
import { RevocationService } from './revocation.service';
import { IS_SERVICE_ROUTE } from './service-route';

const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i;

/**
 * Global guard (APP_GUARD): every route needs a valid access token in
 * `Authorization: Bearer …` unless marked @Public() (or a service route, which authenticates a service
 * client with HTTP Basic instead), not revoked (RevocationService, in memory). No
 * database read.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: AccessTokenService,
    private readonly revocations: RevocationService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    // Server-to-server routes authenticate a service client instead (ServiceClientGuard, on the route itself).
    if (this.reflector.getAllAndOverride<boolean>(IS_SERVICE_ROUTE, targets)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & Record<string, unknown>>();
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? BEARER.exec(header) : null;
    if (!match) throw invalidToken();
    const principal = await this.tokens.verify(match[1]);
    // Disabled, deleted, merged, logged out: stopped here on every instance, from memory (no database read).
    if (this.revocations.isRevoked(principal)) throw invalidToken();
    request[PRINCIPAL] = principal;
    return true;
  }
}
