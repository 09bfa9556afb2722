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
