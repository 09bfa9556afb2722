import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { AuthPrincipal } from './auth-principal';

export const PRINCIPAL = 'principal';

/** The verified caller set by AccessGuard (on an `@Access({ user })` route, the default). */
export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthPrincipal => {
  const principal = ctx.switchToHttp().getRequest<Record<string, AuthPrincipal | undefined>>()[PRINCIPAL];
  // Only reachable on a public or service route by mistake: fail closed.
  if (!principal) throw new Error('@CurrentUser() used on a route without an authenticated principal');
  return principal;
});
