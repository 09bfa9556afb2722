import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from '../../common/auth/access.decorator';
import { ApiErrors, BODY_ERRORS } from '../../common/errors/api-errors.decorator';
import { NoStoreOk } from '../../common/http/no-store.decorator';
import { LoginResponse } from '../login/dto/login.response';
import { LoginTicketService } from './login-ticket.service';
import { RedeemTicketRequest } from './redeem-ticket.request';

@ApiTags('auth')
@Controller('auth/tickets')
export class TicketsController {
  constructor(private readonly tickets: LoginTicketService) {}

  @Access({ public: true })
  @UseGuards(ThrottlerGuard)
  @Post('redeem')
  @HttpCode(200)
  @NoStoreOk(LoginResponse)
  @ApiOperation({
    summary: 'Trade a browser login ticket for the login answer.',
    description:
      'The Official Account H5 and website QR logins end in a redirect to `returnTo#ticket=…`; the page posts ' +
      'that ticket here (at once: it lives 60 s, and works once) and gets the same answer as the mini-program ' +
      'login. Of two redemptions at once, one wins; every other answer is 401 TICKET_INVALID.',
  })
  @ApiErrors(...BODY_ERRORS, 'TICKET_INVALID', 'RATE_LIMITED', 'SERVICE_UNAVAILABLE')
  redeem(@Body() body: RedeemTicketRequest): Promise<LoginResponse> {
    return this.tickets.redeem(body.ticket);
  }
}
