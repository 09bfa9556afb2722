import { toErrorResponse } from '../common/errors/to-error-response';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import * as mysql2 from 'mysql2';
import { DataSource, QueryFailedError } from 'typeorm';
import type { DatabaseLimits } from '../config/app-config';
import { DatabaseUnavailableError } from './db-errors';
import { guardedMysqlDriver } from './mysql-pool-guard';
import { buildDataSourceOptions } from './typeorm-options';

/**
 * The pool guard, run the way the app runs it: TypeORM's MariaDB driver with our options, against an
 * in-process MySQL-protocol server (mysql2's own server side) that answers some queries and leaves others
 * unanswered, like a paused database. If TypeORM stops handing its pool calls to `options.driver`, or mysql2
 * stops running queries through `connection.query`, these fail (a hang or no DatabaseUnavailableError).
 */

interface FakeServer {
  port: number;
  /** Client connections accepted so far, and those the client has closed. */
  accepted: number;
  closed: number;
  /** Every query received, in order. */
  queries: string[];
  /** Queries matching this get no answer at all. */
  hang: RegExp;
  /** Queries matching this have their connection reset (the server died under them). */
  reset?: RegExp;
  stop(): Promise<void>;
}

type ServerConnection = mysql2.Connection & {
  serverHandshake(args: object): void;
  writeColumns(columns: object[]): void;
  writeTextRow(row: unknown[]): void;
  writeEof(): void;
  writeOk(): void;
  on(event: 'query', listener: (sql: string) => void): void;
  stream: Socket;
  sequenceId: number;
};

function column(name: string): object {
  return {
    catalog: 'def',
    schema: '',
    table: '',
    orgTable: '',
    name,
    orgName: name,
    characterSet: 33,
    columnLength: 384,
    columnType: 253, // VAR_STRING
    flags: 0,
    decimals: 0,
  };
}

