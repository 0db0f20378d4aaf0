/**
 * The files alembic-setup and module write, on disk and driven by real Alembic: the generators
 * run on Nx's file-system tree (as `nx g` runs them), then `fastkit migrate` on SQLite and on
 * PostgreSQL, and Alembic's offline mode.
 */
import { logger, type Tree } from '@nx/devkit';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsTree, flushChanges } from 'nx/src/generators/tree';
import alembicSetup from '../../generators/alembic-setup/generator';
import moduleGenerator from '../../generators/module/generator';
import {
  PYTHON,
  createPostgresDatabase,
  exampleProject,
  fastkit,
  psql,
  revisionFiles,
  run,
  sqliteTables,
  tempDir,
} from '../support/workspace';

/** A workspace on disk with one project, `shop`, in shop/. */
function workspaceWithShop(): { workspace: string; project: string } {
  const workspace = tempDir('fastkit-generated-');
  const project = join(workspace, 'shop');
  mkdirSync(project);
  writeFileSync(join(workspace, 'nx.json'), '{}\n');
  writeFileSync(join(project, 'project.json'), JSON.stringify({ name: 'shop', root: 'shop' }) + '\n');
  return { workspace, project };
}

/** Runs a generator on the workspace on disk and writes what it changed, as `nx g` does. */
async function generate<O>(workspace: string, generator: (tree: Tree, options: O) => Promise<unknown>, options: O) {
  const tree = new FsTree(workspace, false);
  await generator(tree, options);
  flushChanges(workspace, tree.listChanges());
}

