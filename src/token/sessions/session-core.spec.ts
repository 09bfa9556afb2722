import { JwtService } from '@nestjs/jwt';
import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { type DataSource, IsNull, QueryFailedError, type Repository } from 'typeorm';
import type { AuditEventInput, AuditService } from '../../audit/audit.service';
import { FakeClock } from '../../common/clock/fake-clock';
import { SecretBox } from '../../common/crypto/secret-box';
import { AppException } from '../../common/errors/app.exception';
import type { ErrorCode } from '../../common/errors/error-codes';
import { Random } from '../../common/random/random';
import { KvStore } from '../../common/store/kv-store';
import { MemoryKvStore } from '../../common/store/memory-kv-store';
import type { AppConfig, SessionsConfig } from '../../config/app-config';
import { secretKey } from '../../config/jwt-keys';
import type { TransactionRunner } from '../../database/transaction-runner';
import {
  createInMemoryDataSource,
  createUsersService,
  transactionRunnerFor,
} from '../../testing/in-memory-database';
import { User } from '../../users/user.entity';
import type { UsersService } from '../../users/users.service';
import { AccessTokenService } from '../access-token.service';
import { JwtKeyManager } from '../keys/jwt-key-manager';
import { RefreshToken } from '../refresh-token.entity';
import { RevocationService } from '../revocation/revocation.service';
import { RefreshService, SUCCESSOR_WAIT_MS, successorKey } from './refresh.service';
import { SessionService } from './session.service';
import { hashRefreshToken, TokenIssuer } from './token-issuer';
import type { TokenPair } from '../token-pair';

const ACCESS_TTL = 900;
const REFRESH_TTL = 3600;
const REUSE_INTERVAL = 10;
/** Past the reuse interval and the timestamp slack: presenting a rotated token is reuse again. */
const AFTER_INTERVAL_MS = (REUSE_INTERVAL + 2) * 1000;

async function expectAppError(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppException);
  expect((error as AppException).code).toBe(code);
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Lets a promise that sleeps on the fake clock finish, moving time 1 ms per turn. */
async function settle<T>(promise: Promise<T>, clock: FakeClock, limitMs = 10_000): Promise<Outcome<T>> {
  let outcome: Outcome<T> | undefined;
  promise.then(
    (value) => (outcome = { ok: true, value }),
    (error: unknown) => (outcome = { ok: false, error }),
  );
  for (let waited = 0; ; waited++) {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    if (outcome) return outcome;
    if (waited >= limitMs) throw new Error(`still pending after ${limitMs} ms of fake time`);
    clock.advance(1);
  }
}

function codeOf(o: Outcome<unknown>): string {
  if (o.ok) return 'ok';
  return o.error instanceof AppException ? o.error.code : String(o.error);
}

/** A deadlock as mysql2 reports it, through TypeORM. */
function deadlock(): QueryFailedError {
  return new QueryFailedError(
    'UPDATE …',
    [],
    Object.assign(new Error('Deadlock found'), { code: 'ER_LOCK_DEADLOCK' }),
  );
}

