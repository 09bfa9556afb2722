import { ExecutionContext } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import type { AuthPrincipal } from './auth-principal';
import { CurrentUser, PRINCIPAL } from './current-user.decorator';

/** The factory Nest runs for @CurrentUser(), read back from the route metadata. */
function currentUserFactory(): (data: unknown, ctx: ExecutionContext) => AuthPrincipal {
  class Controller {
    handler(@CurrentUser() _user: AuthPrincipal): void {}
  }
  const args = Reflect.getMetadata(ROUTE_ARGS_METADATA, Controller, 'handler') as Record<
    string,
    { factory: never }
  >;
  return Object.values(args)[0].factory;
}

const contextWith = (request: Record<string, unknown>) =>
  ({ switchToHttp: () => ({ getRequest: () => request }) }) as unknown as ExecutionContext;

describe('@CurrentUser()', () => {
  const principal: AuthPrincipal = {
    userId: 'u1',
    appid: 'wx1',
    roles: ['user'],
    sessionId: 's1',
    expiresAt: 1,
    issuedAt: 1,
    userEpoch: 0,
  };

  it('gives the handler the principal the guard verified', () => {
    expect(currentUserFactory()(undefined, contextWith({ [PRINCIPAL]: principal }))).toBe(principal);
  });

  it('fails closed on a route that has no verified principal (e.g. a @Public route by mistake)', () => {
    expect(() => currentUserFactory()(undefined, contextWith({ user: principal }))).toThrow(
      /without an authenticated principal/,
    );
  });
});
