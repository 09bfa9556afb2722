import { Body, HttpCode, Post } from '@nestjs/common';
import { IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { AppException } from '../../common/errors/app.exception';
import { IsWechatAppid } from '../../common/validation/ids';
import { AppConfig } from '../../config/app-config';
import { mediaCheckEvent } from './sandbox-events';
import { SandboxController } from './sandbox-controller.decorator';
import { pushToSelf } from './sandbox-push-delivery';

export class DeliverMediaCheckRequest {
  /** The `trace_id` media_check_async answered. */
  @Matches(/^[A-Za-z0-9_-]{1,128}$/, { message: 'traceId must be 1–128 letters, digits, _ or -' })
  traceId!: string;

  @IsIn(['pass', 'review', 'risky'])
  suggest!: 'pass' | 'review' | 'risky';

  /** WeChat's label (100 = normal); default: 100 for pass, 20002 otherwise. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(99999)
  label?: number;

  /** Default: the default app. */
  @IsOptional()
  @IsWechatAppid()
  appid?: string;
}

/**
 * Sandbox only (mounted with WechatSandboxModule): plays WeChat's message push. Delivers a `wxa_media_check`
 * verdict to this service's own `/wechat/events` over HTTP, signed with WECHAT_EVENT_TOKEN and, when
 * WECHAT_EVENT_AES_KEY is set, encrypted — the same wire the real push uses — and says what it answered.
 */
@SandboxController('sandbox/events')
export class SandboxEventsController {
  constructor(private readonly config: AppConfig) {}

  @Post('media-check')
  @HttpCode(200)
  async deliverMediaCheck(
    @Body() body: DeliverMediaCheckRequest,
  ): Promise<{ status: number; answer: string }> {
    const token = this.config.wechatEvents.token;
    if (token === undefined) throw new AppException('NOT_FOUND', {}, 'WECHAT_EVENT_TOKEN is not set.');
    const appid = body.appid ?? this.config.wechat.defaultAppid;
    if (!this.config.wechat.apps.has(appid)) throw new AppException('UNKNOWN_APPID');
    return pushToSelf(
      this.config,
      appid,
      mediaCheckEvent({ appid, traceId: body.traceId, suggest: body.suggest, label: body.label }),
    );
  }
}
