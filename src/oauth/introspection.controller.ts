import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Access } from '../common/auth/access.decorator';
import { ApiErrors } from '../common/errors/api-errors.decorator';
import { AppException } from '../common/errors/app.exception';
import { NoStoreOk } from '../common/http/no-store.decorator';
import { IntrospectionResponse } from './dto/introspection.dto';
import { IntrospectionService } from './introspection.service';

const FORM = 'application/x-www-form-urlencoded';

@ApiTags('partners')
@Controller('oauth')
export class IntrospectionController {
  constructor(private readonly introspection: IntrospectionService) {}

  @Post('introspect')
  @HttpCode(200)
  @NoStoreOk(IntrospectionResponse)
  @Access({ service: {} })
  @ApiOperation({
    summary: 'Is this access token live? (RFC 7662 token introspection, for service clients)',
    description:
      'Form body `token=…` (`token_type_hint` is accepted and ignored), client authentication with HTTP Basic ' +
      '(SERVICE_CLIENTS). A live access token answers `active: true` with its claims; anything else — expired, forged, ' +
      'garbage, a refresh token, a session logged out or revoked, a disabled or deleted user — answers `{ "active": false }`. ' +
      'Unlike verifying with the JWKS, this sees revocation at once. Rate-limited per client (SERVICE_CLIENT_RATE_LIMIT a minute). ' +
      'Failed client logins are limited per client IP (10) and per client id (30) in a 5-minute window: past that, every ' +
      'login of that IP or id, right or wrong, answers 429 CLIENT_AUTH_RATE_LIMITED until the window ends (Retry-After).',
  })
  @ApiConsumes(FORM)
  @ApiBody({
    schema: {
      type: 'object',
      required: ['token'],
      properties: {
        token: { type: 'string', description: 'The access token.' },
        token_type_hint: { type: 'string', description: 'Ignored.', example: 'access_token' },
      },
    },
  })
  @ApiErrors('VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'DATABASE_UNAVAILABLE')
  introspect(@Req() request: FastifyRequest, @Body() body: unknown): Promise<IntrospectionResponse> {
    // RFC 7662 §2.1: a form. (The JSON parser would accept JSON here; the standard does not.)
    const type = String(request.headers['content-type'] ?? '')
      .split(';')[0]
      .trim()
      .toLowerCase();
    if (type !== FORM) throw new AppException('UNSUPPORTED_MEDIA_TYPE', {}, `Send the body as ${FORM}.`);
    const token = (body as Record<string, unknown> | undefined)?.token;
    if (typeof token !== 'string' || token === '')
      throw new AppException('VALIDATION_FAILED', { details: ['token is required'] });
    return this.introspection.introspect(token);
  }
}
