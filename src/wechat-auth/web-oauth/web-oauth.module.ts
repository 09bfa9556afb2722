import { Module } from '@nestjs/common';
import { AuditModule } from '../../audit/audit.module';
import { LoginTicketService } from '../tickets/login-ticket.service';
import { TicketsController } from '../tickets/tickets.controller';
import { WechatUpstreamModule } from '../upstream/wechat-upstream.module';
import { WechatAuthModule } from '../wechat-auth.module';
import { WebOAuthController } from './web-oauth.controller';
import { WebOAuthService } from './web-oauth.service';

/** The browser doors (Official Account H5, website QR) and the one-time tickets they end with. */
@Module({
  imports: [WechatAuthModule, WechatUpstreamModule, AuditModule],
  controllers: [WebOAuthController, TicketsController],
  providers: [WebOAuthService, LoginTicketService],
})
export class WebOAuthModule {}
