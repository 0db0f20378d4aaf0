// fastkit's benchmarks: every figure is a ratio measured side by side in one run, A and B
// alternating (A B A B …), medians of at least 10 runs each, min and max shown. Prints a table
// and writes bench/results/latest.json. Run with `npm run bench` (it sets everything up first).
//
//   BENCH_RUNS=20 npm run bench          more runs per side (default 10)
//   BENCH_ONLY=graph npm run bench       only the rows whose id contains "graph"
//   BENCH_ONLY=batch npm run bench       only nx run-many over many services (batched) and its memory
//   BENCH_SERVICES=50 BENCH_MEMORY_SERVICES=200   how many services those rows use (the defaults)
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const VENV = join(REPO, '.venv');
const PYTHON = join(VENV, 'bin', 'python');
const ALEMBIC = join(VENV, 'bin', 'alembic');
const CLI = join(REPO, 'dist', 'src', 'cli.js');
const NX = join(REPO, 'node_modules', '.bin', 'nx');
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const SERVICES = Number(process.env.BENCH_SERVICES ?? 50);
const MEMORY_SERVICES = Number(process.env.BENCH_MEMORY_SERVICES ?? 200);
const ONLY = process.env.BENCH_ONLY;
const PG_HOST = process.env.PGHOST ?? '/var/run/postgresql';
const work = mkdtempSync(join(tmpdir(), 'fastkit-bench-'));
const databases = [];
// NODE_EXTRA_CA_CERTS left out: this project's VM sets it (for npm behind its proxy), and Node then
// reads a whole certificate bundle as it starts, ~40 ms of every Node process, which a user's
// machine does not pay; docs/performance.md gives the fast path's figure with it too.
const { NODE_EXTRA_CA_CERTS: _, ...machineEnv } = process.env;
const baseEnv = { ...machineEnv, VIRTUAL_ENV: VENV, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', FORCE_COLOR: '0' };

// --- fixtures ------------------------------------------------------------------------------

function sh(file, args, options = {}) {
  const result = spawnSync(file, args, { encoding: 'utf8', env: baseEnv, maxBuffer: 64 << 20, ...options });
  if (result.status !== 0) {
    throw new Error(`${[file, ...args].join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/** A copy of examples/api, migrated to head on the database at `url` (or its SQLite default). */
function apiProject(name, url) {
  const dir = join(work, name);
  cpSync(join(REPO, 'examples', 'api'), dir, { recursive: true, filter: (source) => !/\.db$|__pycache__/.test(source) });
  const env = url ? { ...baseEnv, DATABASE_URL: url } : baseEnv;
  sh(process.execPath, [CLI, 'migrate', 'run'], { cwd: dir, env });
  sh(process.execPath, [CLI, 'migrate', 'status', '--no-fast'], { cwd: dir, env }); // Alembic's graph, remembered
  return { dir, env };
}

function postgresDatabase(suffix = '') {
  const name = `fkbench_${process.pid}${suffix && `_${suffix}`}`;
  databases.push(name);
  spawnSync('dropdb', ['-h', PG_HOST, '--if-exists', name]);
  sh('createdb', ['-h', PG_HOST, name]);
  return { name, url: `postgresql+psycopg:///${name}?host=${PG_HOST}` };
}

/**
 * examples/api with a history of `count` revisions: its two, then one per table t3…tN (a column
 * and an index each), with models to match, so verify finds nothing and runs every step.
 */
function longHistoryProject(name, count, url) {
  const dir = join(work, name);
  cpSync(join(REPO, 'examples', 'api'), dir, { recursive: true, filter: (source) => !/\.db$|__pycache__/.test(source) });
  const versions = join(dir, 'alembic', 'versions');
  let down = 'a719d4f7b98f';
  const models = ['from sqlalchemy import String', 'from sqlalchemy.orm import Mapped, mapped_column', '', 'from database import Base', ''];
  for (let i = 3; i <= count; i++) {
    const id = `be7c${String(i).padStart(8, '0')}`;
    const table = `t${i}`;
    writeFileSync(
      join(versions, `20261201_0000${String(i).padStart(2, '0')}_${table}.py`),
      [
        `"""create ${table}"""`,
        'from alembic import op',
        'import sqlalchemy as sa',
        '',
        `revision = '${id}'`,
        `down_revision = '${down}'`,
        'branch_labels = None',
        'depends_on = None',
        '',
        '',
        'def upgrade():',
        `    op.create_table('${table}', sa.Column('id', sa.Integer(), nullable=False), sa.Column('name', sa.String(50), nullable=True), sa.PrimaryKeyConstraint('id', name='pk_${table}'))`,
        `    op.create_index('ix_${table}_name', '${table}', ['name'])`,
        '',
        '',
        'def downgrade():',
        `    op.drop_index('ix_${table}_name', '${table}')`,
        `    op.drop_table('${table}')`,
        '',
      ].join('\n'),
    );
    models.push('', `class T${i}(Base):`, `    __tablename__ = "${table}"`, '    id: Mapped[int] = mapped_column(primary_key=True)', '    name: Mapped[str | None] = mapped_column(String(50), index=True)', '');
    down = id;
  }
  writeFileSync(join(dir, 'bench_models.py'), models.join('\n'));
  const envPy = join(dir, 'alembic', 'env.py');
  writeFileSync(envPy, readFileSync(envPy, 'utf8').replace('# fastkit:models end\n', 'import bench_models  # noqa: F401\n# fastkit:models end\n'));
  return { dir, env: { ...baseEnv, DATABASE_URL: url } };
}

/**
 * A temporary Nx workspace using the repo's packages (nx, and fastkit itself), each linked into
 * its own node_modules, so a plugin can be an installed package as it is for users (Nx loads
 * a plugin given by a relative path differently, through its TypeScript transpiler).
 */
function nxWorkspace(name, plugins, packages = {}) {
  const dir = join(work, name);
  const modules = join(dir, 'node_modules');
  mkdirSync(modules, { recursive: true });
  for (const entry of readdirSync(join(REPO, 'node_modules'))) {
    symlinkSync(join(REPO, 'node_modules', entry), join(modules, entry));
  }
  for (const [pkg, files] of Object.entries(packages)) {
    mkdirSync(join(modules, pkg), { recursive: true });
    for (const [file, text] of Object.entries(files)) writeFileSync(join(modules, pkg, file), text);
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true }));
  writeFileSync(join(dir, 'nx.json'), JSON.stringify({ plugins, useDaemonProcess: false }, null, 2));
  return dir;
}

/** `count` projects, each a folder with a project.json and an alembic.ini. */
function alembicProjects(workspace, count) {
  const ini = `[alembic]\nscript_location = %(here)s/alembic\nprepend_sys_path = .\n`;
  for (let i = 0; i < count; i++) {
    const dir = join(workspace, 'services', `svc${i}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'alembic.ini'), ini);
    writeFileSync(join(dir, 'project.json'), JSON.stringify({ name: `svc${i}` }));
  }
}

/**
 * The targets fastkit/plugin infers for a project, as a person would write them by hand in its
 * project.json: the same executors, options, caching, inputs, outputs and sync generators, but
 * no metadata (the technologies and description Nx shows are the plugin's extra). Each target
 * is written whole, `cache: false` included, as the plugin gives it: fair both ways.
 */
async function handWrittenTargets() {
  const { createNodes } = await import(join(REPO, 'dist', 'src', 'plugin.js'));
  const root = join(work, 'hand-written-template');
  alembicProjects(root, 1);
  const [[, result]] = await createNodes[1](['services/svc0/alembic.ini'], {}, { workspaceRoot: root, nxJsonConfiguration: {} });
  const targets = Object.values(result.projects)[0].targets;
  return Object.fromEntries(Object.entries(targets).map(([name, { metadata, ...target }]) => [name, target]));
}

/** `count` projects like {@link alembicProjects}, each with the fastkit targets written in its project.json. */
function handWrittenProjects(workspace, count, targets) {
  const ini = `[alembic]\nscript_location = %(here)s/alembic\nprepend_sys_path = .\n`;
  for (let i = 0; i < count; i++) {
    const dir = join(workspace, 'services', `svc${i}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'alembic.ini'), ini);
    writeFileSync(join(dir, 'project.json'), JSON.stringify({ name: `svc${i}`, targets }));
  }
}

