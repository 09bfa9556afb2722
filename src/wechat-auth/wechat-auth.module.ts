import { DynamicModule, Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { TokenModule } from '../token/token.module';
import { UsersModule } from '../users/users.module';
import { WechatSandboxModule } from './sandbox/wechat-sandbox.module';
import { FETCH, WechatApiClient } from './wechat-api.client';
import { WechatAuthController } from './wechat-auth.controller';
import { WechatAuthService } from './wechat-auth.service';
import { WechatStrategy } from './wechat.strategy';

@Module({})
export class WechatAuthModule {
  static forRoot(opts: { sandbox: boolean }): DynamicModule {
    return {
      module: WechatAuthModule,
      imports: [PassportModule, UsersModule, TokenModule, ...(opts.sandbox ? [WechatSandboxModule] : [])],
      controllers: [WechatAuthController],
      providers: [
        WechatAuthService,
        WechatApiClient,
        WechatStrategy,
        { provide: FETCH, useValue: globalThis.fetch.bind(globalThis) },
      ],
    };
  }
}
