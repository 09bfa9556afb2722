import { NestFactory } from '@nestjs/core';
import { AccountService } from '../account/account.service';
import { AppModule } from '../app.module';
import { ConfigError, loadConfig } from '../config/load-config';
import { UserDirectory } from '../users/user-directory.service';

const USAGE = 'usage: user-admin grant-admin|revoke-admin <userId>';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Makes (or unmakes) an admin from the command line — never over HTTP, so the first admin needs shell
 * access to a machine with the app's configuration. Runs with the same environment as the app (same
 * database, same store), so the role change revokes the user's access tokens on every instance and is
 * written to the audit trail (without an acting admin: the actor column holds user ids only).
 */
async function main(): Promise<number> {
  const [command, rawId] = process.argv.slice(2);
  // Stored lowercase; MySQL would match an uppercase id, but tokens and revocations carry it lowercase.
  const userId = rawId?.toLowerCase();
  if ((command !== 'grant-admin' && command !== 'revoke-admin') || !userId || !UUID.test(userId)) {
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
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), { logger: false });
  try {
    const directory = app.get(UserDirectory);
    const user = await directory.get(userId).catch(() => null);
    if (!user) {
      process.stderr.write(`no user ${userId}\n`);
      return 1;
    }
    const roles = user.roles.filter((r): r is 'user' | 'admin' => r === 'user' || r === 'admin');
    const next =
      command === 'grant-admin' ? [...roles, 'admin' as const] : roles.filter((r) => r !== 'admin');
    const updated = await app.get(AccountService).setRoles('cli', userId, next);
    process.stdout.write(`${userId}: roles ${updated.roles.join(',')}\n`);
    return 0;
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
