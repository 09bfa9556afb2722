import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';

export class RedeemTicketRequest {
  @ApiProperty({
    description:
      'The one-time ticket a browser login delivered to `returnTo` as `#ticket=…` (60 s, single use).',
    example: 'q3XvZ1mR0sYb1Jt9aCkq2w8yH7nTzP4eLfV6uGdW0oE',
  })
  @IsString()
  @MaxLength(128)
  ticket: string;
}
