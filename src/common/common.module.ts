import { Global, Module, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { Clock } from './clock/clock';
import { SecretBox } from './crypto/secret-box';
import { SystemClock } from './clock/system-clock';
import { Random } from './random/random';
import { createKvStore } from './store/create-kv-store';
import { KvStore } from './store/kv-store';

/** Side effects every feature may use: time, randomness, the shared store and encryption at rest. */
@Global()
@Module({
  providers: [
    { provide: Clock, useClass: SystemClock },
    Random,
    { provide: KvStore, inject: [AppConfig, Clock], useFactory: createKvStore },
    // Small secrets at rest (session_keys, kept WeChat answers), under SESSION_KEY_ENCRYPTION_KEY.
    {
      provide: SecretBox,
      inject: [AppConfig],
      useFactory: (c: AppConfig) => new SecretBox(c.sessionKeyEncryptionKey),
    },
  ],
  exports: [Clock, Random, KvStore, SecretBox],
})
export class CommonModule implements OnApplicationShutdown {
  constructor(private readonly store: KvStore) {}

  /** Once, after the requests in flight are done: its timers, subscriptions and connections. */
  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
