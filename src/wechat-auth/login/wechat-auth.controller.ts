import { Body, Controller, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from '../../common/auth/access.decorator';
import { ApiErrors } from '../../common/errors/api-errors.decorator';
import { NoStoreOk } from '../../common/http/no-store.decorator';
import { LoginRequest } from './dto/login.request';
import { CODE_LOGIN_ERRORS, LoginResponse, toLoginResponse } from './dto/login.response';
import type { WechatLogin } from './wechat-auth.service';
import { WechatLoginGuard } from './wechat.strategy';

@ApiTags('auth')
@Controller('auth/wechat')
export class WechatAuthController {
  @Access({ public: true })
  // Throttle first: a flood of codes must not reach WeChat (its quota is per app, per minute).
  @UseGuards(ThrottlerGuard, WechatLoginGuard)
  @Post('login')
  @HttpCode(200)
  @NoStoreOk(LoginResponse)
  @ApiOperation({
    summary: 'Log in with a wx.login() code.',
    description:
      'Exchanges the code at WeChat (jscode2session), finds or creates the user and starts a session. ' +
      "WeChat's session_key stays on the server. With `WECHAT_RISK_CHECK=block`, a new user WeChat rates " +
      'at or above `WECHAT_RISK_BLOCK_RANK` is refused (`403 RISK_BLOCKED`) before anything is stored. ' +
      'Errors with 503 carry Retry-After.',
  })
  // A new mini-program identity's first login may meet the risk check (the app door's openids are not rated).
  @ApiErrors(...CODE_LOGIN_ERRORS, 'RISK_BLOCKED')
  // The body is validated by the strategy (guards run before pipes); @Body is here for the contract.
  login(@Body() _body: LoginRequest, @Req() request: { user: WechatLogin }): LoginResponse {
    return toLoginResponse(request.user);
  }
}
