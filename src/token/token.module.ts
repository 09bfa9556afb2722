import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { UsersModule } from '../users/users.module';
import { AccessTokenService } from './access-token.service';
import { JwtAuthGuard } from './jwt-auth.guard';
import { JwtKeyManager } from './keys/jwt-key-manager';
import { RefreshToken } from './refresh-token.entity';
import { RevocationService } from './revocation.service';
import { RolesGuard } from './roles.guard';
import { SessionsController } from './sessions.controller';
import { TokenController } from './token.controller';
import { TokenService } from './token.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([RefreshToken]),
    UsersModule,
    AuditModule,
    // Keys are per token (JwtKeyManager: signing key first, every key verifies), so no module-level secret.
    JwtModule.register({}),
  ],
  controllers: [TokenController, SessionsController],
  providers: [
    TokenService,
    JwtKeyManager,
    AccessTokenService,
    RevocationService,
    // In this order: the token first, then the roles it carries.
    { provide: APP_GUARD, useClass: JwtAuthGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
  ],
  exports: [TokenService, RevocationService, AccessTokenService, JwtKeyManager],
})
export class TokenModule {}
