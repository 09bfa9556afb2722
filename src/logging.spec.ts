import { Writable } from 'node:stream';
import { testConfig } from './testing/test-config';
import { bootLogger, createRootLogger } from './logging';

function capture(level = 'info') {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const root = createRootLogger(testConfig({ LOG_LEVEL: level }), destination);
  return { lines, logger: bootLogger(root) };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('bootLogger (Nest logging while the app is created)', () => {
  it('writes one JSON line per call, with Nest’s context, and the stack of an error as a field', async () => {
    const { lines, logger } = capture();
    logger.log('Starting Nest application...', 'NestFactory');
    logger.error(
      'Unable to connect to the database. Retrying (1)...',
      'Error: boom\n    at x',
      'TypeOrmModule',
    );
    logger.warn({ alert: 'REDIS_UNAVAILABLE' }, 'redis error: connect ECONNREFUSED', 'Redis');
    await settle();
    expect(lines).toEqual([
      expect.objectContaining({ level: 30, context: 'NestFactory', msg: 'Starting Nest application...' }),
      expect.objectContaining({
        level: 50,
        context: 'TypeOrmModule',
        stack: 'Error: boom\n    at x',
        msg: 'Unable to connect to the database. Retrying (1)...',
      }),
      expect.objectContaining({
        level: 40,
        context: 'Redis',
        alert: 'REDIS_UNAVAILABLE',
        msg: 'redis error: connect ECONNREFUSED',
      }),
    ]);
  });

  it('logs an Error object (Nest’s ExceptionHandler) with its name, message, code and stack', async () => {
    const { lines, logger } = capture();
    logger.error(
      Object.assign(new Error('cannot connect'), { code: 'DB_CONNECT_FAILED' }),
      'ExceptionHandler',
    );
    await settle();
    expect(lines).toEqual([
      expect.objectContaining({
        level: 50,
        context: 'ExceptionHandler',
        msg: 'cannot connect',
        code: 'DB_CONNECT_FAILED',
        err: expect.objectContaining({ message: 'cannot connect', stack: expect.any(String) }),
      }),
    ]);
  });

  it('honours LOG_LEVEL (no debug lines at info)', async () => {
    const { lines, logger } = capture('info');
    logger.debug?.('noise', 'Redis');
    logger.verbose?.('noise', 'Redis');
    await settle();
    expect(lines).toEqual([]);
  });
});
