// Bundles the two dependencies a fastkit command loads on its way to an answer, each into one
// CommonJS file in dist/vendor/ (same code, the versions in package-lock.json):
//   execa.cjs      src/process.ts, for every command that starts Python. execa 9 ships as ~60 ES
//                  modules: loading them takes ~100-140 ms; the bundle loads in ~30 ms.
//   pg-client.cjs  src/version-table.ts, for the fast path on PostgreSQL: pg's Client is ~27
//                  CommonJS files across 9 packages; resolving and reading them was most of the
//                  time it took to load.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundles = {
  'execa.cjs': "export { execa } from 'execa';",
  'pg-client.cjs': "module.exports = require('pg/lib/client');",
};
for (const [file, contents] of Object.entries(bundles)) {
  await build({
    stdin: { contents, resolveDir: root, loader: 'js' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: join(root, 'dist', 'vendor', file),
    legalComments: 'inline',
    logLevel: 'warning',
  });
}
