import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { UsersModule } from '../users/users.module';
import { BearerVerifier } from '../common/auth/verifiers';
import { AccessTokenService } from './access-token.service';
import { AccessTokenVerifier } from './access-token.verifier';
import { JwtKeyManager } from './keys/jwt-key-manager';
import { RefreshToken } from './refresh-token.entity';
import { RevocationArchive } from './revocation/revocation-archive';
import { RevocationRow } from './revocation/revocation.entity';
import { RevocationService } from './revocation/revocation.service';
import { RefreshService } from './sessions/refresh.service';
import { SessionService } from './sessions/session.service';
import { TokenIssuer } from './sessions/token-issuer';
import { SessionsController } from './sessions.controller';
import { TokenController } from './token.controller';

@Module({
  imports: [
    TypeOrmModule.forFeature([RefreshToken, RevocationRow]),
    UsersModule,
    AuditModule,
    // Keys are per token (JwtKeyManager: signing key first, every key verifies), so no module-level secret.
    JwtModule.register({}),
  ],
  controllers: [TokenController, SessionsController],
  providers: [
    TokenIssuer,
    SessionService,
    RefreshService,
    RevocationArchive,
    JwtKeyManager,
    AccessTokenService,
    RevocationService,
    // The user side of the one global guard (AccessGuard, app.module.ts).
    { provide: BearerVerifier, useClass: AccessTokenVerifier },
  ],
  exports: [
    SessionService,
    RevocationService,
    RevocationArchive,
    AccessTokenService,
    JwtKeyManager,
    BearerVerifier,
  ],
})
export class TokenModule {}
