import { createHash, createSecretKey } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import type { DataSource, Repository } from 'typeorm';
import { FakeClock } from '../common/clock/fake-clock';
import { AppException } from '../common/errors/app.exception';
import type { ErrorCode } from '../common/errors/error-codes';
import { Random } from '../common/random/random';
import type { AppConfig } from '../config/app-config';
import type { TransactionRunner } from '../database/transaction-runner';
import {
  createInMemoryDataSource,
  createUsersService,
  transactionRunnerFor,
} from '../testing/in-memory-database';
import { User } from '../users/user.entity';
import type { UsersService } from '../users/users.service';
import { AccessTokenService } from './access-token.service';
import { jwtModuleOptions } from './jwt-options';
import { RefreshToken } from './refresh-token.entity';
import { TokenService } from './token.service';
import type { TokenPair } from './token-pair';

const ACCESS_TTL = 900;
const REFRESH_TTL = 3600;

async function expectAppError(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppException);
  expect((error as AppException).code).toBe(code);
}

describe('TokenService (in-memory SQLite)', () => {
  const secret = createSecretKey(Buffer.from('unit-test-jwt-secret-0123456789-abcdefghij', 'utf8'));
  const config = {
    jwt: {
      secret,
      issuer: 'wechat-auth',
      audience: 'miniprogram',
      accessTtlSeconds: ACCESS_TTL,
      refreshTtlSeconds: REFRESH_TTL,
    },
  } as unknown as AppConfig;

  let dataSource: DataSource;
  let clock: FakeClock;
  let refreshRepo: Repository<RefreshToken>;
  let tx: TransactionRunner;
  let usersService: UsersService;
  let access: AccessTokenService;
  let tokens: TokenService;
  let alice: User;
  let bob: User;

  beforeEach(async () => {
    dataSource = await createInMemoryDataSource();
    clock = new FakeClock();
    const random = new Random();
    tx = transactionRunnerFor(dataSource);
    refreshRepo = dataSource.getRepository(RefreshToken);
    usersService = createUsersService(dataSource, clock, random);
    const jwt = new JwtService(jwtModuleOptions(config));
    access = new AccessTokenService(jwt, config, clock, random);
    tokens = new TokenService(refreshRepo, access, usersService, tx, config, clock, random);

    alice = (await usersService.resolveIdentity({ appid: 'wxapp', openid: 'o-alice', sessionKey: 'k1' }))
      .user;
    bob = (await usersService.resolveIdentity({ appid: 'wxapp', openid: 'o-bob', sessionKey: 'k2' })).user;
  });

  afterEach(async () => {
    await dataSource.destroy();
  });

  /** The session (refresh family) a pair belongs to, as its access token says. */
  async function sessionOf(pair: TokenPair): Promise<{ userId: string; sessionId: string }> {
    const p = await access.verify(pair.accessToken);
    return { userId: p.userId, sessionId: p.sessionId };
  }

  describe('issue', () => {
    it('returns a Bearer pair whose access token names the user, app and a new session', async () => {
      const pair = await tokens.issue(alice, 'wxapp');
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

    it('stores only the SHA-256 of the refresh token', async () => {
      const pair = await tokens.issue(alice, 'wxapp');
      const rows: Record<string, unknown>[] = await dataSource.query('SELECT * FROM refresh_tokens');
      expect(rows).toHaveLength(1);
      expect(rows[0].token_hash).toBe(createHash('sha256').update(pair.refreshToken).digest('hex'));
      expect(JSON.stringify(rows)).not.toContain(pair.refreshToken);
    });
  });

  describe('refresh', () => {
    it('rotates: the old token dies, the new one works, and the session stays the same', async () => {
      const first = await tokens.issue(alice, 'wxapp');
      clock.advance(1000);
      const second = await tokens.refresh(first.refreshToken);

      expect(second.refreshToken).not.toBe(first.refreshToken);
      expect(await sessionOf(second)).toEqual(await sessionOf(first));
      await expectAppError(tokens.refresh(first.refreshToken), 'REFRESH_TOKEN_REUSED');

      const oldRow = await refreshRepo.findOneByOrFail({
        tokenHash: createHash('sha256').update(first.refreshToken).digest('hex'),
      });
      expect(oldRow.replacedBy).toEqual(expect.any(String));
    });

    it('keeps rotating within one family, each new refresh window starting now', async () => {
      let pair = await tokens.issue(alice, 'wxapp');
      const { sessionId } = await sessionOf(pair);
      for (let i = 0; i < 3; i++) {
        clock.advance((REFRESH_TTL - 1) * 1000);
        pair = await tokens.refresh(pair.refreshToken);
      }
      expect((await sessionOf(pair)).sessionId).toBe(sessionId);
      expect(await refreshRepo.countBy({ familyId: sessionId })).toBe(4);
    });

    it('treats a rotated token presented again as reuse and revokes the whole family', async () => {
      const first = await tokens.issue(alice, 'wxapp');
      const second = await tokens.refresh(first.refreshToken);
      const other = await tokens.issue(alice, 'wxapp');

      await expectAppError(tokens.refresh(first.refreshToken), 'REFRESH_TOKEN_REUSED');
      // The newest token of the family dies too; the user's other session does not.
      await expectAppError(tokens.refresh(second.refreshToken), 'REFRESH_TOKEN_INVALID');
      await expect(tokens.refresh(other.refreshToken)).resolves.toBeDefined();
      const family = await refreshRepo.findBy({ familyId: (await sessionOf(first)).sessionId });
      expect(family.every((r) => r.revokedAt !== null)).toBe(true);
    });

    it('rejects an expired refresh token', async () => {
      const pair = await tokens.issue(alice, 'wxapp');
      clock.advance(REFRESH_TTL * 1000);
      await expectAppError(tokens.refresh(pair.refreshToken), 'REFRESH_TOKEN_INVALID');
    });

    it('accepts a refresh token one second before it expires', async () => {
      const pair = await tokens.issue(alice, 'wxapp');
      clock.advance((REFRESH_TTL - 1) * 1000);
      await expect(tokens.refresh(pair.refreshToken)).resolves.toMatchObject({ tokenType: 'Bearer' });
    });

    it('rejects an unknown token', async () => {
      await expectAppError(tokens.refresh('A'.repeat(43)), 'REFRESH_TOKEN_INVALID');
    });

    it('rejects a malformed token without touching the database', async () => {
      const findOne = jest.spyOn(refreshRepo, 'findOne');
      const run = jest.spyOn(tx, 'run');
      for (const bad of ['', 'short', 'A'.repeat(44), `${'A'.repeat(42)}=`, `${'A'.repeat(42)}+`]) {
        await expectAppError(tokens.refresh(bad), 'REFRESH_TOKEN_INVALID');
      }
      expect(findOne).not.toHaveBeenCalled();
      expect(run).not.toHaveBeenCalled();
    });

    it('refuses a disabled user and revokes the session', async () => {
      const pair = await tokens.issue(alice, 'wxapp');
      await dataSource.getRepository(User).update({ id: alice.id }, { status: 'disabled' });
      await expectAppError(tokens.refresh(pair.refreshToken), 'USER_DISABLED');

      // Re-enabling the account does not bring the revoked session back.
      await dataSource.getRepository(User).update({ id: alice.id }, { status: 'active' });
      await expectAppError(tokens.refresh(pair.refreshToken), 'REFRESH_TOKEN_INVALID');
    });

    it('rejects the token of a deleted user', async () => {
      const pair = await tokens.issue(alice, 'wxapp');
      await dataSource.getRepository(User).delete({ id: alice.id });
      await expectAppError(tokens.refresh(pair.refreshToken), 'REFRESH_TOKEN_INVALID');
    });

    it('lets exactly one of two concurrent refreshes of one token succeed', async () => {
      const pair = await tokens.issue(alice, 'wxapp');
      const results = await Promise.allSettled([
        tokens.refresh(pair.refreshToken),
        tokens.refresh(pair.refreshToken),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const [loser] = results.filter((r) => r.status === 'rejected');
      expect(loser.reason).toBeInstanceOf(AppException);
      expect((loser.reason as AppException).code).toBe('REFRESH_TOKEN_REUSED');
      // One successor at most: the presented token was rotated once.
      expect(await refreshRepo.count()).toBe(2);
    });

    it('puts the user’s current roles into the new access token', async () => {
      const pair = await tokens.issue(alice, 'wxapp');
      await dataSource.getRepository(User).update({ id: alice.id }, { roles: ['user', 'admin'] });
      const next = await tokens.refresh(pair.refreshToken);
      await expect(access.verify(next.accessToken)).resolves.toMatchObject({ roles: ['user', 'admin'] });
    });

    it('rejects a token revoked by logout as invalid, not as reuse', async () => {
      const pair = await tokens.issue(alice, 'wxapp');
      await tokens.logout(await sessionOf(pair), {});
      await expectAppError(tokens.refresh(pair.refreshToken), 'REFRESH_TOKEN_INVALID');
    });
  });

  describe('logout', () => {
    it('revokes the current session by its sessionId, leaving other sessions alone', async () => {
      const current = await tokens.issue(alice, 'wxapp');
      const other = await tokens.issue(alice, 'wxapp');
      await tokens.logout(await sessionOf(current), {});
      await expectAppError(tokens.refresh(current.refreshToken), 'REFRESH_TOKEN_INVALID');
      await expect(tokens.refresh(other.refreshToken)).resolves.toBeDefined();
    });

    it('revokes the session of a presented refresh token instead of the current one', async () => {
      const current = await tokens.issue(alice, 'wxapp');
      const other = await tokens.issue(alice, 'wxapp');
      await tokens.logout(await sessionOf(current), { refreshToken: other.refreshToken });
      await expectAppError(tokens.refresh(other.refreshToken), 'REFRESH_TOKEN_INVALID');
      await expect(tokens.refresh(current.refreshToken)).resolves.toBeDefined();
    });

    it('ignores someone else’s refresh token (and revokes nothing)', async () => {
      const mine = await tokens.issue(alice, 'wxapp');
      const theirs = await tokens.issue(bob, 'wxapp');
      await expect(
        tokens.logout(await sessionOf(mine), { refreshToken: theirs.refreshToken }),
      ).resolves.toBeUndefined();
      await expect(tokens.refresh(theirs.refreshToken)).resolves.toBeDefined();
      await expect(tokens.refresh(mine.refreshToken)).resolves.toBeDefined();
    });

    it('ignores an unknown refresh token', async () => {
      const mine = await tokens.issue(alice, 'wxapp');
      await expect(
        tokens.logout(await sessionOf(mine), { refreshToken: 'B'.repeat(43) }),
      ).resolves.toBeUndefined();
      await expect(tokens.refresh(mine.refreshToken)).resolves.toBeDefined();
    });

    it('cannot revoke another user’s session by naming its sessionId', async () => {
      const theirs = await tokens.issue(bob, 'wxapp');
      await tokens.logout({ userId: alice.id, sessionId: (await sessionOf(theirs)).sessionId }, {});
      await expect(tokens.refresh(theirs.refreshToken)).resolves.toBeDefined();
    });

    it('with all: true revokes every session of the user and no one else’s', async () => {
      const a1 = await tokens.issue(alice, 'wxapp');
      const a2 = await tokens.issue(alice, 'wxapp_two');
      const b1 = await tokens.issue(bob, 'wxapp');
      await tokens.logout(await sessionOf(a1), { all: true });
      await expectAppError(tokens.refresh(a1.refreshToken), 'REFRESH_TOKEN_INVALID');
      await expectAppError(tokens.refresh(a2.refreshToken), 'REFRESH_TOKEN_INVALID');
      await expect(tokens.refresh(b1.refreshToken)).resolves.toBeDefined();
      expect(await tokens.listSessions(alice.id)).toEqual([]);
    });

    it('is idempotent', async () => {
      const pair = await tokens.issue(alice, 'wxapp');
      const principal = await sessionOf(pair);
      await tokens.logout(principal, {});
      await expect(tokens.logout(principal, {})).resolves.toBeUndefined();
      await expect(tokens.logout(principal, { all: true })).resolves.toBeUndefined();
    });
  });

  describe('sessions', () => {
    it('lists the user’s live sessions, newest first, one row per family', async () => {
      const older = await tokens.issue(alice, 'wxapp');
      clock.advance(1000);
      const newer = await tokens.issue(alice, 'wxapp_two');
      await tokens.issue(bob, 'wxapp');
      clock.advance(1000);
      await tokens.refresh(older.refreshToken); // rotation keeps one live row in the family

      const sessions = await tokens.listSessions(alice.id);
      expect(sessions.map((s) => s.familyId)).toEqual([
        (await sessionOf(older)).sessionId,
        (await sessionOf(newer)).sessionId,
      ]);
      expect(sessions.every((s) => s.userId === alice.id && s.revokedAt === null)).toBe(true);
    });

    it('drops a session from the list once it expires', async () => {
      await tokens.issue(alice, 'wxapp');
      clock.advance((REFRESH_TTL - 1) * 1000);
      expect(await tokens.listSessions(alice.id)).toHaveLength(1);
      clock.advance(1000);
      expect(await tokens.listSessions(alice.id)).toEqual([]);
    });

    it('gets one of the user’s own sessions', async () => {
      const pair = await tokens.issue(alice, 'wxapp');
      const { sessionId } = await sessionOf(pair);
      await expect(tokens.getSession(alice.id, sessionId)).resolves.toMatchObject({
        familyId: sessionId,
        userId: alice.id,
        appid: 'wxapp',
      });
    });

    it('answers NOT_FOUND for another user’s session, an unknown one and a revoked one', async () => {
      const theirs = await tokens.issue(bob, 'wxapp');
      const mine = await tokens.issue(alice, 'wxapp');
      await tokens.logout(await sessionOf(mine), {});
      await expectAppError(tokens.getSession(alice.id, (await sessionOf(theirs)).sessionId), 'NOT_FOUND');
      await expectAppError(tokens.getSession(alice.id, '00000000-0000-4000-8000-000000000000'), 'NOT_FOUND');
      await expectAppError(tokens.getSession(alice.id, (await sessionOf(mine)).sessionId), 'NOT_FOUND');
    });

    it('revokes one of the user’s own sessions', async () => {
      const pair = await tokens.issue(alice, 'wxapp');
      const other = await tokens.issue(alice, 'wxapp');
      await tokens.revokeSession(alice.id, (await sessionOf(pair)).sessionId);
      await expectAppError(tokens.refresh(pair.refreshToken), 'REFRESH_TOKEN_INVALID');
      await expect(tokens.refresh(other.refreshToken)).resolves.toBeDefined();
    });

    it('refuses to revoke another user’s session with NOT_FOUND and leaves it alive', async () => {
      const theirs = await tokens.issue(bob, 'wxapp');
      await expectAppError(tokens.revokeSession(alice.id, (await sessionOf(theirs)).sessionId), 'NOT_FOUND');
      await expect(tokens.refresh(theirs.refreshToken)).resolves.toBeDefined();
    });
  });
});
