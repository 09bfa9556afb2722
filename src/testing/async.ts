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
