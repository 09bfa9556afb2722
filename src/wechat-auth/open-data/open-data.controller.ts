import { ReqContext, type RequestContext } from '../../common/request-context';
import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthPrincipal } from '../../common/auth/auth-principal';
import { CurrentUser } from '../../common/auth/current-user.decorator';
import { Access } from '../../common/auth/access.decorator';
import { ApiErrors, BODY_ERRORS } from '../../common/errors/api-errors.decorator';
import { NoStoreOk } from '../../common/http/no-store.decorator';
import { DecryptRequest } from './dto/decrypt.request';
import { DecryptResponse } from './dto/decrypt.response';
import { SessionCheckResponse } from './dto/session-check.response';
import { OpenDataService, type SessionCheck } from './open-data.service';

const WECHAT_CALL_ERRORS = [
  'UNKNOWN_APPID',
  'UNAUTHORIZED',
  'NO_WECHAT_SESSION',
  'WX_RATE_LIMITED',
  'WX_UNAVAILABLE',
  'WX_MISCONFIGURED',
  'DATABASE_UNAVAILABLE',
  'SERVICE_UNAVAILABLE',
] as const;

@ApiTags('auth')
@Access({ user: {} })
@Controller('auth/wechat')
export class OpenDataController {
  constructor(private readonly openData: OpenDataService) {}

  @Get('session')
  @NoStoreOk(SessionCheckResponse)
  @ApiOperation({
    summary: "Whether WeChat still holds the user's session_key valid (checksession).",
    description:
      'Asks WeChat (`/wxa/checksession`) with a signature made from the stored session_key; the key ' +
      'itself never leaves the server. Use it before decrypting open data: `valid: false` means call ' +
      '`wx.login` and log in again.',
  })
  @ApiErrors(...WECHAT_CALL_ERRORS)
  session(
    @CurrentUser() principal: AuthPrincipal,
    @ReqContext() context: RequestContext,
  ): Promise<SessionCheck> {
    return this.openData.check(principal, context);
  }

  @Post('decrypt')
  @HttpCode(200)
  @NoStoreOk(DecryptResponse)
  @ApiOperation({
    summary: 'Decrypt legacy open data (encryptedData / iv) with the stored session_key.',
    description:
      'AES-128-CBC with the session_key of the last login; a `+` turned into a space in transit is ' +
      'repaired, other invalid base64 is `400 VALIDATION_FAILED`. `rawData` + `signature`, when sent, are ' +
      'checked (`sha1(rawData + session_key)`, constant time). The watermark must name this app and be ' +
      'recent (`OPEN_DATA_MAX_AGE_S`). When decryption fails because WeChat rotated the session_key: ' +
      '`401 SESSION_STALE` (call wx.login, log in, get the data again, retry); otherwise ' +
      '`400 DECRYPT_FAILED`. A phone-number payload binds the number like `POST /auth/wechat/phone`.',
  })
  @ApiErrors(...BODY_ERRORS, 'DECRYPT_FAILED', 'SESSION_STALE', 'PHONE_IN_USE', ...WECHAT_CALL_ERRORS)
  decrypt(
    @CurrentUser() principal: AuthPrincipal,
    @Body() body: DecryptRequest,
    @ReqContext() context: RequestContext,
  ): Promise<DecryptResponse> {
    return this.openData.decrypt(principal, body, context);
  }
}
