import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FastkitError } from '../../src/errors';
import { findConfig } from '../../src/find-config';
import { displayPath } from '../../src/output';
import { foundUpward, tempDir } from '../support/workspace';

/** Writes files (path -> content) under a fresh temporary folder and returns it. */
function folder(files: Record<string, string>): string {
  const root = tempDir('fastkit-config-');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

function thrown(fn: () => unknown): FastkitError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FastkitError);
    return error as FastkitError;
  }
  throw new Error('expected a FastkitError');
}

describe('findConfig: the Alembic config the user means', () => {
  beforeAll(() => {
    // the searches below climb out of the temporary folder: nothing above may answer them
    expect(foundUpward(tmpdir(), 'alembic.ini')).toEqual([]);
    expect(foundUpward(tmpdir(), 'pyproject.toml')).toEqual([]);
  });

  test('finds alembic.ini in the folder itself', () => {
    const root = folder({ 'alembic.ini': '[alembic]\n' });
    expect(findConfig(root)).toBe(join(root, 'alembic.ini'));
  });

  test('finds alembic.ini in a folder above, the nearest first', () => {
    const root = folder({ 'alembic.ini': '', 'apps/api/alembic.ini': '', 'apps/api/modules/invoices/models.py': '' });
    expect(findConfig(join(root, 'apps', 'api', 'modules', 'invoices'))).toBe(join(root, 'apps', 'api', 'alembic.ini'));
    expect(findConfig(join(root, 'apps'))).toBe(join(root, 'alembic.ini'));
  });

  test('takes a pyproject.toml with a [tool.alembic] section, and prefers alembic.ini beside it', () => {
    const toml = folder({ 'pyproject.toml': '[project]\nname = "api"\n\n[tool.alembic]\nscript_location = "alembic"\n' });
    expect(findConfig(toml)).toBe(join(toml, 'pyproject.toml'));
    const both = folder({ 'pyproject.toml': '[tool.alembic]\n', 'alembic.ini': '' });
    expect(findConfig(both)).toBe(join(both, 'alembic.ini'));
  });

  test('passes over a pyproject.toml without [tool.alembic] to the alembic.ini above it', () => {
    const root = folder({ 'alembic.ini': '', 'api/pyproject.toml': '[project]\nname = "api"\n' });
    expect(findConfig(join(root, 'api'))).toBe(join(root, 'alembic.ini'));
  });

  test('a given config is taken as it is, relative to the root', () => {
    const root = folder({ 'db/main.ini': '', 'alembic.ini': '' });
    expect(findConfig(root, 'db/main.ini')).toBe(join(root, 'db', 'main.ini'));
    expect(findConfig(root, join(root, 'db', 'main.ini'))).toBe(join(root, 'db', 'main.ini'));
  });

  test('a given config that does not exist is an error naming the path and the fix', () => {
    const root = folder({ 'alembic.ini': '' });
    const error = thrown(() => findConfig(root, 'conf/alembic.ini'));
    expect(error.code).toBe('missing-config');
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe(`No Alembic config at ${displayPath(join(root, 'conf', 'alembic.ini'))}`);
    expect(error.hint).toContain('Check the --config path');
  });

  test('a given config that is a folder is the same error', () => {
    const root = folder({ 'api/alembic.ini': '' });
    expect(thrown(() => findConfig(root, 'api')).code).toBe('missing-config');
  });

  test('no config here or above is an error naming the folder and what to do', () => {
    const root = folder({ 'api/models.py': '' });
    const error = thrown(() => findConfig(join(root, 'api')));
    expect(error.code).toBe('missing-config');
    expect(error.message).toBe(`No alembic.ini in ${join(root, 'api')} or any folder above it`);
    expect(error.hint).toMatch(/pass --config/);
  });
});

describe('displayPath', () => {
  test('is relative to where the user is when that is inside it, else absolute', () => {
    expect(displayPath('/work/app/alembic/versions/x.py', '/work/app')).toBe(join('alembic', 'versions', 'x.py'));
    expect(displayPath('/srv/other/alembic.ini', '/work/app')).toBe('/srv/other/alembic.ini');
  });
});
