import { ReqContext, type RequestContext } from '../common/request-context';
import { Body, Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import { ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthPrincipal } from '../common/auth/auth-principal';
import { CurrentUser } from '../common/auth/current-user.decorator';
import { Access } from '../common/auth/access.decorator';
import { ApiErrors, BODY_ERRORS } from '../common/errors/api-errors.decorator';
import { NoStoreOk } from '../common/http/no-store.decorator';
import { LogoutRequest } from './dto/logout.request';
import { RefreshRequest } from './dto/refresh.request';
import { SessionInfoResponse } from './dto/session-info.response';
import { TokenPairResponse } from './dto/token-pair.response';
import { RefreshService } from './sessions/refresh.service';
import { SessionService } from './sessions/session.service';

@ApiTags('auth')
@Controller('auth')
export class TokenController {
  constructor(
    private readonly rotation: RefreshService,
    private readonly sessions: SessionService,
  ) {}

  @Access({ public: true })
  @UseGuards(ThrottlerGuard)
  @Post('refresh')
  @HttpCode(200)
  @NoStoreOk(TokenPairResponse)
  @ApiOperation({
    summary: 'Exchange a refresh token for a new pair.',
    description:
      'Rotates: the presented refresh token stops working and the answer carries its successor. Presented again within ' +
      'REFRESH_REUSE_INTERVAL seconds (default 10) of that rotation — parallel requests at start-up, a lost answer — it ' +
      'answers with the same successor pair (same refresh and access token), as long as that successor is still the ' +
      "session's live token. Presented later, it counts as theft and revokes the whole session (REFRESH_TOKEN_REUSED). A token " +
      'revoked by logout, a revoked session or eviction (MAX_SESSIONS_PER_USER) answers REFRESH_TOKEN_INVALID. Keep only the ' +
      'newest refresh token.',
  })
  @ApiErrors(
    ...BODY_ERRORS,
    'REFRESH_TOKEN_INVALID',
    'REFRESH_TOKEN_REUSED',
    'USER_DISABLED',
    'RATE_LIMITED',
    'DATABASE_UNAVAILABLE',
    'SERVICE_UNAVAILABLE',
  )
  refresh(@Body() body: RefreshRequest, @ReqContext() context: RequestContext): Promise<TokenPairResponse> {
    return this.rotation.refresh(body.refreshToken, context);
  }

  @Post('logout')
  @HttpCode(204)
  @Access({ user: {} })
  @ApiOperation({
    summary: 'Revoke a session.',
    description:
      'Revokes the session of `refreshToken`, or the current session when it is omitted, or every session with `all: true`. ' +
      "The revoked sessions' access tokens stop at once too (on every instance, see README), not only their refresh tokens.",
  })
  @ApiNoContentResponse({ description: 'Revoked (also when there was nothing to revoke).' })
  @ApiErrors(...BODY_ERRORS, 'DATABASE_UNAVAILABLE')
  async logout(
    @CurrentUser() principal: AuthPrincipal,
    @ReqContext() context: RequestContext,
    @Body() body: LogoutRequest = {},
  ): Promise<void> {
    await this.sessions.logout(principal, body ?? {}, context);
  }

  @Get('session')
  @Access({ user: {} })
  @NoStoreOk(SessionInfoResponse)
  @ApiOperation({
    summary: 'Am I still logged in? Answered from the verified access token alone, without a database read.',
  })
  session(@CurrentUser() principal: AuthPrincipal): SessionInfoResponse {
    return {
      userId: principal.userId,
      appid: principal.appid,
      roles: principal.roles,
      expiresAt: new Date(principal.expiresAt * 1000).toISOString(),
    };
  }
}
