import { Module } from '@nestjs/common';
import { WechatSandboxController } from './wechat-sandbox.controller';
import { WechatSandboxService } from './wechat-sandbox.service';

@Module({ controllers: [WechatSandboxController], providers: [WechatSandboxService] })
export class WechatSandboxModule {}
