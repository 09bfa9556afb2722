import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsNotEmpty, IsString, Matches, MaxLength, ValidateIf } from 'class-validator';

/** rawData and signature are checked together or not at all: either one alone is refused. */
const SIGNED_PAIR_MESSAGE = 'rawData and signature must be sent together';
const hasSignedPair = (o: DecryptRequest): boolean => o.rawData !== undefined || o.signature !== undefined;

/**
 * `POST /auth/wechat/decrypt`. encryptedData and iv are only length-limited here, NOT checked as base64: the service's
 * strict decoder (`decodeWechatBase64`) first repairs a `+` that form/URL decoding turned into a space — a pattern here
 * would refuse exactly the most common real-world damage before it can be repaired.
 */
export class DecryptRequest {
  @ApiProperty({
    description:
      'Base64 `encryptedData` exactly as WeChat returned it (e.g. from `wx.getUserInfo` or the legacy `getPhoneNumber`).' +
      " Decrypted with the session_key of the caller's latest `wx.login`: if the client logged in again after" +
      ' obtaining it, the key has rotated and decryption fails — obtain the data again.',
    example:
      'T3BvJeLRjnULFDMzU84xRAtrPE5LTC0DXR9pqRQrq71DnjoQgDDUt4Q6sg+H1K0QtLsA+yrLmFTAXXuWWu3MtVF0aQZw4SmBLKdytmROoOiRhHym2WrGRlmLiR+VdTzx',
    maxLength: 12288,
  })
  // With rawData (3072), iv and signature this stays inside the 16 KiB body limit; WeChat's largest
  // payloads (30 days of WeRun steps) are a few KiB.
  @IsString()
  @IsNotEmpty()
  @MaxLength(12288)
  encryptedData: string;

  @ApiProperty({
    description:
      'Base64 of the 16-byte AES-CBC initialisation vector, as WeChat returned it alongside encryptedData.',
    example: 'r7BXXKkLb8qrSNn05n0qiA==',
    maxLength: 64,
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  iv: string;

  @ApiPropertyOptional({
    description:
      'The plaintext JSON WeChat returned next to encryptedData (`wx.getUserInfo`). Only with `signature`: when both' +
      ' are sent, `signature` must equal `sha1(rawData + session_key)`.',
    example: '{"nickName":"Band","gender":1,"language":"zh_CN","country":"CN"}',
    maxLength: 3072,
  })
  @ValidateIf(hasSignedPair)
  @IsDefined({ message: SIGNED_PAIR_MESSAGE })
  @IsString()
  @IsNotEmpty()
  @MaxLength(3072)
  rawData?: string;

  @ApiPropertyOptional({
    description: 'Lowercase hex `sha1(rawData + session_key)` as WeChat returned it. Only with `rawData`.',
    example: '75e81ceda165f4ffa64f4068af58c64b8f54b88c',
    pattern: '^[0-9a-f]{40}$',
  })
  @ValidateIf(hasSignedPair)
  @IsDefined({ message: SIGNED_PAIR_MESSAGE })
  @IsString()
  @Matches(/^[0-9a-f]{40}$/, { message: 'signature must be 40 lowercase hex characters' })
  signature?: string;
}
