import { ApiProperty } from '@nestjs/swagger';
import { ERRORS } from './error-codes';

/** The body of every error answer. */
export class ErrorResponseDto {
  @ApiProperty({ example: 401 })
  statusCode: number;

  @ApiProperty({
    enum: Object.keys(ERRORS),
    example: 'UNAUTHORIZED',
    description: 'Stable machine code; switch on this.',
  })
  code: string;

  @ApiProperty({ example: 'A valid access token is required.', description: 'Human-readable; may change.' })
  message: string;

  @ApiProperty({
    example: '7f1c2e9a-3b4d-4c5e-8f6a-0b1c2d3e4f5a',
    description: 'Echoed in X-Request-Id and the logs.',
  })
  requestId: string;

  @ApiProperty({
    required: false,
    description:
      "Per-field problems, for VALIDATION_FAILED; `label:<n>` (WeChat's label) for CONTENT_REJECTED.",
    type: [String],
  })
  details?: string[];
}