/**
 * `services` Alembic projects (the example service's env.py and ini, a module of their own) and
 * `libraries` model libraries (pyproject packages installed editable into the workspace venv by
 * a `.pth` file, as pip and uv do). Each service's env.py imports one library directly, and its
 * own module imports another, so createDependencies follows imports across projects.
 */
function modelLibraryWorkspace(workspace, services, libraries) {
  const write = (path, text) => {
    mkdirSync(dirname(join(workspace, path)), { recursive: true });
    writeFileSync(join(workspace, path), text);
  };
  const example = (path) => readFileSync(join(REPO, 'examples', 'api', path), 'utf8');
  const ini = example('alembic.ini');
  const envPy = example('alembic/env.py');
  const database = example('database.py');
  const site = join(workspace, '.venv', 'lib', 'python3.11', 'site-packages');
  write('.gitignore', '.venv/\nnode_modules/\n');
  write('.venv/pyvenv.cfg', 'home = /usr/bin\ninclude-system-site-packages = false\n');
  for (const installed of ['alembic', 'sqlalchemy', 'mako', 'pip']) mkdirSync(join(site, installed), { recursive: true });
  for (let j = 0; j < libraries; j++) {
    const lib = `libs/lib${j}`;
    write(`${lib}/project.json`, JSON.stringify({ name: `lib${j}` }));
    write(`${lib}/pyproject.toml`, `[project]\nname = "lib-${j}"\nversion = "0.1.0"\n\n[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n`);
    write(`${lib}/src/lib_${j}/__init__.py`, `from .models import Model${j}\n`);
    write(`${lib}/src/lib_${j}/models.py`, `from sqlalchemy import String\nfrom sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column\n\n\nclass Base(DeclarativeBase):\n    pass\n\n\nclass Model${j}(Base):\n    __tablename__ = "model_${j}"\n    id: Mapped[int] = mapped_column(primary_key=True)\n    name: Mapped[str] = mapped_column(String(100))\n`);
    writeFileSync(join(site, `__editable__.lib_${j}-0.1.0.pth`), `${join(workspace, lib, 'src')}\n`);
  }
  for (let i = 0; i < services; i++) {
    const svc = `services/svc${i}`;
    const direct = i % libraries;
    const indirect = (i + 1) % libraries;
    write(`${svc}/project.json`, JSON.stringify({ name: `svc${i}` }));
    write(`${svc}/alembic.ini`, ini);
    write(
      `${svc}/alembic/env.py`,
      envPy.replace('# fastkit:models begin\n', `# fastkit:models begin\nfrom lib_${direct}.models import Model${direct}  # noqa: F401\n`),
    );
    write(`${svc}/database.py`, database);
    write(`${svc}/modules/__init__.py`, '');
    write(`${svc}/modules/clients/__init__.py`, '');
    write(`${svc}/modules/clients/models.py`, `from lib_${indirect} import Model${indirect}  # noqa: F401\nfrom database import Base\n`);
    write(`${svc}/modules/invoices/__init__.py`, '');
    write(`${svc}/modules/invoices/models.py`, `from database import Base\n`);
  }
}

