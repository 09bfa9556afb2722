import { Global, Injectable, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Pool } from 'mysql2';
import { DataSource } from 'typeorm';
import { KvStore } from '../common/store/kv-store';
import { RedisKvStore } from '../common/store/redis-kv-store';
import { AppConfig } from '../config/app-config';
import { observePoolWait } from '../database/mysql-pool-guard';
import { RevocationService } from '../token/revocation/revocation.service';
import { Metrics, type PoolState } from './metrics';
import { metricsEnabled } from './metrics-http';

export function createMetrics(config: AppConfig): Metrics {
  return new Metrics({
    appids: [...config.wechat.apps.keys()],
    defaultMetrics: metricsEnabled(config.metrics),
    quotaLimits: {
      phone_lookup: config.phone.lookupsPerAppPerDay,
      force_refresh: config.wechat.forceRefreshDailyBudget,
    },
  });
}

/** mysql2's pool internals (3.x): arrays/queues with a length. */
interface Mysql2PoolInternals {
  _allConnections?: { length: number };
  _freeConnections?: { length: number };
  _connectionQueue?: { length: number };
}

/**
 * Connects the scrape to the state features keep (the store's health, the revocation replica, the database
 * pool) once everything is up — resolved by class through ModuleRef, so the features need not know about
 * metrics and no module imports another in a circle. METRICS_PORT's server belongs to the HTTP server
 * (registerMetrics), not to the modules, which the operator CLI builds too.
 */
@Injectable()
export class MetricsSources implements OnApplicationBootstrap {
  constructor(
    private readonly metrics: Metrics,
    private readonly config: AppConfig,
    private readonly moduleRef: ModuleRef,
  ) {}

  onApplicationBootstrap(): void {
    if (!metricsEnabled(this.config.metrics)) return;
    const store = this.moduleRef.get(KvStore, { strict: false });
    const revocations = this.optional(RevocationService);
    const pool = this.mysqlPool();
    this.metrics.addSources({
      // The connection state Redis commands already fail fast on: no round trip per scrape.
      storeUp: () => !(store instanceof RedisKvStore && store.unavailable),
      ...(revocations ? { replicaAgeSeconds: () => revocations.replicaAgeSeconds() } : {}),
      ...(pool ? { pool: () => poolStates(pool) } : {}),
    });
    if (pool) observePoolWait(pool, (s) => this.metrics.poolWaited(s));
  }

  private optional<T>(type: abstract new (...args: never[]) => T): T | undefined {
    try {
      return this.moduleRef.get(type, { strict: false });
    } catch {
      return undefined;
    }
  }

  /** The guarded mysql2 pool behind TypeORM (MySQL/MariaDB); SQLite has none. */
  private mysqlPool(): Pool | undefined {
    const dataSource = this.optional(DataSource);
    const driver = dataSource?.driver as { pool?: Pool } | undefined;
    return dataSource && ['mysql', 'mariadb'].includes(dataSource.options.type) ? driver?.pool : undefined;
  }
}

function poolStates(pool: Pool): Record<PoolState, number> {
  const p = pool as unknown as Mysql2PoolInternals;
  const all = p._allConnections?.length ?? 0;
  const idle = p._freeConnections?.length ?? 0;
  return { in_use: all - idle, idle, waiting: p._connectionQueue?.length ?? 0 };
}

/** The Metrics facade for every feature (global), and its wiring. */
@Global()
@Module({
  providers: [{ provide: Metrics, inject: [AppConfig], useFactory: createMetrics }, MetricsSources],
  exports: [Metrics],
})
export class MetricsModule {}
