import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ThrottlerGuard } from '@nestjs/throttler';
import { Access } from '../../common/auth/access.decorator';
import { ApiErrors } from '../../common/errors/api-errors.decorator';
import { NoStoreOk } from '../../common/http/no-store.decorator';
import { ReqContext, type RequestContext } from '../../common/request-context';
import { CODE_LOGIN_ERRORS, LoginResponse, toLoginResponse } from '../login/dto/login.response';
import { WechatAuthService } from '../login/wechat-auth.service';
import { AppAccessTokenCall } from './app-access-token.endpoint';
import { AppLoginRequest } from './dto/app-login.request';

@ApiTags('auth')
@Controller('auth/wechat/app')
export class AppLoginController {
  constructor(private readonly logins: WechatAuthService) {}

  @Access({ public: true })
  // Throttled before the body is even read: a flood of codes must not reach WeChat (LOGIN_RATE_LIMIT).
  @UseGuards(ThrottlerGuard)
  @Post('login')
  @HttpCode(200)
  @NoStoreOk(LoginResponse)
  @ApiOperation({
    summary: "Log in from a mobile app with the WeChat SDK's authorization code.",
    description:
      'For an appid configured with kind `app`: exchanges the code at WeChat (`/sns/oauth2/access_token`), finds ' +
      'the user (one per unionid across every door) or creates one, and starts a session: the same answer as ' +
      '`POST /auth/wechat/login`. With `linkTicket`, a new identity joins that account. Errors with 503 carry ' +
      'Retry-After.',
  })
  // Within each status the same order as before: 401 lists LINK_TICKET_INVALID after the code errors.
  @ApiErrors(...CODE_LOGIN_ERRORS, 'LINK_TICKET_INVALID', 'IDENTITY_ALREADY_LINKED')
  async login(@Body() body: AppLoginRequest, @ReqContext() context: RequestContext): Promise<LoginResponse> {
    // The mini-program login's path (deadline, ledger, doubt marker, sign-in, audit, metrics) with the app's
    // adapter: `/sns/oauth2/access_token` for an appid of kind `app`.
    const login = await this.logins.codeLogin(
      'app',
      body.appid,
      body.code,
      (spentBefore) => new AppAccessTokenCall(spentBefore),
      { context, linkTicket: body.linkTicket },
    );
    return toLoginResponse(login);
  }
}
