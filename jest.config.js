const { stacks, matrix } = require('./test/python-stacks.json');

/** What every project of the suite shares. */
const common = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  setupFiles: ['<rootDir>/test/support/child-environment.ts'],
  setupFilesAfterEnv: ['<rootDir>/test/support/no-leaks.ts', '<rootDir>/test/support/cleanup.ts', '<rootDir>/test/support/cpu-log.ts'],
};

/**
 * One Jest project per Python stack (test/python-stacks.json): every test on the first, the
 * migrate, check and sql tests and the fast-path differential on each other one (its `matrix`),
 * and what a stack `alsoRuns`. Tests read
 * their stack from the global FASTKIT_TEST_STACK (test/support/workspace.ts). Select one with
 * `--selectProjects "<name>"`.
 */
/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 180_000,
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  globalSetup: '<rootDir>/test/global-setup.js',
  globalTeardown: '<rootDir>/test/global-teardown.js',
  projects: stacks.map((stack, index) => ({
    ...common,
    displayName: stack.name,
    testMatch: index === 0 ? ['**/*.spec.ts'] : [...matrix, ...(stack.alsoRuns ?? [])].map((file) => `<rootDir>/${file}`),
    globals: { FASTKIT_TEST_STACK: stack.name },
  })),
};
