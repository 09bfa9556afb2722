import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { AuthPrincipal } from '../common/auth/auth-principal';
import { BearerVerifier } from '../common/auth/verifiers';
import { AccessTokenService, invalidToken } from './access-token.service';
import { RevocationService } from './revocation/revocation.service';

const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i;

/**
 * The user side of AccessGuard: a valid access token in `Authorization: Bearer …` (never the query
 * string, which ends up in logs), not revoked (RevocationService, in memory). No database read.
 * 401 UNAUTHORIZED with `WWW-Authenticate: Bearer error="invalid_token"` otherwise.
 */
@Injectable()
export class AccessTokenVerifier extends BearerVerifier {
  constructor(
    private readonly tokens: AccessTokenService,
    private readonly revocations: RevocationService,
  ) {
    super();
  }

  async verify(request: FastifyRequest): Promise<AuthPrincipal> {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? BEARER.exec(header) : null;
    if (!match) throw invalidToken();
    const principal = await this.tokens.verify(match[1]);
    // Disabled, deleted, merged, logged out: stopped here on every instance, from memory (no database read).
    if (this.revocations.isRevoked(principal)) throw invalidToken();
    return principal;
  }
}
