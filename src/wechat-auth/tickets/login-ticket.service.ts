import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { SecretBox } from '../../common/crypto/secret-box';
import { AppException } from '../../common/errors/app.exception';
import { Random } from '../../common/random/random';
import { KvStore } from '../../common/store/kv-store';
import { StoreKeys } from '../../common/store/store-keys';
import { takeOnce } from '../../common/store/take-once';
import { toLoginResponse, type LoginResponse } from '../login/dto/login.response';
import type { WechatLogin } from '../sign-in/sign-in.service';

/** A ticket is redeemed by the page it was delivered to, right after the redirect: a minute is plenty. */
export const TICKET_TTL_MS = 60_000;

/** 32 random bytes, base64url: what `issue` hands out; anything else is refused before the store. */
const TICKET = /^[A-Za-z0-9_-]{43}$/;

function ticketKey(ticket: string): string {
  return StoreKeys.loginTicket(createHash('sha256').update(ticket).digest('hex'));
}

/**
 * One-time login tickets: the browser doors end in a redirect, and a URL must never carry a token, so the
 * redirect carries a ticket the page trades for the login answer (`POST /auth/tickets/redeem`).
 *
 * The answer waits in the shared store, sealed (AES-GCM, bound to its key) under the hash of the ticket:
 * a store dump holds neither tickets nor tokens. Redemption is a compare-and-delete of that exact value,
 * so of two redemptions at once (on any instances) exactly one gets the answer.
 */
@Injectable()
export class LoginTicketService {
  constructor(
    private readonly store: KvStore,
    private readonly box: SecretBox,
    private readonly random: Random,
  ) {}

  async issue(login: WechatLogin): Promise<string> {
    const ticket = this.random.bytes(32).toString('base64url');
    const key = ticketKey(ticket);
    await this.store.set(key, this.box.seal(JSON.stringify(toLoginResponse(login)), key), TICKET_TTL_MS);
    return ticket;
  }

  /** The login answer, once; 401 TICKET_INVALID for anything else (unknown, expired, spent, lost a race). */
  async redeem(ticket: string): Promise<LoginResponse> {
    if (!TICKET.test(ticket)) throw new AppException('TICKET_INVALID');
    const key = ticketKey(ticket);
    const sealed = await takeOnce(this.store, key);
    if (sealed === null) throw new AppException('TICKET_INVALID');
    try {
      return JSON.parse(this.box.open(sealed, key)) as LoginResponse;
    } catch (e) {
      // Sealed under a key that has since been rotated (or tampered with): as if absent.
      throw new AppException('TICKET_INVALID', { cause: e });
    }
  }
}
