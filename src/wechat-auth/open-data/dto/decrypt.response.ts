import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class DecryptWatermark {
  @ApiProperty({
    description: 'The mini program the data was encrypted for (always the calling app).',
    example: 'wx1234567890abcdef',
  })
  appid: string;

  @ApiProperty({
    description: 'When WeChat encrypted the data, in seconds since the epoch.',
    example: 1700000000,
  })
  timestamp: number;
}

export class DecryptPhone {
  @ApiProperty({
    description:
      'Masked: only the first 3 and last 4 digits are shown. The full number is stored, never echoed.',
    example: '138****5678',
  })
  masked: string;

  @ApiProperty({ description: 'Country calling code without `+`.', example: '86' })
  countryCode: string;
}

export class DecryptResponse {
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      'The decrypted JSON without its `watermark` (its shape depends on the WeChat API that produced it). For a' +
      ' phone-number payload the number fields are removed and only `phone` describes it.',
    example: { nickName: 'Band', gender: 1, language: 'zh_CN' },
  })
  data: Record<string, unknown>;

  @ApiProperty({ type: DecryptWatermark, description: 'Checked: this app, and recent.' })
  watermark: DecryptWatermark;

  @ApiPropertyOptional({
    type: DecryptPhone,
    description: 'Present only when the payload was a phone number.',
  })
  phone?: DecryptPhone;
}
