import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/errors/api-errors.decorator';
import { NO_STORE_HEADERS, NoStore } from '../common/http/no-store.decorator';
import { AppException } from '../common/errors/app.exception';
import { CurrentUser } from '../common/auth/current-user.decorator';
import type { AuthPrincipal } from '../common/auth/auth-principal';
import { MeResponse } from './dto/me.response';
import { maskPhone } from './mask-phone';
import { UsersService } from './users.service';

@ApiTags('users')
@ApiBearerAuth()
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  @NoStore()
  @ApiOperation({ summary: 'The signed-in user (an example of a guarded business endpoint).' })
  @ApiOkResponse({ type: MeResponse, headers: NO_STORE_HEADERS })
  @ApiErrors('UNAUTHORIZED', 'USER_DISABLED', 'DATABASE_UNAVAILABLE')
  async me(@CurrentUser() principal: AuthPrincipal): Promise<MeResponse> {
    const user = await this.users.findById(principal.userId);
    // A token can outlive its user (deleted account): treat it as no longer valid.
    if (!user)
      throw new AppException('UNAUTHORIZED', {
        headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
      });
    if (user.status !== 'active') throw new AppException('USER_DISABLED');
    return {
      id: user.id,
      nickname: user.nickname,
      avatarUrl: user.avatarUrl,
      phone: maskPhone(user.phone),
      createdAt: user.createdAt.toISOString(),
    };
  }
}
