import { Module } from '@nestjs/common';
import { Clock } from '../../common/clock/clock';
import { Random } from '../../common/random/random';
import { KvStore } from '../../common/store/kv-store';
import { AppConfig } from '../../config/app-config';
import { SandboxEventsController } from './sandbox-events.controller';
import { scheduleMediaVerdict } from './sandbox-push-delivery';
import { SandboxWechat } from './sandbox-wechat';
import { WechatSandboxController } from './wechat-sandbox.controller';

/** The built-in stand-in for WeChat; mounted by AppModule only when WECHAT_SANDBOX is on (never in production). */
@Module({
  controllers: [WechatSandboxController, SandboxEventsController],
  providers: [
    {
      provide: SandboxWechat,
      inject: [AppConfig, KvStore, Random, Clock],
      useFactory: (config: AppConfig, store: KvStore, random: Random, clock: Clock) =>
        new SandboxWechat(
          new Map([...config.wechat.apps].map(([appid, app]) => [appid, app.secret])),
          store,
          random,
          clock,
          {
            defaultAppid: config.wechat.defaultAppid,
            // WeChat's push of each image verdict, to this service's /wechat/events (sandbox-content.ts).
            onMediaCheck: (check) => scheduleMediaVerdict(config, check),
          },
        ),
    },
  ],
})
export class WechatSandboxModule {}
