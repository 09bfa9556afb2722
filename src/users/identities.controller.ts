import { Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthPrincipal } from '../common/auth/auth-principal';
import { Access } from '../common/auth/access.decorator';
import { CurrentUser } from '../common/auth/current-user.decorator';
import { ApiErrors } from '../common/errors/api-errors.decorator';
import { NoStoreOk } from '../common/http/no-store.decorator';
import { UuidParamPipe } from '../common/http/uuid-param.pipe';
import { IdentityResponse, LinkTicketResponse } from './dto/identity.response';
import { LinkTickets } from './link-tickets';
import { assertMayAct } from './user-access';
import { UsersService } from './users.service';

const uuid = new UuidParamPipe();

/** The signed-in user's WeChat identities (one per door and app) and linking doors without a shared unionid. */
@ApiTags('users')
@Access({ user: {} })
@Controller('users/me/identities')
export class IdentitiesController {
  constructor(
    private readonly users: UsersService,
    private readonly tickets: LinkTickets,
  ) {}

  @Get()
  @NoStoreOk(IdentityResponse, { isArray: true })
  @ApiOperation({
    summary: "The signed-in user's sign-in identities, oldest first.",
    description:
      'Which doors (mini program, Official Account, website, app) and apps; never the openid or unionid.',
  })
  @ApiErrors('UNAUTHORIZED', 'USER_DISABLED', 'DATABASE_UNAVAILABLE')
  async list(@CurrentUser() principal: AuthPrincipal): Promise<IdentityResponse[]> {
    await this.activeUser(principal);
    return (await this.users.listIdentities(principal.userId)).map((i) => ({
      id: i.id,
      kind: i.kind,
      appid: i.appid,
      createdAt: i.createdAt.toISOString(),
      lastLoginAt: i.lastLoginAt?.toISOString() ?? null,
      hasUnionid: i.hasUnionid,
    }));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Unlink one of the signed-in user’s identities.',
    description:
      'The only identity left cannot be removed (409 LAST_IDENTITY). An id that is not the caller’s answers 404. ' +
      'A unionid no remaining identity carries is released: that WeChat account’s next login starts a new user.',
  })
  @ApiNoContentResponse({ description: 'Unlinked.' })
  @ApiErrors('UNAUTHORIZED', 'USER_DISABLED', 'NOT_FOUND', 'LAST_IDENTITY', 'DATABASE_UNAVAILABLE')
  async remove(@CurrentUser() principal: AuthPrincipal, @Param('id', uuid) id: string): Promise<void> {
    await this.activeUser(principal);
    await this.users.removeIdentity(principal.userId, id);
  }

  @Post('link-ticket')
  @HttpCode(200)
  @NoStoreOk(LinkTicketResponse)
  @ApiOperation({
    summary: 'A one-time ticket that attaches the next login’s new identity to the signed-in user.',
    description:
      'For doors that do not share a unionid with this account (another Open Platform account). Send it as ' +
      '`linkTicket` in the body of `POST /auth/wechat/login` or `POST /auth/wechat/app/login`. Single use, 5 minutes. ' +
      'A login whose WeChat account already belongs to another user answers 409 IDENTITY_ALREADY_LINKED.',
  })
  @ApiErrors('UNAUTHORIZED', 'USER_DISABLED', 'DATABASE_UNAVAILABLE', 'SERVICE_UNAVAILABLE')
  async linkTicket(@CurrentUser() principal: AuthPrincipal): Promise<LinkTicketResponse> {
    await this.activeUser(principal);
    return this.tickets.issue(principal.userId);
  }

  /** Decides on the current row (not the display cache): a disabled or deleted user gets nothing here. */
  private async activeUser(principal: AuthPrincipal): Promise<void> {
    assertMayAct(await this.users.findById(principal.userId));
  }
}
