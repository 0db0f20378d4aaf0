import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { FastkitError } from './errors';
import { displayPath } from './output';
import { alembicConfigOf } from './alembic-settings';

/** The Alembic config in `folder`, if there is one: alembic.ini first, then a pyproject.toml with [tool.alembic]. */
export function configIn(folder: string): string | undefined {
  const read = (file: string) => (existsSync(join(folder, file)) ? readable(join(folder, file)) : undefined);
  try {
    const found = alembicConfigOf(read);
    return found && join(folder, found.file);
  } catch {
    return undefined; // a [tool.alembic] header Alembic cannot parse: not a config to run with
  }
}

/** A file's text; '' when it cannot be read (Alembic then says why, naming the file). */
function readable(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
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
