import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { KvStore } from '../common/store/kv-store';

/** One round trip to the database (`SELECT 1`), through the app's own pool. */
@Injectable()
export class DatabasePing {
  constructor(private readonly dataSource: DataSource) {}

  async ping(): Promise<void> {
    await this.dataSource.query('SELECT 1');
  }
}

/** The shared store (Redis when configured, else this process's memory) answers a ping. */
@Injectable()
export class StorePing {
  constructor(private readonly store: KvStore) {}

  async ping(): Promise<{ kind: string }> {
    await this.store.ping();
    return { kind: this.store.kind };
  }
}
