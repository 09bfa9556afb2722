import {
  type CanActivate,
  type ExecutionContext,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AppException } from '../errors/app.exception';
import { accessOf, type ResolvedAccess } from './access.decorator';
import { PRINCIPAL } from './current-user.decorator';
import { controllerRoutes } from './routes';
import { SERVICE_CLIENT } from './service-client-id.decorator';
import { BearerVerifier, ServiceClientVerifier } from './verifiers';

type AuthRequest = FastifyRequest & Record<string, unknown>;

/**
 * The one global guard (APP_GUARD, app.module.ts): reads the route's @Access policy (resolved once per
 * handler) and dispatches — public: through; user: a Bearer access token (BearerVerifier: signature,
 * claims, revocation, no database read), then the required roles (403 FORBIDDEN; the roles in the verified
 * token, which a role change revokes); service: HTTP Basic (ServiceClientVerifier). The verified caller is
 * left on the request for @CurrentUser() / @ServiceClientId().
 */
@Injectable()
export class AccessGuard implements CanActivate, OnApplicationBootstrap {
  constructor(
    private readonly bearer: BearerVerifier,
    private readonly serviceClients: ServiceClientVerifier,
    private readonly modules: ModulesContainer,
  ) {}

  /**
   * Every route's policy resolved at start: a route declaring @Access twice stops the start instead of
   * failing its first request, and no request pays for a first resolution.
   */
  onApplicationBootstrap(): void {
    controllerRoutes(this.modules);
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const access = accessOf(context.getClass(), context.getHandler());
    // Synchronous on public routes: no promise for a route that checks nothing.
    if (access.kind === 'public') return true;
    return this.authenticate(access, context.switchToHttp().getRequest<AuthRequest>());
  }

  private async authenticate(
    access: Exclude<ResolvedAccess, { kind: 'public' }>,
    request: AuthRequest,
  ): Promise<boolean> {
    if (access.kind === 'service') {
      request[SERVICE_CLIENT] = await this.serviceClients.verify(request, access);
      return true;
    }
    const principal = await this.bearer.verify(request);
    if (access.roles.length && !access.roles.some((role) => principal.roles.includes(role)))
      throw new AppException('FORBIDDEN');
    request[PRINCIPAL] = principal;
    return true;
  }
}
