import { DynamicModule, Module } from '@nestjs/common';
import { AccountModule } from './account/account.module';
import { APP_FILTER } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { LoggerModule } from 'nestjs-pino';
import { OAuthModule } from './oauth/oauth.module';
import type { DestinationStream } from 'pino';
import { CommonModule } from './common/common.module';
import { AllExceptionsFilter } from './common/filters/all-exceptions.filter';
import { Clock } from './common/clock/clock';
import { KvThrottlerStorage } from './common/throttle/kv-throttler.storage';
import { KvStore } from './common/store/kv-store';
import { AppConfig } from './config/app-config';
import { AppConfigModule } from './config/app-config.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import type { Logger as PinoRoot } from 'pino';
import { createRootLogger, ROOT_LOGGER } from './logging';
import { TokenModule } from './token/token.module';
import { UsersModule } from './users/users.module';
import { WechatAuthModule } from './wechat-auth/wechat-auth.module';

@Module({})
export class AppModule {
  /** Built from an already validated configuration, so the sandbox can be mounted (or not) at module level. */
  static forRoot(
    config: AppConfig,
    opts: { logDestination?: DestinationStream; logger?: PinoRoot } = {},
  ): DynamicModule {
    const logger = opts.logger ?? createRootLogger(config, opts.logDestination);
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        LoggerModule.forRoot({
          pinoHttp: { logger },
          // No per-request middleware: the access log is a Fastify hook (registerAccessLog).
          forRoutes: [],
        }),
        CommonModule,
        DatabaseModule,
        ThrottlerModule.forRootAsync({
          inject: [KvStore, Clock],
          useFactory: (store: KvStore, clock: Clock) => ({
            // Named 'default' so the guard's header is plain `Retry-After` (a named throttler adds a suffix).
            throttlers: [{ name: 'default', ttl: 60_000, limit: config.loginRateLimitPerMinute }],
            storage: new KvThrottlerStorage(store, clock),
          }),
        }),
        UsersModule,
        TokenModule,
        WechatAuthModule.forRoot({ sandbox: config.wechat.sandbox }),
        AccountModule,
        OAuthModule,
        HealthModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: ROOT_LOGGER, useValue: logger },
      ],
    };
  }
}
