import { readFastkitEnvPy } from '../../../src/fastkit-env-py';
import { addProjectConfiguration, logger, type Tree } from '@nx/devkit';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import alembicSetup from '../../../generators/alembic-setup/generator';
import { REPO } from '../../support/workspace';
import { ALEMBIC_SETUP_FILES } from '../../support/alembic-setup-files';
import { filesOf, pythonCompileError, refusal, ROOT, workspaceWithApi } from './tree';

const setup = (tree: Tree, options: { project?: string; force?: boolean } = {}) =>
  alembicSetup(tree, { project: 'api', ...options } as { project: string });

beforeEach(() => {
  jest.spyOn(logger, 'info').mockImplementation(() => undefined);
  jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

describe('alembic-setup on a project without Alembic or a Base', () => {
  let tree: Tree;
  let files: Record<string, string>;

  beforeAll(async () => {
    tree = workspaceWithApi();
    await setup(tree);
    files = filesOf(tree, ROOT);
  });

  test('writes alembic.ini, alembic/env.py, alembic/script.py.mako, alembic/versions/ and database.py', () => {
    expect(Object.keys(files).sort()).toEqual(
      ALEMBIC_SETUP_FILES.map((file) => `${ROOT}/${file}`),
    );
  });

  test('alembic.ini has no credentials, timestamped UTC file names, prepend_sys_path and INFO logging for alembic', () => {
    const ini = files[`${ROOT}/alembic.ini`];
    expect(ini).not.toMatch(/sqlalchemy\.url|password/i);
    expect(ini).toContain(
      'file_template = %%(year)d%%(month).2d%%(day).2d_%%(hour).2d%%(minute).2d%%(second).2d_%%(slug)s',
    );
    expect(ini).toMatch(/^timezone = UTC$/m);
    expect(ini).toMatch(/^prepend_sys_path = \.$/m);
    expect(ini).toMatch(/\[logger_alembic\]\nlevel = INFO/);
    expect(ini).toContain('for api, written by fastkit');
  });

  test('env.py reads DATABASE_URL, then fastkit_core, then the embedded api.db, and compiles', () => {
    const env = files[`${ROOT}/alembic/env.py`];
    expect(env).toContain('os.environ.get("DATABASE_URL")');
    expect(env).toContain('from fastkit_core.config import ConfigManager');
    expect(env).toContain('DATABASE_FILE = "api.db"  # the embedded SQLite database, in the project folder');
    expect(env).toContain('DEFAULT_URL = "sqlite:///" + (PROJECT_DIR / DATABASE_FILE).as_posix()');
    expect(env).toContain('from database import Base\n');
    expect(env).toContain('target_metadata = Base.metadata');
    expect(pythonCompileError(env)).toBe('');
  });

  test('env.py keeps the behaviour fastkit promises: batch mode on SQLite, compare_type, no empty revisions, offline mode, the lock', () => {
    const env = files[`${ROOT}/alembic/env.py`];
    expect(env).toContain('render_as_batch=str(url).startswith("sqlite")');
    expect(env).toContain('compare_type=True');
    expect(env).toContain('process_revision_directives=skip_empty_revisions');
    expect(env).toContain('def run_migrations_offline()');
    expect(env).toContain('pg_try_advisory_lock');
    expect(env).toContain('GET_LOCK');
    expect(env).toContain('fcntl.flock');
  });

  test('env.py has an empty model block, since the project has no modules yet', () => {
    expect(files[`${ROOT}/alembic/env.py`]).toContain('# fastkit:models begin\n# fastkit:models end\n');
  });

  test('database.py is a DeclarativeBase with a naming convention, and compiles', () => {
    const database = files[`${ROOT}/database.py`];
    expect(database).toContain('class Base(DeclarativeBase):');
    expect(database).toContain('metadata = MetaData(naming_convention=NAMING_CONVENTION)');
    expect(pythonCompileError(database)).toBe('');
  });

  test('script.py.mako is the revision template of the example project', () => {
    expect(files[`${ROOT}/alembic/script.py.mako`]).toBe(
      readFileSync(join(REPO, 'examples', 'api', 'alembic', 'script.py.mako'), 'utf8'),
    );
  });

  test('running it again changes nothing', async () => {
    const before = filesOf(tree);
    await setup(tree);
    expect(filesOf(tree)).toEqual(before);
  });
});

describe('alembic-setup on a project that has its own Base and models', () => {
  let tree: Tree;

  beforeEach(() => {
    tree = workspaceWithApi();
    tree.write(
      `${ROOT}/app/db/base.py`,
      'from sqlalchemy.orm import DeclarativeBase\n\n\nclass Model(DeclarativeBase):\n    """Every model inherits this."""\n',
    );
    tree.write(
      `${ROOT}/modules/invoices/models.py`,
      [
        'from app.db.base import Model',
        '',
        'class TimestampMixin:',
        '    pass',
        '',
        'class InvoiceLine(TimestampMixin, Model):',
        '    __tablename__ = "invoice_lines"',
        '',
        'class Invoice(Model):',
        '    __tablename__ = "invoices"',
        '',
      ].join('\n'),
    );
    tree.write(`${ROOT}/modules/clients/models.py`, 'from app.db import base\n\nclass Client(base.Model):\n    pass\n');
    tree.write(`${ROOT}/modules/legacy/models.py`, 'from app.tables import legacy_table  # a Table, no class\n');
    tree.write(`${ROOT}/modules/README.md`, 'not a module\n');
  });

  test('imports that Base in env.py and writes no database.py', async () => {
    await setup(tree);
    const env = tree.read(`${ROOT}/alembic/env.py`, 'utf-8') ?? '';
    expect(env).toContain('from app.db.base import Model\n');
    expect(env).toContain('target_metadata = Model.metadata');
    expect(tree.exists(`${ROOT}/database.py`)).toBe(false);
    expect(pythonCompileError(env)).toBe('');
  });

  test('lists every modules/*/models.py in the model block, sorted, with the model classes found in each', async () => {
    await setup(tree);
    const env = tree.read(`${ROOT}/alembic/env.py`, 'utf-8') ?? '';
    expect(env).toContain(
      [
        '# fastkit:models begin',
        'from modules.clients.models import Client  # noqa: F401',
        'from modules.invoices.models import Invoice, InvoiceLine  # noqa: F401',
        'import modules.legacy.models  # noqa: F401',
        '# fastkit:models end',
      ].join('\n'),
    );
  });

  test('finds a 1.x declarative_base() in a package __init__.py', async () => {
    tree.delete(`${ROOT}/app/db/base.py`);
    tree.write(
      `${ROOT}/models/__init__.py`,
      'from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n',
    );
    await setup(tree);
    const env = tree.read(`${ROOT}/alembic/env.py`, 'utf-8') ?? '';
    expect(env).toContain('from models import Base\n');
    expect(tree.exists(`${ROOT}/database.py`)).toBe(false);
  });

  test('does not take a Base from a virtualenv, a dot-folder or a docstring', async () => {
    tree.delete(`${ROOT}/app/db/base.py`);
    tree.write(`${ROOT}/venv/pyvenv.cfg`, 'home = /usr/bin\n');
    tree.write(`${ROOT}/venv/lib/orm.py`, 'class Base(DeclarativeBase):\n    pass\n');
    tree.write(`${ROOT}/.cache/orm.py`, 'class Base(DeclarativeBase):\n    pass\n');
    tree.write(`${ROOT}/notes.py`, '"""\nclass Base(DeclarativeBase):\n    pass\n"""\n');
    await setup(tree);
    expect(tree.read(`${ROOT}/alembic/env.py`, 'utf-8')).toContain('from database import Base\n');
    expect(tree.exists(`${ROOT}/database.py`)).toBe(true);
  });
});

describe('alembic-setup never overwrites a file a person changed', () => {
  test('an alembic.ini with other content stops it, naming the file, and nothing is written', async () => {
    const tree = workspaceWithApi();
    tree.write(`${ROOT}/alembic.ini`, '[alembic]\nscript_location = migrations\n');
    const before = filesOf(tree);
    const message = await refusal(setup(tree));
    expect(message).toBe(
      `${ROOT}/alembic.ini already exists with other content. Nothing was written. Move it aside, or pass --force to overwrite it`,
    );
    expect(filesOf(tree)).toEqual(before);
  });

  test('several changed files are all named in the one line', async () => {
    const tree = workspaceWithApi();
    await setup(tree);
    tree.write(`${ROOT}/alembic/env.py`, '# mine\n');
    tree.write(`${ROOT}/database.py`, '# mine too\n');
    tree.delete(`${ROOT}/alembic.ini`);
    const before = filesOf(tree);
    const message = await refusal(setup(tree));
    expect(message).toMatch(/^apps\/api\/alembic\/env\.py, apps\/api\/database\.py already exist with other content\./);
    expect(message).not.toContain('\n');
    expect(filesOf(tree)).toEqual(before);
  });

  test('--force overwrites them, and says so', async () => {
    const tree = workspaceWithApi();
    tree.write(`${ROOT}/alembic.ini`, '[alembic]\nscript_location = migrations\n');
    await setup(tree, { force: true });
    expect(tree.read(`${ROOT}/alembic.ini`, 'utf-8')).toContain('file_template');
    expect(logger.warn).toHaveBeenCalledWith(`Overwrote ${ROOT}/alembic.ini (--force).`);
  });
});

describe('alembic-setup options', () => {
  test('the project name names the embedded database and the comments', async () => {
    const tree = workspaceWithApi();
    addProjectConfiguration(tree, '@acme/billing', { root: 'services/billing' });
    await setup(tree, { project: '@acme/billing' });
    const env = tree.read('services/billing/alembic/env.py', 'utf-8') ?? '';
    expect(env).toContain('DATABASE_FILE = "billing.db"');
    expect(env).toContain('Alembic environment for @acme/billing');
    expect(tree.exists(`${ROOT}/alembic.ini`)).toBe(false);
  });

  test('a root project gets the files at the workspace root', async () => {
    const tree = workspaceWithApi();
    addProjectConfiguration(tree, 'solo', { root: '.' });
    await setup(tree, { project: 'solo' });
    expect(tree.exists('alembic.ini')).toBe(true);
    expect(tree.exists('alembic/env.py')).toBe(true);
    expect(tree.exists('database.py')).toBe(true);
  });

  test('an unknown project is refused with one line', async () => {
    const tree = workspaceWithApi();
    expect(await refusal(setup(tree, { project: 'nope' }))).toBe(
      'No project named "nope" in this workspace. `nx show projects` lists the names',
    );
  });

  test('the schema: project defaults to the current project, is important and prompted; force; docs links', () => {
    const schema = JSON.parse(readFileSync(join(REPO, 'generators', 'alembic-setup', 'schema.json'), 'utf8'));
    expect(schema.properties.project).toMatchObject({
      $default: { $source: 'projectName' },
      'x-priority': 'important',
      'x-prompt': expect.any(String),
    });
    expect(schema.properties.force).toMatchObject({ type: 'boolean', default: false });
    expect(schema.description).toContain('https://alembic.sqlalchemy.org/');
  });
});

describe('alembic-setup --versionTable: a version table of the project\'s own, for projects sharing a database', () => {
  test('env.py names it (its lock key follows), and nothing else changes; the default is alembic_version', async () => {
    const plain = workspaceWithApi();
    await setup(plain);
    const own = workspaceWithApi();
    await setup(own, { versionTable: 'orders_alembic_version' } as { force?: boolean });
    const before = filesOf(plain, ROOT);
    const after = filesOf(own, ROOT);
    expect(before[`${ROOT}/alembic/env.py`]).toMatch(/^VERSION_TABLE = "alembic_version"$/m);
    // the marker line's seal covers the whole file, so it changes with it
    const unsealed = (text: string) => text.replace(/^# fastkit:env-py 2 [0-9a-f]{16}$/m, '# fastkit:env-py 2');
    expect(unsealed(after[`${ROOT}/alembic/env.py`])).toBe(
      unsealed(before[`${ROOT}/alembic/env.py`]).replace('VERSION_TABLE = "alembic_version"', 'VERSION_TABLE = "orders_alembic_version"'),
    );
    expect(readFastkitEnvPy(after[`${ROOT}/alembic/env.py`])).toMatchObject({ versionTable: 'orders_alembic_version' });
    expect({ ...after, [`${ROOT}/alembic/env.py`]: '' }).toEqual({ ...before, [`${ROOT}/alembic/env.py`]: '' });
    expect(pythonCompileError(after[`${ROOT}/alembic/env.py`])).toBe("");
  });

  test.each(['orders-version', '1st_version', 'public.orders_version', 'x'.repeat(64), ''])('refuses %j with one line, writing nothing', async (name) => {
    const tree = workspaceWithApi();
    const message = await refusal(setup(tree, { versionTable: name } as { force?: boolean }));
    expect(message).toBe(
      `versionTable ${JSON.stringify(name)} is not a plain table name. Use letters, digits and underscores, at most 63, not starting with a digit, e.g. orders_alembic_version`,
    );
    expect(Object.keys(filesOf(tree, ROOT))).toEqual([`${ROOT}/project.json`]);
  });
});
