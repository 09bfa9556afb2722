import { DynamicModule, Module } from '@nestjs/common';
import { AccountModule } from './account/account.module';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { LoggerModule } from 'nestjs-pino';
import { OAuthModule } from './oauth/oauth.module';
import type { DestinationStream } from 'pino';
import { AccessGuard } from './common/auth/access.guard';
import { CommonModule } from './common/common.module';
import { AllExceptionsFilter } from './common/filters/all-exceptions.filter';
import { Clock } from './common/clock/clock';
import { KvThrottlerStorage } from './common/throttle/kv-throttler.storage';
import { KvStore } from './common/store/kv-store';
import { AppConfig } from './config/app-config';
import { AppConfigModule } from './config/app-config.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { MaintenanceModule } from './maintenance/maintenance.module';
import { MetricsModule } from './metrics/metrics.module';
import type { Logger as PinoRoot } from 'pino';
import { createRootLogger, ROOT_LOGGER } from './logging';
import { TokenModule } from './token/token.module';
import { UsersModule } from './users/users.module';
import { WechatAuthModule } from './wechat-auth/wechat-auth.module';
import { ContentModule } from './wechat-auth/content/content.module';
import { WechatEventsModule } from './wechat-auth/events/wechat-events.module';
import { WechatUsageModule } from './wechat-auth/usage/wechat-usage.module';
import { WebOAuthModule } from './wechat-auth/web-oauth/web-oauth.module';
import { WechatSandboxModule } from './wechat-auth/sandbox/wechat-sandbox.module';

@Module({})
export class AppModule {
  /** Built from an already validated configuration, so the sandbox can be mounted (or not) at module level. */
  static forRoot(
    config: AppConfig,
    /** `jobs: false` (the operator CLI): no background purges. */
    opts: { logDestination?: DestinationStream; logger?: PinoRoot; jobs?: boolean } = {},
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
        // Global: the Metrics facade features count with (served only when METRICS_TOKEN/METRICS_PORT is set).
        MetricsModule,
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
        WechatAuthModule,
        WechatEventsModule,
        ContentModule,
        WechatUsageModule,
        WebOAuthModule,
        // The stand-in for WeChat (never in production): its own routes, beside the app, not inside a feature.
        ...(config.wechat.sandbox ? [WechatSandboxModule] : []),
        AccountModule,
        OAuthModule,
        HealthModule,
        ...(opts.jobs === false ? [] : [MaintenanceModule]),
      ],
      providers: [
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        // The one guard: every route's @Access policy (a user's token unless it says otherwise), enforced with
        // TokenModule's BearerVerifier and OAuthModule's ServiceClientVerifier.
        { provide: APP_GUARD, useClass: AccessGuard },
        { provide: ROOT_LOGGER, useValue: logger },
      ],
    };
  }
}
