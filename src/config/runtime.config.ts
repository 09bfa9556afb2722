import { resolve } from 'node:path';
import type { NodeEnv } from './app-config';
import { defineSlice, integer, oneOf, text, type ValuesOf } from './config-slice';

const variables = {
  NODE_ENV: oneOf(['development', 'production', 'test'], {
    default: 'development',
    operator: true,
    description:
      '`production` holds secrets to the production rules, requires `PUBLIC_URL` and refuses the sandbox; ' +
      '`development` generates missing secrets into `DATA_DIR`; `test` generates ephemeral ones and writes nothing',
  }),
  PORT: integer({ default: 3000, min: 0, max: 65535, operator: true, description: 'HTTP port' }),
  DATA_DIR: text({
    default: './data',
    format: 'a directory',
    operator: true,
    description:
      'the SQLite file (without `DATABASE_URL`) and, in development, the generated secrets ' +
      '(`dev-secrets.json`, `dev-jwt-key.pem`, mode 0600)',
  }),
};

/** The process itself: the mode every other slice's rules depend on, where its files go, its port. */
export const runtimeConfig = defineSlice({ title: 'Process', variables, build: (v) => runtimeFacts(v) });

/** What the other slices' rules read (ConfigContext). */
export function runtimeFacts(v: ValuesOf<typeof variables>): {
  env: NodeEnv;
  port: number;
  dataDir: string;
} {
  return { env: v.NODE_ENV, port: v.PORT, dataDir: resolve(v.DATA_DIR) };
}
