/**
 * A models library shared by services, end to end: a temporary Nx 24 workspace with fastkit
 * installed from its packed tarball, `libs/db-models` (a pyproject package built by hatchling,
 * installed editable into the workspace venv by the real pip from the local wheel store) and
 * three Alembic services: orders imports the library in env.py, billing through a models module
 * of its own, ledger not at all. The project graph, `nx affected` and the cache of the targets
 * that run env.py all follow the library.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync, cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createNxWorkspace, type NxWorkspace } from '../support/nx-workspace';
import { revision } from '../support/revisions';
import { EXAMPLE, PYTHON, run, type Ran } from '../support/workspace';

const SERVICES = ['orders', 'billing', 'ledger'];
const IMPORTING = ['orders', 'billing'];
/** The cached targets whose result depends on the models. */
const MODEL_TARGETS = ['migrate-sql', 'migrate-verify'];

/** Each task Nx ran (`> nx run project:target`), and whether it came from the cache. */
function tasks(ran: Ran): Record<string, 'cache' | 'ran'> {
  const found: Record<string, 'cache' | 'ran'> = {};
  for (const [, task, note] of ran.stdout.matchAll(/^> nx run (\S+:\S+)(?:\s+\[(.+)\])?\s*$/gm)) {
    found[task] = note && /cache/.test(note) ? 'cache' : 'ran';
  }
  return found;
}

function each(projects: string[], state: 'cache' | 'ran'): Record<string, 'cache' | 'ran'> {
  return Object.fromEntries(projects.flatMap((project) => MODEL_TARGETS.map((target) => [`${project}:${target}`, state])));
}

const LIBRARY_FILES: Record<string, string> = {
  'project.json': JSON.stringify({ name: 'db-models', projectType: 'library' }, null, 2) + '\n',
  'pyproject.toml':
    '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n[project]\nname = "db-models"\nversion = "0.1.0"\ndependencies = ["sqlalchemy>=2.0,<2.1"]\n',
  'README.md': '# db-models\n\nThe tables every service shares.\n',
  'src/db_models/__init__.py': '',
  'src/db_models/models.py': [
    'from sqlalchemy import String',
    'from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column',
    '',
    '',
    'class SharedBase(DeclarativeBase):',
    '    pass',
    '',
    '',
    'class Customer(SharedBase):',
    '    __tablename__ = "customers"',
    '    id: Mapped[int] = mapped_column(primary_key=True)',
    '    name: Mapped[str] = mapped_column(String(100))',
    '',
  ].join('\n'),
};

