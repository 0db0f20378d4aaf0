/**
 * The generators on a project whose Python has SQLAlchemy 1.4 (Debian 12's python3-sqlalchemy
 * and python3-alembic 1.8.1, through a --system-site-packages venv): they see it, write
 * `declarative_base()` and `Column` models, and the files import and migrate on that stack.
 */
import { logger, type Tree } from '@nx/devkit';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsTree, flushChanges } from 'nx/src/generators/tree';
import alembicSetup from '../../generators/alembic-setup/generator';
import moduleGenerator from '../../generators/module/generator';
import { fastkit, REPO, run, sqliteTables, tempDir } from '../support/workspace';

const DEBIAN_VENV = join(REPO, '.venvs', 'debian');
const DEBIAN_PYTHON = join(DEBIAN_VENV, 'bin', 'python');

/** A workspace on disk with one project, `shop`, in shop/. */
function workspaceWithShop(): { workspace: string; project: string } {
  const workspace = tempDir('fastkit-sa14-');
  const project = join(workspace, 'shop');
  mkdirSync(project);
  writeFileSync(join(workspace, 'nx.json'), '{}\n');
  writeFileSync(join(project, 'project.json'), JSON.stringify({ name: 'shop', root: 'shop' }) + '\n');
  return { workspace, project };
}

/** Runs a generator on the workspace on disk with the Debian venv active, and writes what it changed, as `nx g` does. */
async function generate<O>(workspace: string, generator: (tree: Tree, options: O) => Promise<unknown>, options: O, venv = DEBIAN_VENV) {
  const before = process.env.VIRTUAL_ENV;
  process.env.VIRTUAL_ENV = venv;
  try {
    const tree = new FsTree(workspace, false);
    await generator(tree, options);
    flushChanges(workspace, tree.listChanges());
  } finally {
    if (before === undefined) delete process.env.VIRTUAL_ENV;
    else process.env.VIRTUAL_ENV = before;
  }
}

beforeEach(() => {
  jest.spyOn(logger, 'info').mockImplementation(() => undefined);
  jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

describe('generators on a project with SQLAlchemy 1.4 (Debian 12: Alembic 1.8.1, SQLAlchemy 1.4.46)', () => {
  test('the stack is what the test is about', () => {
    expect(run(DEBIAN_PYTHON, ['-c', 'import sqlalchemy, alembic; print(sqlalchemy.__version__, alembic.__version__)']).stdout.trim()).toMatch(/^1\.4\.\d+ 1\.8\.\d+$/);
  });

  test('alembic-setup and module see SQLAlchemy 1.4 and write code it imports; make and run create the table', async () => {
    const { workspace, project } = workspaceWithShop();
    await generate(workspace, alembicSetup, { project: 'shop' });
    await generate(workspace, moduleGenerator, { name: 'invoices', project: 'shop' });
    const database = readFileSync(join(project, 'database.py'), 'utf8');
    expect(database).toContain('Base = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))');
    expect(database).not.toContain('DeclarativeBase');
    const models = readFileSync(join(project, 'modules', 'invoices', 'models.py'), 'utf8');
    expect(models).toContain('    id = Column(Integer, primary_key=True)\n');
    expect(models).not.toMatch(/Mapped|mapped_column/);

    const imported = run(DEBIAN_PYTHON, ['-c', 'import modules.invoices.models as m; print(m.Invoice.__table__.name)'], { cwd: project });
    expect({ code: imported.code, out: imported.stdout.trim(), err: imported.stderr }).toEqual({ code: 0, out: 'invoices', err: '' });

    const env = { VIRTUAL_ENV: DEBIAN_VENV, DATABASE_URL: undefined };
    const made = fastkit(['migrate', 'make', '-m', 'create invoices'], { cwd: project, env });
    expect(made.stderr).not.toContain('Traceback');
    expect(made.code).toBe(0);
    const ran = fastkit(['migrate', 'run'], { cwd: project, env });
    expect(ran.code).toBe(0);
    expect(sqliteTables(join(project, 'shop.db'))).toEqual(['alembic_version', 'invoices']);
  });

  test('the sqlalchemy option wins over what the venv has: sqlalchemy=2 writes DeclarativeBase models', async () => {
    const { workspace, project } = workspaceWithShop();
    await generate(workspace, alembicSetup, { project: 'shop', sqlalchemy: '2' });
    await generate(workspace, moduleGenerator, { name: 'invoices', project: 'shop', sqlalchemy: '2' });
    expect(readFileSync(join(project, 'database.py'), 'utf8')).toContain('class Base(DeclarativeBase):');
    expect(readFileSync(join(project, 'modules', 'invoices', 'models.py'), 'utf8')).toContain('id: Mapped[int] = mapped_column(Integer, primary_key=True)');
  });

  test('an unknown sqlalchemy value is refused before anything is written, naming the values it takes', async () => {
    const { workspace, project } = workspaceWithShop();
    await expect(generate(workspace, alembicSetup, { project: 'shop', sqlalchemy: '3' as '2' })).rejects.toThrow(
      'sqlalchemy must be 1.4 or 2, not "3"',
    );
    expect(run('ls', ['-A', project]).stdout.trim()).toBe('project.json');
  });
});
