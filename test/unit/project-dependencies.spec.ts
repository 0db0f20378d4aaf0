/**
 * fastkit/plugin's createDependencies, called as Nx calls it (the context Nx builds: projects,
 * the file map with hashes), on real folders and real venv layouts in a temporary workspace.
 * Every spawning function of node:child_process is spied on; none may be called.
 */
import type { CreateDependencies } from '@nx/devkit';
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dependenciesContext, writeVenv, writeWorkspace } from '../support/import-workspace';

// The devkit's index runs `git remote -v` as it loads, so it is loaded before the spies go in.
const { validateDependency }: typeof import('@nx/devkit') = require('@nx/devkit');
const childProcess: typeof import('node:child_process') = require('node:child_process');
const spawners = (['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const).map((name) =>
  jest.spyOn(childProcess, name),
);
const { createDependencies }: typeof import('../../src/plugin') = require('../../src/plugin');

afterEach(() => {
  for (const spy of spawners) expect(spy).not.toHaveBeenCalled();
});

const INI = '[alembic]\nscript_location = %(here)s/alembic\nprepend_sys_path = .\npath_separator = os\n';
const LIBRARY = {
  'libs/db-models/pyproject.toml': '[project]\nname = "db-models"\nversion = "0.1.0"\n',
  'libs/db-models/src/db_models/__init__.py': '',
  'libs/db-models/src/db_models/models.py': 'from sqlalchemy.orm import DeclarativeBase\n\n\nclass Base(DeclarativeBase):\n    pass\n',
};
const PROJECTS = { 'db-models': 'libs/db-models', orders: 'services/orders', billing: 'services/billing', ledger: 'services/ledger' };

type Edge = { source: string; target: string; sourceFile?: string; type: string };

/** The edges for the workspace at `root`, each checked with Nx's own validateDependency as Nx checks them. */
async function edgesOf(root: string, projects: Record<string, string> = PROJECTS, plugins = {}): Promise<Edge[]> {
  const context = dependenciesContext(root, projects, plugins);
  const edges = await createDependencies(undefined, context as never);
  for (const edge of edges) {
    expect(() => validateDependency(edge, { ...context, externalNodes: {}, filesToProcess: context.fileMap } as never)).not.toThrow();
  }
  return [...edges].sort((a, b) => `${a.source}${a.target}${a.sourceFile}`.localeCompare(`${b.source}${b.target}${b.sourceFile}`));
}

const edge = (source: string, target: string, sourceFile: string): Edge => ({ source, target, sourceFile, type: 'static' });

describe('createDependencies: the projects whose modules an Alembic project imports', () => {
  test("is exported by fastkit/plugin with the devkit's CreateDependencies type", () => {
    const typed: CreateDependencies = createDependencies; // tsc checks this file
    expect(typeof typed).toBe('function');
  });

  test('env.py importing a library module through prepend_sys_path depends on the library, the edge starting at env.py', async () => {
    const root = writeWorkspace({
      ...LIBRARY,
      'services/orders/alembic.ini': INI.replace('prepend_sys_path = .', 'prepend_sys_path = .:../../libs/db-models/src'),
      'services/orders/alembic/env.py': 'import sys\nfrom alembic import context\nfrom db_models.models import Base\n',
    });
    expect(await edgesOf(root)).toEqual([edge('orders', 'db-models', 'services/orders/alembic/env.py')]);
  });

  test('prepend_sys_path is split as Alembic splits it: with path_separator = os, a space is part of one folder name', async () => {
    const root = writeWorkspace({
      ...LIBRARY,
      'services/orders/alembic.ini': INI.replace('prepend_sys_path = .', 'prepend_sys_path = . ../../libs/db-models/src'),
      'services/orders/alembic/env.py': 'from db_models.models import Base\n',
    });
    expect(await edgesOf(root)).toEqual([]);
    writeFileSync(join(root, 'services/orders/alembic.ini'), INI.replace('path_separator = os\n', '').replace('prepend_sys_path = .', 'prepend_sys_path = . ../../libs/db-models/src'));
    expect(await edgesOf(root)).toEqual([edge('orders', 'db-models', 'services/orders/alembic/env.py')]);
  });

  test("an import in the service's own module (imported by env.py) gives the edge from that module's file", async () => {
    const root = writeWorkspace({
      ...LIBRARY,
      'services/billing/alembic.ini': INI.replace('prepend_sys_path = .', 'prepend_sys_path = .:../../libs/db-models/src'),
      'services/billing/alembic/env.py': 'from modules.invoices.models import Invoice  # noqa: F401\n',
      'services/billing/modules/__init__.py': '',
      'services/billing/modules/invoices/__init__.py': '',
      'services/billing/modules/invoices/models.py': 'from db_models.models import Base\n\n\nclass Invoice(Base):\n    pass\n',
    });
    expect(await edgesOf(root)).toEqual([edge('billing', 'db-models', 'services/billing/modules/invoices/models.py')]);
  });

  test("the config's folder is importable without prepend_sys_path (fastkit runs `python -m alembic` there)", async () => {
    const root = writeWorkspace({
      ...LIBRARY,
      'services/orders/alembic.ini': '[alembic]\nscript_location = alembic\n',
      'services/orders/alembic/env.py': 'import registry\n',
      'services/orders/registry.py': 'import sys\nsys.path.append("../../libs/db-models/src")\nfrom db_models.models import Base\n',
    });
    expect(await edgesOf(root)).toEqual([edge('orders', 'db-models', 'services/orders/registry.py')]);
  });

  test('a service importing nothing of the library gets no edge; the name in a comment or a string does not count', async () => {
    const root = writeWorkspace({
      ...LIBRARY,
      'services/ledger/alembic.ini': INI.replace('prepend_sys_path = .', 'prepend_sys_path = .:../../libs/db-models/src'),
      'services/ledger/alembic/env.py':
        '"""Models: from db_models.models import Base, one day."""\n# import db_models\nNOTE = "import db_models"\nfrom database import Base\n',
      'services/ledger/database.py': 'from sqlalchemy.orm import DeclarativeBase\n\n\nclass Base(DeclarativeBase):\n    pass\n',
    });
    expect(await edgesOf(root)).toEqual([]);
  });

  test('imports inside functions, try blocks and if blocks count, and so does importlib.import_module with a literal name', async () => {
    const root = writeWorkspace({
      'libs/settings/project.json': '{}',
      'libs/settings/fastkit_core/__init__.py': '',
      'libs/settings/fastkit_core/config.py': 'class ConfigManager: ...\n',
      'libs/audit/audit_models.py': 'AUDIT = 1\n',
      'libs/tenants/tenant_models.py': 'TENANTS = 1\n',
      'services/orders/alembic.ini': INI.replace('prepend_sys_path = .', 'prepend_sys_path = .:../../libs/settings:../../libs/audit:../../libs/tenants'),
      'services/orders/alembic/env.py': [
        'import importlib',
        'def database_url():',
        '    try:',
        '        from fastkit_core.config import ConfigManager',
        '    except ImportError:',
        '        return "sqlite://"',
        'if True: import audit_models',
        'importlib.import_module("tenant_models")',
        '',
      ].join('\n'),
    });
    const projects = { settings: 'libs/settings', audit: 'libs/audit', tenants: 'libs/tenants', orders: 'services/orders' };
    expect(await edgesOf(root, projects)).toEqual([
      edge('orders', 'audit', 'services/orders/alembic/env.py'),
      edge('orders', 'settings', 'services/orders/alembic/env.py'),
      edge('orders', 'tenants', 'services/orders/alembic/env.py'),
    ]);
  });

  test('the sys.path edits env.py files make: insert(0, str(Path(__file__).parents[N] / ...)), append(os.path.join(os.path.dirname(__file__), ...)), through a variable, sys.path[:0]', async () => {
    const root = writeWorkspace({
      ...LIBRARY,
      'libs/billing-models/project.json': '{}',
      'libs/billing-models/billing_models.py': 'X = 1\n',
      'libs/ledger-models/ledger_models/__init__.py': '',
      'services/orders/alembic.ini': INI,
      'services/orders/alembic/env.py': [
        'import os, sys',
        'from pathlib import Path',
        'sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "libs" / "db-models" / "src"))',
        'sys.path.append(os.path.join(os.path.dirname(__file__), "..", "..", "..", "libs", "billing-models"))',
        'LIBS = Path(__file__).parent.parent.parent.parent / "libs"',
        'sys.path[:0] = [str(LIBS / "ledger-models")]',
        'import db_models.models',
        'import billing_models',
        'from ledger_models import *',
        '',
      ].join('\n'),
    });
    const projects = { ...PROJECTS, 'billing-models': 'libs/billing-models', 'ledger-models': 'libs/ledger-models' };
    expect(await edgesOf(root, projects)).toEqual([
      edge('orders', 'billing-models', 'services/orders/alembic/env.py'),
      edge('orders', 'db-models', 'services/orders/alembic/env.py'),
      edge('orders', 'ledger-models', 'services/orders/alembic/env.py'),
    ]);
  });

  test('a library installed editable into the venv by a path .pth file (pip with hatchling or setuptools, uv, poetry)', async () => {
    const root = writeWorkspace({
      ...LIBRARY,
      'services/orders/alembic.ini': INI,
      'services/orders/alembic/env.py': 'from db_models import models\n',
    });
    writeVenv(root, {
      '_editable_impl_db_models.pth': `${join(root, 'libs', 'db-models', 'src')}\n`,
      'distutils-precedence.pth': "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') == 'local'\n",
      'sqlalchemy/__init__.py': '',
    });
    expect(await edgesOf(root)).toEqual([edge('orders', 'db-models', 'services/orders/alembic/env.py')]);
  });

  test("setuptools' editable finder (MAPPING) and the editables redirector (map_module) both lead to the library", async () => {
    const root = writeWorkspace({
      ...LIBRARY,
      'libs/audit/project.json': '{}',
      'libs/audit/audit_models/__init__.py': 'from .tables import AUDIT\n',
      'libs/audit/audit_models/tables.py': 'AUDIT = 1\n',
      'services/orders/alembic.ini': INI,
      'services/orders/alembic/env.py': 'import db_models.models\nfrom audit_models import AUDIT\n',
    });
    writeVenv(root, {
      '__editable__.db_models-0.1.0.pth': 'import __editable___db_models_0_1_0_finder; __editable___db_models_0_1_0_finder.install()\n',
      '__editable___db_models_0_1_0_finder.py': `import sys\nMAPPING: dict[str, str] = {'db_models': '${join(root, 'libs', 'db-models', 'src', 'db_models')}'}\nNAMESPACES: dict[str, list[str]] = {}\n`,
      '_editable_impl_audit.pth': 'import _editable_impl_audit',
      '_editable_impl_audit.py': `from editables.redirector import RedirectingFinder as F\nF.install()\nF.map_module('audit_models', '${join(root, 'libs', 'audit', 'audit_models', '__init__.py')}')`,
    });
    expect(await edgesOf(root, { ...PROJECTS, audit: 'libs/audit' })).toEqual([
      edge('orders', 'audit', 'services/orders/alembic/env.py'),
      edge('orders', 'db-models', 'services/orders/alembic/env.py'),
    ]);
  });

  test('what site-packages itself provides is never the workspace, even where a .pth folder has the same name; the service folder comes before both', async () => {
    const root = writeWorkspace({
      ...LIBRARY,
      'libs/db-models/src/sqlalchemy/__init__.py': '# a vendored copy nobody imports\n',
      'libs/db-models/src/database.py': 'SHARED = 1\n',
      'services/orders/alembic.ini': INI,
      'services/orders/alembic/env.py': 'import sqlalchemy\nimport database\n',
      'services/orders/database.py': 'OWN = 1\n',
    });
    writeVenv(root, {
      'db_models.pth': `${join(root, 'libs', 'db-models', 'src')}\n`,
      'sqlalchemy/__init__.py': '',
    });
    expect(await edgesOf(root)).toEqual([]);
  });

  test('uv workspace members are importable without a venv (a fresh CI checkout)', async () => {
    const root = writeWorkspace({
      ...LIBRARY,
      'pyproject.toml': '[tool.uv.workspace]\nmembers = [\n  "libs/*",\n  "services/*",\n]\nexclude = ["libs/legacy"]\n',
      'libs/legacy/pyproject.toml': '[project]\nname = "legacy"\n',
      'libs/legacy/legacy_models/__init__.py': '',
      'services/orders/pyproject.toml': '[project]\nname = "orders"\ndependencies = ["db-models"]\n\n[tool.uv.sources]\ndb-models = { workspace = true }\n',
      'services/orders/alembic.ini': INI,
      'services/orders/alembic/env.py': 'from db_models.models import Base\nimport legacy_models\n',
    });
    expect(await edgesOf(root, { ...PROJECTS, legacy: 'libs/legacy' })).toEqual([edge('orders', 'db-models', 'services/orders/alembic/env.py')]);
  });

  test('poetry path dependencies (develop = true) are importable without a venv, with the package folder poetry installs', async () => {
    const root = writeWorkspace({
      'libs/db-models/pyproject.toml':
        '[tool.poetry]\nname = "db-models"\nversion = "0.1.0"\npackages = [{ include = "db_models", from = "src" }]\n',
      'libs/db-models/src/db_models/__init__.py': '',
      'services/orders/pyproject.toml':
        '[tool.poetry]\nname = "orders"\n\n[tool.poetry.dependencies]\npython = "^3.11"\ndb-models = { path = "../../libs/db-models", develop = true }\n',
      'services/orders/alembic.ini': INI,
      'services/orders/alembic/env.py': 'import db_models\n',
    });
    expect(await edgesOf(root)).toEqual([edge('orders', 'db-models', 'services/orders/alembic/env.py')]);
  });

  test('a library importing another library: an edge from the first library, at the importing file, so Nx follows both', async () => {
    const root = writeWorkspace({
      ...LIBRARY,
      'libs/db-models/src/db_models/models.py': 'from .base import Base\nfrom audit_models import Audited\n',
      'libs/db-models/src/db_models/base.py': 'class Base: ...\n',
      'libs/audit/audit_models.py': 'class Audited: ...\n',
      'services/orders/alembic.ini': INI.replace('prepend_sys_path = .', 'prepend_sys_path = .:../../libs/db-models/src:../../libs/audit'),
      'services/orders/alembic/env.py': 'from db_models.models import Base\n',
    });
    expect(await edgesOf(root, { ...PROJECTS, audit: 'libs/audit' })).toEqual([
      edge('db-models', 'audit', 'libs/db-models/src/db_models/models.py'),
      edge('orders', 'db-models', 'services/orders/alembic/env.py'),
    ]);
  });

  test('a module outside every project on the way: the edge starts at the service file that imported it', async () => {
    const root = writeWorkspace({
      ...LIBRARY,
      'shared/registry.py': 'from db_models.models import Base\n',
      'services/orders/alembic.ini': INI.replace('prepend_sys_path = .', 'prepend_sys_path = .:../../shared:../../libs/db-models/src'),
      'services/orders/alembic/env.py': 'import registry\n',
    });
    expect(await edgesOf(root)).toEqual([edge('orders', 'db-models', 'services/orders/alembic/env.py')]);
  });

  test('a pyproject.toml with [tool.alembic] is an Alembic config too; a pyproject.toml without it is not', async () => {
    const root = writeWorkspace({
      ...LIBRARY,
      'libs/db-models/src/db_models/__init__.py': 'from .models import Base\n',
      'services/orders/pyproject.toml': '[tool.alembic]\nscript_location = "%(here)s/migrations"\nprepend_sys_path = [".", "../../libs/db-models/src"]\n',
      'services/orders/migrations/env.py': 'import db_models\n',
    });
    expect(await edgesOf(root)).toEqual([edge('orders', 'db-models', 'services/orders/migrations/env.py')]);
  });

  test('with @nxlv/python registered, the edge it adds itself (a poetry path dependency) is left out; the others stay', async () => {
    const root = writeWorkspace({
      ...LIBRARY,
      'libs/db-models/src/db_models/__init__.py': 'from .models import Base\n',
      'services/orders/pyproject.toml': '[tool.poetry.dependencies]\ndb-models = { path = "../../libs/db-models", develop = true }\n',
      'services/orders/alembic.ini': INI,
      'services/orders/alembic/env.py': 'import db_models\n',
      'services/billing/alembic.ini': INI,
      'services/billing/alembic/env.py': 'import sys\nsys.path.insert(0, "../../libs/db-models/src")\nimport db_models\n',
    });
    const both = [edge('billing', 'db-models', 'services/billing/alembic/env.py'), edge('orders', 'db-models', 'services/orders/alembic/env.py')];
    expect(await edgesOf(root)).toEqual(both);
    expect(await edgesOf(root, PROJECTS, { plugins: ['fastkit/plugin', { plugin: '@nxlv/python', options: {} }] })).toEqual([both[0]]);
  });

  test('a file edited between two runs is read again (the steps are kept by content hash)', async () => {
    const root = writeWorkspace({
      ...LIBRARY,
      'services/orders/alembic.ini': INI.replace('prepend_sys_path = .', 'prepend_sys_path = .:../../libs/db-models/src'),
      'services/orders/alembic/env.py': 'import db_models\n',
    });
    expect(await edgesOf(root)).toEqual([edge('orders', 'db-models', 'services/orders/alembic/env.py')]);
    writeFileSync(join(root, 'services/orders/alembic/env.py'), 'import os\n');
    expect(await edgesOf(root)).toEqual([]);
    appendFileSync(join(root, 'services/orders/alembic/env.py'), 'from db_models import models\n');
    expect(await edgesOf(root)).toEqual([edge('orders', 'db-models', 'services/orders/alembic/env.py')]);
  });

  test('a module added later where Python looks first (the service folder) takes over on the next run, env.py unchanged', async () => {
    const root = writeWorkspace({
      ...LIBRARY,
      'libs/db-models/src/registry.py': 'from db_models import models\n',
      'services/orders/alembic.ini': INI.replace('prepend_sys_path = .', 'prepend_sys_path = .:../../libs/db-models/src'),
      'services/orders/alembic/env.py': 'import registry\n',
    });
    expect(await edgesOf(root)).toEqual([edge('orders', 'db-models', 'services/orders/alembic/env.py')]);
    writeFileSync(join(root, 'services/orders/registry.py'), 'MODELS = []\n');
    expect(await edgesOf(root)).toEqual([]);
  });

  test('a module added later to an installed library is found on the next run; a missing submodule still runs its packages', async () => {
    const root = writeWorkspace({
      ...LIBRARY,
      'libs/audit/project.json': '{}',
      'libs/audit/audit_models.py': 'A = 1\n',
      'services/orders/alembic.ini': INI,
      'services/orders/alembic/env.py': 'import db_models.extra\n',
    });
    writeVenv(root, { '_db_models.pth': `${join(root, 'libs', 'db-models', 'src')}\n${join(root, 'libs', 'audit')}\n` });
    const projects = { ...PROJECTS, audit: 'libs/audit' };
    expect(await edgesOf(root, projects)).toEqual([edge('orders', 'db-models', 'services/orders/alembic/env.py')]);
    writeFileSync(join(root, 'libs/db-models/src/db_models/extra.py'), 'import audit_models\n');
    expect(await edgesOf(root, projects)).toEqual([
      edge('db-models', 'audit', 'libs/db-models/src/db_models/extra.py'),
      edge('orders', 'db-models', 'services/orders/alembic/env.py'),
    ]);
  });

  test('a venv installed later is seen on the next run', async () => {
    const root = writeWorkspace({
      ...LIBRARY,
      'services/orders/alembic.ini': INI,
      'services/orders/alembic/env.py': 'import db_models.models\n',
    });
    expect(await edgesOf(root)).toEqual([]);
    writeVenv(root, { '_db_models.pth': `${join(root, 'libs', 'db-models', 'src')}\n` });
    expect(await edgesOf(root)).toEqual([edge('orders', 'db-models', 'services/orders/alembic/env.py')]);
    rmSync(join(root, '.venv'), { recursive: true });
  });

  test('env.py text that is not valid Python, a missing env.py and an unreadable pyproject.toml give no edge and no error', async () => {
    const root = writeWorkspace({
      ...LIBRARY,
      'libs/db-models/pyproject.toml': '[project\nname = ',
      'services/orders/alembic.ini': INI,
      'services/orders/alembic/env.py': 'from db_models import (\n  "unterminated\nimport )))\n',
      'services/billing/alembic.ini': INI,
    });
    mkdirSync(join(root, 'services', 'ledger'), { recursive: true });
    writeFileSync(join(root, 'services', 'ledger', 'pyproject.toml'), '[tool.alembic\n');
    expect(await edgesOf(root)).toEqual([]);
  });
});
