import { Controller, Get, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Access } from '../../common/auth/access.decorator';
import { ApiErrors } from '../../common/errors/api-errors.decorator';
import { NO_STORE_HEADERS } from '../../common/http/no-store.decorator';
import { requestContextOf } from '../../common/request-context';
import { AppConfig } from '../../config/app-config';
import { BINDING_COOKIE, readBinding, writeBinding } from './browser-binding';
import { AuthorizeQuery, CallbackQuery, EmbedConfigQuery } from './dto/authorize.query';
import { EmbedConfigResponse } from './dto/embed-config.response';
import { STATE_TTL_MS, WebOAuthService, type StartedLogin, type StartInput } from './web-oauth.service';

const REDIRECT_HEADERS = {
  Location: { description: 'Where the browser goes next.', schema: { type: 'string' as const } },
  'Cache-Control': NO_STORE_HEADERS['Cache-Control'],
};
const COOKIE_HEADER = {
  'Set-Cookie': {
    description: `\`${BINDING_COOKIE}\`: binds the state to this browser (HttpOnly, SameSite=Lax, 10 min).`,
    schema: { type: 'string' as const },
  },
};

/** What starting a login (`authorize`, `embed-config`) can answer. */
const START_ERRORS = [
  'VALIDATION_FAILED',
  'UNKNOWN_APPID',
  'RETURN_TO_NOT_ALLOWED',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
] as const;

/** The browser doors: Official Account H5 (snsapi_base / snsapi_userinfo) and website QR (snsapi_login). */
@ApiTags('auth')
@Access({ public: true })
// Per client IP, like the mini-program login: each start writes a state to the shared store, each callback
// calls WeChat (its quota is per app).
@UseGuards(ThrottlerGuard)
@Controller('auth/wechat/oauth')
export class WebOAuthController {
  constructor(
    private readonly oauth: WebOAuthService,
    private readonly config: AppConfig,
  ) {}

  @Get('authorize')
  @ApiOperation({
    summary: 'Start a browser login (Official Account H5 or website QR).',
    description:
      "Redirects to WeChat's page for the appid's kind: an `oa` appid to `/connect/oauth2/authorize` (scope " +
      '`snsapi_base` or `snsapi_userinfo`), a `web` appid to `/connect/qrconnect` (`snsapi_login`). The state ' +
      'lives 10 minutes, works once, and only in this browser (the cookie set here). The login ends at ' +
      '`returnTo#ticket=…` (redeem it with `POST /auth/tickets/redeem`) or `returnTo#error=CODE`.',
  })
  @ApiResponse({
    status: 302,
    description: "To WeChat's authorize or QR page.",
    headers: { ...REDIRECT_HEADERS, ...COOKIE_HEADER },
  })
  @ApiErrors(...START_ERRORS)
  async authorize(
    @Query() query: AuthorizeQuery,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const started = await this.start(query, request, reply);
    await reply.status(302).header('cache-control', 'no-store').header('location', started.location).send();
  }

  @Get('embed-config')
  @ApiOperation({
    summary: 'The arguments for an embedded website QR (wxLogin.js).',
    description:
      'For pages that show the QR inside themselves with `new WxLogin({ … })`: a `web` appid, `snsapi_login`, ' +
      'the callback and a new state (bound to this browser by the cookie set here, like `authorize`).',
  })
  @ApiOkResponse({ type: EmbedConfigResponse, headers: { ...NO_STORE_HEADERS, ...COOKIE_HEADER } })
  @ApiErrors(...START_ERRORS)
  async embedConfig(
    @Query() query: EmbedConfigQuery,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const started = await this.start({ ...query, onlyKind: 'web' }, request, reply);
    const body: EmbedConfigResponse = {
      appid: started.appid,
      scope: 'snsapi_login',
      redirect_uri: started.redirectUri,
      state: started.state,
    };
    await reply.status(200).header('cache-control', 'no-store').send(body);
  }

  @Get('callback')
  @ApiOperation({
    summary: "WeChat's redirect back (not called by pages).",
    description:
      'Exchanges the code at WeChat (`/sns/oauth2/access_token`, then `/sns/userinfo` for snsapi_userinfo and ' +
      'snsapi_login), signs the user in and redirects to `returnTo#ticket=…`. Failures after a valid state ' +
      'redirect to `returnTo#error=CODE` (`ACCESS_DENIED` when the user declined, `SNAPSHOT_USER`, or any login ' +
      "error). A repeat of a completed callback within 60 s (WeChat's double delivery) gets the same redirect.",
  })
  @ApiResponse({
    status: 302,
    description: 'To `returnTo#ticket=…` or `returnTo#error=CODE`.',
    headers: REDIRECT_HEADERS,
  })
  @ApiErrors('VALIDATION_FAILED', 'STATE_INVALID', 'RATE_LIMITED', 'SERVICE_UNAVAILABLE')
  async callback(
    @Query() query: CallbackQuery,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const location = await this.oauth.callback(
      query.code,
      query.state,
      readBinding(request),
      requestContextOf(request),
    );
    // The page behind returnTo must not leak the ticket onward through Referer.
    await reply
      .status(302)
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .header('location', location)
      .send();
  }

  /** A new state, bound to this browser: the cookie it has, or a new one set on `reply`. */
  private async start(
    input: StartInput,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<StartedLogin> {
    const binding = readBinding(request) ?? this.oauth.newBinding();
    const started = await this.oauth.start(input, binding, this.origin(request));
    writeBinding(reply, binding, STATE_TTL_MS / 1000, this.secure(started.redirectUri));
    return started;
  }

  /** This service's origin as the browser reached it, when PUBLIC_URL is unset (never in production). */
  private origin(request: FastifyRequest): string {
    return this.config.publicUrl ?? `${request.protocol}://${request.host}`;
  }

  private secure(redirectUri: string): boolean {
    return redirectUri.startsWith('https://');
  }
}
