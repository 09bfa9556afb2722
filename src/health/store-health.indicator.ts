import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { KvStore } from '../common/store/kv-store';

/** The shared store (Redis when configured) answers a ping. */
@Injectable()
export class StoreHealthIndicator {
  constructor(
    private readonly store: KvStore,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async check(key: string): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(key);
    try {
      await this.store.ping();
      return indicator.up({ kind: this.store.kind });
    } catch {
      return indicator.down({ kind: this.store.kind });
    }
  }
}
