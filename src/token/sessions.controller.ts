import { ReqContext, type RequestContext } from '../common/request-context';
import { Controller, Delete, Get, HttpCode, Param } from '@nestjs/common';
import { ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from '../common/auth/access.decorator';
import type { AuthPrincipal } from '../common/auth/auth-principal';
import { CurrentUser } from '../common/auth/current-user.decorator';
import { ApiErrors } from '../common/errors/api-errors.decorator';
import { UuidParamPipe } from '../common/http/uuid-param.pipe';
import { NoStoreOk } from '../common/http/no-store.decorator';
import { SessionResponse } from './dto/session.response';
import type { RefreshToken } from './refresh-token.entity';
import { SessionService } from './sessions/session.service';

const uuidPipe = new UuidParamPipe();

/**
 * The caller's login sessions (devices). The example of object-level
 * ownership: every query is scoped to the caller, so another user's session
 * id answers 404 exactly like one that does not exist.
 */
@ApiTags('sessions')
@Access({ user: {} })
@Controller('sessions')
export class SessionsController {
  constructor(private readonly sessions: SessionService) {}

  @Get()
  @NoStoreOk([SessionResponse])
  @ApiOperation({
    summary: "List the caller's active sessions.",
    description:
      'A user holds at most MAX_SESSIONS_PER_USER live sessions (default 20, 0 = unlimited): a login beyond that ' +
      'revokes the oldest sessions, by when each was created (its first login), never the new one.',
  })
  @ApiErrors('UNAUTHORIZED', 'DATABASE_UNAVAILABLE')
  async list(@CurrentUser() principal: AuthPrincipal): Promise<SessionResponse[]> {
    const rows = await this.sessions.list(principal.userId);
    return rows.map((r) => toResponse(r, principal));
  }

  @Get(':id')
  @NoStoreOk(SessionResponse)
  @ApiOperation({ summary: "One of the caller's sessions." })
  @ApiErrors('UNAUTHORIZED', 'NOT_FOUND', 'DATABASE_UNAVAILABLE')
  async get(
    @CurrentUser() principal: AuthPrincipal,
    @Param('id', uuidPipe) id: string,
  ): Promise<SessionResponse> {
    return toResponse(await this.sessions.get(principal.userId, id), principal);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: "Revoke one of the caller's sessions (sign a device out)." })
  @ApiNoContentResponse({ description: 'Revoked.' })
  @ApiErrors('UNAUTHORIZED', 'NOT_FOUND', 'DATABASE_UNAVAILABLE')
  async revoke(
    @CurrentUser() principal: AuthPrincipal,
    @Param('id', uuidPipe) id: string,
    @ReqContext() context: RequestContext,
  ): Promise<void> {
    await this.sessions.revoke(principal.userId, id, { details: { initiator: 'self' }, context });
  }
}

function toResponse(row: RefreshToken, principal: AuthPrincipal): SessionResponse {
  return {
    id: row.familyId,
    appid: row.appid,
    lastRefreshedAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    current: row.familyId === principal.sessionId,
  };
}