describe('a models library in its own Nx project, installed editable (Nx 24, from the packed tarball)', () => {
  let ws: NxWorkspace;
  const env = () => ({ VIRTUAL_ENV: join(ws.root, '.venv'), CI: 'true', NO_COLOR: '1' });
  const nx = (args: string[]) => ws.nx(args, env());
  const git = (...args: string[]) => {
    const ran = run('git', ['-c', 'user.email=ci@example.com', '-c', 'user.name=CI', ...args], { cwd: ws.root });
    if (ran.code !== 0) throw new Error(`git ${args.join(' ')} failed: ${ran.stderr}`);
    return ran;
  };
  const write = (path: string, text: string) => {
    mkdirSync(join(ws.root, path, '..'), { recursive: true });
    writeFileSync(join(ws.root, path), text);
  };
  const edit = (path: string, change: (text: string) => string) => writeFileSync(join(ws.root, path), change(readFileSync(join(ws.root, path), 'utf8')));
  const dependencies = () => {
    const made = nx(['graph', '--file=graph.json']);
    expect(made.code).toBe(0);
    const graph = JSON.parse(readFileSync(join(ws.root, 'graph.json'), 'utf8')).graph as {
      dependencies: Record<string, Array<{ source: string; target: string; type: string }>>;
    };
    return Object.values(graph.dependencies).flat().filter((edge) => edge.target === 'db-models');
  };
  /** `nx affected` for the last commit; Nx 24 selects the tasks whose inputs it reaches (NX_LEGACY_AFFECTED=true: whole projects). */
  const affected = (extra: Record<string, string> = {}) =>
    ws.nx(['affected', '-t', ...MODEL_TARGETS, '--base=HEAD~1', '--head=HEAD', '--output-style=static'], { ...env(), ...extra });

  beforeAll(() => {
    ws = createNxWorkspace({ nxVersion: '24', packages: ['@nxlv/python@23'] });
    rmSync(join(ws.root, 'apps'), { recursive: true, force: true });
    writeFileSync(join(ws.root, 'nx.json'), JSON.stringify({ plugins: ['fastkit/plugin'], analytics: false }, null, 2) + '\n');
    writeFileSync(join(ws.root, '.gitignore'), 'node_modules\n.nx\n.venv\ndist\n*.db\n__pycache__\ngraph.json\n');
    for (const [file, text] of Object.entries(LIBRARY_FILES)) write(join('libs', 'db-models', file), text);
    for (const service of SERVICES) {
      cpSync(EXAMPLE, join(ws.root, 'services', service), { recursive: true, filter: (source) => !/\.db$|__pycache__|project\.json$/.test(source) });
      write(join('services', service, 'README.md'), `# ${service}\n`);
    }
    // orders: env.py imports the library itself (below the block fastkit's generators own)
    edit('services/orders/alembic/env.py', (text) =>
      text.replace('# fastkit:models end\n', '# fastkit:models end\nfrom db_models.models import Customer  # noqa: F401\n'),
    );
    // billing: through a models module of its own, registered in the block
    write('services/billing/modules/customers/__init__.py', '');
    write('services/billing/modules/customers/models.py', 'from db_models.models import Customer  # noqa: F401\n');
    edit('services/billing/alembic/env.py', (text) =>
      text.replace('# fastkit:models end\n', 'from modules.customers.models import Customer  # noqa: F401\n# fastkit:models end\n'),
    );

    // the workspace venv: Alembic and SQLAlchemy, and the library installed editable, all by the
    // real pip; a venv without a pip of its own, as `uv venv` makes it (the stack's pip installs
    // into it with --python: bootstrapping one costs 4 s of CPU)
    const venv = run(PYTHON, ['-m', 'venv', '--without-pip', join(ws.root, '.venv')]);
    if (venv.code !== 0) throw new Error(venv.all);
    const pip = run(
      PYTHON,
      ['-m', 'pip', '--python', join(ws.root, '.venv', 'bin', 'python'), 'install', '--quiet', 'alembic>=1.13', 'sqlalchemy>=2.0,<2.1', '-e', join('libs', 'db-models')],
      { cwd: ws.root, env: { ...process.env, PIP_RETRIES: '0', PIP_DISABLE_PIP_VERSION_CHECK: '1' }, timeout: 600_000 },
    );
    if (pip.code !== 0) throw new Error(`pip install failed:\n${pip.all}`);

    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-qm', 'a models library and three services');
  }, 900_000);

  afterAll(() => ws?.remove());

  test('the library is installed as uv and pip install it (a .pth file in the venv), not named in any alembic.ini', () => {
    const site = join(ws.root, '.venv', 'lib', readdirSync(join(ws.root, '.venv', 'lib')).find((name) => name.startsWith('python'))!, 'site-packages');
    const pth = readdirSync(site).filter((name) => name.endsWith('.pth') && /db_models/.test(name));
    expect(pth).toHaveLength(1);
    expect(readFileSync(join(site, pth[0]), 'utf8').trim()).toBe(join(ws.root, 'libs', 'db-models', 'src'));
    for (const service of SERVICES) expect(readFileSync(join(ws.root, 'services', service, 'alembic.ini'), 'utf8')).not.toContain('db-models');
  });

  test('nx graph shows orders → db-models and billing → db-models, static, and no edge from ledger', () => {
    expect(dependencies().sort((a, b) => a.source.localeCompare(b.source))).toEqual([
      { source: 'billing', target: 'db-models', type: 'static' },
      { source: 'orders', target: 'db-models', type: 'static' },
    ]);
  });

  test('migrate-sql and migrate-verify run real Alembic for the three (env.py imports the installed library), then all three come from the cache', () => {
    const ran = nx(['run-many', '-t', ...MODEL_TARGETS, '--output-style=static']);
    expect(ran.code).toBe(0);
    expect(tasks(ran)).toEqual(each(SERVICES, 'ran'));
    for (const service of SERVICES) expect(existsSync(join(ws.root, 'services', service, 'dist', 'migrations', 'upgrade.sql'))).toBe(true);
    const again = nx(['run-many', '-t', ...MODEL_TARGETS, '--output-style=static']);
    expect(tasks(again)).toEqual(each(SERVICES, 'cache'));
  });

  test('after a model edit in the library, nx affected runs the two importing services again (not from the cache), and not ledger', () => {
    edit('libs/db-models/src/db_models/models.py', (text) => text + '    email: Mapped[str] = mapped_column(String(200))\n');
    git('commit', '-qam', 'db-models: customers get an email');
    const ran = affected();
    expect(ran.code).toBe(0);
    expect(tasks(ran)).toEqual(each(IMPORTING, 'ran'));
    expect(ran.stdout).not.toContain('ledger');
  });

  test("a change in a README (a service's own, the library's) makes no migrate-sql or migrate-verify affected; the project-level affected of Nx 22 and 23 (NX_LEGACY_AFFECTED=true) selects the touched ones, billing by its edge alone, and runs them from the cache", () => {
    // project-level affected selects the same for any file of the library, a model's or the README:
    // billing is touched only through its edge, as after a model edit, so no model edit of its own here
    edit('services/orders/README.md', (text) => text + '\nOwns the orders tables.\n');
    edit('libs/db-models/README.md', (text) => text + '\nAsk the data team before renaming a column.\n');
    git('commit', '-qam', 'READMEs');
    const ran = affected();
    expect(ran.code).toBe(0);
    expect(tasks(ran)).toEqual({});
    expect(ran.stdout).toContain('No tasks were run');
    const legacy = affected({ NX_LEGACY_AFFECTED: 'true' });
    expect(legacy.code).toBe(0);
    expect(tasks(legacy)).toEqual(each(IMPORTING, 'cache'));
  });

  test("migrate-verify compares the library's models too where env.py targets them: it holds, and after a library edit with no migration it runs again and fails naming the library's file", () => {
    // orders' migrations make the customers table as the library has it now; its env.py targets both metadatas
    write(
      'services/orders/alembic/versions/20261201_000001_create_customers.py',
      revision(
        'c5c5c5c5c5c5',
        'a719d4f7b98f',
        'create customers',
        'op.create_table("customers", sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(100), nullable=False), ' +
          'sa.Column("email", sa.String(200), nullable=False))',
        'op.drop_table("customers")',
      ),
    );
    edit('services/orders/alembic/env.py', (text) =>
      text
        .replace('from db_models.models import Customer  # noqa: F401\n', 'from db_models.models import Customer, SharedBase  # noqa: F401\n')
        .replace('target_metadata = Base.metadata\n', 'target_metadata = [Base.metadata, SharedBase.metadata]\n'),
    );
    git('add', '-A');
    git('commit', '-qm', 'orders: the customers table, and the library in its target_metadata');
    const verify = () => nx(['run', 'orders:migrate-verify', '--output-style=static']);
    const held = verify();
    expect(held.code).toBe(0);
    expect(tasks(held)).toEqual({ 'orders:migrate-verify': 'ran' });
    expect(held.stdout).toMatch(/^Stairway: 3 revisions upgraded, downgraded and upgraded again on sqlite, each downgrade undoing its upgrade$/m);
    expect(held.stdout).toMatch(/^Models: match head c5c5c5c5c5c5$/m);
    // (that its result is cached, as the run-many and the README commit above show: not asked again)

    edit('libs/db-models/src/db_models/models.py', (text) => text + '    vip: Mapped[bool] = mapped_column(default=False)\n');
    const failed = verify();
    expect(tasks(failed)).toEqual({ 'orders:migrate-verify': 'ran' });
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(
      /^libs\/db-models\/src\/db_models\/models\.py: column customers\.vip BOOLEAN is in the models; no migration has it \(add_column\)\. Make a migration for it: `nx run orders:migrate-make -m "message"`\.$/m,
    );
    git('checkout', '--', 'libs/db-models/src/db_models/models.py');
  });

  test('a model module added to the library: nx sync:check fails naming the two importing services, nx sync imports it in their env.py (autogenerate then sees it), and drops the import when the file goes', () => {
    const refunds = 'libs/db-models/src/db_models/refunds.py';
    write(
      refunds,
      'from sqlalchemy.orm import Mapped, mapped_column\n\nfrom db_models.models import SharedBase\n\n\nclass Refund(SharedBase):\n    __tablename__ = "refunds"\n    id: Mapped[int] = mapped_column(primary_key=True)\n',
    );
    const line = 'from db_models.refunds import Refund  # noqa: F401';
    const envPy = (service: string) => readFileSync(join(ws.root, 'services', service, 'alembic', 'env.py'), 'utf8');
    const block = (service: string) => envPy(service).split('# fastkit:models begin\n')[1].split('# fastkit:models end')[0];
    const before = Object.fromEntries(SERVICES.map((service) => [service, block(service).split('\n').sort()]));
    const stale = nx(['sync:check']);
    expect(stale.code).toBe(1);
    for (const service of IMPORTING) {
      expect(stale.all).toContain(`services/${service}/alembic/env.py: imports db_models.refunds (${refunds}, a model module nothing imported)`);
    }
    expect(stale.all).not.toContain('services/ledger');
    expect(nx(['sync']).code).toBe(0);
    for (const service of IMPORTING) expect(block(service)).toContain(`${line}\n`);
    expect(envPy('ledger')).not.toContain('db_models');
    // autogenerate now sees the new table: verify names it as a model with no migration
    const verify = nx(['run', 'orders:migrate-verify', '--output-style=static']);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/^libs\/db-models\/src\/db_models\/refunds\.py: table refunds is in the models; no migration has it/m);

    rmSync(join(ws.root, refunds));
    expect(nx(['sync']).code).toBe(0);
    // the blocks import what they did before (billing's now sorted, as sync keeps them)
    for (const service of SERVICES) expect(block(service).split('\n').sort()).toEqual(before[service]);
    git('checkout', '--', 'services');
  });

  test('with @nxlv/python registered too (orders declares the library as a poetry path dependency), each service → db-models edge is there once', () => {
    write(
      'services/orders/pyproject.toml',
      '[tool.poetry]\nname = "orders"\nversion = "0.1.0"\n\n[tool.poetry.dependencies]\npython = "^3.11"\ndb-models = { path = "../../libs/db-models", develop = true }\n',
    );
    writeFileSync(join(ws.root, 'nx.json'), JSON.stringify({ plugins: ['fastkit/plugin', '@nxlv/python'], analytics: false }, null, 2) + '\n');
    expect(dependencies().sort((a, b) => a.source.localeCompare(b.source))).toEqual([
      { source: 'billing', target: 'db-models', type: 'static' },
      { source: 'orders', target: 'db-models', type: 'implicit' },
    ]);
  });
});
