import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';

export interface PrivateRedisOptions {
  password?: string;
  /** A port chosen by the caller (several servers need distinct ones); default: a free one. */
  port?: number;
  /** More command-line options (`--cluster-enabled yes`, `--replicaof …`, `--sentinel`…). */
  args?: (port: number) => string[];
  /**
   * A configuration file's text (a sentinel needs one it can rewrite). With `args` or `config` the server
   * runs in a directory of its own (`dir`: nodes.conf, sentinel.conf), removed by `kill()`.
   */
  config?: (port: number) => string;
}

/**
 * A redis-server of a suite's own on a free port (never the shared one): paused (SIGSTOP: TCP up, no
 * answers), resumed, killed by pid and started again on the same port (empty: no persistence).
 */
export class PrivateRedis {
  private proc?: ChildProcess;
  /** The server's own directory (only with `args` or `config`). */
  dir?: string;

  private constructor(
    readonly port: number,
    private readonly password?: string,
    private readonly options: PrivateRedisOptions = {},
  ) {}

  static async create(password?: string): Promise<PrivateRedis> {
    return new PrivateRedis(await freePort(), password);
  }

  /** A server with more options: a cluster node, a replica, a sentinel. */
  static async createWith(options: PrivateRedisOptions): Promise<PrivateRedis> {
    return new PrivateRedis(options.port ?? (await freePort()), options.password, options);
  }

  /** The process id while it runs (tests kill it by pid). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get url(): string {
    return `redis://${this.password ? `:${this.password}@` : ''}127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    if (this.password) args.push('--requirepass', this.password);
    const { config, args: more } = this.options;
    if (config || more) {
      this.dir ??= mkdtempSync(join(tmpdir(), `wxauth-redis-${this.port}-`));
      args.push('--dir', this.dir);
      if (more) args.push(...more(this.port));
      if (config) {
        const file = join(this.dir, 'redis.conf');
        writeFileSync(file, config(this.port));
        // The configuration file comes first on redis-server's command line.
        args.unshift(file);
      }
    }
    this.proc = spawn('redis-server', args, { stdio: 'ignore' });
    const until = Date.now() + 10_000;
    while (!(await this.answers())) {
      if (Date.now() > until) throw new Error(`redis-server on port ${this.port} did not start`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** A raw PING over TCP (an ioredis probe failing to connect would linger and retry after the test). */
  private answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect(this.port, '127.0.0.1', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        // Up either way: +PONG, or -NOAUTH with a password set.
        resolve(/^(\+PONG|-NOAUTH)/.test(data.toString()));
      });
      socket.once('error', () => resolve(false));
    });
  }

  pause(): void {
    this.proc?.kill('SIGSTOP');
  }

  resume(): void {
    this.proc?.kill('SIGCONT');
  }

  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGCONT');
    proc.kill('SIGKILL');
    await gone;
  }

  /** `kill()`, then the server's own directory removed. */
  async stop(): Promise<void> {
    await this.kill();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