/** fastkit/plugin without its createDependencies: the same projects and targets, no edges. */
const NODES_ONLY_PLUGIN = `const plugin = require('fastkit/plugin');
module.exports = { createNodes: plugin.createNodes, createNodesV2: plugin.createNodesV2 };
`;

const EMPTY_PLUGIN = `// The baseline: a plugin that matches the same files and adds nothing.
const glob = '**/{alembic.ini,pyproject.toml}';
const none = async (files) => files.map((file) => [file, {}]);
module.exports = { createNodes: [glob, none], createNodesV2: [glob, none] };
`;

// --- measuring -----------------------------------------------------------------------------

function timeOnce({ file, args, cwd, env, after }) {
  const start = process.hrtime.bigint();
  const result = spawnSync(file, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(`${[file, ...args].join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
  after?.();
  return seconds;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

function compare(row) {
  const a = [];
  const b = [];
  timeOnce(row.a); // warm both sides once (file caches, Python bytecode), not counted
  timeOnce(row.b);
  for (let i = 0; i < RUNS; i++) {
    a.push(timeOnce(row.a));
    b.push(timeOnce(row.b));
  }
  const summary = (values) => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) });
  return { ...row, a: { label: row.a.label, ...summary(a) }, b: { label: row.b.label, ...summary(b) }, ratio: median(a) / median(b) };
}

// --- the rows ------------------------------------------------------------------------------

const fastkit = (label, project, ...args) => ({ label, file: process.execPath, args: [CLI, 'migrate', ...args], cwd: project.dir, env: project.env });
const alembic = (label, project, ...args) => ({ label, file: ALEMBIC, args, cwd: project.dir, env: project.env });

async function rows() {
  const sqlite = apiProject('sqlite-api');
  const pg = postgresDatabase();
  const postgres = apiProject('postgres-api', pg.url);

  const nxApi = nxWorkspace('nx-api', ['fastkit/plugin']);
  cpSync(sqlite.dir, join(nxApi, 'apps', 'api'), { recursive: true, filter: (source) => !/\.db$/.test(source) });
  writeFileSync(
    join(nxApi, 'apps', 'api', 'project.json'),
    JSON.stringify({
      name: 'api',
      targets: { 'alembic-current': { executor: 'nx:run-commands', options: { command: `${ALEMBIC} current`, cwd: 'apps/api' } } },
    }),
  );
  const nxProject = { dir: join(nxApi, 'apps', 'api'), env: baseEnv };
  sh(process.execPath, [CLI, 'migrate', 'run'], { cwd: nxProject.dir });
  sh(process.execPath, [CLI, 'migrate', 'status', '--no-fast'], { cwd: nxProject.dir });
  const nx = (label, ...args) => ({ label, file: process.execPath, args: [NX, ...args], cwd: nxApi, env: baseEnv });

  const graphRows = [1, 200, 1000].map((count) => {
    const withFastkit = nxWorkspace(`graph-fastkit-${count}`, ['fastkit/plugin']);
    const withEmpty = nxWorkspace(`graph-empty-${count}`, ['empty-alembic-plugin'], {
      'empty-alembic-plugin': { 'package.json': JSON.stringify({ name: 'empty-alembic-plugin', main: 'index.js' }), 'index.js': EMPTY_PLUGIN },
    });
    alembicProjects(withFastkit, count);
    alembicProjects(withEmpty, count);
    return {
      id: `graph-${count}`,
      title: `nx show projects, ${count} alembic project${count > 1 ? 's' : ''}`,
      target: count === 1000 ? 1.15 : count === 200 ? 1.05 : undefined,
      a: { label: 'fastkit/plugin', file: process.execPath, args: [NX, 'show', 'projects'], cwd: withFastkit, env: baseEnv },
      b: { label: 'empty plugin', file: process.execPath, args: [NX, 'show', 'projects'], cwd: withEmpty, env: baseEnv },
    };
  });

  // the issue's baseline: the same targets, written by hand in each project.json, no plugin
  const handWritten = nxWorkspace('graph-hand-written-1000', []);
  handWrittenProjects(handWritten, 1000, await handWrittenTargets());
  const inferredRow = {
    id: 'graph-1000-vs-hand-written',
    title: 'nx show projects, 1000 alembic projects: inferred targets vs the same written in project.json',
    target: 1.15,
    a: { label: 'fastkit/plugin', file: process.execPath, args: [NX, 'show', 'projects'], cwd: join(work, 'graph-fastkit-1000'), env: baseEnv },
    b: { label: 'targets in project.json', file: process.execPath, args: [NX, 'show', 'projects'], cwd: handWritten, env: baseEnv },
  };

  const withEdges = nxWorkspace('deps-fastkit', ['fastkit/plugin']);
  const withoutEdges = nxWorkspace('deps-nodes-only', ['fastkit-nodes-only'], {
    'fastkit-nodes-only': { 'package.json': JSON.stringify({ name: 'fastkit-nodes-only', main: 'index.js' }), 'index.js': NODES_ONLY_PLUGIN },
  });
  modelLibraryWorkspace(withEdges, 1000, 200);
  modelLibraryWorkspace(withoutEdges, 1000, 200);
  const showProjects = (label, cwd, after) => ({ label, file: process.execPath, args: [NX, 'show', 'projects'], cwd, env: baseEnv, after });
  const dependencyRow = {
    id: 'graph-dependencies-1000',
    title: 'nx show projects, 1000 alembic projects + 200 model libraries: createDependencies on vs off',
    target: 1.1,
    a: showProjects('fastkit/plugin', withEdges),
    b: showProjects('without createDependencies', withoutEdges),
  };
  // the same after a model module of one service changed (Nx hashes it again; fastkit walks that service again)
  let edits = 0;
  const editModel = (workspace) => () => writeFileSync(join(workspace, 'services', 'svc7', 'modules', 'invoices', 'models.py'), `from database import Base\n# edit ${++edits}\n`);
  const editedRow = {
    id: 'graph-dependencies-1000-edited',
    title: 'the same, one service model module edited before each run',
    a: showProjects('fastkit/plugin', withEdges, editModel(withEdges)),
    b: showProjects('without createDependencies', withoutEdges, editModel(withoutEdges)),
  };

  // verify of 50 revisions on PostgreSQL against `alembic upgrade head` on an empty database (made afresh after each run)
  const emptyDb = postgresDatabase('empty');
  const longHistory = longHistoryProject('long-history', 50, emptyDb.url);
  const shadowUrl = `postgresql+psycopg:///postgres?host=${PG_HOST}`;
  const freshEmptyDb = () => {
    sh('dropdb', ['-h', PG_HOST, '--if-exists', emptyDb.name]);
    sh('createdb', ['-h', PG_HOST, emptyDb.name]);
  };
  const verifyRow = {
    id: 'verify-postgres-50',
    title: 'verify, 50 revisions on PostgreSQL (stairway and models) vs upgrade head on an empty database',
    target: 4,
    a: { label: 'fastkit migrate verify', file: process.execPath, args: [CLI, 'migrate', 'verify'], cwd: longHistory.dir, env: { ...longHistory.env, FASTKIT_SHADOW_URL: shadowUrl } },
    b: { ...alembic('alembic upgrade head', longHistory, 'upgrade', 'head'), after: freshEmptyDb },
  };

  return [
    {
      id: 'status-sqlite',
      title: 'status on SQLite (fast path)',
      target: 0.2,
      maxSeconds: 0.15,
      a: fastkit('fastkit migrate status', sqlite, 'status'),
      b: alembic('alembic current', sqlite, 'current'),
    },
    {
      id: 'status-postgres',
      title: 'status on PostgreSQL (fast path)',
      a: fastkit('fastkit migrate status', postgres, 'status'),
      b: alembic('alembic current', postgres, 'current'),
    },
    {
      id: 'run-noop-sqlite',
      title: 'run with nothing pending, SQLite (fast path)',
      target: 0.2,
      maxSeconds: 0.15,
      a: fastkit('fastkit migrate run', sqlite, 'run'),
      b: alembic('alembic upgrade head', sqlite, 'upgrade', 'head'),
    },
    {
      id: 'run-noop-postgres',
      title: 'run with nothing pending, PostgreSQL (fast path)',
      a: fastkit('fastkit migrate run', postgres, 'run'),
      b: alembic('alembic upgrade head', postgres, 'upgrade', 'head'),
    },
    {
      id: 'cli-overhead-sqlite',
      title: 'CLI overhead: status through Alembic (--no-fast), SQLite',
      target: 1.15,
      a: fastkit('fastkit migrate status --no-fast', sqlite, 'status', '--no-fast'),
      b: alembic('alembic current', sqlite, 'current'),
    },
    {
      id: 'cli-overhead-postgres',
      title: 'CLI overhead: status through Alembic (--no-fast), PostgreSQL',
      target: 1.15,
      a: fastkit('fastkit migrate status --no-fast', postgres, 'status', '--no-fast'),
      b: alembic('alembic current', postgres, 'current'),
    },
    {
      id: 'helper-allocator',
      title: "the helper's Python on huge pages (src/python-allocator.ts) vs on pymalloc, status --no-fast, SQLite",
      target: 0.95,
      a: fastkit('fastkit migrate status --no-fast', sqlite, 'status', '--no-fast'),
      b: { ...fastkit('PYTHONMALLOC=pymalloc fastkit migrate status --no-fast', sqlite, 'status', '--no-fast'), env: { ...sqlite.env, PYTHONMALLOC: 'pymalloc' } },
    },
    {
      id: 'make-sqlite',
      title: 'make with no model change, SQLite',
      a: fastkit('fastkit migrate make -m bench', sqlite, 'make', '-m', 'bench'),
      b: {
        ...alembic('alembic revision --autogenerate', sqlite, 'revision', '--autogenerate', '-m', 'bench'),
        after: () => removeNewRevisions(sqlite.dir),
      },
    },
    {
      id: 'executor-status',
      title: 'nx run api:migrate-status vs nx:run-commands (daemon off)',
      target: 1.0,
      a: nx('nx run api:migrate-status', 'run', 'api:migrate-status'),
      b: nx('nx run api:alembic-current', 'run', 'api:alembic-current'),
    },
    {
      id: 'mask-1mb',
      title: 'masking four 1 MB lines (half-URLs, scheme chains, letters, JSON)',
      maxSeconds: 1,
      a: { label: 'build and mask', file: process.execPath, args: [join(REPO, 'bench', 'mask-line.mjs'), 'mask'], cwd: REPO, env: baseEnv },
      b: { label: 'build only', file: process.execPath, args: [join(REPO, 'bench', 'mask-line.mjs'), 'plain'], cwd: REPO, env: baseEnv },
    },
    ...graphRows,
    inferredRow,
    dependencyRow,
    editedRow,
    verifyRow,
  ];
}

// --- nx run-many over many services (batched) -------------------------------------------------

/**
 * A workspace of `sqlite` + `postgres` copies of examples/api, each an Nx project with fastkit's
 * targets and the raw-Alembic baselines as nx:run-commands targets, all migrated to `at` (head
 * unless given). No plugin: the targets are explicit, so both sides pay the same graph.
 */
function servicesWorkspace(name, sqlite, postgres = 0, at = 'head') {
  const workspace = nxWorkspace(name, []);
  const services = [];
  for (let i = 0; i < sqlite + postgres; i++) {
    const service = `svc${i}`;
    const dir = join(workspace, 'services', service);
    cpSync(join(REPO, 'examples', 'api'), dir, { recursive: true, filter: (source) => !/\.db$|__pycache__|project\.json$/.test(source) });
    const env = i < sqlite ? {} : { DATABASE_URL: postgresDatabase(`${name}_${i}`.replace(/-/g, '_')).url };
    const shell = (command) => ({ executor: 'nx:run-commands', options: { command: `${ALEMBIC} ${command}`, cwd: `services/${service}`, env } });
    const fastkitTarget = (action) => ({ executor: `fastkit:migrate-${action}`, options: { env } });
    const targets = {
      'migrate-status': fastkitTarget('status'),
      'migrate-run': fastkitTarget('run'),
      'alembic-current': shell('current'),
      'alembic-upgrade': shell('upgrade head'),
    };
    writeFileSync(join(dir, 'project.json'), JSON.stringify({ name: service, root: `services/${service}`, targets }));
    // SQLite: the first service's database, migrated once, copied to the others
    if (i === 0 || i >= sqlite) sh(ALEMBIC, ['upgrade', at], { cwd: dir, env: { ...baseEnv, ...env } });
    else copyFileSync(join(services[0], 'api.db'), join(dir, 'api.db'));
    services.push(dir);
  }
  return { dir: workspace, services: services.slice(0, sqlite) };
}

const runMany = (label, workspace, target, ...args) => ({
  label,
  file: process.execPath,
  args: [NX, 'run-many', '-t', target, '--parallel=2', '--output-style=static', ...args],
  cwd: workspace.dir,
  env: baseEnv,
});

/** Each SQLite database of `workspace` as it is now, put back after every run (a run with one pending revision, again and again). */
function restoreDatabases(workspace) {
  for (const dir of workspace.services) copyFileSync(join(dir, 'api.db'), join(dir, 'api.db.bench'));
  return () => {
    for (const dir of workspace.services) copyFileSync(join(dir, 'api.db.bench'), join(dir, 'api.db'));
  };
}

const BATCH_IDS = ['batch-status-50', 'batch-status-no-fast-50', 'batch-run-pending-50', 'batch-status-25-mixed'];

function batchRows() {
  const atHead = servicesWorkspace('batch-head', SERVICES);
  const pending = servicesWorkspace('batch-pending', SERVICES, 0, readRevisionIds()[0]);
  const mixed = servicesWorkspace('batch-mixed', 20, 5);
  return [
    {
      id: 'batch-status-50',
      title: `nx run-many -t migrate-status, ${SERVICES} services at head (batched)`,
      target: 0.15,
      a: runMany('migrate-status', atHead, 'migrate-status'),
      b: runMany('alembic current (run-commands)', atHead, 'alembic-current'),
    },
    {
      id: 'batch-status-no-fast-50',
      title: 'the same with --no-fast (Alembic for every service)',
      target: 0.4,
      a: runMany('migrate-status --no-fast', atHead, 'migrate-status', '--no-fast'),
      b: runMany('alembic current (run-commands)', atHead, 'alembic-current'),
    },
    {
      id: 'batch-run-pending-50',
      title: `nx run-many -t migrate-run, ${SERVICES} services with one pending revision each`,
      target: 0.5,
      a: { ...runMany('migrate-run', pending, 'migrate-run'), after: restoreDatabases(pending) },
      b: { ...runMany('alembic upgrade head (run-commands)', pending, 'alembic-upgrade'), after: restoreDatabases(pending) },
    },
    {
      id: 'batch-status-25-mixed',
      title: 'nx run-many -t migrate-status, 20 SQLite + 5 PostgreSQL services at head',
      a: runMany('migrate-status', mixed, 'migrate-status'),
      b: runMany('alembic current (run-commands)', mixed, 'alembic-current'),
    },
  ];
}

/** The example's revision ids, oldest first (its file names start with their timestamps). */
function readRevisionIds() {
  const versions = join(REPO, 'examples', 'api', 'alembic', 'versions');
  return readdirSync(versions)
    .filter((file) => file.endsWith('.py'))
    .sort()
    .map((file) => /^revision(?:: str)? = ['"](\w+)['"]/m.exec(readFileSync(join(versions, file), 'utf8'))[1]);
}

/**
 * The memory of Nx's batch process for `count` services (`nx run-many -t migrate-status
 * --no-fast`: Python for every one): the batch process (node …/run-batch.js) with its Python
 * server and forks, sampled from /proc every 20 ms; the peak of their summed RSS (shared pages
 * counted in every process, so an overcount) and of their summed PSS (shared pages split).
 */
async function batchMemory(count) {
  const workspace = servicesWorkspace(`batch-memory-${count}`, count);
  const child = spawn(process.execPath, [NX, 'run-many', '-t', 'migrate-status', '--no-fast', '--parallel=2', '--output-style=static'], {
    cwd: workspace.dir,
    env: baseEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const peak = { rss: 0, pss: 0, processes: 0 };
  const sample = () => {
    const tree = processTree();
    const batch = [...tree.keys()].find((pid) => tree.get(pid).argv.includes('run-batch.js') && descendsFrom(tree, pid, child.pid));
    if (!batch) return;
    const pids = [batch, ...descendants(tree, batch)];
    let rss = 0;
    let pss = 0;
    for (const pid of pids) {
      rss += memoryOf(pid, '/status', /^VmRSS:\s+(\d+) kB/m);
      pss += memoryOf(pid, '/smaps_rollup', /^Pss:\s+(\d+) kB/m);
    }
    if (rss > peak.rss) peak.rss = rss;
    if (pss > peak.pss) peak.pss = pss;
    if (pids.length > peak.processes) peak.processes = pids.length;
  };
  const timer = setInterval(sample, 20);
  const code = await new Promise((resolve) => child.on('close', resolve));
  clearInterval(timer);
  if (code !== 0) throw new Error(`nx run-many over ${count} services failed:\n${output}`);
  if (!output.includes(`Running ${count} tasks with fastkit:migrate-status`)) throw new Error(`not batched:\n${output}`);
  return { id: `batch-memory-${count}`, title: `batch process of nx run-many -t migrate-status --no-fast, ${count} services`, rssMiB: peak.rss / 1024, pssMiB: peak.pss / 1024, processes: peak.processes, targetMiB: 1024 };
}

/** Every process: its parent and command line. */
function processTree() {
  const tree = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      tree.set(Number(entry), { ppid, argv: readFileSync(`/proc/${entry}/cmdline`, 'utf8') });
    } catch {
      // gone meanwhile
    }
  }
  return tree;
}

function descendsFrom(tree, pid, ancestor) {
  for (let at = tree.get(pid); at; at = tree.get(at.ppid)) if (at.ppid === ancestor) return true;
  return false;
}

function descendants(tree, root) {
  const found = [];
  for (const pid of tree.keys()) if (descendsFrom(tree, pid, root)) found.push(pid);
  return found;
}

function memoryOf(pid, file, pattern) {
  try {
    return Number(pattern.exec(readFileSync(`/proc/${pid}${file}`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Deletes revisions `alembic revision` wrote during the benchmark (the examples' own stay). */
function removeNewRevisions(project) {
  const versions = join(project, 'alembic', 'versions');
  for (const file of spawnSync('ls', [versions], { encoding: 'utf8' }).stdout.split('\n')) {
    if (file.endsWith('_bench.py')) rmSync(join(versions, file));
  }
}

// --- report --------------------------------------------------------------------------------

function format(results) {
  const lines = [
    `| benchmark | A | B | A median (min–max) | B median (min–max) | A/B | target |`,
    `|---|---|---|---|---|---|---|`,
  ];
  const s = (x) => `${x.median.toFixed(3)} s (${x.min.toFixed(3)}–${x.max.toFixed(3)})`;
  for (const r of results) {
    const holds = (r.target === undefined || r.ratio <= r.target) && (r.maxSeconds === undefined || r.a.median <= r.maxSeconds);
    const goal = [r.target !== undefined && `≤ ${r.target}×`, r.maxSeconds !== undefined && `≤ ${r.maxSeconds} s`].filter(Boolean).join(', ');
    const verdict = goal ? `${holds ? '✓' : '✗'} ${goal}` : '';
    lines.push(`| ${r.title} | ${r.a.label} | ${r.b.label} | ${s(r.a)} | ${s(r.b)} | ${r.ratio.toFixed(2)}× | ${verdict} |`);
  }
  return lines.join('\n');
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
console.log(`fastkit bench: ${RUNS} runs a side, alternating; ${machine}`);
const results = [];
const memory = [];
const wantsBatch = !ONLY || ONLY.startsWith('batch') || BATCH_IDS.some((id) => id.includes(ONLY));
const wantsOthers = !ONLY || !ONLY.startsWith('batch');
try {
  const onlyMemory = ONLY && 'batch-memory-200'.includes(ONLY) && ONLY.startsWith('batch-m');
  for (const row of [...(wantsOthers ? await rows() : []), ...(wantsBatch && !onlyMemory ? batchRows() : [])]) {
    if (ONLY && !row.id.includes(ONLY)) continue;
    process.stdout.write(`  ${row.title} … `);
    const result = compare(row);
    console.log(`${result.ratio.toFixed(2)}× (${result.a.median.toFixed(2)} s vs ${result.b.median.toFixed(2)} s)`);
    results.push(result);
  }
  if (!ONLY || 'batch-memory-200'.includes(ONLY)) {
    process.stdout.write(`  memory of the batch process, ${MEMORY_SERVICES} services … `);
    const measured = await batchMemory(MEMORY_SERVICES);
    console.log(`${measured.rssMiB.toFixed(0)} MiB RSS, ${measured.pssMiB.toFixed(0)} MiB PSS`);
    memory.push(measured);
  }
} finally {
  for (const name of databases) spawnSync('dropdb', ['-h', PG_HOST, '--if-exists', name]);
  rmSync(work, { recursive: true, force: true });
}
console.log(`\n${format(results)}\n`);
for (const m of memory) {
  const holds = m.rssMiB < m.targetMiB;
  console.log(`${m.title}: peak ${m.rssMiB.toFixed(0)} MiB RSS summed (${m.pssMiB.toFixed(0)} MiB PSS) over ${m.processes} processes — ${holds ? '✓' : '✗'} < ${m.targetMiB} MiB\n`);
}
mkdirSync(join(REPO, 'bench', 'results'), { recursive: true });
const report = {
  date: new Date().toISOString(),
  machine,
  runs: RUNS,
  results: results.map(({ id, title, target, maxSeconds, ratio, a, b }) => ({ id, title, target, maxSeconds, ratio, a, b })),
  memory,
};
writeFileSync(join(REPO, 'bench', 'results', 'latest.json'), JSON.stringify(report, null, 2) + '\n');
console.log('written: bench/results/latest.json');
