import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { ApiErrors } from '../errors/api-errors.decorator';
import { type Role, Roles } from './roles';

/**
 * A route's auth policy and its OpenAPI documentation in one decorator, so they cannot drift: a Bearer
 * access token (the global guard enforces it anyway), optionally one of `roles` (RolesGuard), and the
 * matching `security` requirement and 401 (and 403) answers in the contract.
 */
export function Authenticated(...roles: Role[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiBearerAuth(),
    ...(roles.length
      ? [Roles(...roles), ApiErrors('UNAUTHORIZED', 'FORBIDDEN')]
      : [ApiErrors('UNAUTHORIZED')]),
  );
}
