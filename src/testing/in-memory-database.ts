import { DataSource } from 'typeorm';
import type { Clock } from '../common/clock/clock';
import { SystemClock } from '../common/clock/system-clock';
import { SecretBox } from '../common/crypto/secret-box';
import { Random } from '../common/random/random';
import { TransactionRunner } from '../database/transaction-runner';
import { buildDataSourceOptions } from '../database/typeorm-options';
import { ProfileModeration } from '../users/profile-moderation';
import { UserReadCache } from '../users/user-read-cache';
import { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { WechatIdentity } from '../users/wechat-identity.entity';
import { testConfig } from './test-config';

/** A fresh in-memory SQLite database with the migrations applied; destroy it after the test. */
export async function createInMemoryDataSource(): Promise<DataSource> {
  const dataSource = new DataSource(
    buildDataSourceOptions({
      type: 'better-sqlite3',
      sqlitePath: ':memory:',
      migrateOnStart: true,
      synchronize: false,
    }),
  );
  await dataSource.initialize();
  return dataSource;
}

const runners = new WeakMap<DataSource, TransactionRunner>();

/**
 * One TransactionRunner per data source, as in the app: it serializes SQLite transactions. `clock` paces
 * its deadlock retries (a FakeClock in tests that inject deadlocks); the first call's clock stays.
 */
export function transactionRunnerFor(
  dataSource: DataSource,
  clock: Clock = new SystemClock(),
): TransactionRunner {
  let runner = runners.get(dataSource);
  if (!runner) {
    runner = new TransactionRunner(dataSource, clock, new Random());
    runners.set(dataSource, runner);
  }
  return runner;
}

/** The service as the app builds it; `tx` may be swapped to inject database failures. */
export function createUsersService(
  dataSource: DataSource,
  clock: Clock,
  random = new Random(),
  tx: TransactionRunner = transactionRunnerFor(dataSource),
): UsersService {
  return new UsersService(
    dataSource.getRepository(User),
    dataSource.getRepository(WechatIdentity),
    tx,
    clock,
    random,
    new SecretBox(Buffer.alloc(32, 5)),
    new UserReadCache(testConfig(), clock),
  );
}

/** ProfileModeration over the database's users (pending avatars, review flags), with its own read cache. */
export function createProfileModeration(dataSource: DataSource, clock: Clock): ProfileModeration {
  return new ProfileModeration(dataSource.getRepository(User), clock, new UserReadCache(testConfig(), clock));
}
