import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateEs256Pem } from './jwt-keys';

/**
 * Development only: secrets generated once and kept in the data folder (mode 0600), so restarts keep
 * sessions, tokens and the JWKS valid. Production refuses to start without real ones; tests get
 * ephemeral ones and write nothing.
 */

interface DevSecrets {
  sessionKeyEncryptionKey: string;
}

/** The generated development signing key (ES256, PKCS#8 PEM): the same format JWT_PRIVATE_KEYS takes. */
export const DEV_JWT_KEY_FILE = 'dev-jwt-key.pem';
export const DEV_SECRETS_FILE = 'dev-secrets.json';

/** The session-key encryption key (base64 of 32 bytes) kept in DATA_DIR/dev-secrets.json. */
export function loadOrCreateDevEncryptionKey(dataDir: string): string {
  const file = join(dataDir, DEV_SECRETS_FILE);
  if (existsSync(file)) {
    // Files of earlier versions also hold a `jwtSecret`: no longer used (development signs with an ES256 key).
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<DevSecrets>;
    if (parsed.sessionKeyEncryptionKey) return parsed.sessionKeyEncryptionKey;
  }
  const secrets: DevSecrets = { sessionKeyEncryptionKey: randomBytes(32).toString('base64') };
  writePrivateFile(file, JSON.stringify(secrets, null, 2));
  return secrets.sessionKeyEncryptionKey;
}

/** The ES256 signing key, generated once into the data folder (0600), so the JWKS stays put. */
export function loadOrCreateDevJwtKey(dataDir: string): string {
  const file = join(dataDir, DEV_JWT_KEY_FILE);
  if (existsSync(file)) return readFileSync(file, 'utf8');
  const pem = generateEs256Pem();
  writePrivateFile(file, pem);
  return pem;
}

function writePrivateFile(file: string, content: string): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, content, { mode: 0o600 });
  chmodSync(file, 0o600);
}
