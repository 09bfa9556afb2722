import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { AppConfig } from '../config/app-config';
import { UsersModule } from '../users/users.module';
import { AccessTokenService } from './access-token.service';
import { JwtAuthGuard } from './jwt-auth.guard';
import { jwtModuleOptions } from './jwt-options';
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
    JwtModule.registerAsync({
      inject: [AppConfig],
      useFactory: jwtModuleOptions,
    }),
  ],
  controllers: [TokenController, SessionsController],
  providers: [
    TokenService,
    AccessTokenService,
    RevocationService,
    // In this order: the token first, then the roles it carries.
    { provide: APP_GUARD, useClass: JwtAuthGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
  ],
  exports: [TokenService, RevocationService],
})
export class TokenModule {}
