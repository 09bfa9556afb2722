import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

export const SERVICE_CLIENT = 'serviceClient';

/** The service client id AccessGuard verified (only on an `@Access({ service })` route). */
export const ServiceClientId = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const id = ctx.switchToHttp().getRequest<Record<string, unknown>>()[SERVICE_CLIENT];
  // Only reachable on a route that is not a service route, by mistake: fail closed.
  if (typeof id !== 'string')
    throw new Error('@ServiceClientId() used on a route without a verified service client');
  return id;
});
