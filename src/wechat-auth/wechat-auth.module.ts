import { type DynamicModule, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { AuditModule } from '../audit/audit.module';
import { AppConfig } from '../config/app-config';
import { TokenModule } from '../token/token.module';
import { UsersModule } from '../users/users.module';
import { InterfaceTokenService } from './interface-token/interface-token.service';
import { LoginCodeLedger } from './login/login-code-ledger';
import { WechatAuthController } from './login/wechat-auth.controller';
import { WechatAuthService } from './login/wechat-auth.service';
import { LoginServiceBinding, WechatStrategy } from './login/wechat.strategy';
import { OpenDataController } from './open-data/open-data.controller';
import { OpenDataService } from './open-data/open-data.service';
import { PhoneController } from './phone/phone.controller';
import { PhoneLookupBudget } from './phone/phone-lookup-budget';
import { PhoneService } from './phone/phone.service';
import { WechatSandboxModule } from './sandbox/wechat-sandbox.module';
import { WechatCallPolicy } from './upstream/wechat-call-policy';
import { createWechatFetch } from './upstream/wechat-fetch';
import { FETCH, WechatHttp } from './upstream/wechat-http';
import { WechatApi } from './wechat-api';

const WECHAT_HTTP = Symbol('WECHAT_HTTP');

@Module({})
export class WechatAuthModule implements OnApplicationShutdown {
  constructor(@Inject(WECHAT_HTTP) private readonly http: ReturnType<typeof createWechatFetch>) {}

  static forRoot(opts: { sandbox: boolean }): DynamicModule {
    return {
      module: WechatAuthModule,
      imports: [
        PassportModule,
        UsersModule,
        TokenModule,
        AuditModule,
        ...(opts.sandbox ? [WechatSandboxModule] : []),
      ],
      controllers: [WechatAuthController, PhoneController, OpenDataController],
      providers: [
        WechatHttp,
        WechatCallPolicy,
        InterfaceTokenService,
        WechatApi,
        WechatAuthService,
        LoginCodeLedger,
        WechatStrategy,
        LoginServiceBinding,
        PhoneLookupBudget,
        PhoneService,
        OpenDataService,
        { provide: WECHAT_HTTP, inject: [AppConfig], useFactory: createWechatFetch },
        {
          provide: FETCH,
          inject: [WECHAT_HTTP],
          useFactory: (http: ReturnType<typeof createWechatFetch>) => http.fetch,
        },
      ],
      exports: [WechatApi, InterfaceTokenService],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.http.close();
  }
}