describe('SessionService + RefreshService (in-memory SQLite)', () => {
  const hsKey = secretKey('unit-test-jwt-secret-0123456789-abcdefghij', 'secret');
  const makeConfig = (sessions: Partial<SessionsConfig> = {}) =>
    ({
      jwt: {
        secret: hsKey.signingKey,
        keys: [hsKey],
        issuer: 'wechat-auth',
        audience: 'miniprogram',
        accessTtlSeconds: ACCESS_TTL,
        refreshTtlSeconds: REFRESH_TTL,
      },
      sessions: { refreshReuseIntervalSeconds: REUSE_INTERVAL, maxPerUser: 0, ...sessions },
      redis: { outageGraceSeconds: 30 },
    }) as unknown as AppConfig;
  const config = makeConfig();
  const box = new SecretBox(Buffer.alloc(32, 9));

  let dataSource: DataSource;
  let clock: FakeClock;
  let refreshRepo: Repository<RefreshToken>;
  let tx: TransactionRunner;
  let usersService: UsersService;
  let access: AccessTokenService;
  let store: KvStore;
  let random: Random;
  let revocations: RevocationService;
  let tokens: Core;
  let alice: User;
  let bob: User;

  beforeEach(async () => {
    // Eviction and store-failure notes are logged; keep the test output readable.
    for (const m of ['log', 'warn'] as const)
      jest.spyOn(Logger.prototype, m).mockImplementation(() => undefined);
    dataSource = await createInMemoryDataSource();
    clock = new FakeClock();
    random = new Random();
    store = new MemoryKvStore(clock);
    revocations = new RevocationService(store, clock, config);
    tx = transactionRunnerFor(dataSource, clock);
    refreshRepo = dataSource.getRepository(RefreshToken);
    usersService = createUsersService(dataSource, clock, random);
    access = new AccessTokenService(new JwtService(), new JwtKeyManager(config), config, clock, random);
    tokens = build();

    alice = (await usersService.resolveIdentity({ appid: 'wxapp', openid: 'o-alice', sessionKey: 'k1' }))
      .user;
    bob = (await usersService.resolveIdentity({ appid: 'wxapp', openid: 'o-bob', sessionKey: 'k2' })).user;
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await dataSource.destroy();
  });

  /** What the audit trail was told, in order. */
  const audit = {
    events: [] as AuditEventInput[],
    record: (e: AuditEventInput) => (audit.events.push(e), Promise.resolve()),
  };

  interface Core {
    sessions: SessionService;
    rotation: RefreshService;
  }

  function build(opts: { config?: AppConfig; tx?: TransactionRunner; store?: KvStore } = {}): Core {
    const cfg = opts.config ?? config;
    const issuer = new TokenIssuer(access, cfg, clock, random);
    const sessions = new SessionService(
      refreshRepo,
      issuer,
      usersService,
      opts.tx ?? tx,
      cfg,
      clock,
      random,
      revocations,
      audit as unknown as AuditService,
    );
    const rotation = new RefreshService(
      refreshRepo,
      issuer,
      sessions,
      usersService,
      opts.tx ?? tx,
      cfg,
      clock,
      opts.store ?? store,
      box,
      revocations,
      audit as unknown as AuditService,
    );
    return { sessions, rotation };
  }

  /** The session (refresh family) a pair belongs to, as its access token says. */
  async function sessionOf(pair: TokenPair): Promise<{ userId: string; sessionId: string }> {
    const p = await access.verify(pair.accessToken);
    return { userId: p.userId, sessionId: p.sessionId };
  }

  describe('audit trail', () => {
    it('records refresh, logout, logout-all and detected reuse, with ids only', async () => {
      audit.events.length = 0;
      const service = build({ config: makeConfig({ refreshReuseIntervalSeconds: 0 }) });
      const first = await service.sessions.start(alice, 'wxapp');
      const second = await service.rotation.refresh(first.refreshToken);
      await expect(service.rotation.refresh(first.refreshToken)).rejects.toMatchObject({
        code: 'REFRESH_TOKEN_REUSED',
      });
      const other = await service.sessions.start(alice, 'wxapp');
      await service.sessions.logout(await sessionOf(other), {});
      await service.sessions.logout(await sessionOf(second), { all: true });
      expect(audit.events.map((e) => e.type)).toEqual([
        'token.refreshed',
        'token.reuse_detected',
        'session.logged_out',
        'sessions.logged_out_all',
      ]);
      expect(audit.events[1]).toMatchObject({ userId: alice.id, reason: 'REFRESH_TOKEN_REUSED' });
      expect(JSON.stringify(audit.events)).not.toContain(first.refreshToken);
    });
  });

  describe('issue', () => {
    it('returns a Bearer pair whose access token names the user, app and a new session', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      expect(pair).toMatchObject({
        tokenType: 'Bearer',
        expiresIn: ACCESS_TTL,
        refreshExpiresIn: REFRESH_TTL,
      });
      expect(pair.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const principal = await access.verify(pair.accessToken);
      expect(principal).toMatchObject({ userId: alice.id, appid: 'wxapp', roles: ['user'] });

      const rows = await refreshRepo.find();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        familyId: principal.sessionId,
        userId: alice.id,
        appid: 'wxapp',
        revokedAt: null,
        replacedBy: null,
        expiresAt: new Date(clock.now() + REFRESH_TTL * 1000),
      });
    });

    it('a user whose roles changed since the caller read it: the token carries the current roles', async () => {
      // The login read alice with ['user']; an admin made her an admin before the session's row was written.
      await dataSource.getRepository(User).update({ id: alice.id }, { roles: ['admin', 'user'] });
      const pair = await tokens.sessions.start(alice, 'wxapp');
      expect((await access.verify(pair.accessToken)).roles).toEqual(['admin', 'user']);
      expect(await refreshRepo.count()).toBe(1);
    });

    it('a user disabled since the caller read it: USER_DISABLED, and the session is not handed out', async () => {
      await dataSource.getRepository(User).update({ id: alice.id }, { status: 'disabled' });
      await expectAppError(tokens.sessions.start(alice, 'wxapp'), 'USER_DISABLED');
    });

    it('stores only the SHA-256 of the refresh token', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      const rows: Record<string, unknown>[] = await dataSource.query('SELECT * FROM refresh_tokens');
      expect(rows).toHaveLength(1);
      expect(rows[0].token_hash).toBe(createHash('sha256').update(pair.refreshToken).digest('hex'));
      expect(JSON.stringify(rows)).not.toContain(pair.refreshToken);
    });
  });

  describe('refresh', () => {
    it('a role change landing right after a refresh read the user: the refresh starts over and carries the new roles', async () => {
      const first = await tokens.sessions.start(alice, 'wxapp');
      const rows = tokens.sessions.rows;
      const read = rows.byHashWithUser.bind(rows);
      // The admin's change commits (roles, then the revocation) right after the refresh read its row and
      // user, before it read the epoch: without the rotation's condition on the user, the token would
      // carry the old roles under the new epoch, and nothing would revoke it.
      jest.spyOn(rows, 'byHashWithUser').mockImplementationOnce(async (hash) => {
        const before = await read(hash);
        await dataSource.getRepository(User).update({ id: alice.id }, { roles: ['admin', 'user'] });
        await revocations.revokeUser(alice.id);
        return before;
      });
      const raced = await access.verify((await tokens.rotation.refresh(first.refreshToken)).accessToken);
      expect(raced.roles).toEqual(['admin', 'user']);
      expect(revocations.isRevoked(raced)).toBe(false);
      expect(rows.byHashWithUser).toHaveBeenCalledTimes(2);
    });

    it('a role change landing after a refresh read the epoch: the rotation matches nothing and the refresh starts over', async () => {
      const first = await tokens.sessions.start(alice, 'wxapp');
      const epochFor = revocations.epochFor.bind(revocations);
      jest.spyOn(revocations, 'epochFor').mockImplementationOnce(async (id) => {
        const epoch = await epochFor(id);
        // The change commits after the epoch was read, before the rotation: the rotation matches nothing.
        await dataSource.getRepository(User).update({ id }, { roles: ['admin', 'user'] });
        await revocations.revokeUser(id);
        return epoch;
      });
      const raced = await access.verify((await tokens.rotation.refresh(first.refreshToken)).accessToken);
      // Started over: the new roles under the new epoch.
      expect(raced.roles).toEqual(['admin', 'user']);
      expect(revocations.isRevoked(raced)).toBe(false);
    });

    it('rotates: the old token dies, the new one works, and the session stays the same', async () => {
      const first = await tokens.sessions.start(alice, 'wxapp');
      clock.advance(1000);
      const second = await tokens.rotation.refresh(first.refreshToken);

      expect(second.refreshToken).not.toBe(first.refreshToken);
      expect(await sessionOf(second)).toEqual(await sessionOf(first));
      clock.advance(AFTER_INTERVAL_MS);
      await expectAppError(tokens.rotation.refresh(first.refreshToken), 'REFRESH_TOKEN_REUSED');

      const oldRow = await refreshRepo.findOneByOrFail({
        tokenHash: createHash('sha256').update(first.refreshToken).digest('hex'),
      });
      expect(oldRow.replacedBy).toEqual(expect.any(String));
    });

    it('keeps rotating within one family, each new refresh window starting now', async () => {
      let pair = await tokens.sessions.start(alice, 'wxapp');
      const { sessionId } = await sessionOf(pair);
      for (let i = 0; i < 3; i++) {
        clock.advance((REFRESH_TTL - 1) * 1000);
        pair = await tokens.rotation.refresh(pair.refreshToken);
      }
      expect((await sessionOf(pair)).sessionId).toBe(sessionId);
      expect(await refreshRepo.countBy({ familyId: sessionId })).toBe(4);
    });

    it('treats a rotated token presented again after the interval as reuse and revokes the whole family', async () => {
      const first = await tokens.sessions.start(alice, 'wxapp');
      const second = await tokens.rotation.refresh(first.refreshToken);
      const other = await tokens.sessions.start(alice, 'wxapp');

      clock.advance(AFTER_INTERVAL_MS);
      await expectAppError(tokens.rotation.refresh(first.refreshToken), 'REFRESH_TOKEN_REUSED');
      // The newest token of the family dies too; the user's other session does not.
      await expectAppError(tokens.rotation.refresh(second.refreshToken), 'REFRESH_TOKEN_INVALID');
      await expect(tokens.rotation.refresh(other.refreshToken)).resolves.toBeDefined();
      const family = await refreshRepo.findBy({ familyId: (await sessionOf(first)).sessionId });
      expect(family.every((r) => r.revokedAt !== null)).toBe(true);
    });

    it('rejects an expired refresh token', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      clock.advance(REFRESH_TTL * 1000);
      await expectAppError(tokens.rotation.refresh(pair.refreshToken), 'REFRESH_TOKEN_INVALID');
    });

    it('accepts a refresh token one second before it expires', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      clock.advance((REFRESH_TTL - 1) * 1000);
      await expect(tokens.rotation.refresh(pair.refreshToken)).resolves.toMatchObject({
        tokenType: 'Bearer',
      });
    });

    it('rejects an unknown token', async () => {
      await expectAppError(tokens.rotation.refresh('A'.repeat(43)), 'REFRESH_TOKEN_INVALID');
    });

    it('rejects a malformed token without touching the database', async () => {
      const findOne = jest.spyOn(refreshRepo, 'findOne');
      const run = jest.spyOn(tx, 'run');
      const single = jest.spyOn(tx, 'single');
      for (const bad of ['', 'short', 'A'.repeat(44), `${'A'.repeat(42)}=`, `${'A'.repeat(42)}+`]) {
        await expectAppError(tokens.rotation.refresh(bad), 'REFRESH_TOKEN_INVALID');
      }
      expect(findOne).not.toHaveBeenCalled();
      expect(run).not.toHaveBeenCalled();
      expect(single).not.toHaveBeenCalled();
    });

    it('refuses a disabled user and revokes the session', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      await dataSource.getRepository(User).update({ id: alice.id }, { status: 'disabled' });
      await expectAppError(tokens.rotation.refresh(pair.refreshToken), 'USER_DISABLED');

      // Re-enabling the account does not bring the revoked session back.
      await dataSource.getRepository(User).update({ id: alice.id }, { status: 'active' });
      await expectAppError(tokens.rotation.refresh(pair.refreshToken), 'REFRESH_TOKEN_INVALID');
    });

    it('rejects the token of a deleted user', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      await dataSource.getRepository(User).delete({ id: alice.id });
      await expectAppError(tokens.rotation.refresh(pair.refreshToken), 'REFRESH_TOKEN_INVALID');
    });

    it('answers two concurrent refreshes of one token with one pair, rotating once', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      const [a, b] = await Promise.all([
        settle(tokens.rotation.refresh(pair.refreshToken), clock),
        settle(tokens.rotation.refresh(pair.refreshToken), clock),
      ]);
      expect([codeOf(a), codeOf(b)]).toEqual(['ok', 'ok']);
      expect(a.ok && b.ok && a.value).toEqual(b.ok && b.value);
      // One successor: the presented token was rotated once.
      expect(await refreshRepo.count()).toBe(2);
    });

    it('puts the user’s current roles into the new access token', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      await dataSource.getRepository(User).update({ id: alice.id }, { roles: ['user', 'admin'] });
      const next = await tokens.rotation.refresh(pair.refreshToken);
      await expect(access.verify(next.accessToken)).resolves.toMatchObject({ roles: ['user', 'admin'] });
    });

    it('rejects a token revoked by logout as invalid, not as reuse', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      await tokens.sessions.logout(await sessionOf(pair), {});
      await expectAppError(tokens.rotation.refresh(pair.refreshToken), 'REFRESH_TOKEN_INVALID');
    });
  });

  describe('logout', () => {
    it('revokes the current session by its sessionId, leaving other sessions alone', async () => {
      const current = await tokens.sessions.start(alice, 'wxapp');
      const other = await tokens.sessions.start(alice, 'wxapp');
      await tokens.sessions.logout(await sessionOf(current), {});
      await expectAppError(tokens.rotation.refresh(current.refreshToken), 'REFRESH_TOKEN_INVALID');
      await expect(tokens.rotation.refresh(other.refreshToken)).resolves.toBeDefined();
    });

    it('revokes the session of a presented refresh token instead of the current one', async () => {
      const current = await tokens.sessions.start(alice, 'wxapp');
      const other = await tokens.sessions.start(alice, 'wxapp');
      await tokens.sessions.logout(await sessionOf(current), { refreshToken: other.refreshToken });
      await expectAppError(tokens.rotation.refresh(other.refreshToken), 'REFRESH_TOKEN_INVALID');
      await expect(tokens.rotation.refresh(current.refreshToken)).resolves.toBeDefined();
    });

    it('ignores someone else’s refresh token (and revokes nothing)', async () => {
      const mine = await tokens.sessions.start(alice, 'wxapp');
      const theirs = await tokens.sessions.start(bob, 'wxapp');
      await expect(
        tokens.sessions.logout(await sessionOf(mine), { refreshToken: theirs.refreshToken }),
      ).resolves.toBeUndefined();
      await expect(tokens.rotation.refresh(theirs.refreshToken)).resolves.toBeDefined();
      await expect(tokens.rotation.refresh(mine.refreshToken)).resolves.toBeDefined();
    });

    it('ignores an unknown refresh token', async () => {
      const mine = await tokens.sessions.start(alice, 'wxapp');
      await expect(
        tokens.sessions.logout(await sessionOf(mine), { refreshToken: 'B'.repeat(43) }),
      ).resolves.toBeUndefined();
      await expect(tokens.rotation.refresh(mine.refreshToken)).resolves.toBeDefined();
    });

    it('cannot revoke another user’s session by naming its sessionId', async () => {
      const theirs = await tokens.sessions.start(bob, 'wxapp');
      await tokens.sessions.logout({ userId: alice.id, sessionId: (await sessionOf(theirs)).sessionId }, {});
      await expect(tokens.rotation.refresh(theirs.refreshToken)).resolves.toBeDefined();
    });

    it('with all: true revokes every session of the user and no one else’s', async () => {
      const a1 = await tokens.sessions.start(alice, 'wxapp');
      const a2 = await tokens.sessions.start(alice, 'wxapp_two');
      const b1 = await tokens.sessions.start(bob, 'wxapp');
      await tokens.sessions.logout(await sessionOf(a1), { all: true });
      await expectAppError(tokens.rotation.refresh(a1.refreshToken), 'REFRESH_TOKEN_INVALID');
      await expectAppError(tokens.rotation.refresh(a2.refreshToken), 'REFRESH_TOKEN_INVALID');
      await expect(tokens.rotation.refresh(b1.refreshToken)).resolves.toBeDefined();
      expect(await tokens.sessions.list(alice.id)).toEqual([]);
    });

    it('is idempotent', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      const principal = await sessionOf(pair);
      await tokens.sessions.logout(principal, {});
      await expect(tokens.sessions.logout(principal, {})).resolves.toBeUndefined();
      await expect(tokens.sessions.logout(principal, { all: true })).resolves.toBeUndefined();
    });
  });

  describe('access tokens stop with their session (RevocationService)', () => {
    const revoked = async (pair: TokenPair) => revocations.isRevoked(await access.verify(pair.accessToken));

    it('logout stops the session’s access token; logout all every one of the user’s', async () => {
      const a = await tokens.sessions.start(alice, 'wxapp');
      const b = await tokens.sessions.start(alice, 'wxapp');
      const theirs = await tokens.sessions.start(bob, 'wxapp');
      await tokens.sessions.logout(await sessionOf(a), {});
      expect([await revoked(a), await revoked(b)]).toEqual([true, false]);
      await tokens.sessions.logout(await sessionOf(b), { all: true });
      expect([await revoked(b), await revoked(theirs)]).toEqual([true, false]);
    });

    it('a revoked session, reuse and eviction stop the family’s access tokens', async () => {
      const s = await tokens.sessions.start(alice, 'wxapp');
      await tokens.sessions.revoke(alice.id, (await sessionOf(s)).sessionId);
      expect(await revoked(s)).toBe(true);

      const first = await tokens.sessions.start(alice, 'wxapp');
      const second = await tokens.rotation.refresh(first.refreshToken);
      clock.advance(AFTER_INTERVAL_MS);
      await expectAppError(tokens.rotation.refresh(first.refreshToken), 'REFRESH_TOKEN_REUSED');
      expect(await revoked(second)).toBe(true);

      const limited = build({ config: makeConfig({ maxPerUser: 1 }) });
      const old = await limited.sessions.start(bob, 'wxapp');
      clock.advance(1000);
      const fresh = await limited.sessions.start(bob, 'wxapp');
      expect([await revoked(old), await revoked(fresh)]).toEqual([true, false]);
    });

    it('a sign-up reads no epoch; a revocation of the new user made after still stops its token', async () => {
      const epochs = jest.spyOn(revocations, 'epochFor');
      const fresh = (await usersService.resolveIdentity({ appid: 'wxapp', openid: 'o-new', sessionKey: 'k' }))
        .user;
      const pair = await tokens.sessions.start(fresh, 'wxapp', undefined, { isNewUser: true });
      expect(epochs).not.toHaveBeenCalled();
      expect(await revoked(pair)).toBe(false);
      await revocations.revokeUser(fresh.id);
      expect(await revoked(pair)).toBe(true);
    });

    it('a token issued right after a user revocation (same second) is not caught by it', async () => {
      const before = await tokens.sessions.start(alice, 'wxapp');
      await revocations.revokeUser(alice.id);
      const after = await tokens.rotation.refresh(before.refreshToken);
      expect([await revoked(before), await revoked(after)]).toEqual([true, false]);
    });
  });

  describe('end(): the one way sessions end', () => {
    const revoked = async (pair: TokenPair) => revocations.isRevoked(await access.verify(pair.accessToken));

    it.each([
      ['delete', 'user_deleted'],
      ['revoke', 'user_disabled'],
      ['revoke', 'logout_all'],
    ] as const)(
      'all: %s (%s) — the rows first, then the revocation, then the audit row',
      async (all, reason) => {
        await tokens.sessions.start(alice, 'wxapp');
        const order: string[] = [];
        const single = tx.single.bind(tx);
        jest.spyOn(tx, 'single').mockImplementation((w) => (order.push('rows'), single(w)));
        const revokeUser = revocations.revokeUser.bind(revocations);
        jest
          .spyOn(revocations, 'revokeUser')
          .mockImplementation((id) => (order.push('revocation'), revokeUser(id)));
        const record = audit.record;
        jest.spyOn(audit, 'record').mockImplementation((e) => (order.push(`audit:${e.type}`), record(e)));
        await tokens.sessions.end({ userId: alice.id, all }, reason);
        expect(order.slice(0, 2)).toEqual(['rows', 'revocation']);
        expect(order[2]).toMatch(/^audit:/);
      },
    );

    it('a refresh that reads the epoch right after the revocation was published finds its session ended', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      const revokeUser = revocations.revokeUser.bind(revocations);
      let raced: Promise<unknown> | undefined;
      jest.spyOn(revocations, 'revokeUser').mockImplementation(async (id) => {
        await revokeUser(id);
        // The racing refresh on another instance: its epoch read sees this revocation.
        raced = tokens.rotation.refresh(pair.refreshToken).then(
          () => 'minted',
          (e: unknown) => (e instanceof AppException ? e.code : String(e)),
        );
      });
      await tokens.sessions.end({ userId: alice.id, all: 'delete' }, 'user_deleted');
      expect(await raced).toBe('REFRESH_TOKEN_INVALID');
    });

    it('a refresh that read the epoch before the publication holds a token the revocation stops', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      const epochFor = revocations.epochFor.bind(revocations);
      let ending: Promise<void> | undefined;
      jest.spyOn(revocations, 'epochFor').mockImplementationOnce(async (id) => {
        const epoch = await epochFor(id);
        // Logout-all lands between this refresh's epoch read and its rotation; it waits for the rotation's
        // statements to commit on SQLite, so the refresh mints — under the old epoch.
        ending = tokens.sessions.end({ userId: alice.id, all: 'revoke' }, 'logout_all');
        return epoch;
      });
      const outcome = await settle(tokens.rotation.refresh(pair.refreshToken), clock);
      await ending;
      if (outcome.ok) expect(await revoked(outcome.value)).toBe(true);
      else expect(codeOf(outcome)).toBe('REFRESH_TOKEN_INVALID');
      expect(await tokens.sessions.list(alice.id)).toEqual([]);
    });

    it('a merge ends every merged-away user: rows deleted, access tokens stopped, audited on the survivor', async () => {
      const a = await tokens.sessions.start(alice, 'wxapp');
      const b = await tokens.sessions.start(bob, 'wxapp');
      audit.events.length = 0;
      for (const merged of [alice.id, bob.id])
        await tokens.sessions.end({ userId: merged, all: 'delete' }, 'users_merged', {
          auditUserId: '00000000-0000-4000-8000-00000000000a',
          details: { mergedUserId: merged },
        });
      expect(await refreshRepo.count()).toBe(0);
      expect([await revoked(a), await revoked(b)]).toEqual([true, true]);
      expect(audit.events.map((e) => [e.type, e.userId, e.details?.mergedUserId])).toEqual([
        ['users.merged', '00000000-0000-4000-8000-00000000000a', alice.id],
        ['users.merged', '00000000-0000-4000-8000-00000000000a', bob.id],
      ]);
    });

    it('a publication that fails is still audited (the change happened), then rethrown', async () => {
      await tokens.sessions.start(alice, 'wxapp');
      audit.events.length = 0;
      jest.spyOn(revocations, 'revokeUser').mockRejectedValueOnce(new AppException('SERVICE_UNAVAILABLE'));
      await expectAppError(
        tokens.sessions.end({ userId: alice.id, all: 'revoke' }, 'user_disabled'),
        'SERVICE_UNAVAILABLE',
      );
      expect(audit.events.map((e) => e.type)).toEqual(['user.disabled']);
      expect(await tokens.sessions.list(alice.id)).toEqual([]);
    });

    it('a rotated token presented within the reuse interval is audited as such', async () => {
      const first = await tokens.sessions.start(alice, 'wxapp');
      await tokens.rotation.refresh(first.refreshToken);
      audit.events.length = 0;
      await tokens.rotation.refresh(first.refreshToken);
      expect(audit.events).toEqual([
        expect.objectContaining({ type: 'token.refreshed', details: { reuseInterval: true } }),
      ]);
    });

    it('purgeExpired deletes rows expired more than a day ago, and only those', async () => {
      const old = await tokens.sessions.start(alice, 'wxapp');
      clock.advance(REFRESH_TTL * 1000 + 86_400_000 + 1000);
      const fresh = await tokens.sessions.start(bob, 'wxapp');
      expect(await tokens.sessions.purgeExpired()).toBe(1);
      await expectAppError(tokens.rotation.refresh(old.refreshToken), 'REFRESH_TOKEN_INVALID');
      await expect(tokens.rotation.refresh(fresh.refreshToken)).resolves.toBeDefined();
    });
  });

  describe('revokeAllSessions / deleteAllSessions', () => {
    it('revokeAllSessions ends every session of the user, and only theirs', async () => {
      const a1 = await tokens.sessions.start(alice, 'wxapp');
      const a2 = await tokens.rotation.refresh(
        (await tokens.sessions.start(alice, 'wxapp_two')).refreshToken,
      );
      const b1 = await tokens.sessions.start(bob, 'wxapp');
      await tokens.sessions.end({ userId: alice.id, all: 'revoke' }, 'user_disabled');
      expect(await tokens.sessions.list(alice.id)).toEqual([]);
      await expectAppError(tokens.rotation.refresh(a1.refreshToken), 'REFRESH_TOKEN_INVALID');
      await expectAppError(tokens.rotation.refresh(a2.refreshToken), 'REFRESH_TOKEN_INVALID');
      await expect(tokens.rotation.refresh(b1.refreshToken)).resolves.toBeDefined();
    });

    it('deleteAllSessions removes the user’s rows; a rotated token within the interval answers INVALID', async () => {
      const first = await tokens.sessions.start(alice, 'wxapp');
      await tokens.rotation.refresh(first.refreshToken);
      const b1 = await tokens.sessions.start(bob, 'wxapp');
      await tokens.sessions.end({ userId: alice.id, all: 'delete' }, 'user_deleted');
      expect(await refreshRepo.countBy({ userId: alice.id })).toBe(0);
      expect(codeOf(await settle(tokens.rotation.refresh(first.refreshToken), clock))).toBe(
        'REFRESH_TOKEN_INVALID',
      );
      await expect(tokens.rotation.refresh(b1.refreshToken)).resolves.toBeDefined();
    });
  });

  describe('sessions', () => {
    it('lists the user’s live sessions, newest first, one row per family', async () => {
      const older = await tokens.sessions.start(alice, 'wxapp');
      clock.advance(1000);
      const newer = await tokens.sessions.start(alice, 'wxapp_two');
      await tokens.sessions.start(bob, 'wxapp');
      clock.advance(1000);
      await tokens.rotation.refresh(older.refreshToken); // rotation keeps one live row in the family

      const sessions = await tokens.sessions.list(alice.id);
      expect(sessions.map((s) => s.familyId)).toEqual([
        (await sessionOf(older)).sessionId,
        (await sessionOf(newer)).sessionId,
      ]);
      expect(sessions.every((s) => s.userId === alice.id && s.revokedAt === null)).toBe(true);
    });

    it('drops a session from the list once it expires', async () => {
      await tokens.sessions.start(alice, 'wxapp');
      clock.advance((REFRESH_TTL - 1) * 1000);
      expect(await tokens.sessions.list(alice.id)).toHaveLength(1);
      clock.advance(1000);
      expect(await tokens.sessions.list(alice.id)).toEqual([]);
    });

    it('gets one of the user’s own sessions', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      const { sessionId } = await sessionOf(pair);
      await expect(tokens.sessions.get(alice.id, sessionId)).resolves.toMatchObject({
        familyId: sessionId,
        userId: alice.id,
        appid: 'wxapp',
      });
    });

    it('answers NOT_FOUND for another user’s session, an unknown one and a revoked one', async () => {
      const theirs = await tokens.sessions.start(bob, 'wxapp');
      const mine = await tokens.sessions.start(alice, 'wxapp');
      await tokens.sessions.logout(await sessionOf(mine), {});
      await expectAppError(tokens.sessions.get(alice.id, (await sessionOf(theirs)).sessionId), 'NOT_FOUND');
      await expectAppError(
        tokens.sessions.get(alice.id, '00000000-0000-4000-8000-000000000000'),
        'NOT_FOUND',
      );
      await expectAppError(tokens.sessions.get(alice.id, (await sessionOf(mine)).sessionId), 'NOT_FOUND');
    });

    it('revokes one of the user’s own sessions', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      const other = await tokens.sessions.start(alice, 'wxapp');
      await tokens.sessions.revoke(alice.id, (await sessionOf(pair)).sessionId);
      await expectAppError(tokens.rotation.refresh(pair.refreshToken), 'REFRESH_TOKEN_INVALID');
      await expect(tokens.rotation.refresh(other.refreshToken)).resolves.toBeDefined();
    });

    it('refuses to revoke another user’s session with NOT_FOUND and leaves it alive', async () => {
      const theirs = await tokens.sessions.start(bob, 'wxapp');
      await expectAppError(
        tokens.sessions.revoke(alice.id, (await sessionOf(theirs)).sessionId),
        'NOT_FOUND',
      );
      await expect(tokens.rotation.refresh(theirs.refreshToken)).resolves.toBeDefined();
    });
  });

  describe('reuse interval (refresh races never log a user out)', () => {
    const stored = async (presented: string) => store.get(successorKey(hashRefreshToken(presented)));
    /** alice's session refreshed once: the rotated token's pair (`first`) and its successor (`second`). */
    const rotatedOnce = async () => {
      const first = await tokens.sessions.start(alice, 'wxapp');
      return { first, second: await tokens.rotation.refresh(first.refreshToken) };
    };
    /** What presenting the rotated token again ends in: 'ok' or the error's code. */
    const presentAgain = async (first: TokenPair) =>
      codeOf(await settle(tokens.rotation.refresh(first.refreshToken), clock));

    it('answers a just-rotated token with the same pair — refresh and access token — within the interval', async () => {
      const { first, second } = await rotatedOnce();
      clock.advance(REUSE_INTERVAL * 1000 - 1);
      await expect(tokens.rotation.refresh(first.refreshToken)).resolves.toEqual(second);
      // Nothing new was issued, and the successor still works normally.
      expect(await refreshRepo.count()).toBe(2);
      const third = await tokens.rotation.refresh(second.refreshToken);
      expect(third.refreshToken).not.toBe(second.refreshToken);
      expect(await sessionOf(third)).toEqual(await sessionOf(first));
    });

    it('keeps the successor pair only encrypted, bound to the presented token, expiring with the interval', async () => {
      const { first, second } = await rotatedOnce();
      const sealed = await stored(first.refreshToken);
      expect(sealed).toMatch(/^v1\./);
      for (const secret of [second.refreshToken, second.accessToken, first.refreshToken])
        expect(sealed).not.toContain(secret);
      expect(await store.ttl(successorKey(hashRefreshToken(first.refreshToken)))).toBe(REUSE_INTERVAL * 1000);
      clock.advance(REUSE_INTERVAL * 1000);
      expect(await stored(first.refreshToken)).toBeNull();
    });

    it('a record copied under another token’s key does not open (AAD), and is never answered', async () => {
      const victim = await tokens.sessions.start(alice, 'wxapp');
      await tokens.rotation.refresh(victim.refreshToken);
      const mine = await tokens.sessions.start(bob, 'wxapp');
      await tokens.rotation.refresh(mine.refreshToken);
      const sealed = await stored(victim.refreshToken);
      await store.set(successorKey(hashRefreshToken(mine.refreshToken)), sealed!, 5000);
      const o = await settle(tokens.rotation.refresh(mine.refreshToken), clock);
      expect(codeOf(o)).toBe('REFRESH_TOKEN_INVALID');
    });

    it('five concurrent refreshes of one token all get one pair; that pair refreshes again', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      const outcomes = await Promise.all(
        Array.from({ length: 5 }, () => settle(tokens.rotation.refresh(pair.refreshToken), clock)),
      );
      expect(outcomes.map(codeOf)).toEqual(Array(5).fill('ok'));
      const pairs = new Set(outcomes.map((o) => (o.ok ? JSON.stringify(o.value) : '')));
      expect(pairs.size).toBe(1);
      const [successor] = outcomes.map((o) => (o.ok ? o.value : undefined));
      await expect(tokens.rotation.refresh(successor!.refreshToken)).resolves.toMatchObject({
        tokenType: 'Bearer',
      });
    });

    it('a loser of the rotation race waits for the winner’s record rather than answering reuse', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      // The winner's write to the store is slow (a busy Redis): 500 ms of fake time.
      const slow = new MemoryKvStore(clock);
      const set = slow.set.bind(slow);
      let firstSet = true;
      jest.spyOn(slow, 'set').mockImplementation(async (k, v, ttl) => {
        if (firstSet) {
          firstSet = false;
          await clock.sleep(500);
        }
        return set(k, v, ttl);
      });
      const service = build({ store: slow });
      const outcomes = await Promise.all([
        settle(service.rotation.refresh(pair.refreshToken), clock),
        settle(service.rotation.refresh(pair.refreshToken), clock),
      ]);
      expect(outcomes.map(codeOf)).toEqual(['ok', 'ok']);
    });

    it('a request arriving after the commit but before the record exists also waits for it', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      const winnerWrote: Array<() => void> = [];
      const gated = new MemoryKvStore(clock);
      const set = gated.set.bind(gated);
      jest
        .spyOn(gated, 'set')
        .mockImplementation(
          (k, v, ttl) => new Promise((resolve) => winnerWrote.push(() => void set(k, v, ttl).then(resolve))),
        );
      const service = build({ store: gated });
      const winner = service.rotation.refresh(pair.refreshToken);
      while (winnerWrote.length === 0) await new Promise((r) => setImmediate(r));
      // Committed (the row is revoked, replaced) but not yet in the store:
      const late = settle(service.rotation.refresh(pair.refreshToken), clock);
      await new Promise((r) => setImmediate(r));
      clock.advance(300);
      winnerWrote[0]();
      const [w, l] = [await winner, await late];
      expect(l).toEqual({ ok: true, value: w });
    });

    it('if the winner never kept its answer: INVALID after a bounded wait, nothing revoked', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      const broken = new MemoryKvStore(clock);
      jest.spyOn(broken, 'set').mockRejectedValue(new Error('redis down'));
      const service = build({ store: broken });
      const second = await service.rotation.refresh(pair.refreshToken);
      const started = clock.now();
      const late = await settle(service.rotation.refresh(pair.refreshToken), clock);
      expect(codeOf(late)).toBe('REFRESH_TOKEN_INVALID');
      expect(clock.now() - started).toBeGreaterThanOrEqual(SUCCESSOR_WAIT_MS);
      expect(clock.now() - started).toBeLessThan(SUCCESSOR_WAIT_MS + 100);
      await expect(service.rotation.refresh(second.refreshToken)).resolves.toBeDefined();
    });

    it('after the interval the rotated token is reuse: REFRESH_TOKEN_REUSED and the family is dead', async () => {
      const { first, second } = await rotatedOnce();
      clock.advance(REUSE_INTERVAL * 1000 + 100);
      expect(await presentAgain(first)).toBe('REFRESH_TOKEN_REUSED');
      await expectAppError(tokens.rotation.refresh(second.refreshToken), 'REFRESH_TOKEN_INVALID');
      expect(await tokens.sessions.list(alice.id)).toEqual([]);
    });

    it('does not resurrect a family logged out after the rotation', async () => {
      const { first, second } = await rotatedOnce();
      await tokens.sessions.logout(await sessionOf(second), { all: true });
      expect(await presentAgain(first)).toBe('REFRESH_TOKEN_INVALID');
      await expectAppError(tokens.rotation.refresh(second.refreshToken), 'REFRESH_TOKEN_INVALID');
      expect(await tokens.sessions.list(alice.id)).toEqual([]);
    });

    it('a straggler whose successor was already rotated gets INVALID, and the family lives on', async () => {
      const { first, second } = await rotatedOnce();
      const third = await tokens.rotation.refresh(second.refreshToken);
      expect(await presentAgain(first)).toBe('REFRESH_TOKEN_INVALID');
      await expect(tokens.rotation.refresh(third.refreshToken)).resolves.toBeDefined();
    });

    it('refuses a user disabled within the interval and ends the session', async () => {
      const { first, second } = await rotatedOnce();
      await dataSource.getRepository(User).update({ id: alice.id }, { status: 'disabled' });
      expect(await presentAgain(first)).toBe('USER_DISABLED');
      await dataSource.getRepository(User).update({ id: alice.id }, { status: 'active' });
      await expectAppError(tokens.rotation.refresh(second.refreshToken), 'REFRESH_TOKEN_INVALID');
    });

    it('with REFRESH_REUSE_INTERVAL=0 nothing is kept and a repeat is reuse at once', async () => {
      const strict = build({ config: makeConfig({ refreshReuseIntervalSeconds: 0 }) });
      const first = await strict.sessions.start(alice, 'wxapp');
      await strict.rotation.refresh(first.refreshToken);
      expect(await stored(first.refreshToken)).toBeNull();
      await expectAppError(strict.rotation.refresh(first.refreshToken), 'REFRESH_TOKEN_REUSED');
    });
  });

  describe('logout races are not theft', () => {
    /** The raced refresh of `pair` answers REFRESH_TOKEN_INVALID, and no live refresh row is left. */
    const expectRefusedLeavingNoLiveRow = async (pair: TokenPair) => {
      const o = await settle(tokens.rotation.refresh(pair.refreshToken), clock);
      expect(codeOf(o)).toBe('REFRESH_TOKEN_INVALID');
      expect(await refreshRepo.countBy({ revokedAt: IsNull() })).toBe(0);
    };

    it('a refresh that loses its update to a logout answers INVALID, not REUSED', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      const principal = await sessionOf(pair);
      // The logout lands between the refresh's read and its conditional update.
      const rows = tokens.sessions.rows;
      const byHash = rows.byHashWithUser.bind(rows);
      jest.spyOn(rows, 'byHashWithUser').mockImplementationOnce(async (hash) => {
        const found = await byHash(hash);
        await tokens.sessions.logout(principal, { all: true });
        return found;
      });
      await expectRefusedLeavingNoLiveRow(pair);
    });

    it('a logout landing between the successor insert and the rotating update: INVALID, no live row left', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      const principal = await sessionOf(pair);
      const single = tx.single.bind(tx);
      let statements = 0;
      jest.spyOn(tx, 'single').mockImplementation(async (statement) => {
        const result = await single(statement);
        // After the refresh's first statement (the successor's insert), before its update.
        if (++statements === 1) await tokens.sessions.logout(principal, { all: true });
        return result;
      });
      await expectRefusedLeavingNoLiveRow(pair);
    });

    it('a rotation whose update fails after its insert keeps the presented token usable and lists one session', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      const single = tx.single.bind(tx);
      let statements = 0;
      const spy = jest
        .spyOn(tx, 'single')
        .mockImplementation((statement) =>
          ++statements === 2
            ? Promise.reject(
                new QueryFailedError(
                  'UPDATE …',
                  [],
                  Object.assign(new Error('gone'), { code: 'ECONNRESET' }),
                ),
              )
            : single(statement),
        );
      expect((await settle(tokens.rotation.refresh(pair.refreshToken), clock)).ok).toBe(false);
      spy.mockRestore();
      // A successor row nobody holds the token of is left; the session shows once and the token still works.
      expect(await refreshRepo.countBy({ revokedAt: IsNull() })).toBe(2);
      expect(await tokens.sessions.list(alice.id)).toHaveLength(1);
      await expect(tokens.rotation.refresh(pair.refreshToken)).resolves.toMatchObject({
        tokenType: 'Bearer',
      });
      expect(await tokens.sessions.list(alice.id)).toHaveLength(1);
    });

    it('retries a rotation when the database picks it as a deadlock victim', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      const flaky = transactionRunnerFor(dataSource);
      const single = flaky.single.bind(flaky);
      const spy = jest.spyOn(flaky, 'single').mockImplementationOnce(() => Promise.reject(deadlock()));
      spy.mockImplementation(single);
      const o = await settle(tokens.rotation.refresh(pair.refreshToken), clock);
      expect(codeOf(o)).toBe('ok');
      expect(spy.mock.calls.length).toBeGreaterThanOrEqual(3);
      expect(await refreshRepo.count()).toBe(2);
    });

    it('retries logout-all on deadlock (3 times); a fourth deadlock surfaces (503 via the filter)', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      const principal = await sessionOf(pair);
      const single = tx.single.bind(tx);
      const spy = jest.spyOn(tx, 'single');
      spy
        .mockImplementationOnce(() => Promise.reject(deadlock()))
        .mockImplementationOnce(() => Promise.reject(deadlock()))
        .mockImplementationOnce(() => Promise.reject(deadlock()))
        .mockImplementation(single);
      expect(codeOf(await settle(tokens.sessions.logout(principal, { all: true }), clock))).toBe('ok');
      expect(spy).toHaveBeenCalledTimes(4);
      expect(await tokens.sessions.list(alice.id)).toEqual([]);

      spy.mockClear();
      spy.mockImplementation(() => Promise.reject(deadlock()));
      const failed = await settle(tokens.sessions.logout(principal, { all: true }), clock);
      expect(!failed.ok && failed.error).toBeInstanceOf(QueryFailedError);
      expect(spy).toHaveBeenCalledTimes(4);
    });

    it('does not retry other database errors', async () => {
      const pair = await tokens.sessions.start(alice, 'wxapp');
      const spy = jest
        .spyOn(tx, 'single')
        .mockRejectedValue(
          new QueryFailedError('UPDATE …', [], Object.assign(new Error('gone'), { code: 'ECONNRESET' })),
        );
      await expect(tokens.sessions.logout(await sessionOf(pair), { all: true })).rejects.toBeInstanceOf(
        QueryFailedError,
      );
      expect(spy).toHaveBeenCalledTimes(1);
    });
  });

  describe('MAX_SESSIONS_PER_USER', () => {
    it('evicts the oldest family by creation, even one refreshed recently', async () => {
      const limited = build({ config: makeConfig({ maxPerUser: 3 }) });
      const s1 = await limited.sessions.start(alice, 'wxapp');
      clock.advance(1000);
      const s2 = await limited.sessions.start(alice, 'wxapp');
      clock.advance(1000);
      const s3 = await limited.sessions.start(alice, 'wxapp');
      clock.advance(1000);
      // s1 is the oldest session although its live token is now the newest row.
      const s1b = await limited.rotation.refresh(s1.refreshToken);
      clock.advance(1000);
      const theirs = await limited.sessions.start(bob, 'wxapp');
      const s4 = await limited.sessions.start(alice, 'wxapp');

      const live = (await limited.sessions.list(alice.id)).map((r) => r.familyId);
      const ids = await Promise.all([s1, s2, s3, s4].map(async (p) => (await sessionOf(p)).sessionId));
      expect(live.sort()).toEqual([ids[1], ids[2], ids[3]].sort());
      clock.advance(AFTER_INTERVAL_MS);
      await expectAppError(limited.rotation.refresh(s1b.refreshToken), 'REFRESH_TOKEN_INVALID');
      await expect(limited.rotation.refresh(s2.refreshToken)).resolves.toBeDefined();
      await expect(limited.rotation.refresh(theirs.refreshToken)).resolves.toBeDefined();
    });

    it('brings a user over the limit back to it, oldest first', async () => {
      const unlimited = build({ config: makeConfig({ maxPerUser: 0 }) });
      const pairs: TokenPair[] = [];
      for (let i = 0; i < 5; i++) {
        pairs.push(await unlimited.sessions.start(alice, 'wxapp'));
        clock.advance(10);
      }
      expect(await unlimited.sessions.list(alice.id)).toHaveLength(5);
      const limited = build({ config: makeConfig({ maxPerUser: 2 }) });
      const newest = await limited.sessions.start(alice, 'wxapp');
      const live = (await limited.sessions.list(alice.id)).map((r) => r.familyId);
      expect(live).toEqual([(await sessionOf(newest)).sessionId, (await sessionOf(pairs[4])).sessionId]);
    });

    it('never evicts the session just created, even when every login shares one timestamp', async () => {
      const limited = build({ config: makeConfig({ maxPerUser: 1 }) });
      // Same instant, and ids chosen so the new family sorts first in a tie-break by id.
      const uuid = jest.spyOn(random, 'uuid');
      uuid.mockReturnValueOnce('ffffffff-0000-4000-8000-000000000000');
      const older = await limited.sessions.start(alice, 'wxapp');
      uuid.mockReturnValueOnce('00000000-0000-4000-8000-000000000000');
      const newer = await limited.sessions.start(alice, 'wxapp');
      expect((await limited.sessions.list(alice.id)).map((r) => r.familyId)).toEqual([
        (await sessionOf(newer)).sessionId,
      ]);
      await expectAppError(limited.rotation.refresh(older.refreshToken), 'REFRESH_TOKEN_INVALID');
    });

    it('0 means unlimited', async () => {
      for (let i = 0; i < 25; i++) await tokens.sessions.start(alice, 'wxapp');
      expect(await tokens.sessions.list(alice.id)).toHaveLength(25);
    });
  });
});
