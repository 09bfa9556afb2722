import { type DynamicModule, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { AppConfig } from '../config/app-config';
import { TokenModule } from '../token/token.module';
import { UsersModule } from '../users/users.module';
import { LoginCodeReplayGuard } from './login-code-replay.guard';
import { ResilientWechatClient } from './resilient-wechat.client';
import { WechatSandboxModule } from './sandbox/wechat-sandbox.module';
import { createWechatFetch } from './upstream/wechat-fetch';
import { FETCH, WechatApiClient } from './wechat-api.client';
import { WechatAuthController } from './wechat-auth.controller';
import { WechatAuthService } from './wechat-auth.service';
import { WechatStrategy } from './wechat.strategy';

const WECHAT_HTTP = Symbol('WECHAT_HTTP');

@Module({})
export class WechatAuthModule implements OnApplicationShutdown {
  constructor(@Inject(WECHAT_HTTP) private readonly http: ReturnType<typeof createWechatFetch>) {}

  static forRoot(opts: { sandbox: boolean }): DynamicModule {
    return {
      module: WechatAuthModule,
      imports: [PassportModule, UsersModule, TokenModule, ...(opts.sandbox ? [WechatSandboxModule] : [])],
      controllers: [WechatAuthController],
      providers: [
        WechatAuthService,
        WechatApiClient,
        ResilientWechatClient,
        LoginCodeReplayGuard,
        WechatStrategy,
        { provide: WECHAT_HTTP, inject: [AppConfig], useFactory: createWechatFetch },
        {
          provide: FETCH,
          inject: [WECHAT_HTTP],
          useFactory: (http: ReturnType<typeof createWechatFetch>) => http.fetch,
        },
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.http.close();
  }
}
