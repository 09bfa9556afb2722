import type { FakeClock } from '../common/clock/fake-clock';

/** Promise helpers for unit tests that step through async code by hand. */

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/** A promise plus the functions that settle it. */
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets pending promise callbacks run (one setImmediate tick). */
export const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

export type Outcome<T> =
  { state: 'pending' } | { state: 'fulfilled'; value: T } | { state: 'rejected'; error: unknown };

/** An object that shows the promise's state, updated in place as it settles. */
export function track<T>(promise: Promise<T>): Outcome<T> {
  const outcome = { state: 'pending' } as Outcome<T>;
  promise.then(
    (value) => Object.assign(outcome, { state: 'fulfilled', value }),
    (error: unknown) => Object.assign(outcome, { state: 'rejected', error }),
  );
  return outcome;
}

/**
 * Flushes and moves fake time forward 1 ms at a time until every promise has settled; their outcomes.
 * Still pending after `limitMs` of fake time fails the test: a hang, not a slow answer.
 */
export async function settleAll<T>(
  promises: Promise<T>[],
  clock: FakeClock,
  limitMs = 60_000,
): Promise<Outcome<T>[]> {
  const outcomes = promises.map((p) => track(p));
  for (let waited = 0; ; waited++) {
    await flush();
    if (outcomes.every((o) => o.state !== 'pending')) return outcomes;
    if (waited >= limitMs) throw new Error(`still pending after ${limitMs} ms of fake time`);
    clock.advance(1);
  }
}

/** `settleAll` for one promise. */
export async function settle<T>(
  promise: Promise<T>,
  clock: FakeClock,
  limitMs?: number,
): Promise<Outcome<T>> {
  return (await settleAll([promise], clock, limitMs))[0];
}
