import { ReqContext, type RequestContext } from '../common/request-context';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Query } from '@nestjs/common';
import { ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditService } from '../audit/audit.service';
import { AuthEventPageResponse } from '../audit/dto/auth-event.response';
import { ListAuthEventsQuery } from '../audit/dto/list-auth-events.query';
import type { AuthPrincipal } from '../common/auth/auth-principal';
import { Access } from '../common/auth/access.decorator';
import { CurrentUser } from '../common/auth/current-user.decorator';
import { ApiErrors, BODY_ERRORS } from '../common/errors/api-errors.decorator';
import { UuidParamPipe } from '../common/http/uuid-param.pipe';
import { NoStoreOk } from '../common/http/no-store.decorator';
import { UserDirectory } from '../users/user-directory.service';
import { AccountService } from './account.service';
import {
  AdminUserDetailResponse,
  AdminUserPageResponse,
  AdminUserResponse,
  ListUsersQuery,
  SetRolesRequest,
  SetStatusRequest,
  toAdminUserResponse,
  toIdentityResponse,
  toSessionResponse,
  USERS_PAGE_SIZE,
} from './dto/admin.dto';

const uuid = new UuidParamPipe();

/**
 * Operators' API. Every route needs the `admin` role (403 otherwise); the first admin is made from the
 * command line (`npm run user:grant-admin -- <userId>`), never over HTTP.
 */
@ApiTags('admin')
@Access({ user: { roles: ['admin'] } })
@Controller('admin')
export class AdminController {
  constructor(
    private readonly directory: UserDirectory,
    private readonly accounts: AccountService,
    private readonly audit: AuditService,
  ) {}

  @Get('users')
  @NoStoreOk(AdminUserPageResponse)
  @ApiOperation({ summary: 'List and search users, newest first (keyset-paginated).' })
  @ApiErrors('VALIDATION_FAILED', 'DATABASE_UNAVAILABLE')
  async list(@Query() q: ListUsersQuery): Promise<AdminUserPageResponse> {
    const page = await this.directory.search(
      {
        status: q.status,
        phone: q.phone,
        openid: q.openid,
        unionid: q.unionid,
        riskRankMin: q.riskRankMin,
        needsReview: q.needsReview === 'true',
      },
      { limit: q.limit ?? USERS_PAGE_SIZE.default, cursor: q.cursor },
    );
    return {
      items: page.items.map(toAdminUserResponse),
      nextCursor: page.nextCursor,
    };
  }

  @Get('users/:id')
  @NoStoreOk(AdminUserDetailResponse)
  @ApiOperation({ summary: 'One user with their WeChat identities and live sessions.' })
  @ApiErrors('NOT_FOUND', 'DATABASE_UNAVAILABLE')
  async get(@Param('id', uuid) id: string): Promise<AdminUserDetailResponse> {
    const { user, identities, sessions } = await this.accounts.view(id);
    return {
      user: toAdminUserResponse(user),
      identities: identities.map(toIdentityResponse),
      sessions: sessions.map(toSessionResponse),
    };
  }

  @Patch('users/:id/status')
  @NoStoreOk(AdminUserResponse)
  @ApiOperation({
    summary: 'Disable or enable a user.',
    description:
      'Disabling stops the user’s access tokens at once on every instance and revokes their sessions.',
  })
  @ApiErrors(...BODY_ERRORS, 'NOT_FOUND', 'DATABASE_UNAVAILABLE', 'SERVICE_UNAVAILABLE')
  async setStatus(
    @CurrentUser() admin: AuthPrincipal,
    @Param('id', uuid) id: string,
    @Body() body: SetStatusRequest,
    @ReqContext() context: RequestContext,
  ): Promise<AdminUserResponse> {
    return toAdminUserResponse(await this.accounts.setStatus(admin.userId, id, body.status, context));
  }

  @Patch('users/:id/roles')
  @NoStoreOk(AdminUserResponse)
  @ApiOperation({
    summary: "Set a user's roles.",
    description:
      'Their access tokens stop at once (they carry roles); the next refresh carries the new ones.',
  })
  @ApiErrors(...BODY_ERRORS, 'NOT_FOUND', 'DATABASE_UNAVAILABLE', 'SERVICE_UNAVAILABLE')
  async setRoles(
    @CurrentUser() admin: AuthPrincipal,
    @Param('id', uuid) id: string,
    @Body() body: SetRolesRequest,
    @ReqContext() context: RequestContext,
  ): Promise<AdminUserResponse> {
    return toAdminUserResponse(await this.accounts.setRoles(admin.userId, id, body.roles, context));
  }

  @Delete('users/:id/sessions/:sessionId')
  @HttpCode(204)
  @ApiOperation({ summary: "Revoke one of a user's sessions (its access tokens stop at once)." })
  @ApiNoContentResponse({ description: 'Revoked.' })
  @ApiErrors('NOT_FOUND', 'DATABASE_UNAVAILABLE', 'SERVICE_UNAVAILABLE')
  async revokeSession(
    @CurrentUser() admin: AuthPrincipal,
    @Param('id', uuid) id: string,
    @Param('sessionId', uuid) sessionId: string,
    @ReqContext() context: RequestContext,
  ): Promise<void> {
    await this.accounts.revokeSession(admin.userId, id, sessionId, context);
  }

  @Delete('users/:id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a user’s account (as DELETE /users/me does).' })
  @ApiNoContentResponse({ description: 'Deleted.' })
  @ApiErrors('NOT_FOUND', 'DATABASE_UNAVAILABLE', 'SERVICE_UNAVAILABLE')
  async erase(
    @CurrentUser() admin: AuthPrincipal,
    @Param('id', uuid) id: string,
    @ReqContext() context: RequestContext,
  ): Promise<void> {
    await this.accounts.erase(id, admin.userId, context);
  }

  @Get('audit-events')
  @NoStoreOk(AuthEventPageResponse)
  @ApiOperation({ summary: 'The audit trail, newest first (keyset-paginated), with filters.' })
  @ApiErrors('VALIDATION_FAILED', 'DATABASE_UNAVAILABLE')
  events(@Query() q: ListAuthEventsQuery): Promise<AuthEventPageResponse> {
    // No mapper needed: AuthEventResponse implements AuthEventView, so the service's page is the response as is.
    return this.audit.list(
      { userId: q.userId, type: q.type, appid: q.appid, from: q.from, to: q.to },
      { limit: q.limit ?? 50, cursor: q.cursor },
    );
  }
}
