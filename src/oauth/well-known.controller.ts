import { Controller, Get, Header, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Access } from '../common/auth/access.decorator';
import { AppConfig } from '../config/app-config';
import { JwtKeyManager, type PublicJwk } from '../token/keys/jwt-key-manager';

/**
 * How long partners (and proxies) may cache the JWKS and the metadata. Short enough for rotation: a
 * new signing key is published at least this long before its tokens reach a partner whose library
 * does not refetch on an unknown kid (jose and jwks-rsa do), when it is staged second in
 * JWT_PRIVATE_KEYS first; a dropped key stops verifying here at once and at partners within this.
 */
export const WELL_KNOWN_MAX_AGE_S = 300;
const CACHE_CONTROL = `public, max-age=${WELL_KNOWN_MAX_AGE_S}`;
const CACHE_HEADERS = {
  'Cache-Control': {
    description: `\`${CACHE_CONTROL}\`: short enough for key rotation.`,
    schema: { type: 'string' as const, example: CACHE_CONTROL },
  },
};

class JwkDto {
  @ApiProperty({ enum: ['EC', 'RSA', 'OKP'] })
  kty!: string;
  @ApiProperty({ description: 'RFC 7638 thumbprint of the key; every token names its key with it.' })
  kid!: string;
  @ApiProperty({ enum: ['ES256', 'RS256', 'EdDSA'] })
  alg!: string;
  @ApiProperty({ enum: ['sig'] })
  use!: string;
  @ApiPropertyOptional({ enum: ['P-256', 'Ed25519'] })
  crv?: string;
  @ApiPropertyOptional()
  x?: string;
  @ApiPropertyOptional()
  y?: string;
  @ApiPropertyOptional()
  n?: string;
  @ApiPropertyOptional()
  e?: string;
}

class JwksResponse {
  @ApiProperty({ type: [JwkDto] })
  keys!: JwkDto[];
}

class AuthorizationServerMetadata {
  @ApiProperty({
    description:
      'The RFC 8414 issuer identifier: PUBLIC_URL, the https origin this metadata is published under (outside ' +
      'production without PUBLIC_URL, the origin this request came to). Access tokens carry JWT_ISSUER as `iss`: ' +
      'the same value when JWT_ISSUER is set to PUBLIC_URL; otherwise pin `iss` to JWT_ISSUER.',
    example: 'https://auth.example.com',
  })
  issuer!: string;
  @ApiProperty({ example: 'https://auth.example.com/.well-known/jwks.json' })
  jwks_uri!: string;
  @ApiProperty({ example: 'https://auth.example.com/oauth/introspect' })
  introspection_endpoint!: string;
  @ApiProperty({ type: [String], example: ['client_secret_basic'] })
  introspection_endpoint_auth_methods_supported!: string[];
  @ApiProperty({
    type: [String],
    description:
      'Algorithms our access tokens are signed with (the keys in the JWKS, and HS256 for a JWT_SECRET).',
    example: ['ES256'],
  })
  access_token_signing_alg_values_supported!: string[];
  @ApiProperty({
    type: [String],
    description: 'None: tokens come from the WeChat login, not an OAuth flow.',
    example: [],
  })
  response_types_supported!: string[];
  @ApiProperty({ type: [String], example: [] })
  grant_types_supported!: string[];
}

/** What partner services read to verify our tokens themselves. Public, cacheable, never a secret. */
@ApiTags('partners')
@Access({ public: true })
@Controller('.well-known')
export class WellKnownController {
  constructor(
    private readonly keys: JwtKeyManager,
    private readonly config: AppConfig,
  ) {
    // loadConfig requires PUBLIC_URL in production; a configuration built otherwise must not fall back to
    // the Host header there (partners would be sent wherever a request's Host pointed).
    if (config.env === 'production' && !config.publicUrl)
      throw new Error('PUBLIC_URL is required in production (the RFC 8414 issuer of the partner metadata)');
  }

  @Get('jwks.json')
  @Header('Cache-Control', CACHE_CONTROL)
  @ApiOperation({
    summary: 'The public keys our access tokens are signed with (RFC 7517 JWK Set).',
    description:
      'Only public keys, each with `kid` (its RFC 7638 thumbprint, in every token header), `alg` and `use: "sig"`. The ' +
      'first key of JWT_PRIVATE_KEYS signs; all are listed, so tokens of the previous key keep verifying during a rotation. ' +
      'HS256 secrets are never published (partners cannot verify HS256 tokens: use introspection).',
  })
  @ApiOkResponse({ type: JwksResponse, headers: CACHE_HEADERS })
  jwks(): { keys: readonly PublicJwk[] } {
    return { keys: this.keys.publicKeys() };
  }

  @Get('oauth-authorization-server')
  @ApiOperation({
    summary:
      'Authorization server metadata (RFC 8414): issuer, JWKS and introspection endpoints, algorithms.',
    description:
      'The issuer and the links come from PUBLIC_URL (required in production; then `public, max-age=300`). Outside ' +
      'production without it, from the origin this request came to (then `private, max-age=300`: built from the ' +
      'Host header, it must never sit in a shared cache).',
  })
  @ApiOkResponse({ type: AuthorizationServerMetadata, headers: CACHE_HEADERS })
  metadata(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): AuthorizationServerMetadata {
    // Without PUBLIC_URL (never in production) the links come from the caller's Host / X-Forwarded-Host: a
    // shared cache keyed on the path alone could be poisoned to point partners at another JWKS.
    void reply.header(
      'cache-control',
      this.config.publicUrl ? CACHE_CONTROL : `private, max-age=${WELL_KNOWN_MAX_AGE_S}`,
    );
    // RFC 8414 §3.3: the issuer is exactly the identifier the metadata URL was built from, so a client that
    // fetched <issuer>/.well-known/oauth-authorization-server accepts it. JWT_ISSUER (the tokens' `iss`)
    // keeps its own value: changing it would break every partner pinning it (docs/partners.md).
    const issuer = this.config.publicUrl ?? `${request.protocol}://${request.host}`;
    return {
      issuer,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      introspection_endpoint: `${issuer}/oauth/introspect`,
      introspection_endpoint_auth_methods_supported: ['client_secret_basic'],
      access_token_signing_alg_values_supported: this.keys.algorithms(),
      response_types_supported: [],
      grant_types_supported: [],
    };
  }
}
