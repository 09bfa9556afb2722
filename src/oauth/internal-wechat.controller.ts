import { Controller, Get, Logger, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from '../common/auth/access.decorator';
import { ServiceClientId } from '../common/auth/service-client-id.decorator';
import { Clock } from '../common/clock/clock';
import { ApiErrors } from '../common/errors/api-errors.decorator';
import { AppException } from '../common/errors/app.exception';
import { NoStoreOk } from '../common/http/no-store.decorator';
import { AppConfig } from '../config/app-config';
import { InterfaceTokenService } from '../wechat-auth/interface-token/interface-token.service';
import { Deadline } from '../wechat-auth/upstream/deadline';
import { WechatAccessTokenQuery, WechatAccessTokenResponse } from './dto/introspection.dto';

/**
 * WeChat's interface access_token for sibling services (WECHAT_TOKEN_CLIENTS), from the very cache this
 * service uses: services that call other WeChat APIs stop fetching their own token, which would make
 * WeChat invalidate ours and each other's (40001 across instances).
 */
@ApiTags('partners')
@Controller('internal/wechat')
export class InternalWechatController {
  private readonly logger = new Logger('InternalWechatToken');

  constructor(
    // WechatUpstreamModule's, the same instance the login routes use: one token cache per instance.
    private readonly interfaceTokens: InterfaceTokenService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  @Get('access-token')
  @NoStoreOk(WechatAccessTokenResponse)
  @Access({ service: { wechatToken: true } })
  @ApiOperation({
    summary: "WeChat's interface access_token of an app, for sibling services (WECHAT_TOKEN_CLIENTS).",
    description:
      'Served from the same cache as this service’s own WeChat calls (one token per app for every instance). Never fetch ' +
      "the token from WeChat yourself (a new one invalidates everyone else's). `expires_in` is a lower bound: ask again " +
      'after it. Every fetch is logged with the client id, never the token.',
  })
  @ApiErrors('VALIDATION_FAILED', 'UNKNOWN_APPID', 'WX_RATE_LIMITED', 'WX_UNAVAILABLE', 'WX_MISCONFIGURED')
  async accessToken(
    @ServiceClientId() clientId: string,
    @Query() query: WechatAccessTokenQuery,
  ): Promise<WechatAccessTokenResponse> {
    const appid = query.appid ?? this.config.wechat.defaultAppid;
    const app = this.config.wechat.apps.get(appid);
    if (!app) throw new AppException('UNKNOWN_APPID');
    const token = await this.interfaceTokens.get(
      app,
      Deadline.after(this.clock, this.config.wechat.apiDeadlineMs),
    );
    this.logger.log({ client: clientId, appid }, 'interface access_token handed to a service client');
    // Cached only while at least the renewal margin is left (InterfaceTokenService), so this much is guaranteed.
    return { access_token: token, expires_in: this.config.wechat.accessTokenMarginSeconds, appid };
  }
}
