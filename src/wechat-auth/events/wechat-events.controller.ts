import { Body, Controller, Get, Header, HttpCode, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import { Access } from '../../common/auth/access.decorator';
import { ApiErrors, BODY_ERRORS } from '../../common/errors/api-errors.decorator';
import { EventHandlers } from './event-handlers';
import { type PushQuery, WechatPushVerifier } from './push-verifier';

const TEXT = 'text/plain; charset=utf-8';

/**
 * WeChat's message push (JSON format), at the URL configured in the mini program's admin console. Public:
 * WeChat authenticates by signing with the shared Token (WechatPushVerifier). The push is answered
 * `success` as soon as it is verified; its handler runs after (EventHandlers), so a slow or failing
 * handler never makes WeChat send it again. 404 when WECHAT_EVENT_TOKEN is unset.
 */
@ApiTags('wechat-events')
@Access({ public: true })
@Controller('wechat/events')
export class WechatEventsController {
  constructor(
    private readonly verifier: WechatPushVerifier,
    private readonly handlers: EventHandlers,
  ) {}

  @Get()
  @Header('Content-Type', TEXT)
  @ApiOperation({
    summary: "WeChat's URL check: echoes `echostr` when `signature` = sha1(sort(Token, timestamp, nonce)).",
  })
  @ApiQuery({ name: 'signature', type: String, description: 'sha1 hex of Token, timestamp, nonce (sorted)' })
  @ApiQuery({
    name: 'timestamp',
    type: String,
    description: 'Unix seconds; refused when more than 300 s (5 min) off',
  })
  @ApiQuery({ name: 'nonce', type: String })
  @ApiQuery({ name: 'echostr', type: String })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: '`echostr`, as sent.', schema: { type: 'string' } })
  @ApiErrors('WX_EVENT_REJECTED', 'NOT_FOUND')
  verify(@Query() query: PushQuery): Promise<string> {
    return this.verifier.verifyUrl(query);
  }

  @Post()
  @HttpCode(200)
  @Header('Content-Type', TEXT)
  @ApiOperation({
    summary: 'One pushed event (JSON; plain or safe mode). Answers `success` once verified; handled after.',
  })
  @ApiQuery({ name: 'signature', type: String, required: false, description: 'plain mode' })
  @ApiQuery({ name: 'timestamp', type: String })
  @ApiQuery({ name: 'nonce', type: String, description: 'each accepted once' })
  @ApiQuery({ name: 'encrypt_type', type: String, required: false, enum: ['aes'] })
  @ApiQuery({
    name: 'msg_signature',
    type: String,
    required: false,
    description: "safe mode: sha1 hex of Token, timestamp, nonce and the body's `Encrypt` (sorted)",
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'The literal `success`.', schema: { type: 'string', example: 'success' } })
  @ApiErrors('WX_EVENT_REJECTED', 'NOT_FOUND', 'SERVICE_UNAVAILABLE', ...BODY_ERRORS)
  async receive(@Query() query: PushQuery, @Body() body: unknown): Promise<string> {
    const event = await this.verifier.verifyPush(query, body);
    this.handlers.dispatch(event);
    return 'success';
  }
}
