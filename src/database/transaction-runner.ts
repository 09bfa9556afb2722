import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

/**
 * Runs work in a transaction. On SQLite every query shares one connection and
 * TypeORM does not serialize transactions on it, so two concurrent ones would
 * interleave (BEGIN inside BEGIN); there, transactions are queued in-process.
 */
@Injectable()
export class TransactionRunner {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly serialize: boolean;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
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

  private queued<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
