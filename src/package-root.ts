import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The package's root folder: the first folder above this file with a package.json. Files that
 * ship beside dist/ (python/, generators/<name>/files, package.json) are found from here
 * whether the code runs compiled (dist/src) or from source (src).
 */
export const PACKAGE_ROOT = packageRoot(__dirname);

/** A file or folder of the package, e.g. `packageFile('python', 'fastkit_alembic.py')`. */
export function packageFile(...parts: string[]): string {
  return join(PACKAGE_ROOT, ...parts);
}

/** The folder of a generator's templates, e.g. `templateFolder('module', 'model')`. */
export function templateFolder(generator: string, ...parts: string[]): string {
  return packageFile('generators', generator, 'files', ...parts);
}

function packageRoot(from: string): string {
  for (let folder = from; ; folder = dirname(folder)) {
    if (existsSync(join(folder, 'package.json'))) return folder;
    if (dirname(folder) === folder) return join(from, '..', '..');
  }
}
