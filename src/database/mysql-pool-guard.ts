import * as mysql2 from 'mysql2';
import type { Pool, PoolConnection, PoolOptions } from 'mysql2';
import { DatabaseUnavailableError } from './db-errors';

/**
 * Deadlines for every MySQL/MariaDB call, handed to TypeORM as its `driver` option (a mysql2 module
 * whose `createPool` returns a guarded pool). Without them a database that stops answering (paused,
 * a dropped network path: TCP up, no replies) hangs each request until it comes back, and requests
 * pile up without bound.
 *
 * What the code below relies on, read in node_modules (typeorm 1.1.1, mysql2 3.24.6), not guessed:
 * - TypeORM's MysqlDriver loads `options.driver ?? require('mysql2')` and only ever calls
 *   `driver.createPool(options)`, then `pool.getConnection(cb)` (every query runner, also at start)
 *   and `pool.end(cb)` (DataSource.destroy). A query runs as `connection.promise().query(sql, params)`,
 *   and mysql2's PromiseConnection calls `connection.query(sql, params, cb)` on the pooled connection.
 * - mysql2's pool has no acquire timeout: a caller waits in `_connectionQueue` for as long as it takes;
 *   `queueLimit: 0` (its default) means an unbounded queue. `queueLimit > 0` refuses at once with
 *   `Error('Queue limit reached.')`, `waitForConnections: false` with `Error('No connections available.')`
 *   (neither has a `code`).
 * - mysql2's per-query `timeout` (what TypeORM's `enableQueryTimeout` + `maxQueryExecutionTime` pass)
 *   is not enough: on expiry it only calls the query's callback; the connection keeps the unanswered
 *   command as its current one and goes back to the pool, where the next query queues behind it, and
 *   that query's own timer only starts once it reaches the head of the connection's queue — so it hangs
 *   for as long as the server does. Hence our own timer, started when the query is issued, which
 *   destroys the connection (mysql2 removes a destroyed connection from the pool at once).
 * - `connectTimeout` bounds the handshake of a new connection (`ETIMEDOUT`, socket destroyed).
 *
 * The one intrusion: the `query` method of each pooled connection is wrapped (an own property on that
 * mysql2 object; nothing of TypeORM is touched). `mysql-pool-guard.spec.ts` runs TypeORM on this guard
 * against a fake server and fails if either library stops calling what is wrapped here.
 */
export interface PoolGuardLimits {
  /** Longest wait for a connection, making a new one included. */
  acquireTimeoutMs: number;
  /** Longest a single query may take, from the moment it is issued; 0 = no deadline (migration CLI). */
  queryTimeoutMs: number;
}

/** The subset of the mysql2 module TypeORM's driver uses (replication's createPoolCluster is not used here). */
export type Mysql2Module = Pick<typeof mysql2, 'createPool'>;

export function guardedMysqlDriver(limits: PoolGuardLimits, mysql: Mysql2Module = mysql2): Mysql2Module {
  // Everything but createPool is mysql2's own (the module's exports are getters: defined, not assigned).
  return Object.create(mysql, {
    createPool: { value: (options: PoolOptions) => guardPool(mysql.createPool(options), limits) },
  }) as Mysql2Module;
}

const GUARDED = Symbol('wxauth.queryDeadline');

/** Who hears how long each `getConnection` waited (the `db_pool_wait_seconds` metric), by guarded pool. */
const waitListeners = new WeakMap<Pool, (seconds: number) => void>();

/** Calls `listener` with every wait for a connection of this guarded pool, answered or timed out. */
export function observePoolWait(pool: Pool, listener: (seconds: number) => void): void {
  waitListeners.set(pool, listener);
}

/**
 * The pool with a bounded `getConnection` and `end`; everything else is mysql2's own (bound to the real
 * pool, so mysql2's internal calls such as handing a released connection to the next waiter are untouched).
 */
