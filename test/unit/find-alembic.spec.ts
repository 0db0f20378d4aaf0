import { chmodSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { UsageError } from '../../src/errors';
import { findAlembic, type PythonCommand } from '../../src/find-alembic';
import * as processes from '../../src/process';
import { foundUpward, python, PYTHON, REPO, tempDir } from '../support/workspace';

// Real interpreters: a venv counts when its Python can import Alembic, and only Python can say.
const BASE_PYTHON = realpathSync(PYTHON);
const VERSION = python('import sys; print("python%d.%d" % sys.version_info[:2])');
/** The repository venv's site-packages, which has Alembic and SQLAlchemy. */
const WITH_ALEMBIC = python('import sysconfig; print(sysconfig.get_paths()["purelib"])');

/**
 * A virtualenv as `python -m venv` lays it out (bin/python, pyvenv.cfg, site-packages), made by
 * hand in milliseconds; with Alembic, it gets it as an editable install would: a .pth file.
 */
function fakeVenv(venv: string, { alembic = true } = {}): string {
  mkdirSync(join(venv, 'bin'), { recursive: true });
  symlinkSync(BASE_PYTHON, join(venv, 'bin', 'python'));
  writeFileSync(join(venv, 'pyvenv.cfg'), `home = ${dirname(BASE_PYTHON)}\ninclude-system-site-packages = false\n`);
  mkdirSync(join(venv, 'lib', VERSION, 'site-packages'), { recursive: true });
  if (alembic) installAlembic(venv);
  return venv;
}

function installAlembic(venv: string): void {
  writeFileSync(join(venv, 'lib', VERSION, 'site-packages', 'alembic-from-repo.pth'), `${WITH_ALEMBIC}\n`);
}

/** An executable on a PATH of its own, e.g. a fake `uv`. */
function fakeTool(name: string): string {
  const bin = tempDir('fastkit-bin-');
  writeFileSync(join(bin, name), '#!/bin/sh\nexit 0\n');
  chmodSync(join(bin, name), 0o755);
  return bin;
}

/** A workspace with a project in apps/api, in a temporary folder. */
function workspace(): { root: string; project: string } {
  const root = tempDir('fastkit-ws-');
  const project = join(root, 'apps', 'api');
  mkdirSync(project, { recursive: true });
  writeFileSync(join(project, 'alembic.ini'), '');
  return { root, project };
}

/** What fastkit remembers about interpreters goes to a folder of this test file's own. */
const CACHE = tempDir('fastkit-cache-');
const env = (vars: Record<string, string | undefined>) => ({ FASTKIT_CACHE_DIR: CACHE, ...vars });

const EMPTY_PATH = env({ PATH: '' });

describe('findAlembic: the Python that has the project’s Alembic, first hit wins', () => {
  beforeAll(() => {
    // the search climbs out of the temporary folders: nothing above may answer it
    for (const name of ['.venv', 'uv.lock', 'poetry.lock']) expect(foundUpward(tmpdir(), name)).toEqual([]);
  });

  describe('the alembic option overrides detection', () => {
    const { project } = workspace();
    fakeVenv(join(project, '.venv'));

    test('`uv run alembic` runs Python through the same runner', () => {
      expect(findAlembic({ alembic: 'uv run alembic', from: project, env: EMPTY_PATH })).toEqual({
        python: ['uv', 'run', 'python'],
        alembic: 'uv run alembic',
        source: 'the alembic option',
        tried: [],
      });
    });

    test('`poetry run alembic` likewise', () => {
      expect(findAlembic({ alembic: 'poetry run alembic', from: project, env: EMPTY_PATH }).python).toEqual([
        'poetry',
        'run',
        'python',
      ]);
    });

    test('`python -m alembic` runs that Python', () => {
      expect(findAlembic({ alembic: 'python -m alembic', from: project, env: EMPTY_PATH }).python).toEqual(['python']);
      expect(findAlembic({ alembic: '/x/.venv/bin/python -m alembic', from: project, env: EMPTY_PATH }).python).toEqual([
        '/x/.venv/bin/python',
      ]);
    });

    test('the path of an alembic script in a venv runs the Python beside it', () => {
      const venv = fakeVenv(join(tempDir('fastkit-x-'), '.venv'));
      writeFileSync(join(venv, 'bin', 'alembic'), '');
      const found = findAlembic({ alembic: join(venv, 'bin', 'alembic'), from: project, env: EMPTY_PATH });
      expect(found.python).toEqual([join(venv, 'bin', 'python')]);
      expect(found.alembic).toBe(join(venv, 'bin', 'alembic'));
    });

    test('a relative path resolves from the project', () => {
      writeFileSync(join(project, '.venv', 'bin', 'alembic'), '');
      expect(findAlembic({ alembic: '.venv/bin/alembic', from: project, env: EMPTY_PATH }).python).toEqual([
        join(project, '.venv', 'bin', 'python'),
      ]);
    });

    test('an alembic script without a Python beside it runs the Python of its #! line', () => {
      const bin = tempDir('fastkit-bin-');
      const python = join(fakeVenv(join(tempDir('fastkit-x-'), 'env')), 'bin', 'python');
      writeFileSync(join(bin, 'alembic'), `#!${python}\nimport alembic\n`);
      expect(findAlembic({ alembic: join(bin, 'alembic'), from: project, env: EMPTY_PATH }).python).toEqual([python]);
    });

    test('`/x/.venv/bin/alembic` that does not exist is a usage error naming it', () => {
      expect(() => findAlembic({ alembic: '/x/.venv/bin/alembic', from: project, env: EMPTY_PATH })).toThrow(
        new UsageError(
          'The alembic option `/x/.venv/bin/alembic` does not lead to a Python interpreter (no Python beside /x/.venv/bin/alembic)',
        ),
      );
    });

    test('a command that names no alembic is a usage error', () => {
      expect(() => findAlembic({ alembic: 'make migrate', from: project, env: EMPTY_PATH })).toThrow(UsageError);
    });

    test('wins over VIRTUAL_ENV and .venv', () => {
      const active = fakeVenv(join(tempDir('fastkit-active-'), 'venv'));
      expect(findAlembic({ alembic: 'uv run alembic', from: project, env: env({ VIRTUAL_ENV: active }) }).python).toEqual([
        'uv',
        'run',
        'python',
      ]);
    });
  });

  test('VIRTUAL_ENV with Alembic comes before any .venv', () => {
    const { root, project } = workspace();
    fakeVenv(join(project, '.venv'));
    fakeVenv(join(root, '.venv'));
    const active = fakeVenv(join(tempDir('fastkit-active-'), 'venv'));
    const found = findAlembic({ from: project, env: env({ VIRTUAL_ENV: active, PATH: '' }) });
    expect(found).toEqual<PythonCommand>({
      python: [join(active, 'bin', 'python')],
      alembic: `${join(active, 'bin', 'python')} -m alembic`,
      source: active,
      tried: [],
    });
  });

  test('VIRTUAL_ENV without Alembic is passed over, and listed as tried', () => {
    const { project } = workspace();
    fakeVenv(join(project, '.venv'));
    const active = fakeVenv(join(tempDir('fastkit-active-'), 'venv'), { alembic: false });
    const found = findAlembic({ from: project, env: env({ VIRTUAL_ENV: active, PATH: '' }) });
    expect(found.python).toEqual([join(project, '.venv', 'bin', 'python')]);
    expect(found.tried).toEqual([`${active} (its Python cannot import alembic)`]);
  });

  test('the project’s .venv comes before the workspace’s .venv', () => {
    const { root, project } = workspace();
    fakeVenv(join(root, '.venv'));
    expect(findAlembic({ from: project, env: env({ PATH: '' }) }).python).toEqual([join(root, '.venv', 'bin', 'python')]);
    fakeVenv(join(project, '.venv'));
    expect(findAlembic({ from: project, env: env({ PATH: '' }) }).python).toEqual([join(project, '.venv', 'bin', 'python')]);
  });

  test('a .venv without Alembic is passed over for the one above it', () => {
    const { root, project } = workspace();
    fakeVenv(join(project, '.venv'), { alembic: false });
    fakeVenv(join(root, '.venv'));
    const found = findAlembic({ from: project, env: env({ PATH: '' }) });
    expect(found.python).toEqual([join(root, '.venv', 'bin', 'python')]);
    expect(found.tried).toEqual(['VIRTUAL_ENV (not set)', `${join(project, '.venv')} (its Python cannot import alembic)`]);
  });

  test('a uv.lock with uv on PATH: uv runs Python', () => {
    const { root, project } = workspace();
    writeFileSync(join(root, 'uv.lock'), '');
    const found = findAlembic({ from: project, env: env({ PATH: fakeTool('uv') }) });
    expect(found.python).toEqual(['uv', 'run', 'python']);
    expect(found.alembic).toBe('uv run alembic');
    expect(found.source).toBe(join(root, 'uv.lock'));
  });

  test('a .venv comes before a uv.lock', () => {
    const { root, project } = workspace();
    writeFileSync(join(root, 'uv.lock'), '');
    fakeVenv(join(root, '.venv'));
    expect(findAlembic({ from: project, env: env({ PATH: fakeTool('uv') }) }).python).toEqual([join(root, '.venv', 'bin', 'python')]);
  });

  test('a uv.lock without uv on PATH is listed as tried, and poetry is next', () => {
    const { root, project } = workspace();
    writeFileSync(join(root, 'uv.lock'), '');
    writeFileSync(join(project, 'poetry.lock'), '');
    const found = findAlembic({ from: project, env: env({ PATH: fakeTool('poetry') }) });
    expect(found.python).toEqual(['poetry', 'run', 'python']);
    expect(found.alembic).toBe('poetry run alembic');
    expect(found.tried).toContain(`${join(root, 'uv.lock')} (but \`uv\` is not on PATH)`);
  });

  test('uv comes before poetry when both are locked and installed', () => {
    const { project } = workspace();
    writeFileSync(join(project, 'uv.lock'), '');
    writeFileSync(join(project, 'poetry.lock'), '');
    const path = [fakeTool('poetry'), fakeTool('uv')].join(':');
    expect(findAlembic({ from: project, env: env({ PATH: path }) }).alembic).toBe('uv run alembic');
  });

  test('last, python3 on PATH, with every place tried listed', () => {
    const { project } = workspace();
    const bin = fakeTool('python3');
    const found = findAlembic({ from: project, env: env({ PATH: bin }) });
    expect(found.python).toEqual([join(bin, 'python3')]);
    expect(found.alembic).toBe('python3 -m alembic');
    expect(found.tried).toEqual([
      'VIRTUAL_ENV (not set)',
      `.venv in ${project} or a folder above (none)`,
      'uv.lock (none)',
      'poetry.lock (none)',
    ]);
  });

  test('a VIRTUAL_ENV that does not exist is listed as tried', () => {
    const { project } = workspace();
    const found = findAlembic({ from: project, env: env({ VIRTUAL_ENV: '/nowhere/venv', PATH: fakeTool('python3') }) });
    expect(found.tried[0]).toBe('VIRTUAL_ENV=/nowhere/venv (not found)');
  });

  describe('a venv counts when its Python can import Alembic, however it gets it', () => {
    test("a --system-site-packages venv over Debian's packaged Alembic is found without the alembic option", () => {
      const debian = join(REPO, '.venvs', 'debian');
      const found = findAlembic({ from: workspace().project, env: env({ VIRTUAL_ENV: debian, PATH: '' }) });
      expect(found.python).toEqual([join(debian, 'bin', 'python')]);
      expect(found.tried).toEqual([]);
    });

    test('the project’s own alembic/ folder (its migrations) on PYTHONPATH is not Alembic', () => {
      const { project } = workspace();
      mkdirSync(join(project, 'alembic', 'versions'), { recursive: true });
      const bare = fakeVenv(join(project, '.venv'), { alembic: false });
      const found = findAlembic({ from: project, env: env({ PATH: '', PYTHONPATH: project }) });
      expect(found.tried).toContain(`${bare} (its Python cannot import alembic)`);
    });

    test('Alembic installed after fastkit passed the venv over is found on the next run', () => {
      const { project } = workspace();
      const venv = fakeVenv(join(project, '.venv'), { alembic: false });
      expect(findAlembic({ from: project, env: env({ PATH: '' }) }).tried).toContain(`${venv} (its Python cannot import alembic)`);
      installAlembic(venv);
      expect(findAlembic({ from: project, env: env({ PATH: '' }) }).python).toEqual([join(venv, 'bin', 'python')]);
    });

    test('the answer is remembered: a second search starts no Python', () => {
      const { project } = workspace();
      const venv = fakeVenv(join(project, '.venv'));
      const asked = jest.spyOn(processes, 'runQuickProcess');
      try {
        expect(findAlembic({ from: project, env: env({ PATH: '' }) }).python).toEqual([join(venv, 'bin', 'python')]);
        expect(asked).toHaveBeenCalledTimes(1);
        expect(findAlembic({ from: project, env: env({ PATH: '' }) }).python).toEqual([join(venv, 'bin', 'python')]);
        expect(asked).toHaveBeenCalledTimes(1);
      } finally {
        asked.mockRestore();
      }
    });

    test('a venv whose Python does not run is passed over and said so', () => {
      const { root, project } = workspace();
      const broken = join(project, '.venv');
      mkdirSync(join(broken, 'bin'), { recursive: true });
      writeFileSync(join(broken, 'bin', 'python'), '');
      fakeVenv(join(root, '.venv'));
      const found = findAlembic({ from: project, env: env({ PATH: '' }) });
      expect(found.python).toEqual([join(root, '.venv', 'bin', 'python')]);
      expect(found.tried).toContain(`${broken} (its Python does not run)`);
    });
  });
});
