/**
 * The shared store did not answer (Redis down, paused, unreachable, or the store closed). Thrown by every
 * `KvStore` operation that cannot complete, fast (never a hang).
 *
 * A storage error, not an HTTP one: `common/store` knows nothing of responses. The one error mapping
 * (`common/errors/to-error-response.ts`) answers it as 503 SERVICE_UNAVAILABLE with `Retry-After:
 * retryAfterSeconds`; the CLI and background jobs see a plain error.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';

  constructor(
    /** How long a client should wait before trying again (the store reconnects by itself). */
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super('the shared store is unavailable', options);
  }
}
