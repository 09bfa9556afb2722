import { AppException } from '../../common/errors/app.exception';
import type { WechatAppCredentials } from '../../config/app-config';
import { codeTag } from '../login/code2session.endpoint';
import { WX, type ErrcodeMeaning, type WechatEndpoint } from '../upstream/wechat-endpoint';
import { type LogContext, tokenPost, type WechatRequest } from '../upstream/wechat-http';
import { WechatUpstreamError } from '../upstream/wechat-upstream.error';

export interface PhoneNumberInput {
  /** The getPhoneNumber button's code (not a wx.login code). */
  code: string;
  openid: string;
}

export interface PhoneInfo {
  /** Without the country code. */
  purePhoneNumber: string;
  countryCode: string;
  watermarkAppid: string;
  watermarkTimestamp: number;
}

const DIGITS = /^\d{4,20}$/;
const COUNTRY_CODE = /^\d{1,4}$/;

const ERRCODES: Readonly<Record<number, ErrcodeMeaning<PhoneInfo>>> = {
  // What WeChat answers when a wx.login code (or an expired or used phone code) is sent here.
  [WX.INVALID_CODE]: {
    error: 'WX_CODE_INVALID',
    status: 400,
    message:
      'The phone code is invalid, expired or used. Send the code from the getPhoneNumber button ' +
      '(not a wx.login code), once, within 5 minutes.',
  },
};

/**
 * `POST /wxa/business/getuserphonenumber?access_token=…` — a paid lookup of a single-use code: callers cap
 * it before calling, and a call that may have reached WeChat is never sent again (it may have been billed
 * and spent the code; a resend would answer 40029 "invalid code" to a user who did nothing wrong). One
 * instance per lookup: it records whether a request was actually sent, so a lookup refused before
 * reaching WeChat (quota stop, breaker, shed) is not counted against the user's cap.
 */
export class GetPhoneNumberCall implements WechatEndpoint<PhoneNumberInput, PhoneInfo> {
  readonly name = 'getuserphonenumber';
  readonly usesAccessToken = true;
  readonly noResendAfterDoubt = true;
  readonly meter = 'phone' as const;
  readonly errcodes = ERRCODES;
  /** Whether a request left for WeChat. */
  sent = false;

  request(
    _app: WechatAppCredentials,
    input: PhoneNumberInput,
    accessToken: string | undefined,
  ): WechatRequest {
    this.sent = true;
    return tokenPost('/wxa/business/getuserphonenumber', accessToken, {
      code: input.code,
      openid: input.openid,
    });
  }

  logContext(input: PhoneNumberInput): LogContext {
    return { code: codeTag(input.code) };
  }

  onFailure(failure: WechatUpstreamError): AppException | undefined {
    if (!failure.details.maybeDelivered) return undefined;
    return new AppException(
      'WX_UNAVAILABLE',
      { retryAfter: 1, cause: failure },
      'WeChat did not answer in time and the phone code may be spent: ask the user to tap the button again.',
    );
  }

  parse(body: Record<string, unknown>): PhoneInfo {
    const info = body.phone_info as Record<string, unknown> | undefined;
    const watermark = info?.watermark as Record<string, unknown> | undefined;
    const pure = info?.purePhoneNumber;
    const country = info?.countryCode;
    if (
      typeof pure !== 'string' ||
      !DIGITS.test(pure) ||
      typeof country !== 'string' ||
      !COUNTRY_CODE.test(country) ||
      typeof watermark?.appid !== 'string' ||
      typeof watermark.timestamp !== 'number'
    )
      throw new WechatUpstreamError('unparsable');
    return {
      purePhoneNumber: pure,
      countryCode: country,
      watermarkAppid: watermark.appid,
      watermarkTimestamp: watermark.timestamp,
    };
  }
}
