import { Controller, type ExecutionContext, Get } from '@nestjs/common';
import type { ModulesContainer } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AppException } from '../errors/app.exception';
import { Access } from './access.decorator';
import { AccessGuard } from './access.guard';
import type { AuthPrincipal } from './auth-principal';
import { PRINCIPAL } from './current-user.decorator';
import { SERVICE_CLIENT } from './service-client-id.decorator';
import type { BearerVerifier, ServiceClientVerifier } from './verifiers';

class Routes {
  undeclared(): void {}
  @Access({ public: true })
  open(): void {}
  @Access({ user: {} })
  anyUser(): void {}
  @Access({ user: { roles: ['admin'] } })
  adminOnly(): void {}
  @Access({ service: {} })
  partner(): void {}
  @Access({ service: { wechatToken: true } })
  wechatToken(): void {}
}

@Access({ user: { roles: ['admin'] } })
class AdminRoutes {
  any(): void {}
}

@Access({ public: true })
class PublicRoutes {
  anything(): void {}
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

describe('AccessGuard', () => {
  let bearer: { verify: jest.Mock<Promise<AuthPrincipal>, [FastifyRequest]> };
  let serviceClients: { verify: jest.Mock<Promise<string>, [FastifyRequest, unknown]> };
  let guard: AccessGuard;
  let request: Record<string, unknown>;

  beforeEach(() => {
    bearer = { verify: jest.fn().mockResolvedValue(principal(['user'])) };
    serviceClients = { verify: jest.fn().mockResolvedValue('orders') };
    guard = new AccessGuard(
      bearer as unknown as BearerVerifier,
      serviceClients as unknown as ServiceClientVerifier,
      new Map() as unknown as ModulesContainer,
    );
    request = { headers: {} };
  });

  const run = (cls: object, handler: object) =>
    guard.canActivate({
      getClass: () => cls,
      getHandler: () => handler,
      switchToHttp: () => ({ getRequest: () => request }),
    } as unknown as ExecutionContext);

  async function refusal(cls: object, handler: object): Promise<AppException> {
    const error = await Promise.resolve()
      .then(() => run(cls, handler))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(AppException);
    return error as AppException;
  }

  it('lets a public route through synchronously, verifying nothing', () => {
    expect(run(Routes, Routes.prototype.open)).toBe(true);
    expect(run(PublicRoutes, PublicRoutes.prototype.anything)).toBe(true);
    expect(bearer.verify).not.toHaveBeenCalled();
    expect(serviceClients.verify).not.toHaveBeenCalled();
    expect(request[PRINCIPAL]).toBeUndefined();
  });

  it.each([
    ['no @Access (the default)', Routes.prototype.undeclared],
    ['@Access({ user: {} })', Routes.prototype.anyUser],
  ])('%s: the bearer verifier, and its principal on the request', async (_name, handler) => {
    await expect(run(Routes, handler)).resolves.toBe(true);
    expect(bearer.verify).toHaveBeenCalledWith(request);
    expect(serviceClients.verify).not.toHaveBeenCalled();
    expect(request[PRINCIPAL]).toEqual(principal(['user']));
  });

  it('propagates the bearer verifier’s 401 and sets no principal', async () => {
    bearer.verify.mockRejectedValue(new AppException('UNAUTHORIZED'));
    expect((await refusal(Routes, Routes.prototype.anyUser)).code).toBe('UNAUTHORIZED');
    expect(request[PRINCIPAL]).toBeUndefined();
  });

  it.each<[string, object, object, string[], 'pass' | 403]>([
    ['admin route, a user', Routes, Routes.prototype.adminOnly, ['user'], 403],
    ['admin route, an admin', Routes, Routes.prototype.adminOnly, ['user', 'admin'], 'pass'],
    ['admin route, no roles at all', Routes, Routes.prototype.adminOnly, [], 403],
    ['admin controller, a user', AdminRoutes, AdminRoutes.prototype.any, ['user'], 403],
    ['admin controller, an admin', AdminRoutes, AdminRoutes.prototype.any, ['admin'], 'pass'],
    ['a role name that only looks like admin', Routes, Routes.prototype.adminOnly, ['Admin', 'admin '], 403],
    ['no roles required, a user', Routes, Routes.prototype.anyUser, ['user'], 'pass'],
  ])('roles: %s', async (_name, cls, handler, roles, expected) => {
    bearer.verify.mockResolvedValue(principal(roles));
    if (expected === 'pass') {
      await expect(run(cls, handler)).resolves.toBe(true);
      return;
    }
    const error = await refusal(cls, handler);
    expect({ code: error.code, status: error.getStatus() }).toEqual({ code: 'FORBIDDEN', status: 403 });
    expect(request[PRINCIPAL]).toBeUndefined();
  });

  it('a service route: the service-client verifier with the route’s policy, never the bearer one', async () => {
    await expect(run(Routes, Routes.prototype.partner)).resolves.toBe(true);
    await expect(run(Routes, Routes.prototype.wechatToken)).resolves.toBe(true);
    expect(serviceClients.verify.mock.calls.map(([, access]) => access)).toEqual([
      { kind: 'service', wechatToken: false },
      { kind: 'service', wechatToken: true },
    ]);
    expect(bearer.verify).not.toHaveBeenCalled();
    expect(request[SERVICE_CLIENT]).toBe('orders');
    expect(request[PRINCIPAL]).toBeUndefined();
  });

  it('propagates the service-client verifier’s refusal', async () => {
    serviceClients.verify.mockRejectedValue(new AppException('INVALID_CLIENT'));
    expect((await refusal(Routes, Routes.prototype.partner)).code).toBe('INVALID_CLIENT');
    expect(request[SERVICE_CLIENT]).toBeUndefined();
  });

  it('resolves every route at start, and refuses to start with a route that declares its policy twice', () => {
    @Controller('twice')
    @Access({ user: {} })
    class Twice {
      @Get()
      @Access({ public: true })
      handler(): void {}
    }
    @Controller('once')
    @Access({ public: true })
    class Once {
      @Get()
      handler(): void {}
    }
    const modulesWith = (...controllers: object[]) =>
      new Map([
        ['m', { controllers: new Map(controllers.map((c, i) => [String(i), { metatype: c }])) }],
      ]) as unknown as ModulesContainer;
    const at = (modules: ModulesContainer) =>
      new AccessGuard(bearer as never, serviceClients as never, modules).onApplicationBootstrap();
    expect(() => at(modulesWith(Once))).not.toThrow();
    expect(() => at(modulesWith(Once, Twice))).toThrow(/Twice\.handler: @Access on both/);
  });
});
