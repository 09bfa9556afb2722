import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type Connection } from 'mysql2/promise';
import { freePort } from './free-port';

/**
 * A MariaDB server of the test's own: its own data directory, port and socket, started as a child
 * process so the test may pause (SIGSTOP: TCP still accepted, nothing answered), kill and restart it.
 * Never the shared server at 127.0.0.1:3306, which other suites use at the same time.
 * Root over TCP with an empty password (`--auth-root-authentication-method=normal`).
 */
export interface PrivateMariaDb {
  readonly port: number;
  /** The running server's pid (changes on restart). */
  readonly pid: number;
  /** `mariadb://root@127.0.0.1:port/name` for DATABASE_URL. */
  url(database: string): string;
  /** A root connection (no default database); close it with `end()`. */
  admin(): Promise<Connection>;
  createDatabase(name: string): Promise<void>;
  pause(): void;
  resume(): void;
  /** SIGKILL, then wait for the process to be gone. */
  kill(): Promise<void>;
  /** Start again on the same port and data directory (InnoDB crash recovery after a kill). */
  restart(): Promise<void>;
  /** Kill the server and remove its data directory. */
  destroy(): Promise<void>;
}

const MARIADBD = process.env.TEST_MARIADBD ?? firstExisting(['/usr/sbin/mariadbd', '/usr/sbin/mysqld']);
const INSTALL_DB = process.env.TEST_MARIADB_INSTALL_DB ?? 'mariadb-install-db';
// mariadbd refuses to run as root unless told to; as anyone else it runs as that user.
const USER = process.getuid?.() === 0 ? ['--user=root'] : [];
// Small enough to start in about a second and take ~30 MB of disk.
const SMALL = ['--innodb-buffer-pool-size=16M', '--innodb-log-file-size=8M', '--skip-name-resolve'];

function firstExisting(paths: string[]): string {
  return paths.find((p) => existsSync(p)) ?? paths[0];
}

/** Whether a MariaDB server can be installed and started here (else the ops suite fails early with why). */
export function mariadbAvailable(): string | undefined {
  if (!existsSync(MARIADBD)) return `no MariaDB server binary at ${MARIADBD} (set TEST_MARIADBD)`;
  const probe = spawnSync(INSTALL_DB, ['--help'], { stdio: 'ignore' });
  if (probe.error) return `${INSTALL_DB} not found (set TEST_MARIADB_INSTALL_DB)`;
  return undefined;
}

export async function startPrivateMariaDb(): Promise<PrivateMariaDb> {
  const missing = mariadbAvailable();
  if (missing) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), 'wxauth-mariadb-'));
  const datadir = join(dir, 'data');
  const install = spawnSync(
    INSTALL_DB,
    [
      '--no-defaults',
      `--datadir=${datadir}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      ...USER,
      ...SMALL,
    ],
    { encoding: 'utf8' },
  );
  if (install.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`mariadb-install-db failed (${install.status}): ${install.stderr || install.stdout}`);
  }
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  // If the test process dies first, the server must not outlive it.
  const reap = (): void => void child?.kill('SIGKILL');
  process.once('exit', reap);

  const start = async (): Promise<void> => {
    const proc = spawn(
      MARIADBD,
      [
        '--no-defaults',
        ...USER,
        `--datadir=${datadir}`,
        `--socket=${join(dir, 'mariadb.sock')}`,
        `--pid-file=${join(dir, 'mariadb.pid')}`,
        `--log-error=${join(dir, 'error.log')}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        ...SMALL,
      ],
      { stdio: 'ignore' },
    );
    child = proc;
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    let gone = false;
    void exited.then(() => (gone = true));
    const until = Date.now() + 30_000;
    for (;;) {
      if (gone) throw new Error(`mariadbd exited at start:\n${errorLogTail(dir)}`);
      try {
        const c = await createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 1000 });
        await c.end();
        return;
      } catch (e) {
        if (Date.now() > until)
          throw new Error(`mariadbd did not accept connections: ${String(e)}`, { cause: e });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };

  const kill = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };

  await start();
  const server: PrivateMariaDb = {
    port,
    get pid() {
      return child?.pid ?? -1;
    },
    url: (database) => `mariadb://root@127.0.0.1:${port}/${database}`,
    admin: () => createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 2000 }),
    async createDatabase(name) {
      const c = await server.admin();
      await c.query(`CREATE DATABASE \`${name}\``);
      await c.end();
    },
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    kill,
    restart: start,
    async destroy() {
      await kill();
      process.removeListener('exit', reap);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

function errorLogTail(dir: string): string {
  try {
    return readFileSync(join(dir, 'error.log'), 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no error log)';
  }
}
