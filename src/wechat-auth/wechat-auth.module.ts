import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { TokenModule } from '../token/token.module';
import { UsersModule } from '../users/users.module';
import { AppLoginController } from './app/app-login.controller';
import { LoginCodeLedger } from './login/login-code-ledger';
import { WechatAuthController } from './login/wechat-auth.controller';
import { WechatAuthService } from './login/wechat-auth.service';
import { WechatLoginGuard, WechatStrategy } from './login/wechat.strategy';
import { OpenDataController } from './open-data/open-data.controller';
import { OpenDataService } from './open-data/open-data.service';
import { PhoneController } from './phone/phone.controller';
import { PhoneLookupBudget } from './phone/phone-lookup-budget';
import { PhoneService } from './phone/phone.service';
import { RiskGate } from './risk/risk-gate';
import { SignInService } from './sign-in/sign-in.service';
import { WechatUpstreamModule } from './upstream/wechat-upstream.module';

/** What a mini program does with WeChat here: log in, bind a phone number, decrypt open data. */
@Module({
  imports: [WechatUpstreamModule, UsersModule, TokenModule, AuditModule],
  controllers: [WechatAuthController, AppLoginController, PhoneController, OpenDataController],
  providers: [
    SignInService,
    WechatAuthService,
    LoginCodeLedger,
    WechatStrategy,
    WechatLoginGuard,
    PhoneLookupBudget,
    PhoneService,
    OpenDataService,
    RiskGate,
  ],
  // Every login door signs in through SignInService (identity graph → sessions → audit).
  exports: [SignInService],
})
export class WechatAuthModule {}
