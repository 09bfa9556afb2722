import { Logger } from '@nestjs/common';
import type { DataSource, Repository } from 'typeorm';
import { FakeClock } from '../common/clock/fake-clock';
import { AppException } from '../common/errors/app.exception';
import { Random } from '../common/random/random';
import { createInMemoryDataSource } from '../testing/in-memory-database';
import { testConfig } from '../testing/test-config';
import { encodeCursor } from './audit-cursor';
import { AuditService, type AuditEventInput, type AuthEventView } from './audit.service';
import { AuthEvent } from './auth-event.entity';
import { EVENT_ID_PATTERN } from './event-id';

const USER_A = '11111111-1111-4111-8111-111111111111';
const USER_B = '22222222-2222-4222-8222-222222222222';
const ADMIN = '33333333-3333-4333-8333-333333333333';
const SESSION = '44444444-4444-4444-8444-444444444444';
const DAY = 86_400_000;

describe('AuditService (in-memory SQLite)', () => {
  let dataSource: DataSource;
  let repo: Repository<AuthEvent>;
  let clock: FakeClock;
  let audit: AuditService;
  let warnings: string[];
  /** The structured fields of each warning (`{}` for a plain message). */
  let warningFields: Record<string, unknown>[];

  beforeEach(async () => {
    dataSource = await createInMemoryDataSource();
    repo = dataSource.getRepository(AuthEvent);
    clock = new FakeClock(Date.UTC(2026, 5, 1, 12, 0, 0, 123));
    audit = new AuditService(repo, clock, new Random(), testConfig({ AUDIT_RETENTION_DAYS: '30' }));
    warnings = [];
    warningFields = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((first: unknown, ...rest: unknown[]) => {
      const fields = typeof first === 'object' && first !== null;
      warnings.push(String(fields ? rest[0] : first));
      warningFields.push(fields ? (first as Record<string, unknown>) : {});
    });
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    if (dataSource.isInitialized) await dataSource.destroy();
  });

  /** Records `event` with the request context a controller would pass (`@ReqContext()`). */
  const recordInRequest = (
    event: AuditEventInput,
    requestId = '0b5e3f7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    clientIp = '203.0.113.7',
    /** Whether the id was minted by the app (else the client chose it: X-Request-Id). */
    minted = true,
  ): Promise<void> => {
    const context = minted
      ? { requestId, clientIp, requestIdMinted: true as const }
      : { requestId, clientIp };
    return audit.record({ ...event, context });
  };

  /** Every stored cell of every row, as text: a secret must appear in none of them. */
  const storedText = async (): Promise<string> => JSON.stringify(await repo.find());

  describe('record', () => {
    it('stores the event with the time of the Clock (ms) and the request id and IP of the request context', async () => {
      await recordInRequest({
        type: 'login.failed',
        userId: USER_A,
        appid: 'wxApp_One',
        sessionId: SESSION,
        reason: 'WX_CODE_INVALID',
        details: { wxErrcode: 40029 },
      });
      const [row] = await repo.find();
      expect(row).toEqual({
        id: expect.stringMatching(EVENT_ID_PATTERN),
        occurredAt: new Date(Date.UTC(2026, 5, 1, 12, 0, 0, 123)),
        type: 'login.failed',
        userId: USER_A,
        actorId: null,
        appid: 'wxApp_One',
        sessionId: SESSION,
        reason: 'WX_CODE_INVALID',
        requestId: '0b5e3f7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
        clientIp: '203.0.113.7',
        details: '{"wxErrcode":40029}',
      });
      expect(warnings).toEqual([]);
    });

    it('outside a request, stores no request id and no IP', async () => {
      await audit.record({ type: 'session.evicted', userId: USER_A, details: { initiator: 'system' } });
      expect(await repo.findOneByOrFail({ userId: USER_A })).toMatchObject({
        requestId: null,
        clientIp: null,
      });
    });

    it('keeps only an IP that is an IP and a request id that is safe', async () => {
      await recordInRequest({ type: 'token.refreshed', userId: USER_A }, 'x'.repeat(65), 'not-an-ip');
      await recordInRequest(
        { type: 'token.refreshed', userId: USER_B },
        '1c6f4a8b-2d3e-4f60-9bac-1d2e3f4a5b6c',
        '2001:db8::1',
      );
      expect(await repo.findOneByOrFail({ userId: USER_A })).toMatchObject({
        requestId: null,
        clientIp: null,
      });
      expect(await repo.findOneByOrFail({ userId: USER_B })).toMatchObject({
        requestId: '1c6f4a8b-2d3e-4f60-9bac-1d2e3f4a5b6c',
        clientIp: '2001:db8::1',
      });
    });

    it("never keeps a request id the client chose, even a UUID (only the app's own ids are evidence)", async () => {
      await recordInRequest(
        { type: 'token.refreshed', userId: USER_A },
        '1c6f4a8b-2d3e-4f60-9bac-1d2e3f4a5b6c',
        '10.0.0.1',
        false,
      );
      expect(await repo.findOneByOrFail({ userId: USER_A })).toMatchObject({
        requestId: null,
        clientIp: '10.0.0.1',
      });
    });

    it.each([
      ['a phone number', '13912345678'],
      ['a refresh token', 'dGhpc2lzYXJlZnJlc2h0b2tlbmZvcnRlc3RpbmcxMjM0NTY'],
      ['a login code', '0a3Bc9ll2sE7Xx0k1lXl2d2wAB3Bc9lX'],
    ])('never keeps a client-chosen X-Request-Id that is not a UUID (%s)', async (_name, requestId) => {
      await recordInRequest({ type: 'token.refreshed', userId: USER_A }, requestId, '10.0.0.1');
      expect(await repo.findOneByOrFail({ userId: USER_A })).toMatchObject({ requestId: null });
    });

    describe('the details allowlist (what is not admitted is dropped, and never logged)', () => {
      const phone = '13800138000';
      const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl';
      const refresh = 'dGhpc2lzYXJlZnJlc2h0b2tlbmZvcnRlc3RpbmcxMjM0NTY';
      const code = '0a3Bc9ll2sE7Xx0k1lXl2d2wAB3Bc9lX';
      const sessionKey = 'tiihtNczf5v6AKRyjwEUhQ==';

      const admitted = () => ({
        count: 3,
        wxErrcode: -1,
        secondsSinceRotation: 12,
        isNewUser: true,
        previousStatus: 'active',
        roles: 'admin,user',
        previousRoles: 'user',
        mergedUserId: USER_B,
        initiator: 'admin',
      });

      const cases: Array<[string, AuditEventInput['details'] | unknown, Record<string, unknown> | null]> = [
        ['an unknown key', { phone }, null],
        ['an unknown key beside a known one', { count: 2, phoneNumber: phone }, { count: 2 }],
        ['a phone number as an allowed integer', { count: Number(phone) }, null],
        ['a phone number as an errcode', { wxErrcode: 13800138 }, null],
        ['a phone number as a role list', { roles: phone }, null],
        ['a JWT as a role list', { roles: jwt }, null],
        ['a refresh token as a UUID field', { mergedUserId: refresh }, null],
        ['a login code as an enum', { initiator: code }, null],
        ['a session_key under a lookalike key', { sessionKey }, null],
        ['a string where an integer belongs', { count: '3' }, null],
        ['a float where an integer belongs', { count: 1.5 }, null],
        ['an object value', { count: { valueOf: 3 } }, null],
        ['a number where a boolean belongs', { isNewUser: 1 }, null],
        [
          'prototype-named keys',
          JSON.parse('{"__proto__":{"count":1},"constructor":"x","toString":"y"}'),
          null,
        ],
        ['an array instead of an object', [1, 2], null],
        ['a string instead of an object', jwt, null],
        // Kept as sent: a fresh copy for the input and one for the expectation.
        ['admitted values of every kind', admitted(), admitted()],
      ];

      it.each(cases)('%s', async (_name, details, expected) => {
        await recordInRequest({
          type: 'user.roles_changed',
          userId: USER_A,
          details: details as AuditEventInput['details'],
        });
        const row = await repo.findOneByOrFail({ userId: USER_A });
        expect(row.details === null ? null : JSON.parse(row.details)).toEqual(expected);
        const text = await storedText();
        for (const secret of [phone, '13800138', jwt, refresh, code, sessionKey])
          expect(text).not.toContain(secret);
        const logged = warnings.join('\n');
        for (const secret of [phone, '13800138', jwt, refresh, code, sessionKey])
          expect(logged).not.toContain(secret);
        if (expected === null || Object.keys(expected).length < Object.keys(details as object).length) {
          expect(logged).toMatch(/user\.roles_changed: dropped details\./);
        }
      });

      it('trims whole entries, never a value, to stay within 1 KB', async () => {
        const many = Array.from(
          { length: 16 },
          (_, i) => 'r' + 'x'.repeat(30) + String.fromCharCode(97 + i),
        ).join(',');
        await audit.record({
          type: 'user.roles_changed',
          userId: USER_A,
          details: { count: 1, roles: many, previousRoles: many },
        });
        const row = await repo.findOneByOrFail({ userId: USER_A });
        expect(row.details!.length).toBeLessThanOrEqual(1024);
        expect(JSON.parse(row.details!)).toEqual({ count: 1, roles: many });
        expect(warnings.join('\n')).toContain('dropped details.previousRoles');
      });
    });

    it.each<[string, Partial<AuditEventInput>]>([
      ['a token as the user id', { userId: 'eyJhbGciOiJIUzI1NiJ9.e30.sig' }],
      ['a login code as the session id', { sessionId: '0a3Bc9ll2sE7Xx0k1lXl2d2wAB3Bc9lX' }],
      ['a message as the reason', { reason: 'code 0a3Bc9ll is invalid' }],
      ['a phone number as the actor', { actorId: '13800138000' }],
      ['a URL as the appid', { appid: 'https://x.test/?code=1' }],
    ])('drops a malformed column value: %s', async (_name, fields) => {
      await audit.record({ type: 'login.failed', ...fields });
      const [row] = await repo.find();
      const field = Object.keys(fields)[0] as keyof AuthEvent;
      expect(row[field]).toBeNull();
      expect(warnings.join('\n')).toContain(`dropped ${field}`);
      expect(warnings.join('\n')).not.toContain(String(Object.values(fields)[0]));
    });

    it('never rejects: an unknown type is refused with a warning', async () => {
      await expect(audit.record({ type: 'login.hacked' as never, userId: USER_A })).resolves.toBeUndefined();
      expect(await repo.count()).toBe(0);
      expect(warnings).toEqual(['audit event unknown not recorded (invalid type); the request went on']);
    });

    it('never rejects when the database fails, and the warning carries no ids or details', async () => {
      await dataSource.query('DROP TABLE auth_events');
      await expect(
        recordInRequest({
          type: 'login.succeeded',
          userId: USER_A,
          appid: 'wxapp_one',
          details: { isNewUser: true },
        }),
      ).resolves.toBeUndefined();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^audit event login\.succeeded not recorded \(SQLITE_ERROR\)/);
      expect(warnings[0]).not.toMatch(new RegExp(`${USER_A}|wxapp_one|isNewUser|203\\.0\\.113\\.7`));
      // The request's id ties the warning to the request's other lines; nothing else of the context.
      expect(warningFields[0]).toEqual({ requestId: '0b5e3f7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b' });
    });

    it('never rejects when the connection is gone', async () => {
      await dataSource.destroy();
      await expect(audit.record({ type: 'token.refreshed', userId: USER_A })).resolves.toBeUndefined();
      expect(warnings[0]).toMatch(/^audit event token\.refreshed not recorded/);
    });

    it('fire-and-forget writes can be awaited with settled()', async () => {
      for (let i = 0; i < 20; i++) void audit.record({ type: 'token.refreshed', userId: USER_A });
      await audit.settled();
      expect(await repo.count()).toBe(20);
    });

    it('offers no way to change a recorded event', () => {
      const methods = Object.getOwnPropertyNames(AuditService.prototype);
      expect(
        methods.filter((m) => /^(update|edit|modify|replace|patch|upsert|save)|^set[A-Z]/.test(m)),
      ).toEqual([]);
    });
  });

  describe('list', () => {
    /** Seeds events a ms apart (some in the same ms), newest last; returns their ids newest first. */
    const seed = async (n: number, sameMsEvery = 3): Promise<string[]> => {
      for (let i = 0; i < n; i++) {
        if (i % sameMsEvery !== 0) clock.advance(0);
        else clock.advance(1);
        await audit.record({ type: 'token.refreshed', userId: USER_A });
      }
      const rows = await repo.find();
      return rows
        .sort((a, b) => b.occurredAt.getTime() - a.occurredAt.getTime() || (a.id < b.id ? 1 : -1))
        .map((r) => r.id);
    };

    const all = async (filter = {}, limit = 3): Promise<AuthEventView[]> => {
      const out: AuthEventView[] = [];
      let cursor: string | undefined;
      do {
        const page = await audit.list(filter, { limit, cursor });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        out.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return out;
    };

    it('returns the API view, newest first', async () => {
      await recordInRequest({
        type: 'login.succeeded',
        userId: USER_A,
        appid: 'wxapp_one',
        details: { isNewUser: true },
      });
      clock.advance(5);
      await audit.record({ type: 'user.disabled', userId: USER_A, actorId: ADMIN });
      const page = await audit.list({});
      expect(page.nextCursor).toBeNull();
      expect(page.items).toEqual([
        expect.objectContaining({
          type: 'user.disabled',
          actorId: ADMIN,
          occurredAt: '2026-06-01T12:00:00.128Z',
        }),
        {
          id: expect.stringMatching(EVENT_ID_PATTERN),
          occurredAt: '2026-06-01T12:00:00.123Z',
          type: 'login.succeeded',
          userId: USER_A,
          actorId: null,
          appid: 'wxapp_one',
          sessionId: null,
          reason: null,
          requestId: '0b5e3f7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
          clientIp: '203.0.113.7',
          details: { isNewUser: true },
        },
      ]);
    });

    it('pages through everything once, ties within a millisecond included, in (occurred_at, id) order', async () => {
      const ids = await seed(10);
      const pages = await all({}, 3);
      expect(pages.map((e) => e.id)).toEqual(ids);
      // Same-ms events of one instance are in insertion order too (monotonic ids).
      const rows = await repo.find({ order: { id: 'ASC' } });
      expect([...ids].reverse()).toEqual(rows.map((r) => r.id));
    });

    it('is stable while events are appended between pages: no repeats, no gaps', async () => {
      const ids = await seed(7);
      const first = await audit.list({}, { limit: 3 });
      await seed(4); // newer events (also in the same ms as the newest seen)
      const seen = [...first.items.map((e) => e.id)];
      let cursor = first.nextCursor;
      while (cursor) {
        const page = await audit.list({}, { limit: 3, cursor });
        seen.push(...page.items.map((e) => e.id));
        cursor = page.nextCursor;
      }
      expect(seen).toEqual(ids);
    });

    it('the last full page has no next cursor when nothing follows', async () => {
      await seed(4);
      const page = await audit.list({}, { limit: 4 });
      expect(page.items).toHaveLength(4);
      expect(page.nextCursor).toBeNull();
    });

    it('filters by user, type, appid and [from, to)', async () => {
      await audit.record({ type: 'login.succeeded', userId: USER_A, appid: 'wxapp_one' }); // t0
      clock.advance(1000);
      await audit.record({
        type: 'login.failed',
        userId: USER_B,
        appid: 'wxapp_two',
        reason: 'WX_CODE_INVALID',
      }); // t1
      clock.advance(1000);
      await audit.record({ type: 'login.succeeded', userId: USER_B, appid: 'wxApp_one' }); // t2
      const t0 = new Date(Date.UTC(2026, 5, 1, 12, 0, 0, 123));
      const t = (ms: number) => new Date(t0.getTime() + ms);
      const types = async (filter: object) =>
        (await audit.list(filter)).items.map(
          (e) => `${e.type}/${e.userId === USER_A ? 'A' : 'B'}/${e.appid}`,
        );

      expect(await types({ userId: USER_B })).toEqual([
        'login.succeeded/B/wxApp_one',
        'login.failed/B/wxapp_two',
      ]);
      expect(await types({ type: 'login.succeeded' })).toEqual([
        'login.succeeded/B/wxApp_one',
        'login.succeeded/A/wxapp_one',
      ]);
      expect(await types({ appid: 'wxapp_one' })).toEqual(['login.succeeded/A/wxapp_one']); // case-sensitive
      expect(await types({ from: t(1000) })).toHaveLength(2); // inclusive, to the ms
      expect(await types({ from: t(1001) })).toHaveLength(1);
      expect(await types({ to: t(1000) })).toEqual(['login.succeeded/A/wxapp_one']); // exclusive
      expect(await types({ from: t(0), to: t(2000), userId: USER_B })).toEqual(['login.failed/B/wxapp_two']);
      expect(await all({ userId: USER_B }, 1)).toHaveLength(2);
    });

    it.each<[string, string]>([
      ['not base64url', '!!!'],
      ['base64url of not JSON', Buffer.from('nope').toString('base64url')],
      ['JSON of an array', Buffer.from('[1,2]').toString('base64url')],
      ['a missing id', Buffer.from('{"t":1}').toString('base64url')],
      ['an extra key', Buffer.from(`{"t":1,"id":"01KB5Q9X7M3N8P2R4S6T8V0W2Y","x":1}`).toString('base64url')],
      ['an id that is not a ULID', encodeCursor({ t: 1, id: "' OR 1=1 --" })],
      ['a lowercase id', encodeCursor({ t: 1, id: '01kb5q9x7m3n8p2r4s6t8v0w2y' })],
      ['a negative time', encodeCursor({ t: -1, id: '01KB5Q9X7M3N8P2R4S6T8V0W2Y' })],
      ['a fractional time', encodeCursor({ t: 1.5, id: '01KB5Q9X7M3N8P2R4S6T8V0W2Y' })],
      ['a time past year 9999', encodeCursor({ t: 8e15, id: '01KB5Q9X7M3N8P2R4S6T8V0W2Y' })],
      ['a string time', Buffer.from('{"t":"1","id":"01KB5Q9X7M3N8P2R4S6T8V0W2Y"}').toString('base64url')],
      ['an over-long cursor', 'A'.repeat(513)],
      ['an empty cursor', ''],
    ])('refuses a tampered cursor (%s) with VALIDATION_FAILED', async (_name, cursor) => {
      await seed(2);
      const error = await audit.list({}, { limit: 1, cursor }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppException);
      expect((error as AppException).code).toBe('VALIDATION_FAILED');
    });

    it('accepts a well-formed cursor it did not make (it only says where to resume)', async () => {
      await seed(3);
      const page = await audit.list(
        {},
        { cursor: encodeCursor({ t: Date.UTC(2100, 0, 1), id: 'Z'.repeat(26) }) },
      );
      expect(page.items).toHaveLength(3);
    });

    it.each([0, 101, 1.5, NaN])('refuses limit %p with VALIDATION_FAILED', async (limit) => {
      await expect(audit.list({}, { limit })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    });

    it('refuses an invalid date filter with VALIDATION_FAILED', async () => {
      await expect(audit.list({ from: new Date('nope') })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
    });

    it('defaults to 50 per page', async () => {
      await seed(51, 1);
      const page = await audit.list({});
      expect(page.items).toHaveLength(50);
      expect(page.nextCursor).not.toBeNull();
    });
  });

  describe('purgeOlderThan', () => {
    const at = async (ageMs: number, userId = USER_A): Promise<void> => {
      const real = clock.now();
      const shifted = new FakeClock(real - ageMs);
      const writer = new AuditService(repo, shifted, new Random(), testConfig());
      await writer.record({ type: 'token.refreshed', userId });
    };

    it('deletes what is older than the retention (AUDIT_RETENTION_DAYS by default) and keeps the rest', async () => {
      await at(31 * DAY);
      await at(30 * DAY + 1);
      await at(30 * DAY); // exactly at the cutoff: kept
      await at(29 * DAY);
      await at(0);
      expect(await audit.purgeOlderThan()).toBe(2);
      expect(await repo.count()).toBe(3);
      expect(await audit.purgeOlderThan(1)).toBe(2);
      expect(await repo.count()).toBe(1);
      expect(await audit.purgeOlderThan()).toBe(0);
    });

    it('purges in batches past 500 rows', async () => {
      const old = clock.now() - 200 * DAY;
      const rows = Array.from({ length: 1201 }, (_, i) => ({
        id: `01${String(i).padStart(24, '0')}`,
        occurredAt: new Date(old + i),
        type: 'token.refreshed' as const,
        userId: null,
        actorId: null,
        appid: null,
        sessionId: null,
        reason: null,
        requestId: null,
        clientIp: null,
        details: null,
      }));
      for (let i = 0; i < rows.length; i += 200) await repo.insert(rows.slice(i, i + 200));
      await at(0);
      expect(await audit.purgeOlderThan(180)).toBe(1201);
      expect(await repo.count()).toBe(1);
    });

    it('refuses a retention that is not a whole number of days', async () => {
      await expect(audit.purgeOlderThan(0)).rejects.toThrow(/retention/);
      await expect(audit.purgeOlderThan(1.5)).rejects.toThrow(/retention/);
    });
  });

  describe('forgetUser', () => {
    it("keeps the user's events but erases their IP and details; other users are untouched", async () => {
      await recordInRequest({ type: 'login.succeeded', userId: USER_A, details: { isNewUser: true } });
      await recordInRequest({
        type: 'user.roles_changed',
        userId: USER_A,
        actorId: ADMIN,
        details: { roles: 'admin' },
      });
      await recordInRequest({ type: 'login.succeeded', userId: USER_B, details: { isNewUser: false } });
      // USER_A acting as an admin on someone else: that IP was USER_A's.
      await recordInRequest(
        {
          type: 'user.disabled',
          userId: USER_B,
          actorId: USER_A,
          details: { previousStatus: 'active' },
        },
        'req-0000-0009',
        '198.51.100.4',
      );
      void recordInRequest({ type: 'user.deleted', userId: USER_A, details: { initiator: 'self' } }); // in flight

      await audit.forgetUser(USER_A);

      const rows = await repo.find({ order: { id: 'ASC' } });
      expect(rows).toHaveLength(5);
      expect(rows.filter((r) => r.userId === USER_A)).toEqual([
        expect.objectContaining({
          type: 'login.succeeded',
          clientIp: null,
          details: null,
          requestId: '0b5e3f7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
        }),
        expect.objectContaining({
          type: 'user.roles_changed',
          actorId: ADMIN,
          clientIp: null,
          details: null,
        }),
        expect.objectContaining({ type: 'user.deleted', clientIp: null, details: null }),
      ]);
      expect(rows.filter((r) => r.userId === USER_B)).toEqual([
        expect.objectContaining({
          type: 'login.succeeded',
          clientIp: '203.0.113.7',
          details: '{"isNewUser":false}',
        }),
        expect.objectContaining({
          type: 'user.disabled',
          actorId: USER_A,
          clientIp: null,
          details: '{"previousStatus":"active"}',
        }),
      ]);
      expect(await storedText()).not.toContain('198.51.100.4');
    });
  });
});
