// The README's first command: set everything up on a fresh clone, then migrate the example
// project `api` through Nx on its embedded SQLite database and show its status.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, ensureNodeModules, ensureVenv } from './setup.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
ensureNodeModules();
build();
ensureVenv();

for (const target of ['api:migrate-run', 'api:migrate-status']) {
  console.log(`\n$ nx run ${target}`);
  const result = spawnSync(join(root, 'node_modules', '.bin', 'nx'), ['run', target], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, NX_DAEMON: 'false' },
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
