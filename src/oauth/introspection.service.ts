import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { AccessTokenService } from '../token/access-token.service';
import { RevocationService } from '../token/revocation/revocation.service';
import { SessionService } from '../token/sessions/session.service';
import { UsersService } from '../users/users.service';
import type { IntrospectionResponse } from './dto/introspection.dto';

const INACTIVE: IntrospectionResponse = Object.freeze({ active: false });

/**
 * RFC 7662 for our access tokens: where partners see revocation. A token is active only when it
 * verifies (our key, its algorithm, iss/aud/typ, unexpired), is not revoked (RevocationService: logout,
 * disable, role change, deletion, merge), its session still has a live refresh token and its user exists
 * and is active (both read from the database, so a change made by the CLI on another process shows
 * too). Anything else — garbage, a refresh token, a forged or expired token — is `{ active: false }`,
 * without saying why (RFC 7662 §2.2).
 */
@Injectable()
export class IntrospectionService {
  constructor(
    private readonly access: AccessTokenService,
    private readonly revocations: RevocationService,
    private readonly sessions: SessionService,
    private readonly users: UsersService,
    private readonly config: AppConfig,
  ) {}

  async introspect(token: string): Promise<IntrospectionResponse> {
    const verified = await this.access.verifyToken(token).catch(() => undefined);
    if (!verified) return INACTIVE;
    const p = verified.principal;
    if (this.revocations.isRevoked(p)) return INACTIVE;
    const [user, live] = await Promise.all([
      this.users.findById(p.userId),
      this.sessions.isLive(p.userId, p.sessionId),
    ]);
    if (!user || user.status !== 'active' || !live) return INACTIVE;
    return {
      active: true,
      sub: p.userId,
      appid: p.appid,
      roles: p.roles,
      exp: p.expiresAt,
      iat: p.issuedAt,
      iss: this.config.jwt.issuer,
      aud: this.config.jwt.audience,
      sid: p.sessionId,
      jti: verified.jti,
      token_type: 'Bearer',
    };
  }
}