export function guardPool(pool: Pool, limits: PoolGuardLimits): Pool {
  const getConnection = (cb: (err: Error | null, connection?: PoolConnection) => void): void => {
    let answered = false;
    const started = performance.now();
    const waited = () => waitListeners.get(guarded)?.((performance.now() - started) / 1000);
    const timer = setTimeout(() => {
      answered = true;
      waited();
      cb(
        new DatabaseUnavailableError(
          'DB_POOL_ACQUIRE_TIMEOUT',
          `no database connection within ${limits.acquireTimeoutMs} ms ` +
            `(pool of ${pool.config.connectionLimit}, all busy or the server is not answering)`,
        ),
      );
    }, limits.acquireTimeoutMs);
    pool.getConnection((err, connection) => {
      if (answered) {
        // The caller has had its 503; our place in mysql2's queue came through later: give it back.
        if (!err) connection.release();
        return;
      }
      answered = true;
      clearTimeout(timer);
      waited();
      if (err) cb(queueRefusal(err) ?? asUnavailable('DB_CONNECT_FAILED', err));
      else cb(null, guardConnection(connection, limits.queryTimeoutMs));
    });
  };

  const end = (cb?: (err?: Error | null) => void): void => {
    // mysql2 ends each connection with a QUIT queued behind its current command; on a server that has
    // stopped answering that never comes. Closing gets the longest a query in flight may still take.
    let done = false;
    const finish = (err?: Error | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      cb?.(err);
    };
    const timer = setTimeout(finish, limits.acquireTimeoutMs + limits.queryTimeoutMs);
    pool.end(finish);
  };

  const guarded = new Proxy(pool, {
    get(target, property) {
      if (property === 'getConnection') return getConnection;
      if (property === 'end') return end;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return guarded;
}

function queueRefusal(err: Error): DatabaseUnavailableError | undefined {
  if ((err as { code?: unknown }).code !== undefined) return undefined;
  if (/^Pool is closed\.?$/.test(err.message))
    // Shutting down: a request cut off at SHUTDOWN_GRACE_MS still running. Not a bug, and its client is gone.
    return new DatabaseUnavailableError('DB_POOL_CLOSED', 'the database pool is closed (shutting down)', {
      cause: err,
    });
  if (!/^(Queue limit reached|No connections available)\.?$/.test(err.message)) return undefined;
  return new DatabaseUnavailableError(
    'DB_POOL_QUEUE_FULL',
    'all database connections are busy and no more requests may wait for one (DB_POOL_QUEUE_LIMIT)',
    { cause: err },
  );
}

/**
 * mysql2 marks connection-level failures `fatal` (socket errors, a closed connection; never an SQL error).
 * They are given a code of ours that names the database, keeping mysql2's error as `cause` and its code in
 * the message: a bare `ECONNRESET` (which TypeORM's QueryFailedError copies onto itself) would look like a
 * client that hung up to the exception filter (common/filters), which then sends no answer at all.
 */
function asUnavailable(code: 'DB_CONNECT_FAILED' | 'DB_CONNECTION_LOST', err: Error): Error {
  const e = err as Error & { fatal?: unknown; code?: unknown };
  if (e.fatal !== true || err instanceof DatabaseUnavailableError) return err;
  const what = code === 'DB_CONNECT_FAILED' ? 'cannot connect to the database' : 'database connection lost';
  return new DatabaseUnavailableError(code, `${what} (${String(e.code ?? 'no code')}: ${err.message})`, {
    cause: err,
  });
}

type Callback = (err: Error | null, ...result: unknown[]) => void;
type GuardedConnection = PoolConnection & { [GUARDED]?: true };

/** Once per physical connection: every query issued on it gets `queryTimeoutMs`. */
export function guardConnection(connection: PoolConnection, queryTimeoutMs: number): PoolConnection {
  const conn = connection as GuardedConnection;
  if (conn[GUARDED]) return conn;
  conn[GUARDED] = true;
  // A pooled connection's only 'error' listener is mysql2's own `once` (it removes the connection from
  // the pool); a second error event would then be unhandled and end the process. Errors reach the
  // query callbacks anyway.
  conn.on('error', () => undefined);
  if (queryTimeoutMs <= 0) return conn;

  const query = conn.query as (...args: unknown[]) => unknown;
  const guarded = function (this: PoolConnection, ...args: unknown[]): unknown {
    const last = args.length - 1;
    const callback = args[last];
    // Without a callback the caller streams the rows (TypeORM's `stream()`, unused here): left alone.
    if (typeof callback !== 'function') return query.apply(this, args);
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      // The server may still be working on it, or not be there at all: this connection is beyond use.
      conn.destroy();
      (callback as Callback)(
        new DatabaseUnavailableError(
          'DB_QUERY_TIMEOUT',
          `the database did not answer a query within ${queryTimeoutMs} ms; connection closed`,
        ),
      );
    }, queryTimeoutMs);
    args[last] = (err: Error | null, ...result: unknown[]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      (callback as Callback)(err && asUnavailable('DB_CONNECTION_LOST', err), ...result);
    };
    return query.apply(this, args);
  };
  Object.defineProperty(conn, 'query', { value: guarded, configurable: true, writable: true });
  return conn;
}
