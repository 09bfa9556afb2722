import { FakeClock } from '../common/clock/fake-clock';
import { Random } from '../common/random/random';
import { MemoryKvStore } from '../common/store/memory-kv-store';
import { LinkTickets } from './link-tickets';

describe('LinkTickets', () => {
  const setup = () => {
    const clock = new FakeClock();
    const store = new MemoryKvStore(clock);
    return { clock, store, tickets: new LinkTickets(store, new Random()) };
  };

  it('issues a random ticket for 5 minutes and redeems it once for its user', async () => {
    const { tickets } = setup();
    const a = await tickets.issue('user-1');
    const b = await tickets.issue('user-1');
    expect(a).toEqual({ linkTicket: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expiresIn: 300 });
    expect(a.linkTicket).not.toBe(b.linkTicket);
    await expect(tickets.redeem(a.linkTicket)).resolves.toBe('user-1');
    await expect(tickets.redeem(a.linkTicket)).rejects.toMatchObject({ code: 'LINK_TICKET_INVALID' });
    await expect(tickets.redeem(b.linkTicket)).resolves.toBe('user-1');
  });

  it('stores only a hash of the ticket', async () => {
    const { tickets, store } = setup();
    const { linkTicket } = await tickets.issue('user-1');
    const entries = await store.entries('');
    expect(entries).toHaveLength(1);
    expect(JSON.stringify(entries)).not.toContain(linkTicket);
    expect(entries[0][0]).toMatch(/^idlink:/);
  });

  it('expires after 5 minutes', async () => {
    const { tickets, clock } = setup();
    const { linkTicket } = await tickets.issue('user-1');
    clock.advance(300_001);
    await expect(tickets.redeem(linkTicket)).rejects.toMatchObject({ code: 'LINK_TICKET_INVALID' });
  });

  it('lets exactly one of many redemptions at once win', async () => {
    const { tickets } = setup();
    const { linkTicket } = await tickets.issue('user-1');
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => tickets.redeem(linkTicket)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('refuses unknown and malformed tickets without touching the store', async () => {
    const { tickets } = setup();
    await expect(tickets.redeem('x'.repeat(43))).rejects.toMatchObject({ code: 'LINK_TICKET_INVALID' });
    await expect(tickets.redeem('not a ticket')).rejects.toMatchObject({ code: 'LINK_TICKET_INVALID' });
  });
});
