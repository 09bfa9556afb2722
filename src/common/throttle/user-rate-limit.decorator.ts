import { applyDecorators, UseGuards } from '@nestjs/common';
import { Throttle, ThrottlerGuard } from '@nestjs/throttler';
import type { AuthPrincipal } from '../auth/auth-principal';
import { PRINCIPAL } from '../auth/current-user.decorator';
import { ApiErrors } from '../errors/api-errors.decorator';

/**
 * At most `limit` calls per `ttlMs` by one user to this route, beyond them `429 RATE_LIMITED` with
 * `Retry-After` — the throttler the login and refresh routes use (its counters in the shared store, per
 * instance while Redis does not answer), keyed on the authenticated user instead of the client IP: the
 * routes it guards are expensive reads a token holder could otherwise repeat without end, and users behind
 * one carrier NAT must not share a budget. AccessGuard (global) has run before, so the principal is set.
 */
export function UserRateLimit(limit: number, ttlMs = 60_000): MethodDecorator & ClassDecorator {
  return applyDecorators(
    Throttle({
      default: {
        limit,
        ttl: ttlMs,
        getTracker: (req: Record<string, unknown>) => {
          const principal = req[PRINCIPAL] as AuthPrincipal | undefined;
          return principal ? `user:${principal.userId}` : `ip:${String(req.ip)}`;
        },
      },
    }),
    UseGuards(ThrottlerGuard),
    ApiErrors('RATE_LIMITED'),
  );
}
