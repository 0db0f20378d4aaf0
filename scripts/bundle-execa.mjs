// Bundles execa into one CommonJS file, dist/vendor/execa.cjs, which src/process.ts loads.
// execa 9 ships as ~60 ES modules: loading them takes ~100-140 ms on every command that starts
// Python; the bundle loads in ~30 ms. Same code, same version (the one in package-lock.json).
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await build({
  stdin: { contents: "export { execa } from 'execa';", resolveDir: root, loader: 'js' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: join(root, 'dist', 'vendor', 'execa.cjs'),
  legalComments: 'inline',
  logLevel: 'warning',
});
