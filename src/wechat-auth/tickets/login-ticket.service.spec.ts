import { FakeClock } from '../../common/clock/fake-clock';
import { SecretBox } from '../../common/crypto/secret-box';
import { AppException } from '../../common/errors/app.exception';
import { Random } from '../../common/random/random';
import { MemoryKvStore } from '../../common/store/memory-kv-store';
import type { WechatLogin } from '../sign-in/sign-in.service';
import { LoginTicketService, TICKET_TTL_MS } from './login-ticket.service';

const LOGIN = {
  user: { id: '6f1c4c1e-0000-4000-8000-000000000001', nickname: 'Alice', avatarUrl: null },
  appid: 'wxoa',
  isNew: true,
  tokens: {
    accessToken: 'access-token-value-0123456789',
    tokenType: 'Bearer',
    expiresIn: 900,
    refreshToken: 'refresh-token-value-0123456789',
    refreshExpiresIn: 2592000,
  },
} as unknown as WechatLogin;

describe('LoginTicketService', () => {
  let clock: FakeClock;
  let store: MemoryKvStore;
  let tickets: LoginTicketService;
  const box = new SecretBox(Buffer.alloc(32, 3));

  beforeEach(() => {
    clock = new FakeClock();
    store = new MemoryKvStore(clock);
    tickets = new LoginTicketService(store, box, new Random());
  });

  const codeOf = (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (e: unknown) => (e instanceof AppException ? e.code : String(e)),
    );

  it('redeems once into the login answer of the mini-program login', async () => {
    const ticket = await tickets.issue(LOGIN);
    expect(ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await tickets.redeem(ticket)).toEqual({
      ...LOGIN.tokens,
      user: { id: LOGIN.user.id, nickname: 'Alice', avatarUrl: null, isNew: true },
    });
    expect(await codeOf(tickets.redeem(ticket))).toBe('TICKET_INVALID');
  });

  it('the store holds neither the ticket nor the tokens', async () => {
    const ticket = await tickets.issue(LOGIN);
    const dump = JSON.stringify(await store.entries(''));
    for (const secret of [ticket, LOGIN.tokens.accessToken, LOGIN.tokens.refreshToken, 'Alice'])
      expect(dump).not.toContain(secret);
  });

  it('of ten redemptions at once, exactly one wins', async () => {
    const ticket = await tickets.issue(LOGIN);
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => codeOf(tickets.redeem(ticket))));
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'TICKET_INVALID')).toHaveLength(9);
  });

  it('expires after 60 s; malformed and unknown tickets are invalid', async () => {
    const ticket = await tickets.issue(LOGIN);
    clock.advance(TICKET_TTL_MS);
    expect(await codeOf(tickets.redeem(ticket))).toBe('TICKET_INVALID');
    for (const bad of ['', 'short', 'x'.repeat(43), `${ticket}x`, '../../etc'])
      expect(await codeOf(tickets.redeem(bad))).toBe('TICKET_INVALID');
  });

  it('a ticket sealed under another key (rotated SESSION_KEY_ENCRYPTION_KEY) is invalid, not a 500', async () => {
    const ticket = await tickets.issue(LOGIN);
    const rotated = new LoginTicketService(store, new SecretBox(Buffer.alloc(32, 4)), new Random());
    expect(await codeOf(rotated.redeem(ticket))).toBe('TICKET_INVALID');
  });
});
