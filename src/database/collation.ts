/**
 * The collation of WeChat ids (appid, openid, unionid) on MySQL/MariaDB. They are case-sensitive strings:
 * under the tables' utf8mb4_unicode_ci, `ocaseuserX` found the user of `oCaseUserX` (an account takeover)
 * and the unique index refused the second as a duplicate. Binary compares them byte for byte.
 *
 * How TypeORM 1.1.1 treats a column collation (read in node_modules/typeorm, not guessed):
 * - MySQL/MariaDB: `loadTables` reads `COLUMNS.COLLATION_NAME` (undefined when it equals the *database*
 *   default) and `buildCreateColumnSql` writes `COLLATE "…"`; but `findChangedColumns` never compares it, so
 *   neither `migration:generate` nor the drift test can see a collation difference. Declaring it on the entity
 *   keeps DDL that TypeORM writes itself (a generated migration that changes such a column, synchronize)
 *   from silently falling back to the case-insensitive table default; the e2e suite checks the live columns.
 * - SQLite compares TEXT with BINARY by default (already case-sensitive) and knows no `utf8mb4_bin`:
 *   `CREATE TABLE … COLLATE utf8mb4_bin` fails there. `loadTables` does not read collations and
 *   `findChangedColumns` ignores them, so the entities' value is inert on SQLite as long as its schema comes
 *   from the migrations (it does: synchronize is never on). The migrations set the collation on MySQL only.
 */
export const CASE_SENSITIVE_COLLATION = 'utf8mb4_bin';

/** The tables' collation for everything else (set by the initial migration). */
export const DEFAULT_COLLATION = 'utf8mb4_unicode_ci';