async function startFakeServer(): Promise<FakeServer> {
  const server = mysql2.createServer(() => undefined) as unknown as {
    on(event: 'connection', listener: (conn: ServerConnection) => void): void;
    listen(port: number, host: string, cb: () => void): void;
    _server: TcpServer;
  };
  const sockets = new Set<Socket>();
  const fake: FakeServer = {
    port: 0,
    accepted: 0,
    closed: 0,
    queries: [],
    hang: /SLEEP/,
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server._server.close(() => resolve());
      }),
  };
  server.on('connection', (conn) => {
    fake.accepted++;
    sockets.add(conn.stream);
    conn.stream.on('close', () => {
      fake.closed++;
      sockets.delete(conn.stream);
    });
    conn.on('error', () => undefined);
    conn.serverHandshake({
      protocolVersion: 10,
      serverVersion: '10.11.0-MariaDB-fake',
      connectionId: fake.accepted,
      statusFlags: 2,
      characterSet: 33,
      // Plain protocol 4.1 (no session tracking, compression, TLS or connect attributes to speak).
      capabilityFlags: 0x1 | 0x2 | 0x4 | 0x8 | 0x200 | 0x2000 | 0x8000 | 0x20000 | 0x80000,
      // Anyone may log in; then the next command starts a new packet sequence.
      authCallback: (_params: unknown, done: (err: null) => void) => {
        done(null);
        conn.sequenceId = 0;
      },
    });
    conn.on('query', (sql) => {
      fake.queries.push(sql);
      if (fake.hang.test(sql)) return;
      if (fake.reset?.test(sql)) return void conn.stream.resetAndDestroy();
      const select = /^SELECT (?:VERSION\(\)|'?([^' ]*)'?) AS [`]?(\w+)[`]?$/i.exec(sql);
      if (!select) conn.writeOk();
      else {
        conn.writeColumns([column(select[2])]);
        conn.writeTextRow([select[1] ?? '10.11.0-MariaDB-fake']);
        conn.writeEof();
      }
      conn.sequenceId = 0; // the server side does not reset it for the client's next command
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.port = (server._server.address() as { port: number }).port;
  return fake;
}

// Wide enough that a loaded 2-core machine (other suites running) still connects within the acquire bound.
// Deadlines far enough apart, and upper bounds loose enough, for a loaded 2-core machine to tell them apart.
const LIMITS: DatabaseLimits = { poolSize: 1, acquireTimeoutMs: 500, queueLimit: 1, queryTimeoutMs: 2000 };

function dataSource(port: number, limits: DatabaseLimits = LIMITS): DataSource {
  return new DataSource(
    buildDataSourceOptions({
      type: 'mariadb',
      host: '127.0.0.1',
      port,
      username: 'root',
      password: '',
      database: 'fake',
      migrateOnStart: false,
      synchronize: false,
      limits,
    }),
  );
}

/** Resolves to what `work` rejected with and how long it took. */
async function failure(work: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  try {
    await work;
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
  throw new Error('expected a failure');
}

function unavailableCode(e: unknown): string | undefined {
  const inner = e instanceof QueryFailedError ? (e.driverError as unknown) : e;
  return inner instanceof DatabaseUnavailableError ? inner.code : undefined;
}

describe('mysql pool guard (TypeORM + mysql2 against a fake server)', () => {
  let server: FakeServer;
  let ds: DataSource;

  beforeEach(async () => {
    server = await startFakeServer();
    ds = dataSource(server.port);
    await ds.initialize();
  });

  afterEach(async () => {
    if (ds.isInitialized) await ds.destroy();
    await server.stop();
  });

  it('answers normally through the guard', async () => {
    expect(await ds.query(`SELECT 'hello' AS greeting`)).toEqual([{ greeting: 'hello' }]);
  });

  it('a query without answer fails at DB_QUERY_TIMEOUT_MS with DB_QUERY_TIMEOUT and its connection is closed', async () => {
    const { error, ms } = await failure(ds.query('SELECT SLEEP(60)'));
    expect(error).toBeInstanceOf(QueryFailedError);
    expect(unavailableCode(error)).toBe('DB_QUERY_TIMEOUT');
    expect(ms).toBeGreaterThanOrEqual(LIMITS.queryTimeoutMs - 20);
    expect(ms).toBeLessThan(LIMITS.queryTimeoutMs + 1000);
    // Not returned to the pool half-read: the next query gets a fresh connection and an answer.
    expect(await ds.query(`SELECT 'again' AS x`)).toEqual([{ x: 'again' }]);
    expect(server.accepted).toBe(2);
    await waitFor(() => server.closed === 1);
  });

  it('BEGIN, statements and COMMIT of a transaction each have the deadline', async () => {
    const cases: [RegExp, string][] = [
      [/^START TRANSACTION/, `SELECT 'ok' AS x`],
      [/SLEEP/, `SELECT SLEEP(60) AS x`],
      [/^COMMIT/, `SELECT 'ok' AS x`],
    ];
    for (const [stuck, statement] of cases) {
      server.hang = stuck;
      const { error, ms } = await failure(ds.transaction((m) => m.query(statement)));
      expect(unavailableCode(error)).toBe('DB_QUERY_TIMEOUT');
      // The rollback after a timed-out statement fails at once (its connection is closed): one deadline.
      expect(ms).toBeLessThan(LIMITS.queryTimeoutMs * 2 + 1000);
    }
    server.hang = /SLEEP/;
    expect(await ds.query(`SELECT 'alive' AS x`)).toEqual([{ x: 'alive' }]);
  });

  it('a busy pool answers DB_POOL_ACQUIRE_TIMEOUT after DB_POOL_ACQUIRE_TIMEOUT_MS, and DB_POOL_QUEUE_FULL at once beyond the queue', async () => {
    const holder = failure(ds.query('SELECT SLEEP(60)')); // the pool's only connection, until its deadline
    await waitFor(() => server.queries.includes('SELECT SLEEP(60)'));
    const waiting = failure(ds.query(`SELECT 'waits' AS x`));
    const refused = await failure(ds.query(`SELECT 'refused' AS x`));
    expect(unavailableCode(refused.error)).toBe('DB_POOL_QUEUE_FULL');
    expect(refused.ms).toBeLessThan(250);

    const waited = await waiting;
    expect(unavailableCode(waited.error)).toBe('DB_POOL_ACQUIRE_TIMEOUT');
    expect(waited.ms).toBeGreaterThanOrEqual(LIMITS.acquireTimeoutMs - 20);
    expect(waited.ms).toBeLessThan(LIMITS.queryTimeoutMs);
    expect(unavailableCode((await holder).error)).toBe('DB_QUERY_TIMEOUT');

    // The waiter that gave up left nothing stuck: the pool of one serves again.
    expect(await ds.query(`SELECT 'free' AS x`)).toEqual([{ x: 'free' }]);
  });

  it('a waiter that gave up hands its late connection back to the pool', async () => {
    server.hang = /^SELECT 'slow'/;
    const holder = failure(ds.query(`SELECT 'slow' AS x`));
    const waited = await failure(ds.query(`SELECT 'waits' AS x`));
    expect(unavailableCode(waited.error)).toBe('DB_POOL_ACQUIRE_TIMEOUT');
    await holder;
    // Twice: a connection lost to an abandoned waiter would leave the second one waiting.
    expect(await ds.query(`SELECT 'one' AS x`)).toEqual([{ x: 'one' }]);
    expect(await ds.query(`SELECT 'two' AS x`)).toEqual([{ x: 'two' }]);
  });

  it('a connection that breaks under a query is DB_CONNECTION_LOST, never a bare ECONNRESET', async () => {
    server.reset = /^SELECT 'doomed'/;
    const { error } = await failure(ds.query(`SELECT 'doomed' AS x`));
    expect(error).toBeInstanceOf(QueryFailedError);
    expect(unavailableCode(error)).toBe('DB_CONNECTION_LOST');
    // QueryFailedError copies the driver error's fields onto itself: the code seen is ours.
    expect((error as { code?: unknown }).code).toBe('DB_CONNECTION_LOST');
    expect(((error as QueryFailedError).driverError as Error).message).toMatch(
      /ECONNRESET|PROTOCOL_CONNECTION_LOST/,
    );
    expect(await ds.query(`SELECT 'next' AS x`)).toEqual([{ x: 'next' }]);
  });

  it('closing the pool does not wait for a server that stopped answering', async () => {
    void ds.query('SELECT SLEEP(60)').catch(() => undefined);
    await waitFor(() => server.queries.includes('SELECT SLEEP(60)'));
    const started = Date.now();
    await ds.destroy();
    expect(Date.now() - started).toBeLessThan(LIMITS.acquireTimeoutMs + LIMITS.queryTimeoutMs + 300);
  });
});

describe('mysql pool guard: a server that accepts TCP but never speaks', () => {
  let silent: TcpServer;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    silent = createTcpServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('refuses within DB_POOL_ACQUIRE_TIMEOUT_MS instead of waiting for a handshake', async () => {
    const ds = dataSource((silent.address() as { port: number }).port);
    const { error, ms } = await failure(ds.initialize());
    // Our acquire timer and mysql2's connectTimeout (set to the same bound) race; either is right.
    const code = unavailableCode(error) ?? (error as { code?: string }).code;
    expect(['DB_POOL_ACQUIRE_TIMEOUT', 'ETIMEDOUT']).toContain(code);
    expect(ms).toBeLessThan(LIMITS.acquireTimeoutMs + 1000);
  });
});

describe('mysql pool guard: nothing listening', () => {
  it('a refused connection is DB_CONNECT_FAILED with mysql2’s error as its cause', async () => {
    const probe = createTcpServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const { error, ms } = await failure(dataSource(port).initialize());
    expect(unavailableCode(error)).toBe('DB_CONNECT_FAILED');
    expect(((error as Error).cause as { code?: string }).code).toBe('ECONNREFUSED');
    expect((error as Error).message).toContain('ECONNREFUSED');
    expect(ms).toBeLessThan(LIMITS.acquireTimeoutMs);
  });
});

describe('a closed pool (shutdown)', () => {
  it('answers DB_POOL_CLOSED (503 DATABASE_UNAVAILABLE), never a bare "Pool is closed." (500)', async () => {
    const driver = guardedMysqlDriver({ acquireTimeoutMs: 500, queryTimeoutMs: 500 });
    const pool = driver.createPool({ host: '127.0.0.1', port: 1 });
    await new Promise<void>((resolve) => pool.end(() => resolve()));
    const error = await new Promise<Error | null>((resolve) => pool.getConnection((err) => resolve(err)));
    expect(unavailableCode(error)).toBe('DB_POOL_CLOSED');
    expect(toErrorResponse(error)).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE' });
  });
});

describe('guardedMysqlDriver', () => {
  it('is mysql2 with only createPool replaced', () => {
    const driver = guardedMysqlDriver({ acquireTimeoutMs: 100, queryTimeoutMs: 100 }) as typeof mysql2;
    expect(driver.createPool).not.toBe(mysql2.createPool);
    expect(driver.createConnection).toBe(mysql2.createConnection);
    expect(driver.escape).toBe(mysql2.escape);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
