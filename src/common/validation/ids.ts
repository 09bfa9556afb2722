import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { Matches, type ValidationArguments } from 'class-validator';

/*
 * The id formats of the API, once: what a request may carry as a UUID, a WeChat appid, openid, unionid or
 * code, a phone number. Each pattern is checked by its decorator (class-validator) and shown in the
 * OpenAPI document by the same decorator, so the two cannot drift.
 */

/** Our own ids (users, sessions): any UUID, either case (stored and compared lower-case). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A mini program's appid (`wx` + 16 hex in practice; WeChat documents no format, so a safe alphabet). */
export const WECHAT_APPID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** An openid or unionid: WeChat's are 28 characters of base64url; bounded and log-safe here. */
export const WECHAT_USER_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
/** A one-time code from `wx.login()` or the getPhoneNumber button. */
export const WECHAT_CODE_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
/** A phone number without its country code (WeChat's purePhoneNumber). */
export const PURE_PHONE_NUMBER_PATTERN = /^[0-9]{4,20}$/;
/** A phone country code, digits without `+`. */
export const PHONE_COUNTRY_CODE_PATTERN = /^[0-9]{1,4}$/;

/** `pattern` must hold; the message names the property and the shape, never the value sent. */
function idFormat(
  pattern: RegExp,
  shape: string,
  api: { pattern?: string; format?: string },
): PropertyDecorator {
  return applyDecorators(
    Matches(pattern, { message: ({ property }: ValidationArguments) => `${property} must be ${shape}` }),
    // Adds to the property's other ApiProperty options (description, example, required), whichever comes first.
    ApiProperty(api),
  );
}

const SAFE_ALPHABET = 'characters of [A-Za-z0-9_-]';

export const IsUuidId = (): PropertyDecorator => idFormat(UUID_PATTERN, 'a UUID', { format: 'uuid' });
export const IsWechatAppid = (): PropertyDecorator =>
  idFormat(WECHAT_APPID_PATTERN, `1-64 ${SAFE_ALPHABET}`, { pattern: WECHAT_APPID_PATTERN.source });
/** An openid or a unionid. */
export const IsWechatUserId = (): PropertyDecorator =>
  idFormat(WECHAT_USER_ID_PATTERN, `1-128 ${SAFE_ALPHABET}`, { pattern: WECHAT_USER_ID_PATTERN.source });
export const IsWechatCode = (): PropertyDecorator =>
  idFormat(WECHAT_CODE_PATTERN, `1-128 ${SAFE_ALPHABET}`, { pattern: WECHAT_CODE_PATTERN.source });
export const IsPurePhoneNumber = (): PropertyDecorator =>
  idFormat(PURE_PHONE_NUMBER_PATTERN, '4-20 digits', { pattern: PURE_PHONE_NUMBER_PATTERN.source });
export const IsPhoneCountryCode = (): PropertyDecorator =>
  idFormat(PHONE_COUNTRY_CODE_PATTERN, '1-4 digits', { pattern: PHONE_COUNTRY_CODE_PATTERN.source });
