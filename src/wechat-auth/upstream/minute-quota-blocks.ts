import type { Clock } from '../../common/clock/clock';
import type { KvStore } from '../../common/store/kv-store';
import { ReplicatedMap } from '../../common/store/replicated-map';
import { CHANNELS, KEY_PREFIXES, StoreKeys } from '../../common/store/store-keys';

/** WeChat answered 45011 for an app's API: no call of that API for that app until `until` (epoch ms). */
export interface QuotaBlock {
  appid: string;
  api: string;
  until: number;
}

/** How often the store is retried while the feed is not in sync (as the revocations). */
const RETRY_MS = 2000;

/**
 * The 45011 stops of every instance, held in memory: checking one before a WeChat call is a Map read, not a
 * Redis round trip. A block is applied here at once, stored under `wx:quota:<appid>:<api>` until the minute
 * turns and published to every instance (a ReplicatedMap, like the revocations). While the feed is not known
 * complete — lost, never loaded, or re-reading after a reconnection — every check asks the store instead, as it
 * did before the map existed; so a block set by another instance is never missed for longer than a message in
 * flight. A store that cannot answer fails the check (503), as before. The map is never "stale" in the
 * revocations' sense: nothing is refused because of the feed, it only costs the round trip again.
 */
export class MinuteQuotaBlocks {
  private readonly replica: ReplicatedMap<QuotaBlock>;

  constructor(
    private readonly store: KvStore,
    private readonly clock: Clock,
    graceMs: number,
  ) {
    this.replica = new ReplicatedMap<QuotaBlock>(store, clock, {
      channel: CHANNELS.wechatQuota,
      prefix: KEY_PREFIXES.wechatMinuteQuota,
      keyOf: (b) => StoreKeys.wechatMinuteQuota(b.appid, b.api),
      decode: decodeQuotaBlock,
      expiresAt: (b) => b.until,
      supersedes: (next, current) => next.until >= current.until,
      graceMs,
      retryMs: RETRY_MS,
      alertPrefix: 'WECHAT_QUOTA',
    });
  }

  /** Subscribes and loads the live blocks (until then, and whenever the feed is lost, checks read the store). */
  start(): Promise<void> {
    return this.replica.start();
  }

  stop(): void {
    this.replica.stop();
  }

  /** Milliseconds until `api` may be called again for `appid` (0: not blocked). */
  async blockedMs(appid: string, api: string): Promise<number> {
    const key = StoreKeys.wechatMinuteQuota(appid, api);
    if (this.replica.inSyncNow) {
      const block = this.replica.get(key);
      return block ? Math.max(0, block.until - this.clock.now()) : 0;
    }
    return Math.max(0, await this.store.ttl(key));
  }

  /** Blocks `api` for `appid` until `until` everywhere; rejects (and keeps retrying) when the store did not take it. */
  block(appid: string, api: string, until: number): Promise<void> {
    return this.replica.put({ appid, api, until });
  }
}

function decodeQuotaBlock(raw: string): QuotaBlock | null {
  try {
    const b = JSON.parse(raw) as Partial<QuotaBlock> | null;
    return b && typeof b.appid === 'string' && typeof b.api === 'string' && Number.isFinite(b.until)
      ? { appid: b.appid, api: b.api, until: b.until as number }
      : null;
  } catch {
    return null;
  }
}
