import { Body, Controller, Get, HttpCode, Post, Query, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../../common/auth/public.decorator';
import { MintCodeRequest } from './mint-code.request';
import { WechatSandboxService } from './wechat-sandbox.service';

/** Mounted only when WECHAT_SANDBOX is on (never in production); not part of the partner contract. */
@ApiExcludeController()
@Public()
@Controller('sandbox/wechat')
export class WechatSandboxController {
  constructor(private readonly sandbox: WechatSandboxService) {}

  @Post('codes')
  @HttpCode(201)
  mint(
    @Body() body: MintCodeRequest,
  ): Promise<{ code: string; appid: string; openid: string; expiresIn: number }> {
    return this.sandbox.mintCode(body ?? {});
  }

  @Get('sns/jscode2session')
  async jscode2session(@Query() query: Record<string, unknown>, @Res() reply: FastifyReply): Promise<void> {
    // Like WeChat: HTTP 200 for errors too, JSON labelled text/plain.
    const answer = await this.sandbox.jscode2session(query);
    await reply.status(200).type('text/plain').send(JSON.stringify(answer));
  }
}
