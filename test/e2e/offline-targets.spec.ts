/**
 * The offline targets in the Nx task graph, end to end: a temporary Nx 24 workspace with fastkit
 * installed from its packed tarball, fastkit/plugin registered, and three Alembic projects
 * (copies of the example service) in git. What can be checked without a database comes from
 * the cache when nothing it depends on changed, also in another clone sharing the cache folder;
 * what touches a database never does.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNxWorkspace, type NxWorkspace } from '../support/nx-workspace';
import { revision as revisionSource } from '../support/revisions';
import { EXAMPLE, run, tempDir, type Ran } from '../support/workspace';

const PROJECTS = ['billing', 'ledger', 'orders'];
const OFFLINE = ['migrate-check', 'migrate-sql'];

/** Each task Nx ran (`> nx run project:target`), and whether it came from the cache. */
function tasks(ran: Ran): Record<string, 'cache' | 'ran'> {
  const found: Record<string, 'cache' | 'ran'> = {};
  for (const [, task, note] of ran.stdout.matchAll(/^> nx run (\S+:\S+)(?:\s+\[(.+)\])?\s*$/gm)) {
    found[task] = note && /cache/.test(note) ? 'cache' : 'ran';
  }
  return found;
}

/** `{ 'ledger:migrate-check': state, … }` for every project and offline target. */
function all(state: 'cache' | 'ran', projects = PROJECTS, targets = OFFLINE): Record<string, 'cache' | 'ran'> {
  return Object.fromEntries(projects.flatMap((project) => targets.map((target) => [`${project}:${target}`, state])));
}

