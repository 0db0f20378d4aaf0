// Runs once before the suite. `npm test` has already built fastkit, made the venvs and started
// PostgreSQL (scripts/setup.mjs); here we only check, so a missing part fails loudly once, and
// make the run's own folder (FASTKIT_TEST_RUN_DIR, for what the test files share: fastkit's
// packed tarball), which test/global-teardown.js removes.
const { existsSync, mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

module.exports = async function globalSetup() {
  const root = join(__dirname, '..');
  const missing = [];
  if (!existsSync(join(root, 'dist', 'src', 'cli.js'))) missing.push('the build (dist/)');
  for (const stack of require('./python-stacks.json').stacks) {
    if (!existsSync(join(root, stack.venv, 'bin', 'python'))) missing.push(`the Python venv of ${stack.name} (${stack.venv})`);
  }
  const host = process.env.PGHOST ?? '/var/run/postgresql';
  if (spawnSync('pg_isready', ['-h', host]).status !== 0) missing.push(`PostgreSQL at ${host}`);
  if (missing.length) {
    throw new Error(`Missing ${missing.join(', ')}: run the tests with \`npm test\`, which sets them up.`);
  }
  // the workers Jest starts next inherit it
  process.env.FASTKIT_TEST_RUN_DIR = mkdtempSync(join(tmpdir(), 'fastkit-run-'));
};
