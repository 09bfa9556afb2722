import { Body, Controller, Get, Patch, Put } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from '../common/auth/access.decorator';
import { ApiErrors, BODY_ERRORS } from '../common/errors/api-errors.decorator';
import { NoStoreOk } from '../common/http/no-store.decorator';
import { AppException } from '../common/errors/app.exception';
import { CurrentUser } from '../common/auth/current-user.decorator';
import type { AuthPrincipal } from '../common/auth/auth-principal';
import { MeResponse } from './dto/me.response';
import { UpdateProfileRequest } from './dto/update-profile.request';
import { maskPhone } from './mask-phone';
import type { User } from './user.entity';
import { assertMayAct } from './user-access';
import { UsersService } from './users.service';
import { ProfileUpdate } from './profile-update';
import { ReqContext } from '../common/request-context';
import type { RequestContext } from '../common/request-context';

const PROFILE_ERRORS = [
  ...BODY_ERRORS,
  'UNAUTHORIZED',
  'USER_DISABLED',
  'CONTENT_REJECTED',
  'NO_WECHAT_SESSION',
  'WX_UNAVAILABLE',
  'WX_RATE_LIMITED',
  'WX_MISCONFIGURED',
  'DATABASE_UNAVAILABLE',
] as const;

@ApiTags('users')
@Access({ user: {} })
@Controller('users')
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly profile: ProfileUpdate,
  ) {}

  @Get('me')
  @NoStoreOk(MeResponse)
  @ApiOperation({ summary: 'The signed-in user (an example of a guarded business endpoint).' })
  @ApiErrors('UNAUTHORIZED', 'USER_DISABLED', 'DATABASE_UNAVAILABLE')
  async me(@CurrentUser() principal: AuthPrincipal): Promise<MeResponse> {
    return toMeResponse(activeOrThrow(await this.users.findForDisplay(principal.userId)));
  }

  @Patch('me')
  @NoStoreOk(MeResponse)
  @ApiOperation({
    summary: "Change the signed-in user's nickname and/or avatar (from WeChat's fill-in components).",
    description:
      'Send at least one field; `null` clears it, an absent field is kept. Answers like `GET /users/me`. ' +
      "With WeChat's content checks on (`WECHAT_CONTENT_CHECK=on`): a risky nickname → 422 CONTENT_REJECTED " +
      '(nothing saved); a new avatar stays pending (`avatarStatus: pending`, the previous `avatarUrl` still ' +
      "shown) until WeChat's verdict publishes or drops it.",
  })
  @ApiErrors(...PROFILE_ERRORS)
  async updateMe(
    @CurrentUser() principal: AuthPrincipal,
    @Body() body: UpdateProfileRequest,
    @ReqContext() context?: RequestContext,
  ): Promise<MeResponse> {
    if (body.nickname === undefined && body.avatarUrl === undefined) {
      throw new AppException('VALIDATION_FAILED', { details: ['send nickname and/or avatarUrl'] });
    }
    const user = activeOrThrow(await this.users.findById(principal.userId));
    const updated = await this.profile.apply(
      user,
      principal.appid,
      { nickname: body.nickname, avatarUrl: body.avatarUrl },
      context,
    );
    return toMeResponse(activeOrThrow(updated));
  }

  @Put('me')
  @NoStoreOk(MeResponse)
  @ApiOperation({
    summary: 'The same as PATCH /users/me, for clients without PATCH.',
    description:
      "WeChat's `wx.request` has no PATCH method: mini programs send the same partial body with PUT. " +
      'Same rules and answer as `PATCH /users/me` (absent fields are kept).',
  })
  @ApiErrors(...PROFILE_ERRORS)
  updateMeByPut(
    @CurrentUser() principal: AuthPrincipal,
    @Body() body: UpdateProfileRequest,
    @ReqContext() context?: RequestContext,
  ): Promise<MeResponse> {
    return this.updateMe(principal, body, context);
  }
}

function activeOrThrow(user: User | null): User {
  assertMayAct(user);
  return user;
}

function toMeResponse(user: User): MeResponse {
  return {
    id: user.id,
    nickname: user.nickname,
    avatarUrl: user.avatarUrl,
    avatarStatus: user.avatarStatus,
    phone: maskPhone(user.phone),
    phoneCountryCode: user.phoneCountryCode,
    createdAt: user.createdAt.toISOString(),
  };
}
