// Writes the files Nx reads that the action table decides (executors.json, executors/*/schema.json
// and schema.d.ts with executors/common-options.d.ts, generators/init/schema.json) from the build of src/nx-schemas.ts. Run by
// `npm run build`; the files are committed, and test/unit/nx-schemas.spec.ts checks they are current.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { nxSchemaFiles } = createRequire(import.meta.url)(join(root, 'dist', 'src', 'nx-schemas.js'));

for (const [path, text] of Object.entries(nxSchemaFiles())) {
  const file = join(root, path);
  let current;
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) continue;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  console.log(`fastkit build: wrote ${path} from src/actions.ts`);
}
