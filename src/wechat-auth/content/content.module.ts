import { Module } from '@nestjs/common';
import { AuditModule } from '../../audit/audit.module';
import { UsersModule } from '../../users/users.module';
import { WechatEventsModule } from '../events/wechat-events.module';
import { WechatUpstreamModule } from '../upstream/wechat-upstream.module';
import { AvatarRecheck } from './avatar-recheck';
import { ContentCheckService } from './content-check.service';

/**
 * WeChat's content checks on the profile (WECHAT_CONTENT_CHECK): registers with `users` (ProfileChecks)
 * and with the message push (`wxa_media_check`) at start when on. AvatarRecheck is run by the server's
 * MaintenanceModule.
 */
@Module({
  imports: [WechatUpstreamModule, UsersModule, WechatEventsModule, AuditModule],
  providers: [ContentCheckService, AvatarRecheck],
  exports: [AvatarRecheck],
})
export class ContentModule {}
