import { QueryFailedError } from 'typeorm';

function driverCode(e: unknown): string | undefined {
  if (!(e instanceof QueryFailedError)) return undefined;
  const code = (e.driverError as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A unique index rejected the row (mysql2: ER_DUP_ENTRY; better-sqlite3: SQLITE_CONSTRAINT_UNIQUE/PRIMARYKEY). */
export function isUniqueViolation(e: unknown): boolean {
  const code = driverCode(e);
  return (
    code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

/** InnoDB picked this transaction as a deadlock victim; the work may simply be retried. */
export function isDeadlock(e: unknown): boolean {
  return driverCode(e) === 'ER_LOCK_DEADLOCK';
}

/** A lock was not granted in time (InnoDB lock wait timeout, SQLite busy): the database is overloaded. */
export function isLockTimeout(e: unknown): boolean {
  const code = driverCode(e);
  return code === 'ER_LOCK_WAIT_TIMEOUT' || code === 'SQLITE_BUSY';
}

/** Why the database could not be used in time (set by the MySQL/MariaDB pool guard, mysql-pool-guard.ts). */
export type DatabaseUnavailableCode =
  /** No pooled connection within DB_POOL_ACQUIRE_TIMEOUT_MS (all busy, or the server does not answer). */
  | 'DB_POOL_ACQUIRE_TIMEOUT'
  /** DB_POOL_QUEUE_LIMIT requests are already waiting for a connection. */
  | 'DB_POOL_QUEUE_FULL'
  /** The pool was closed (shutdown): a request cut off at SHUTDOWN_GRACE_MS ran on. */
  | 'DB_POOL_CLOSED'
  /** A query (BEGIN and COMMIT included) got no answer within DB_QUERY_TIMEOUT_MS; its connection was destroyed. */
  | 'DB_QUERY_TIMEOUT'
  /** No new connection could be made (refused, reset, handshake timed out…); `cause` has mysql2's error. */
  | 'DB_CONNECT_FAILED'
  /** The connection broke under a query (server killed, network cut); `cause` has mysql2's error. */
  | 'DB_CONNECTION_LOST';

/**
 * The database did not answer in time. Carries a driver-style `code`, so the error mapping
 * (common/errors/to-error-response.ts) answers it 503 DATABASE_UNAVAILABLE like a refused connection,
 * bare or wrapped by TypeORM in a QueryFailedError (as `driverError`).
 */
export class DatabaseUnavailableError extends Error {
  constructor(
    readonly code: DatabaseUnavailableCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DatabaseUnavailableError';
  }
}
