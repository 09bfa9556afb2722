import { ApiProperty } from '@nestjs/swagger';

export class BoundPhoneResponse {
  @ApiProperty({
    description: 'The bound number, masked: only the first 3 and last 4 digits are shown.',
    example: '138****5678',
  })
  phone: string;

  @ApiProperty({ description: 'Country calling code without `+`.', example: '86' })
  countryCode: string;
}
