import { ReqContext, type RequestContext } from '../common/request-context';
import { Controller, Delete, Get, HttpCode } from '@nestjs/common';
import { ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthPrincipal } from '../common/auth/auth-principal';
import { Access } from '../common/auth/access.decorator';
import { CurrentUser } from '../common/auth/current-user.decorator';
import { ApiErrors } from '../common/errors/api-errors.decorator';
import { NoStoreOk } from '../common/http/no-store.decorator';
import { UserRateLimit } from '../common/throttle/user-rate-limit.decorator';
import { AccountService, type AccountExport } from './account.service';
import { AccountExportResponse } from './dto/account-export.response';

/** The user's own account as a whole (China's PIPL: deletion and a copy of one's data). */
@ApiTags('users')
@Access({ user: {} })
@Controller('users/me')
export class AccountController {
  constructor(private readonly accounts: AccountService) {}

  @Delete()
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete my account.',
    description:
      'All sessions and access tokens stop at once (every instance); identities, session keys, phone, ' +
      'nickname and avatar are erased; the audit trail keeps its rows without personal data. The same ' +
      'WeChat user logging in afterwards is a new user.',
  })
  @ApiNoContentResponse({ description: 'Deleted.' })
  @ApiErrors('DATABASE_UNAVAILABLE', 'SERVICE_UNAVAILABLE')
  async delete(
    @CurrentUser() principal: AuthPrincipal,
    @ReqContext() context: RequestContext,
  ): Promise<void> {
    await this.accounts.erase(principal.userId, principal.userId, context);
  }

  @Get('export')
  // Each export reads every row held about the user: 5 a minute each (a constant; could become a setting).
  @UserRateLimit(5)
  @NoStoreOk(AccountExportResponse)
  @ApiOperation({
    summary: 'Everything held about me, as JSON.',
    description:
      "The user, their WeChat identities, sessions and audit events. WeChat's session_key is not " +
      'exported: it is a credential between WeChat and this server, not data about the user.',
  })
  @ApiErrors('DATABASE_UNAVAILABLE')
  export(
    @CurrentUser() principal: AuthPrincipal,
    @ReqContext() context: RequestContext,
  ): Promise<AccountExport> {
    return this.accounts.export(principal.userId, context);
  }
}
