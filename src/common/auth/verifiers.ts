import type { FastifyRequest } from 'fastify';
import type { AuthPrincipal } from './auth-principal';
import type { ResolvedAccess } from './access.decorator';

/**
 * Proves a user from `Authorization: Bearer …` (src/token/): the verified principal, or an
 * AppException (401 UNAUTHORIZED). Abstract here so the one guard does not depend on the token room.
 */
export abstract class BearerVerifier {
  abstract verify(request: FastifyRequest): Promise<AuthPrincipal>;
}

/**
 * Proves a partner back-end from HTTP Basic (src/oauth/): its client id, or an AppException (401
 * INVALID_CLIENT, 403 FORBIDDEN, 429).
 */
export abstract class ServiceClientVerifier {
  abstract verify(
    request: FastifyRequest,
    access: Extract<ResolvedAccess, { kind: 'service' }>,
  ): Promise<string>;
}
