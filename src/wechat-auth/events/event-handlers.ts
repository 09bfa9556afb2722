import { Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { BackgroundWork } from '../../common/concurrency/background-work';
import type { PushEvent } from './push-verifier';

/** Reacts to one event type. May be async; whatever it throws is logged, never answered to WeChat. */
export type EventHandler = (event: PushEvent) => void | Promise<void>;

/** `wxa_media_check`: WeChat's verdict on an image or audio sent to media_check_async (version 2). */
export interface MediaCheckEvent {
  appid?: string;
  trace_id?: string;
  version?: number;
  errcode?: number;
  result?: { suggest?: string; label?: number };
}

/** Names as they go on a log line: WeChat's are short words; anything else is not echoed. */
const NAME = /^[A-Za-z0-9_]{1,64}$/;

/**
 * Who handles which event of WeChat's message push, and the in-process dispatcher that runs them after
 * the push is answered (WeChat waits 5 s for `success` and then sends the push again; the work is not its
 * concern). Features register with `on('wxa_media_check', fn)` (the last registration wins); the default
 * for `wxa_media_check` logs the trace id at debug and drops the event: no avatar waits for it yet.
 * Event types nobody handles are accepted and ignored. WeChat may deliver an event more than once (its
 * own retries): handlers must be idempotent (a verdict applied twice is the same verdict).
 */
@Injectable()
export class EventHandlers implements BeforeApplicationShutdown {
  private readonly logger = new Logger('WechatEvents');
  private readonly handlers = new Map<string, EventHandler>();
  private readonly running = new BackgroundWork();

  constructor() {
    this.handlers.set('wxa_media_check', (event) => {
      const e = event as MediaCheckEvent;
      this.logger.debug(
        {
          event: 'wxa_media_check',
          traceId: typeof e.trace_id === 'string' ? e.trace_id.slice(0, 64) : null,
        },
        'media check verdict for an unknown trace id: dropped',
      );
    });
  }

  /** Makes `handler` the one for `event` (replacing the default, or an earlier registration). */
  on(event: string, handler: EventHandler): void {
    this.handlers.set(event, handler);
  }

  /** Schedules the event's handler after the current request; never throws. */
  dispatch(event: PushEvent): void {
    const type = event.MsgType === 'event' && typeof event.Event === 'string' ? event.Event : undefined;
    const handler = type !== undefined ? this.handlers.get(type) : undefined;
    if (!handler) {
      this.logger.debug(
        { msgType: nameOf(event.MsgType), event: nameOf(event.Event) },
        'wechat push without a handler: ignored',
      );
      return;
    }
    this.running.add(
      new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => handler(event))
        .catch((err: unknown) => {
          // The error's name only: a message could quote the event.
          this.logger.error(
            { event: type, error: err instanceof Error ? err.name : typeof err },
            'wechat event handler failed',
          );
        }),
    );
  }

  /** Resolves when every handler started so far has finished (tests; shutdown). */
  async drain(): Promise<void> {
    await this.running.drain();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.drain();
  }
}

function nameOf(v: unknown): string | null {
  return typeof v === 'string' && NAME.test(v) ? v : null;
}
