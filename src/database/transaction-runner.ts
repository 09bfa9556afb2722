import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { Random } from '../common/random/random';
import { isDeadlock } from './db-errors';

/** Tries of a write that keeps being picked as a deadlock victim; the last failure surfaces (503 via the filter). */
export const DEADLOCK_ATTEMPTS = 4;

/**
 * Runs work in a transaction. On SQLite every query shares one connection and
 * TypeORM does not serialize transactions on it, so two concurrent ones would
 * interleave (BEGIN inside BEGIN); there, transactions are queued in-process.
 */
@Injectable()
export class TransactionRunner {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly serialize: boolean;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {
    this.serialize = dataSource.options.type === 'better-sqlite3';
  }

  /**
   * Row locks for a read inside `run` where the driver has them (MySQL/MariaDB).
   * SQLite needs none: its transactions are already serialized here.
   */
  get writeLock(): { mode: 'pessimistic_write' } | undefined {
    return this.serialize ? undefined : { mode: 'pessimistic_write' };
  }

  run<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (!this.serialize) return this.dataSource.transaction(work);
    return this.queued(() => this.dataSource.transaction(work));
  }

  /**
   * One statement, atomic by itself: no BEGIN/COMMIT around it on MySQL/MariaDB (two round trips and a
   * query runner saved). On SQLite it waits behind the transactions queued here, so it never lands inside
   * another request's BEGIN … COMMIT on the shared connection.
   */
  single<T>(statement: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (!this.serialize) return statement(this.dataSource.manager);
    return this.queued(() => statement(this.dataSource.manager));
  }

  /**
   * `run` (or `single`), retried when InnoDB picks it as a deadlock victim — InnoDB rolled the victim back
   * as a whole, so running `work` again is safe as long as it only touches the database. Rotation (a row
   * lock, then an insert into the family's and user's index ranges) and revocation (a range update over
   * those indexes) take their locks in opposite orders, so a refresh racing a logout can deadlock; the
   * victim's retry waits for the other and then sees its result. One retry was not enough: with four
   * parallel refreshes of a session racing DELETE /sessions/:id on MariaDB, the revocation lost twice in a
   * row now and then. A short jittered pause (on the Clock) keeps two victims from colliding in lockstep.
   */
  async retrying<T>(work: (manager: EntityManager) => Promise<T>, mode: 'tx' | 'single' = 'tx'): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        // Through the public methods, so a test can inject failures into either.
        return await (mode === 'single' ? this.single(work) : this.run(work));
      } catch (e) {
        if (!isDeadlock(e) || attempt >= DEADLOCK_ATTEMPTS) throw e;
        await this.clock.sleep(Math.round(attempt * (5 + 20 * this.random.fraction())));
      }
    }
  }

  private queued<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
