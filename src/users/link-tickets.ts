import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppException } from '../common/errors/app.exception';
import { Random } from '../common/random/random';
import { KvStore } from '../common/store/kv-store';
import { StoreKeys } from '../common/store/store-keys';
import { takeOnce } from '../common/store/take-once';

/** How long a link ticket can be redeemed. */
export const LINK_TICKET_TTL_S = 300;

/** Accepted shape of a ticket (what `issue` makes: 32 random bytes, base64url). */
export const LINK_TICKET_PATTERN = /^[A-Za-z0-9_-]{20,128}$/;

/**
 * Link tickets: a signed-in user asks for one, then logs in through a door that does not share its
 * unionid (another Open Platform account) with the ticket, and that door's new identity joins this user.
 *
 * Random (256 bits), single use, 5 minutes, in the shared store so any instance can redeem it. The store
 * holds only the ticket's SHA-256 (a Redis dump or slow-log never shows a redeemable ticket). Redemption
 * is a compare-and-delete, so of two redemptions at once, on one instance or two, exactly one wins.
 */
@Injectable()
export class LinkTickets {
  constructor(
    private readonly store: KvStore,
    private readonly random: Random,
  ) {}

  async issue(userId: string): Promise<{ linkTicket: string; expiresIn: number }> {
    const linkTicket = this.random.bytes(32).toString('base64url');
    await this.store.set(keyOf(linkTicket), userId, LINK_TICKET_TTL_S * 1000);
    return { linkTicket, expiresIn: LINK_TICKET_TTL_S };
  }

  /** The ticket's user, spending the ticket; unknown, expired or spent → 401 LINK_TICKET_INVALID. */
  async redeem(linkTicket: string): Promise<string> {
    if (!LINK_TICKET_PATTERN.test(linkTicket)) throw new AppException('LINK_TICKET_INVALID');
    const userId = await takeOnce(this.store, keyOf(linkTicket));
    if (userId === null) throw new AppException('LINK_TICKET_INVALID');
    return userId;
  }
}

function keyOf(linkTicket: string): string {
  return StoreKeys.linkTicket(createHash('sha256').update(linkTicket, 'utf8').digest('base64url'));
}
