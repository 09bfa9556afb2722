import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AuthPrincipal } from '../common/auth/auth-principal';
import { Authenticated } from '../common/auth/authenticated.decorator';
import { PRINCIPAL } from '../common/auth/current-user.decorator';
import { Roles } from '../common/auth/roles';
import { AppException } from '../common/errors/app.exception';
import { RolesGuard } from './roles.guard';

class Routes {
  open(): void {}
  @Roles('admin')
  adminOnly(): void {}
  @Authenticated('admin')
  adminComposite(): void {}
  @Authenticated()
  anyUser(): void {}
}

@Roles('admin')
class AdminRoutes {
  any(): void {}
}

const principal = (roles: string[]): AuthPrincipal => ({
  userId: 'u',
  appid: 'a',
  roles,
  sessionId: 's',
  expiresAt: 2,
  issuedAt: 1,
  userEpoch: 0,
});

function run(cls: new () => object, handler: () => void, p?: AuthPrincipal): boolean | AppException {
  const context = {
    getHandler: () => handler,
    getClass: () => cls,
    switchToHttp: () => ({ getRequest: () => ({ [PRINCIPAL]: p }) }),
  } as unknown as ExecutionContext;
  try {
    return new RolesGuard(new Reflector()).canActivate(context);
  } catch (e) {
    return e as AppException;
  }
}

describe('RolesGuard', () => {
  it.each<[string, new () => object, () => void, string[] | undefined, 'pass' | 403]>([
    ['no @Roles: any caller', Routes, Routes.prototype.open, ['user'], 'pass'],
    ['@Roles(admin), a user', Routes, Routes.prototype.adminOnly, ['user'], 403],
    ['@Roles(admin), an admin', Routes, Routes.prototype.adminOnly, ['user', 'admin'], 'pass'],
    ['@Roles(admin), no roles at all', Routes, Routes.prototype.adminOnly, [], 403],
    [
      '@Roles(admin), no principal (a @Public route by mistake): fail closed',
      Routes,
      Routes.prototype.adminOnly,
      undefined,
      403,
    ],
    ['@Authenticated(admin), a user', Routes, Routes.prototype.adminComposite, ['user'], 403],
    ['@Authenticated(admin), an admin', Routes, Routes.prototype.adminComposite, ['admin'], 'pass'],
    ['@Authenticated(), a user', Routes, Routes.prototype.anyUser, ['user'], 'pass'],
    ['@Roles(admin) on the controller, a user', AdminRoutes, AdminRoutes.prototype.any, ['user'], 403],
    ['@Roles(admin) on the controller, an admin', AdminRoutes, AdminRoutes.prototype.any, ['admin'], 'pass'],
    ['a role name that only looks like admin', Routes, Routes.prototype.adminOnly, ['Admin', 'admin '], 403],
  ])('%s', (_name, cls, handler, roles, expected) => {
    const result = run(cls, handler, roles ? principal(roles) : undefined);
    if (expected === 'pass') expect(result).toBe(true);
    else {
      expect(result).toBeInstanceOf(AppException);
      expect((result as AppException).code).toBe('FORBIDDEN');
      expect((result as AppException).getStatus()).toBe(403);
    }
  });
});
