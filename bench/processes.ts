import { type ChildProcess, fork, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
/** How much of a child's output is kept to explain a failure. */
const OUTPUT_TAIL = 16 * 1024;
const START_TIMEOUT_MS = 60_000;

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  /** The last OUTPUT_TAIL characters the child wrote (stdout and stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

function track(name: string, child: ChildProcess): Child {
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    name,
    process: child,
    output: () => tail,
    async stop(graceMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

function failure(child: Child, why: string): Error {
  return new Error(`${child.name} ${why}; its output:\n${child.output() || '(none)'}`);
}

/** A TypeScript file of bench/ in its own process; resolves with the port it reports over IPC. */
export async function startBenchChild(
  name: string,
  file: string,
  env: Record<string, string>,
): Promise<{ child: Child; port: number }> {
  const child = track(
    name,
    fork(join(__dirname, file), [], {
      cwd: ROOT,
      execArgv: ['-r', 'ts-node/register/transpile-only'],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    }),
  );
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(failure(child, 'did not start in time')), START_TIMEOUT_MS);
      child.process.once('message', (m: { port: number }) => {
        clearTimeout(timer);
        resolve(m.port);
      });
      child.process.once('exit', (code) => reject(failure(child, `exited with ${code} while starting`)));
    });
    return { child, port };
  } catch (e) {
    await child.stop();
    throw e;
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `npx nest build` (always: others edit src/ while the bench runs, so dist/ is rebuilt from what is there). */
export async function buildService(): Promise<void> {
  const build = track(
    'nest build',
    spawn('npx', ['nest', 'build'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  const code = await new Promise<number | null>((resolve) => build.process.once('exit', resolve));
  if (code !== 0) throw failure(build, `failed (exit ${code})`);
}

/**
 * The service as production runs it, `node dist/main.js`, on 127.0.0.1:`port`; resolves once
 * GET /health/live answers 200. `cpuProfileDir` adds `--cpu-prof` (the profile is written at exit).
 */
export async function startService(
  port: number,
  env: Record<string, string>,
  cpuProfileDir?: string,
): Promise<{ child: Child; baseUrl: string }> {
  const flags = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [];
  const child = track(
    'service',
    spawn(process.execPath, [...flags, 'dist/main.js'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  try {
    for (;;) {
      if (child.process.exitCode !== null)
        throw failure(child, `exited with ${child.process.exitCode} at start`);
      if (Date.now() > deadline) throw failure(child, 'did not become healthy in time');
      const status = await fetch(`${baseUrl}/health/live`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) return { child, baseUrl };
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (e) {
    await child.stop();
    throw e;
  }
}
