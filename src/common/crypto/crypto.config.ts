import { randomBytes } from 'node:crypto';
import { defineSlice, text } from '../../config/config-slice';
import { loadOrCreateDevEncryptionKey } from '../../config/dev-secrets';

/** The key SecretBox encrypts WeChat's session_key with at rest (AES-256-GCM). */
export const cryptoConfig = defineSlice({
  title: 'Encryption at rest',
  variables: {
    SESSION_KEY_ENCRYPTION_KEY: text({
      defaultDoc: 'required in production; generated into `DATA_DIR/dev-secrets.json` in development',
      format: '32 bytes as base64 (44 characters) or hex (64)',
      operator: true,
      secret: true,
      description: 'AES-256-GCM key for `session_key` at rest; generate with `openssl rand -base64 32`',
    }),
  },
  build(v, ctx) {
    if (v.SESSION_KEY_ENCRYPTION_KEY === undefined) {
      if (ctx.isProd) {
        ctx.problem('SESSION_KEY_ENCRYPTION_KEY is required in production (32 bytes, base64 or hex)');
        return undefined;
      }
      // Development keeps it in the data folder (restarts keep stored session keys readable); tests get a new one.
      const generated =
        ctx.env === 'test' ? randomBytes(32).toString('base64') : loadOrCreateDevEncryptionKey(ctx.dataDir);
      const key = decodeKey(generated);
      return key && { sessionKeyEncryptionKey: key };
    }
    const key = decodeKey(v.SESSION_KEY_ENCRYPTION_KEY);
    if (!key) {
      ctx.problem('SESSION_KEY_ENCRYPTION_KEY must be 32 bytes, as base64 (44 chars) or hex (64 chars)');
      return undefined;
    }
    // 32 zero bytes decode fine but protect nothing; a random key has ~30 distinct bytes.
    if (ctx.isProd && new Set(key).size < 16)
      ctx.problem(
        'SESSION_KEY_ENCRYPTION_KEY looks like a placeholder; generate one: openssl rand -base64 32',
      );
    return { sessionKeyEncryptionKey: key };
  },
});

function decodeKey(value: string): Buffer | undefined {
  const v = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(v)) return Buffer.from(v, 'hex');
  const b = Buffer.from(v, 'base64');
  return b.length === 32 ? b : undefined;
}
