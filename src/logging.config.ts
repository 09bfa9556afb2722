import { defineSlice, oneOf } from './config/config-slice';

export const loggingConfig = defineSlice({
  title: 'Logging',
  variables: {
    LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      defaultDoc: '`info` (`silent` under `NODE_ENV=test`)',
      operator: true,
      description: 'pino level; JSON lines on stdout',
    }),
  },
  build: (v, ctx) => ({ logLevel: v.LOG_LEVEL ?? (ctx.env === 'test' ? 'silent' : 'info') }),
});
