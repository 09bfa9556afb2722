import { ReqContext, type RequestContext } from '../../common/request-context';
import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthPrincipal } from '../../common/auth/auth-principal';
import { CurrentUser } from '../../common/auth/current-user.decorator';
import { Access } from '../../common/auth/access.decorator';
import { ApiErrors, BODY_ERRORS } from '../../common/errors/api-errors.decorator';
import { NoStoreOk } from '../../common/http/no-store.decorator';
import { BindPhoneRequest } from './dto/bind-phone.request';
import { BoundPhoneResponse } from './dto/bound-phone.response';
import { PhoneService } from './phone.service';

@ApiTags('auth')
@Access({ user: {} })
@Controller('auth/wechat')
export class PhoneController {
  constructor(private readonly phones: PhoneService) {}

  @Post('phone')
  @HttpCode(200)
  @NoStoreOk(BoundPhoneResponse)
  @ApiOperation({
    summary: "Bind the user's phone number from a getPhoneNumber button code.",
    description:
      'Exchanges the phone code at WeChat (`getuserphonenumber`, a paid API), checks the number was ' +
      'authorized for this mini program, stores it with its country code and answers it masked. ' +
      'Lookups are capped per person (the WeChat account, which outlives a deleted account) and per app ' +
      'and day (`PHONE_LOOKUPS_PER_USER_PER_DAY`, `PHONE_LOOKUPS_PER_APP_PER_DAY`) before WeChat is called. ' +
      'With `WECHAT_RISK_CHECK=block`, a person WeChat rates at or above `WECHAT_RISK_BLOCK_RANK` is refused ' +
      '(`403 RISK_BLOCKED`) before the cap is spent or WeChat is asked for the number. ' +
      'A `wx.login()` code here is ' +
      '`400 WX_CODE_INVALID`.',
  })
  @ApiErrors(
    ...BODY_ERRORS,
    ['WX_CODE_INVALID', 400],
    'UNKNOWN_APPID',
    'UNAUTHORIZED',
    'PHONE_IN_USE',
    'NO_WECHAT_SESSION',
    'PHONE_RATE_LIMITED',
    'RISK_BLOCKED',
    'WX_RATE_LIMITED',
    'WX_UNAVAILABLE',
    'WX_MISCONFIGURED',
    'DATABASE_UNAVAILABLE',
    'SERVICE_UNAVAILABLE',
  )
  bind(
    @CurrentUser() principal: AuthPrincipal,
    @Body() body: BindPhoneRequest,
    @ReqContext() context: RequestContext,
  ): Promise<BoundPhoneResponse> {
    return this.phones.bindWithCode(principal, body.code, context);
  }
}
