/**
 * createDependencies against real Python: for each Alembic project of a workspace with the
 * layouts Python resolves in different ways (prepend_sys_path, the config folder first, sys.path
 * edits in env.py, a real venv with libraries installed editable by the real pip (a path .pth
 * file, setuptools' finder), site-packages winning over a later folder, namespace packages,
 * relative imports), Python runs env.py as Alembic does (in the config's folder, with
 * prepend_sys_path put first) and reports which workspace files it ran. The projects owning those
 * files must be exactly the projects fastkit's edges lead to from that Alembic project.
 */
import { realpathSync } from 'node:fs';
import { join, relative } from 'node:path';
import { dependenciesContext, writeWorkspace } from '../support/import-workspace';
import { PYTHON, run, tempDir } from '../support/workspace';
import { createDependencies } from '../../src/project-dependencies';

const INI = (prepend: string) => `[alembic]\nscript_location = %(here)s/alembic\nprepend_sys_path = ${prepend}\npath_separator = space\n`;

const PROJECTS = {
  alpha: 'libs/alpha',
  beta: 'libs/beta',
  gamma: 'libs/gamma',
  delta: 'libs/delta',
  epsilon: 'libs/epsilon',
  'ns-a': 'libs/ns-a',
  'ns-b': 'libs/ns-b',
  prepended: 'services/prepended',
  installed: 'services/installed',
  edited: 'services/edited',
  shadowed: 'services/shadowed',
  namespaced: 'services/namespaced',
};

/** The prepend_sys_path of each Alembic project, as its alembic.ini says. */
const PREPEND: Record<string, string[]> = {
  prepended: ['.', '../../libs/alpha/src'],
  installed: ['.'],
  edited: ['.'],
  shadowed: ['.', '../../libs/alpha/src'],
  namespaced: ['.', '../../libs/ns-a/src', '../../libs/ns-b/src'],
};

const FILES: Record<string, string> = {
  // alpha: on prepend_sys_path; its models import beta (installed editable) with a relative import on the way
  'libs/alpha/src/alpha/__init__.py': '',
  'libs/alpha/src/alpha/models.py': 'from .base import Base\nimport beta.tables\n',
  'libs/alpha/src/alpha/base.py': 'class Base: ...\n',
  'libs/alpha/src/database.py': 'SHARED = True\n',
  // beta: src layout, pip install -e with setuptools writes a path .pth file
  'libs/beta/pyproject.toml':
    '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n\n[project]\nname = "beta"\nversion = "0.1.0"\n',
  'libs/beta/src/beta/__init__.py': '',
  'libs/beta/src/beta/tables.py': 'TABLES = []\n',
  // after site-packages on sys.path (a .pth folder): site-packages' own pip wins
  'libs/beta/src/pip/__init__.py': 'raise RuntimeError("the workspace copy must never be imported")\n',
  // gamma: flat layout with other folders beside it, so setuptools installs a finder (MAPPING)
  'libs/gamma/pyproject.toml':
    '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n\n[project]\nname = "gamma"\nversion = "0.1.0"\n\n[tool.setuptools]\npackages = ["gamma"]\n',
  'libs/gamma/gamma/__init__.py': 'from gamma import registry\n',
  'libs/gamma/gamma/registry.py': 'MODELS = {}\n',
  'libs/gamma/scripts/tool.py': 'print("not a package")\n',
  // delta and epsilon: reached only through env.py's sys.path edits
  'libs/delta/delta_models.py': 'D = 1\n',
  'libs/epsilon/epsilon/__init__.py': 'from . import columns\n',
  'libs/epsilon/epsilon/columns.py': 'C = 1\n',
  // a namespace package split over two libraries
  'libs/ns-a/src/acme/models_a.py': 'A = 1\n',
  'libs/ns-b/src/acme/models_b.py': 'from acme import models_a\n',
  // the services
  'services/prepended/alembic.ini': INI(PREPEND.prepended.join(' ')),
  'services/prepended/alembic/env.py': 'import os\nfrom alpha.models import Base\n',
  'services/installed/alembic.ini': INI(PREPEND.installed.join(' ')),
  'services/installed/alembic/env.py': 'import beta\nfrom gamma import registry\nimport json\n',
  'services/edited/alembic.ini': INI(PREPEND.edited.join(' ')),
  'services/edited/alembic/env.py': [
    'import os',
    'import sys',
    'from pathlib import Path',
    'sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "libs" / "delta"))',
    'sys.path.append(os.path.join(os.path.dirname(__file__), "..", "..", "..", "libs", "epsilon"))',
    'import delta_models',
    'from epsilon import columns',
    '',
  ].join('\n'),
  'services/shadowed/alembic.ini': INI(PREPEND.shadowed.join(' ')),
  'services/shadowed/alembic/env.py': 'import database\nimport pip\n',
  'services/shadowed/database.py': 'OWN = True\n',
  'services/namespaced/alembic.ini': INI(PREPEND.namespaced.join(' ')),
  'services/namespaced/alembic/env.py': 'import acme.models_b\n',
};

