import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';
import { LINK_TICKET_PATTERN } from '../../../users/link-tickets';

/** The optional `linkTicket` of every code login's body: its check and its OpenAPI entry, once. */
export const LinkTicketProperty = (): PropertyDecorator =>
  applyDecorators(
    ApiPropertyOptional({
      description:
        'From `POST /users/me/identities/link-ticket`: a new identity joins that account instead of a new one.',
      pattern: LINK_TICKET_PATTERN.source,
    }),
    IsOptional(),
    IsString(),
    Matches(LINK_TICKET_PATTERN, { message: 'linkTicket must be 20-128 characters of [A-Za-z0-9_-]' }),
  );