describe('migrate-check and migrate-sql in the Nx task graph (Nx 24, from the packed tarball)', () => {
  let ws: NxWorkspace;
  // One cache for every checkout, as CI machines share one. Nx 24 keeps the index of its cache
  // (a database) in the workspace data folder, so that folder is shared too; with neither set,
  // Nx 24 shares both between clones of one repository by itself, under ~/.nx.
  const shared = tempDir('fastkit-nx-shared-');
  const env = () => ({
    NX_CACHE_DIRECTORY: join(shared, 'cache'),
    NX_WORKSPACE_DATA_DIRECTORY: join(shared, 'workspace-data'),
    CI: 'true',
    NO_COLOR: '1',
  });
  const git = (cwd: string, ...args: string[]) => {
    const ran = run('git', ['-c', 'user.email=ci@example.com', '-c', 'user.name=CI', ...args], { cwd });
    if (ran.code !== 0) throw new Error(`git ${args.join(' ')} failed: ${ran.stderr}`);
    return ran;
  };
  const nx = (args: string[], cwd?: string) =>
    cwd ? run(join(ws.root, 'node_modules', '.bin', 'nx'), args, { cwd, env: { ...ws.env, ...env() } }) : ws.nx(args, env());
  const runMany = (cwd?: string) => nx(['run-many', '-t', ...OFFLINE, '--output-style=static'], cwd);
  const revision = (project: string) => join(ws.root, 'services', project, 'alembic', 'versions', '20261126_185552_create_invoices.py');
  const upgradeSql = (root: string, project: string) => join(root, 'services', project, 'dist', 'migrations', 'upgrade.sql');

  beforeAll(() => {
    ws = createNxWorkspace({ nxVersion: '24' });
    rmSync(join(ws.root, 'apps'), { recursive: true, force: true });
    writeFileSync(join(ws.root, 'nx.json'), JSON.stringify({ plugins: ['fastkit/plugin'], analytics: false }, null, 2) + '\n');
    for (const project of PROJECTS) {
      cpSync(EXAMPLE, join(ws.root, 'services', project), {
        recursive: true,
        filter: (source) => !/\.db$|__pycache__|project\.json$/.test(source),
      });
    }
    writeFileSync(join(ws.root, '.gitignore'), 'node_modules\n.nx\ndist\n*.db\n__pycache__\n');
    git(ws.root, 'init', '-q', '-b', 'main');
    git(ws.root, 'add', '-A');
    git(ws.root, 'commit', '-qm', 'three services');
  }, 600_000);

  afterAll(() => ws?.remove());

  test('nx run-many -t migrate-check migrate-sql runs the six tasks and writes each upgrade.sql', () => {
    const ran = runMany();
    expect(ran.code).toBe(0);
    expect(tasks(ran)).toEqual(all('ran'));
    expect(ran.stdout).toContain('Checked 2 revisions (head a719d4f7b98f): no errors, no warnings');
    for (const project of PROJECTS) {
      expect(ran.stdout).toContain(`Wrote ${join('services', project, 'dist', 'migrations', 'upgrade.sql')} (sqlite, base -> a719d4f7b98f, 2 migrations)`);
      expect(readFileSync(upgradeSql(ws.root, project), 'utf8')).toContain('CREATE TABLE invoices');
    }
  });

  test('run again: all six come from the cache, and a deleted upgrade.sql is restored from it', () => {
    const before = readFileSync(upgradeSql(ws.root, 'billing'), 'utf8');
    rmSync(upgradeSql(ws.root, 'billing'));
    const again = runMany();
    expect(again.code).toBe(0);
    expect(tasks(again)).toEqual(all('cache'));
    expect(again.stdout).toContain('Nx read the output from the cache instead of running the command for 6 out of 6 tasks.');
    expect(readFileSync(upgradeSql(ws.root, 'billing'), 'utf8')).toBe(before);
  });

  test('edit one revision: only that project runs again', () => {
    writeFileSync(revision('ledger'), readFileSync(revision('ledger'), 'utf8') + '\n# reviewed by the DBA\n');
    const ran = runMany();
    expect(ran.code).toBe(0);
    expect(tasks(ran)).toEqual({ ...all('cache'), ...all('ran', ['ledger']) });
    git(ws.root, 'commit', '-qam', 'ledger: reviewed');
  });

  test('nx affected -t migrate-check after a commit touching one project runs that one only', () => {
    const text = readFileSync(revision('billing'), 'utf8');
    writeFileSync(revision('billing'), text.replace("op.create_table('invoices',", "op.create_table('invoices',  # billing"));
    git(ws.root, 'commit', '-qam', 'billing: comment');
    const affected = nx(['affected', '-t', 'migrate-check', '--base=HEAD~1', '--head=HEAD', '--output-style=static']);
    expect(affected.code).toBe(0);
    expect(tasks(affected)).toEqual({ 'billing:migrate-check': 'ran' });
    expect(affected.stdout).toContain('Successfully ran target migrate-check for project billing');
  });

  test('another clone of the workspace (another absolute path), sharing the cache folder, gets every task from the cache', () => {
    expect(runMany().code).toBe(0); // the first clone has run everything at HEAD
    const clone = join(tempDir('fastkit-clone-'), 'workspace');
    git(ws.root, 'clone', '-q', ws.root, clone);
    symlinkSync(join(ws.root, 'node_modules'), join(clone, 'node_modules'));
    const ran = runMany(clone);
    expect(ran.code).toBe(0);
    expect(tasks(ran)).toEqual(all('cache'));
    for (const project of PROJECTS) expect(existsSync(upgradeSql(clone, project))).toBe(true);
  });

  test('migrate-run and migrate-status are never cache hits', () => {
    // both targets in one nx call, one task at a time (a project's run and status share its database)
    const both = () => nx(['run-many', '-t', 'migrate-run', 'migrate-status', '--parallel=1', '--output-style=static']);
    const [first, second] = [both(), both()];
    for (const ran of [first, second]) {
      expect(ran.code).toBe(0);
      expect(tasks(ran)).toEqual(all('ran', PROJECTS, ['migrate-run', 'migrate-status']));
      expect(ran.stdout).not.toContain('from the cache');
    }
    // the second time every database is at head already: each status says so, each run prints nothing
    expect(second.stdout.split('\n').filter((line) => line.trim() === 'a719d4f7b98f (head)')).toHaveLength(PROJECTS.length);
  });

  test('a revision added in the second folder of version_locations = a:b (named through a [DEFAULT] variable) that makes a second head is not served from the cache', () => {
    const orders = join(ws.root, 'services', 'orders');
    const ini = join(orders, 'alembic.ini');
    const text = readFileSync(ini, 'utf8');
    expect(text).toContain('path_separator = os\n'); // fastkit's ini: `:` separates folders
    writeFileSync(
      ini,
      '[DEFAULT]\nshared = %(here)s/shared_versions\n\n' +
        text.replace('path_separator = os\n', 'path_separator = os\nversion_locations = %(here)s/alembic/versions:%(shared)s\n'),
    );
    mkdirSync(join(orders, 'shared_versions'));
    const check = () => nx(['run', 'orders:migrate-check', '--output-style=static']);
    const first = check();
    expect(first.code).toBe(0);
    expect(tasks(first)).toEqual({ 'orders:migrate-check': 'ran' });
    expect(tasks(check())).toEqual({ 'orders:migrate-check': 'cache' });

    writeFileSync(
      join(orders, 'shared_versions', '20261201_000000_add_notes.py'),
      revisionSource('e1e1e1e1e1e1', '3e51a29c4cf9', 'add notes', 'op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True))', 'op.drop_table("notes")'),
    );
    const ran = check();
    expect(tasks(ran)).toEqual({ 'orders:migrate-check': 'ran' });
    expect(ran.code).toBe(1);
    expect(ran.all).toContain('error: the history has 2 heads: ');
    expect(ran.all).toContain('e1e1e1e1e1e1 (20261201_000000_add_notes.py)');
    // one head again: fastkit:sync-models fails `nx sync` on any history with two
    rmSync(join(orders, 'shared_versions', '20261201_000000_add_notes.py'));
  });

  test('a stale env.py fails nx sync:check (the CI gate) until nx sync fixes it', () => {
    const orders = join(ws.root, 'services', 'orders', 'modules', 'refunds');
    mkdirSync(orders, { recursive: true });
    writeFileSync(join(orders, 'models.py'), 'from database import Base\n\n\nclass Refund(Base):\n    __tablename__ = "refunds"\n');
    const checked = nx(['sync:check']);
    expect(checked.code).toBe(1);
    expect(checked.all).toContain('services/orders/alembic/env.py: imports modules.refunds.models');
    expect(nx(['sync']).code).toBe(0);
    expect(nx(['sync:check']).code).toBe(0);
  });
});
