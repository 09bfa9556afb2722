/** Unit tests live beside the code (src/**\/*.spec.ts); e2e tests (HTTP contract, fake WeChat on loopback) in test/. */
const common = {
  rootDir: __dirname,
  moduleFileExtensions: ['js', 'json', 'ts'],
  // isolatedModules (in tsconfig.json) makes ts-jest transpile only; `npm run lint` runs the type check.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  testEnvironment: 'node',
};

module.exports = {
  // e2e suites start real apps (migrations on MariaDB included) in their hooks: seconds on a busy 2-core machine,
  // past jest's 5 s default; a hang still fails, just later. Global on purpose: jest-circus reads the timeout of
  // the global config only, a project's own `testTimeout` is ignored. Suites that need longer say so
  // (jest.setTimeout).
  testTimeout: 30_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: [
        '<rootDir>/test/*.e2e-spec.ts',
        // Hostile-input tables (issue: access control), each input listed and each answer asserted.
        '<rootDir>/test/security/*.e2e-spec.ts',
        // Several instances sharing state need Redis: part of the MariaDB + Redis tier (npm run test:mysql).
        ...(process.env.TEST_REDIS === '1' ? ['<rootDir>/test/shared-state/*.e2e-spec.ts'] : []),
      ],
    },
    // Outages of real processes (a private MariaDB paused and killed, Redis, shutdown): `npm run test:ops`
    // only (TEST_OPS=1), never part of `npm test`, which needs nothing installed.
    ...(process.env.TEST_OPS === '1'
      ? [{ ...common, displayName: 'ops', testMatch: ['<rootDir>/test/operations/*.e2e-spec.ts'] }]
      : []),
    // A real browser (Debian's chromium + playwright-core) on examples/web: `npm run test:browser` only (TEST_BROWSER=1),
    // so `npm test` keeps needing nothing installed; .ci/run installs chromium and runs it.
    ...(process.env.TEST_BROWSER === '1'
      ? [
          {
            ...common,
            displayName: 'browser',
            testMatch: ['<rootDir>/test/browser/*.e2e-spec.ts'],
          },
        ]
      : []),
    // Redis Sentinel and Cluster of the suite's own (redis-server on free ports): `npm run test:topologies` only.
    ...(process.env.TEST_TOPOLOGIES === '1'
      ? [{ ...common, displayName: 'topologies', testMatch: ['<rootDir>/test/topologies/*.e2e-spec.ts'] }]
      : []),
  ],
};
