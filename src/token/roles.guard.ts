import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AuthPrincipal } from '../common/auth/auth-principal';
import { PRINCIPAL } from '../common/auth/current-user.decorator';
import { REQUIRED_ROLES, type Role } from '../common/auth/roles';
import { AppException } from '../common/errors/app.exception';

/**
 * Global guard after JwtAuthGuard: a route marked @Roles(...) / @Authenticated(...roles) needs a caller
 * holding one of them (the roles in the verified access token; a role change revokes the user's tokens,
 * so they are never staler than the revocation bound). 403 FORBIDDEN otherwise.
 */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const required = this.reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!required?.length) return true;
    const principal = context.switchToHttp().getRequest<Record<string, AuthPrincipal | undefined>>()[
      PRINCIPAL
    ];
    // No principal here means a @Public route carries @Roles: a programming error, refused (fail closed).
    if (!principal || !required.some((r) => principal.roles.includes(r))) throw new AppException('FORBIDDEN');
    return true;
  }
}
