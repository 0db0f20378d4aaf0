import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { FastkitError } from './errors';
import { hasAlembicTable } from './pyproject';

/** True when a pyproject.toml holds Alembic's configuration (Alembic 1.16+). */
export function pyprojectHasAlembic(file: string): boolean {
  try {
    return hasAlembicTable(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
}

/** The Alembic config in `folder`, if there is one: alembic.ini first, then pyproject.toml. */
export function configIn(folder: string): string | undefined {
  const ini = join(folder, 'alembic.ini');
  if (existsSync(ini)) return ini;
  const pyproject = join(folder, 'pyproject.toml');
  if (existsSync(pyproject) && pyprojectHasAlembic(pyproject)) return pyproject;
  return undefined;
}

/**
 * The config the user means: the one given (relative to `root`), else the first found in
 * `root` or a folder above it.
 */
export function findConfig(root: string, given?: string): string {
  if (given) {
    const path = resolve(root, given);
    if (!existsSync(path) || statSync(path).isDirectory()) {
      throw new FastkitError(`No Alembic config at ${displayPath(path)}`, {
        code: 'missing-config',
        hint: 'Check the --config path, or set Alembic up with `nx g fastkit:alembic-setup`.',
      });
    }
    return path;
  }
  for (let folder = resolve(root); ; folder = dirname(folder)) {
    const found = configIn(folder);
    if (found) return found;
    if (dirname(folder) === folder) break;
  }
  throw new FastkitError(`No alembic.ini in ${displayPath(resolve(root))} or any folder above it`, {
    code: 'missing-config',
    hint: 'Run the command inside a project that uses Alembic, pass --config, or set Alembic up with `nx g fastkit:alembic-setup`.',
  });
}

/** A path as people want to read it: relative to where they are, when that is shorter. */
export function displayPath(path: string, from = process.cwd()): string {
  const rel = relative(from, path);
  return rel && !rel.startsWith('..') && rel.length < path.length ? rel : path;
}
