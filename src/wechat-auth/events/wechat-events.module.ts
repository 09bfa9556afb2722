import { Module } from '@nestjs/common';
import { EventHandlers } from './event-handlers';
import { WechatPushVerifier } from './push-verifier';
import { WechatEventsController } from './wechat-events.controller';

/**
 * WeChat's message push (`/wechat/events`). Features that react to an event import this module and
 * register with `EventHandlers.on(…)` when they start.
 */
@Module({
  controllers: [WechatEventsController],
  providers: [WechatPushVerifier, EventHandlers],
  exports: [EventHandlers],
})
export class WechatEventsModule {}