beforeEach(() => {
  jest.spyOn(logger, 'info').mockImplementation(() => undefined);
  jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

describe('the env.py alembic-setup writes, with real Alembic', () => {
  const { workspace, project } = workspaceWithShop();
  const migrate = (args: string[], env: Record<string, string | undefined> = {}) =>
    fastkit(['migrate', ...args], { cwd: project, env: { DATABASE_URL: undefined, ...env } });
  const pg = createPostgresDatabase('fk_generated');
  afterAll(() => pg.drop());

  beforeAll(async () => {
    await generate(workspace, alembicSetup, { project: 'shop' });
    await generate(workspace, moduleGenerator, { name: 'invoices', project: 'shop' });
  });

  test('on SQLite: make writes the invoices revision, run applies it to the embedded shop.db, status shows (head)', () => {
    const made = migrate(['make', '-m', 'create invoices']);
    expect(made.code).toBe(0);
    const [file] = revisionFiles(project);
    expect(file).toMatch(/^\d{8}_\d{6}_create_invoices\.py$/);
    const revision = readFileSync(join(project, 'alembic', 'versions', file), 'utf8');
    expect(revision).toContain("op.create_table('invoices'");
    expect(revision).toContain("sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices'))");

    const ran = migrate(['run']);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/Running upgrade base -> \w+, create invoices/);
    expect(sqliteTables(join(project, 'shop.db'))).toEqual(['alembic_version', 'invoices']);
    expect(migrate(['status']).stdout).toMatch(/^\w{12} \(head\)$/m);
  });

  test('a module added afterwards is registered in env.py, and autogenerate sees it', async () => {
    await generate(workspace, moduleGenerator, { name: 'order_items', project: 'shop' });
    const made = migrate(['make', '-m', 'create order items']);
    expect(made.code).toBe(0);
    const latest = revisionFiles(project).pop() as string;
    expect(readFileSync(join(project, 'alembic', 'versions', latest), 'utf8')).toContain("op.create_table('order_items'");
    expect(migrate(['run']).code).toBe(0);
    expect(sqliteTables(join(project, 'shop.db'))).toEqual(['alembic_version', 'invoices', 'order_items']);
  });

  test('with no model change, make writes nothing and says No changes detected', () => {
    const before = revisionFiles(project);
    const made = migrate(['make', '-m', 'nothing']);
    expect(made.code).toBe(0);
    expect(made.stdout).toContain('No changes detected');
    expect(revisionFiles(project)).toEqual(before);
  });

  test('on PostgreSQL (DATABASE_URL): run applies both revisions, status shows (head), and the models match', () => {
    const env = { DATABASE_URL: pg.url };
    const ran = migrate(['run'], env);
    expect(ran.code).toBe(0);
    expect(ran.stdout.match(/Running upgrade/g)).toHaveLength(2);
    expect(psql(pg.name, "select string_agg(tablename, ',' order by tablename) from pg_tables where schemaname = 'public'")).toBe(
      'alembic_version,invoices,order_items',
    );
    expect(migrate(['status'], env).stdout).toMatch(/^\w{12} \(head\)$/m);
    expect(migrate(['make', '-m', 'nothing'], env).stdout).toContain('No changes detected');
  });

  test('offline mode renders the upgrade as SQL without touching a database', () => {
    const unreachable = 'postgresql+psycopg://nobody:secret@127.0.0.1:9/nowhere';
    const offline = run(PYTHON, ['-m', 'alembic', 'upgrade', 'head', '--sql'], {
      cwd: project,
      env: { ...process.env, DATABASE_URL: unreachable },
    });
    expect(offline.code).toBe(0);
    expect(offline.stdout).toMatch(/CREATE TABLE invoices \(/);
    expect(offline.stdout).toMatch(/CREATE TABLE order_items \(/);
    expect(offline.stdout).toMatch(/id SERIAL NOT NULL,\s+created_at TIMESTAMP WITHOUT TIME ZONE/); // PostgreSQL's dialect

    const sqlite = run(PYTHON, ['-m', 'alembic', 'upgrade', 'head', '--sql'], {
      cwd: project,
      env: { ...process.env, DATABASE_URL: '' },
    });
    expect(sqlite.code).toBe(0);
    expect(sqlite.stdout).toMatch(/CREATE TABLE invoices \(/);
  });
});

describe('module on a project made by `alembic init`, with real Alembic', () => {
  const { workspace, project } = workspaceWithShop();

  test('the block lands as live code: once target_metadata is set as the warning says, autogenerate sees the model', async () => {
    const init = run(PYTHON, ['-m', 'alembic', 'init', 'alembic'], { cwd: project });
    expect(init.code).toBe(0);
    const warnings: string[] = [];
    jest.spyOn(logger, 'warn').mockImplementation((message: string) => void warnings.push(message));
    await generate(workspace, moduleGenerator, { name: 'invoices', project: 'shop' });
    expect(warnings[0]).toContain('sets target_metadata = None, so autogenerate does not see Invoice');

    // what the warning says to do
    const envPy = join(project, 'alembic', 'env.py');
    writeFileSync(
      envPy,
      readFileSync(envPy, 'utf8').replace(
        /^target_metadata = None$/m,
        'from database import Base\ntarget_metadata = Base.metadata',
      ),
    );
    const ini = join(project, 'alembic.ini');
    writeFileSync(ini, readFileSync(ini, 'utf8').replace(/^sqlalchemy\.url = .*$/m, 'sqlalchemy.url = sqlite:///shop.db'));

    const made = fastkit(['migrate', 'make', '-m', 'create invoices'], { cwd: project, env: { DATABASE_URL: undefined } });
    expect(made.code).toBe(0);
    const [file] = revisionFiles(project);
    expect(readFileSync(join(project, 'alembic', 'versions', file), 'utf8')).toContain("op.create_table('invoices'");
  });
});

describe('examples/api, as the generators wrote it', () => {
  test('its revisions are in step with its models: after run, make says No changes detected', () => {
    const project = exampleProject();
    expect(fastkit(['migrate', 'run'], { cwd: project, env: { DATABASE_URL: undefined } }).code).toBe(0);
    expect(sqliteTables(join(project, 'api.db'))).toEqual(['alembic_version', 'clients', 'invoices']);
    const made = fastkit(['migrate', 'make', '-m', 'drift'], { cwd: project, env: { DATABASE_URL: undefined } });
    expect(made.code).toBe(0);
    expect(made.stdout).toContain('No changes detected');
  });
});
