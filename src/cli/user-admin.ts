import { NestFactory } from '@nestjs/core';
import { AccountService } from '../account/account.service';
import { AppModule } from '../app.module';
import { asAppException } from '../common/errors/to-error-response';
import { ConfigError, loadConfig } from '../config/load-config';
import { UserDirectory } from '../users/user-directory.service';

const COMMANDS = ['grant-admin', 'revoke-admin', 'enable', 'disable'] as const;
type Command = (typeof COMMANDS)[number];
const USAGE = `usage: user-admin ${COMMANDS.join('|')} <userId>`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Makes (or unmakes) an admin, or enables/disables a user, from the command line — never over HTTP, so the
 * first admin needs shell access to a machine with the app's configuration, and an admin disabled by mistake
 * can be brought back. Runs with the same environment as the app (same database, same store), so the change
 * revokes the user's access tokens on every instance and is written to the audit trail (without an acting
 * admin: the actor column holds user ids only). Exit 0 only once the revocation reached the store (a retry of
 * a change already made publishes it again); 1 when it could not (Redis or the database down: run it again).
 * It runs no background job (no purge).
 */
async function main(): Promise<number> {
  const [command, rawId] = process.argv.slice(2);
  // Stored lowercase; MySQL would match an uppercase id, but tokens and revocations carry it lowercase.
  const userId = rawId?.toLowerCase();
  if (!COMMANDS.includes(command as Command) || !userId || !UUID.test(userId)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let config;
  try {
    config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config, { jobs: false }), {
    logger: false,
  });
  try {
    const user = await app
      .get(UserDirectory)
      .get(userId)
      .catch(() => null);
    if (!user) {
      process.stderr.write(`no user ${userId}\n`);
      return 1;
    }
    const accounts = app.get(AccountService);
    if (command === 'enable' || command === 'disable') {
      const updated = await accounts.setStatus('cli', userId, command === 'enable' ? 'active' : 'disabled');
      process.stdout.write(`${userId}: status ${updated.status}\n`);
      return 0;
    }
    const roles = user.roles.filter((r): r is 'user' | 'admin' => r === 'user' || r === 'admin');
    const next =
      command === 'grant-admin' ? [...roles, 'admin' as const] : roles.filter((r) => r !== 'admin');
    const updated = await accounts.setRoles('cli', userId, next);
    process.stdout.write(`${userId}: roles ${updated.roles.join(',')}\n`);
    return 0;
  } catch (e) {
    const known = asAppException(e);
    if (known) {
      // A stable code and its message (LAST_ADMIN, SERVICE_UNAVAILABLE …), never a stack.
      process.stderr.write(`${known.code}: ${known.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    await app.close();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`user-admin failed: ${e instanceof Error ? e.name : 'error'}\n`);
    process.exit(1);
  },
);