/** Runs env.py as Alembic does: in the config's folder (sys.path[0]), prepend_sys_path first; prints the workspace files Python ran. */
const RUN_AS_ALEMBIC = `
import json, os, runpy, sys
root, prepend = sys.argv[1], json.loads(sys.argv[2])
sys.path[:0] = prepend
runpy.run_path(os.path.join("alembic", "env.py"), run_name="env_py")
files = {os.path.relpath(os.path.realpath(os.path.join("alembic", "env.py")), root).replace(os.sep, "/")}
for module in list(sys.modules.values()):
    path = getattr(module, "__file__", None)
    if path:
        path = os.path.realpath(path)
        if path.startswith(root + os.sep) and os.sep + ".venv" + os.sep not in path:
            files.add(os.path.relpath(path, root).replace(os.sep, "/"))
print(json.dumps(sorted(files)))
`;

describe('createDependencies gives the projects real Python runs, for each way of finding a module', () => {
  const root = realpathSync(writeWorkspace(FILES, tempDir('fastkit-import-diff-')));
  const venvPython = join(root, '.venv', 'bin', 'python');

  beforeAll(() => {
    const venv = run(PYTHON, ['-m', 'venv', join(root, '.venv')]);
    if (venv.code !== 0) throw new Error(venv.all);
    // the venv's own pip and setuptools, with `wheel` from the local wheel store (setuptools 65 needs it)
    const env = { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_RETRIES: '0' };
    for (const args of [
      ['install', '--quiet', 'wheel'],
      ['install', '--no-index', '--no-build-isolation', '--no-deps', '--quiet', '-e', 'libs/beta', '-e', 'libs/gamma'],
    ]) {
      const pip = run(venvPython, ['-m', 'pip', ...args], { cwd: root, env });
      if (pip.code !== 0) throw new Error(pip.all);
    }
  });

  const owners = (files: string[]) => {
    const context = dependenciesContext(root, PROJECTS);
    const owner = new Map(Object.entries(context.fileMap.projectFileMap).flatMap(([project, data]) => data.map(({ file }) => [file, project] as const)));
    return new Set(files.map((file) => owner.get(file) ?? `(no project) ${file}`));
  };

  /** The projects reachable from `project` over fastkit's edges. */
  const reached = async (project: string) => {
    const edges = await createDependencies(undefined, dependenciesContext(root, PROJECTS));
    const found = new Set<string>([project]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const edge of edges) {
        if (found.has(edge.source) && !found.has(edge.target)) {
          found.add(edge.target);
          grew = true;
        }
      }
    }
    return found;
  };

  test('the editable installs are the real ones pip writes: a path .pth file for beta, a finder for gamma', () => {
    const site = run(venvPython, ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])']).stdout.trim();
    const listed = run('ls', [site]).stdout;
    expect(listed).toMatch(/__editable__\.beta-0\.1\.0\.pth/);
    expect(listed).toMatch(/__editable___gamma_0_1_0_finder\.py/);
    expect(relative(root, site)).toMatch(/^\.venv\//);
  });

  test.each(Object.keys(PREPEND))('%s: the projects whose files Python runs are the projects its edges lead to', async (service) => {
    const ran = run(venvPython, ['-c', RUN_AS_ALEMBIC, root, JSON.stringify(PREPEND[service])], { cwd: join(root, 'services', service) });
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);
    const pythonRan = owners(JSON.parse(ran.stdout) as string[]);
    expect([...(await reached(service))].sort()).toEqual([...pythonRan].sort());
  });

  test('the layouts reach what they should (so the comparison above is not between two empty sets)', async () => {
    expect([...(await reached('prepended'))].sort()).toEqual(['alpha', 'beta', 'prepended']);
    expect([...(await reached('installed'))].sort()).toEqual(['beta', 'gamma', 'installed']);
    expect([...(await reached('edited'))].sort()).toEqual(['delta', 'edited', 'epsilon']);
    expect([...(await reached('shadowed'))].sort()).toEqual(['shadowed']);
    expect([...(await reached('namespaced'))].sort()).toEqual(['namespaced', 'ns-a', 'ns-b']);
  });
});
