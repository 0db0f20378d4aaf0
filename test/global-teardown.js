// Runs once after the suite: removes the run's folder test/global-setup.js made.
const { rmSync } = require('node:fs');

module.exports = async function globalTeardown() {
  const runDir = process.env.FASTKIT_TEST_RUN_DIR;
  if (runDir) rmSync(runDir, { recursive: true, force: true });
};
