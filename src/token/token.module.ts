import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { UsersModule } from '../users/users.module';
import { ACCESS_TOKEN_TYP, AccessTokenService } from './access-token.service';
import { JwtAuthGuard } from './jwt-auth.guard';
import { RefreshToken } from './refresh-token.entity';
import { SessionsController } from './sessions.controller';
import { TokenController } from './token.controller';
import { TokenService } from './token.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([RefreshToken]),
    UsersModule,
    JwtModule.registerAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        // A KeyObject, not a string: jsonwebtoken skips re-importing the key on every call.
        secret: config.jwt.secret,
        signOptions: {
          algorithm: 'HS256',
          issuer: config.jwt.issuer,
          audience: config.jwt.audience,
          header: { alg: 'HS256', typ: ACCESS_TOKEN_TYP },
        },
        verifyOptions: { algorithms: ['HS256'], issuer: config.jwt.issuer, audience: config.jwt.audience },
      }),
    }),
  ],
  controllers: [TokenController, SessionsController],
  providers: [TokenService, AccessTokenService, { provide: APP_GUARD, useClass: JwtAuthGuard }],
  exports: [TokenService],
})
export class TokenModule {}
