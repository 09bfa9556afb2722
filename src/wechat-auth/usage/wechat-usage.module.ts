import { Global, Module } from '@nestjs/common';
import { UsageMeter } from './usage-meter';
import { WechatUsageController } from './wechat-usage.controller';
import { WechatUsageService } from './wechat-usage.service';

/**
 * Usage metering of WeChat's metered APIs. Global so the call policy (WechatUpstreamModule, built
 * without a database in some tests) can take the UsageMeter when there is one, without importing this.
 */
@Global()
@Module({
  controllers: [WechatUsageController],
  providers: [UsageMeter, WechatUsageService],
  exports: [UsageMeter],
})
export class WechatUsageModule {}
