import 'reflect-metadata';
import { DataSource, MigrationExecutor } from 'typeorm';
import { ConfigError, databaseConfigFromEnv } from '../config/load-config';
import { buildDataSourceOptions } from '../database/typeorm-options';

const USAGE = [
  'usage: migrate run|revert|show|check',
  '  run     apply every pending migration (before a rollout)',
  '  revert  undo the last applied migration',
  '  show    list the migrations: [X] applied, [ ] pending',
  '  check   exit 1 when a migration is pending, 0 when the schema is current',
].join('\n');

type Command = 'run' | 'revert' | 'show' | 'check';
const COMMANDS: readonly string[] = ['run', 'revert', 'show', 'check'];

/**
 * The migration CLI compiled with the app (`node dist/cli/migrate.js run`): the production image has neither
 * ts-node nor ormconfig.ts. Same DataSource options as the app and as `npm run migration:run` (ormconfig.ts):
 * `buildDataSourceOptions(databaseConfigFromEnv(env))`, so only DATABASE_URL (and DB_POOL_*) matter, no secret
 * is needed, and no statement gets the app's per-query deadline (a migration may rebuild a large table).
 */
async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  if (!COMMANDS.includes(command ?? '') || rest.length > 0) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let options;
  try {
    options = buildDataSourceOptions(databaseConfigFromEnv(process.env));
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const dataSource = new DataSource(options);
  await dataSource.initialize();
  try {
    return await execute(command as Command, dataSource);
  } finally {
    await dataSource.destroy();
  }
}

async function execute(command: Command, dataSource: DataSource): Promise<number> {
  const where = describe(dataSource);
  if (command === 'run') {
    // TypeORM's CLI default: one transaction around the batch (MySQL commits each DDL statement anyway).
    const applied = await dataSource.runMigrations({ transaction: 'all' });
    for (const m of applied) process.stdout.write(`applied ${m.name}\n`);
    process.stdout.write(
      applied.length ? `${applied.length} migration(s) applied to ${where}\n` : `${where} is up to date\n`,
    );
    return 0;
  }
  const executor = new MigrationExecutor(dataSource);
  if (command === 'revert') {
    const executed = await executor.getExecutedMigrations();
    if (executed.length === 0) {
      process.stdout.write(`nothing to revert in ${where}\n`);
      return 0;
    }
    await dataSource.undoLastMigration({ transaction: 'all' });
    // getExecutedMigrations lists the newest first.
    process.stdout.write(`reverted ${executed[0].name} in ${where}\n`);
    return 0;
  }
  const pending = new Set((await executor.getPendingMigrations()).map((m) => m.name));
  if (command === 'show') {
    for (const m of dataSource.migrations) {
      // TypeORM's own naming rule (MigrationExecutor.getMigrations): the name property, else the class name.
      const name = m.name ?? m.constructor.name;
      process.stdout.write(`[${pending.has(name) ? ' ' : 'X'}] ${name}\n`);
    }
  }
  process.stdout.write(
    pending.size ? `${pending.size} pending migration(s) in ${where}\n` : `${where} is up to date\n`,
  );
  return command === 'check' && pending.size > 0 ? 1 : 0;
}

/** Which database, never with its credentials. */
function describe(dataSource: DataSource): string {
  const o = dataSource.options as { type: string; host?: string; port?: number; database?: unknown };
  return o.type === 'better-sqlite3'
    ? `sqlite:${String(o.database)}`
    : `${o.type}://${o.host}:${o.port}/${String(o.database)}`;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    // The driver's message names what failed (refused, access denied, the failing statement), never the password.
    process.stderr.write(`migrate failed: ${e instanceof Error ? `${e.name}: ${e.message}` : 'error'}\n`);
    process.exit(1);
  },
);
