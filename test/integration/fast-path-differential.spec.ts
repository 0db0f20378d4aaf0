/**
 * The fast path must never lie: wherever it answers `status` without Python, its answer is
 * Alembic's. Random histories and database states on SQLite and PostgreSQL, compared with
 * Alembic's own answer after every step; and the count of states where it did answer, so a
 * fast path that always falls back cannot pass either.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { dirname, isAbsolute, join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { AlembicServers } from '../../src/alembic-server';
import { quickStatus } from '../../src/fast-path';
import { status } from '../../src/migrate';
import { resolveProject } from '../../src/project';
import {
  addColumn,
  createPostgresDatabase,
  exampleProject,
  fastkit,
  PG_HOST,
  PG_USER,
  python,
  pythonEnvironment,
  PYTHON,
  REPO,
  run,
  STACK,
  tempDir,
  VENV,
} from '../support/workspace';
import { revision, revisionIdsIn } from '../support/revisions';
import { SENTINEL_PASSWORD } from '../support/secrets';
import { seededRandom } from '../support/random';

/**
 * Sizes that keep the file near a minute a stack: the first stack draws more; every stack runs
 * every variant, and each env.py class once, on SQLite or PostgreSQL in turn, the first stack on
 * the other database than the others, so each run of the suite takes every class through both
 * (the seed changes nothing else).
 */
const FIRST_STACK = STACK.name === 'alembic-1.20 sqlalchemy-2.0';
const STATES_PER_VARIANT = FIRST_STACK ? 2 : 1;
const CLI_STEPS = FIRST_STACK ? 3 : 2;
/**
 * The random states over changing revision files cost as much Python on a stack that draws one
 * state a variant as on the first (their six makes and eight `--no-fast` re-reads, not the
 * states): the first stack takes both engines through them, each other stack one, in turn by its
 * place in test/python-stacks.json, so each run of the suite takes both through the other stacks.
 */
const { stacks } = JSON.parse(readFileSync(join(REPO, 'test', 'python-stacks.json'), 'utf8')) as { stacks: Array<{ name: string }> };
const STATES_ENGINES = FIRST_STACK ? ['SQLite', 'PostgreSQL'] : [stacks.findIndex((stack) => stack.name === STACK.name) % 2 === 1 ? 'PostgreSQL' : 'SQLite'];
/** Replay a failure with FASTKIT_DIFF_SEED. */
const SEED = Number(process.env.FASTKIT_DIFF_SEED ?? 20261126);

/**
 * The fast path of another fastkit build, asked on the same states: FASTKIT_DIFF_BEFORE names its
 * dist folder (docs/fast-path.md: how the "before" figures were measured). It reads the graph
 * this build remembered (the same file layout, under its own key). Undefined without it.
 */
const BEFORE = process.env.FASTKIT_DIFF_BEFORE;
type BeforeOptions = { root: string; env: Record<string, string | undefined>; streams: object };
async function beforeFastPath(options: BeforeOptions): Promise<unknown> {
  if (!BEFORE) return undefined;
  const { resolveProject: resolveBefore } = require(join(BEFORE, 'src', 'project.js'));
  const { quickStatus: quickBefore } = require(join(BEFORE, 'src', 'fast-path.js'));
  const project = resolveBefore(options);
  const folder = join(String(options.env.FASTKIT_CACHE_DIR), 'revision-graphs');
  const key = createHash('sha256').update(JSON.stringify([project.config, project.name ?? 'alembic', project.args, project.python.python, project.cwd])).digest('hex');
  const theirs = `${key.slice(0, 32)}.json`;
  const ours = (existsSync(folder) ? readdirSync(folder) : [])
    .filter((name) => name !== theirs && name.endsWith('.json'))
    .sort((a, b) => statSync(join(folder, b)).mtimeMs - statSync(join(folder, a)).mtimeMs)[0];
  if (ours) copyFileSync(join(folder, ours), join(folder, theirs));
  return quickBefore(project);
}

/** Counts of the other build's fast path on the same states: answered, wrong, and answered there but declined here. */
class BeforeCount {
  answered = 0;
  wrong = 0;
  declinedNow = 0;

  note(before: unknown, now: unknown, truth: unknown): void {
    if (before === undefined) return;
    this.answered++;
    if (!isDeepStrictEqual(JSON.parse(JSON.stringify(before)), truth)) this.wrong++;
    if (now === undefined) this.declinedNow++;
  }

  toString(): string {
    return BEFORE ? `; before: ${this.answered} answered (${this.wrong} wrong), ${this.declinedNow} of them declined now` : '';
  }
}

/** How often the fast path answered, per test, class and engine: printed after the file, as the issue asks. */
const answeredPerClass: string[] = [];
afterAll(() => {
  if (answeredPerClass.length) console.log(`Fast path answers (${STACK.name}):\n${answeredPerClass.join('\n')}`);
});

/** Alembic's own status, from a Python process that lives for the whole test file. */
class Oracle {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly waiting: Array<(line: string) => void> = [];

  constructor() {
    this.child = spawn(PYTHON, [join(REPO, 'test', 'support', 'alembic_oracle.py')], { env: pythonEnvironment() });
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (line) => this.waiting.shift()?.(line));
  }

  /** Alembic's status of the database at `url`, after putting `set` in its version table if given. */
  ask(config: string, url: string, set?: string[] | null): Promise<Record<string, unknown>> {
    return this.request(set === undefined ? { config, url } : { config, url, set });
  }

  /** Puts `rows` in a target's version table (null: no version table). */
  async setRows(target: Target, rows: string[] | null): Promise<void> {
    await this.request({ config: '', url: target.parts, table: target.table, schema: target.schema, set: rows, only: true });
  }

  /** The rows of a target's version table, sorted (null: no version table). */
  async rows(target: Target): Promise<string[] | null> {
    return ((await this.request({ url: target.parts, table: target.table, schema: target.schema, only: true })) as { rows: string[] | null }).rows;
  }

  /** Raw Alembic's status of a project (`alembic current`, `alembic heads`): env.py decides the database. */
  raw(project: string, env: Record<string, string>): Promise<Answer> {
    return this.request({ raw: { cwd: project, config: join(project, 'alembic.ini'), env } }) as Promise<Answer>;
  }

  /** Raw `alembic upgrade head` in a project: whether it succeeded. */
  async rawUpgrade(project: string, env: Record<string, string>): Promise<boolean> {
    return ((await this.request({ raw: { cwd: project, config: join(project, 'alembic.ini'), env, upgrade: true } })) as { ok: boolean }).ok;
  }

  private request(body: object): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      this.waiting.push((line) => resolve(JSON.parse(line)));
      this.child.stdin.write(JSON.stringify(body) + '\n');
    });
  }

  close(): void {
    this.child.stdin.end();
  }
}

interface Engine {
  name: string;
  create(project: string): { url: string; drop(): void };
}

const engines: Engine[] = [
  {
    name: 'SQLite',
    create(project) {
      const file = join(project, 'differential.db');
      return { url: `sqlite:///${file}`, drop: () => rmSync(file, { force: true }) };
    },
  },
  {
    name: 'PostgreSQL',
    create() {
      const db = createPostgresDatabase('fkdiff');
      return { url: db.url, drop: db.drop };
    },
  },
];

const MESSAGES = ['create things', 'add """quoted""" column', 'path C:\\temp\\x', 'ünïcode naïve', 'it\'s "fine"', 'plain'];

describe.each(engines)('the fast path agrees with Alembic on $name', (engine) => {
  const oracle = new Oracle();
  const silent = { stdout: { write: () => true }, stderr: { write: () => true } };
  afterAll(() => oracle.close());

  if (STATES_ENGINES.includes(engine.name)) test('hundreds of random database states over changing revision files', async () => {
    const rng = seededRandom(SEED + engine.name.length);
    const project = exampleProject({ revisions: false });
    const db = engine.create(project);
    const versions = join(project, 'alembic', 'versions');
    const envPy = join(project, 'alembic', 'env.py');
    const cacheDir = tempDir('fastkit-cache-');
    const options = {
      root: project,
      alembic: `${PYTHON} -m alembic`,
      env: { DATABASE_URL: db.url, FASTKIT_CACHE_DIR: cacheDir },
      streams: silent,
    };
    const make = (message: string) => {
      const made = fastkit(['migrate', 'make', '--no-autogenerate', '-m', message], { cwd: project, env: options.env });
      expect(made.code).toBe(0);
    };
    const revisionIds = () => revisionIdsIn(versions);

    for (let i = 0; i < 5; i++) make(rng.pick(MESSAGES) + ` ${i}`);
    const originalEnvPy = readFileSync(envPy, 'utf8');

    // each variant changes the files; some re-read them through Alembic first (as a status would)
    const variants: Array<{ change(): void; reread: boolean }> = [
      { change: () => undefined, reread: false }, // nothing remembered yet: must fall back
      { change: () => undefined, reread: true },
      { change: () => make('one more'), reread: false }, // a new file the record does not know
      { change: () => undefined, reread: true },
      {
        // a second head: Alembic's `heads` has two
        change: () => {
          const base = revisionIds()[0];
          writeFileSync(
            join(versions, '20990101_000000_side_branch.py'),
            `"""side branch\n\nRevision ID: sidebranch01\n"""\nrevision = "sidebranch01"\ndown_revision = "${base}"\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n`,
          );
        },
        reread: true,
      },
      { change: () => rmSync(join(versions, '20990101_000000_side_branch.py')), reread: true },
      {
        // a message edited after Alembic read it: the record is stale
        change: () => {
          const file = readdirSync(versions).filter((name) => name.endsWith('.py')).sort()[1];
          const path = join(versions, file);
          writeFileSync(path, readFileSync(path, 'utf8').replace(/^"""[^\n]*/, '"""edited message'));
        },
        reread: false,
      },
      { change: () => undefined, reread: true },
      { change: () => writeFileSync(join(versions, '__init__.py'), ''), reread: false }, // not a revision file to Alembic
      { change: () => appendFileSync(envPy, '\n# a change of mine\n'), reread: true }, // not fastkit's env.py any more
      { change: () => writeFileSync(envPy, originalEnvPy), reread: true },
      {
        change: () => addColumn(project, 'invoices', 'notes: Mapped[str | None] = mapped_column(String(50))'),
        reread: true, // models are not revision files: nothing the fast path reads changes
      },
    ];

    let states = 0;
    let answered = 0;
    const before = new BeforeCount();
    for (const variant of variants) {
      variant.change();
      if (variant.reread) {
        await oracle.ask(join(project, 'alembic.ini'), db.url, null); // a state Alembic reads without complaint
        await status({ ...options, fast: false, json: true });
      }
      const ids = revisionIds();
      for (let k = 0; k < STATES_PER_VARIANT; k++) {
        const rows = rng.pick<string[] | null>([
          null,
          [],
          [rng.pick(ids)],
          [rng.pick(ids)],
          [rng.pick(ids)],
          ['deadbeef0000'],
          [rng.pick(ids), rng.pick(ids)].filter((id, index, all) => all.indexOf(id) === index),
        ]);
        await oracle.ask(join(project, 'alembic.ini'), db.url, rows);
        const quick = await quickStatus(resolveProject(options));
        const truth = await oracle.ask(join(project, 'alembic.ini'), db.url);
        before.note(await beforeFastPath(options as BeforeOptions), quick, truth);
        states++;
        if (quick === undefined) continue;
        answered++;
        expect({ state: rows, answer: quick }).toEqual({ state: rows, answer: truth });
      }
    }
    db.drop();
    expect(states).toBe(variants.length * STATES_PER_VARIANT);
    answeredPerClass.push(`  fastkit's env.py over changing revision files on ${engine.name}: ${answered} of ${states} states answered${before}`);
    // it answered often enough to have been tested: at least the states of the re-read variants
    // with a fastkit env.py, a single head and a known revision in the table
    expect(answered).toBeGreaterThan(states / 4);
  });

  test('a random run of make, run and rollback through the CLI: fast status equals Alembic status after every step', () => {
    const rng = seededRandom(SEED * 7 + engine.name.length);
    const project = exampleProject({ revisions: false });
    const db = engine.create(project);
    const env = { DATABASE_URL: db.url, FASTKIT_CACHE_DIR: tempDir('fastkit-cache-') };
    const cli = (...args: string[]) => fastkit(['migrate', ...args], { cwd: project, env });
    let columns = 0;
    const steps: Array<() => void> = [
      () => {
        addColumn(project, rng.pick(['clients', 'invoices']), `c${columns++}: Mapped[str | None] = mapped_column(String(20))`);
        cli('make', '-m', rng.pick(MESSAGES));
      },
      () => cli('make', '--no-autogenerate', '-m', rng.pick(MESSAGES)),
      () => cli('run'),
      () => cli('run'),
      () => cli('rollback'),
    ];
    for (let i = 0; i < CLI_STEPS; i++) {
      rng.pick(steps)();
      const slow = cli('status', '--json', '--no-fast');
      const fast = cli('status', '--json', '--verbose');
      expect(slow.code).toBe(0);
      expect(JSON.parse(fast.stdout)).toEqual(JSON.parse(slow.stdout));
      expect(fast.stderr).toContain('fast path: answered without Python');
    }
    db.drop();
  });
});

// --- env.py as projects write it ------------------------------------------------------------

/** Raw Alembic's answer, or its failure. */
type Answer = { current: string[]; heads: string[]; pending: Array<{ revision: string; message: string }>; upToDate: boolean } | { error: string };

/** A database env.py may end up using, and its version table: how the test sets and reads it. */
interface Target {
  label: string;
  /** The URL as SQLAlchemy's URL.create parts, so that a name with `%` in it means itself. */
  parts: Record<string, unknown>;
  table?: string;
  schema?: string;
}

/** One project of one class, on one engine, and what the test changes in it. */
interface Scene {
  engine: 'SQLite' | 'PostgreSQL';
  project: string;
  /** The environment the user gives fastkit and Alembic (undefined: not set). */
  env: Record<string, string | undefined>;
  targets: Target[];
  /** A new database of this engine with exactly this name; its URL as env.py gets it. */
  database(name: string, options?: { table?: string; schema?: string }): { target: Target; url: string };
  /** A SQLite file of the project as a target (fastkit's embedded default). */
  sqliteFile(file: string): Target;
  /** A schema in a PostgreSQL database, and the same version table in it as a target. */
  schema(database: { target: Target }, name: string): Target;
  write(file: string, text: string): void;
  remove(file: string): void;
  edit(file: string, change: (text: string) => string): void;
}

/** A way projects write env.py (and what it imports), with the changes a user makes between calls. */
interface EnvPyClass {
  name: string;
  engines?: Array<'SQLite' | 'PostgreSQL'>;
  /** False: the fast path must never answer (what env.py reads is out of fastkit's sight). */
  answers?: false;
  /** Sets the project up; returns the changes the steps draw from. */
  setup(scene: Scene): Array<() => void>;
}

const STEPS = FIRST_STACK ? 3 : 2;

/** The env.py `alembic init` writes, as this stack's Alembic has it. */
const STOCK_ENV_PY = readFileSync(python('import alembic, os; print(os.path.dirname(alembic.__file__))') + '/templates/generic/env.py', 'utf8');

/** The stock env.py, with the URL taken from `expression` (Python) rather than alembic.ini. */
function stockEnvPyWith(imports: string, expression: string): string {
  const replaced = STOCK_ENV_PY.replace(
    'config = context.config\n',
    `config = context.config\n${imports}\nconfig.set_main_option("sqlalchemy.url", (${expression}).replace("%", "%%"))\n`,
  );
  if (replaced === STOCK_ENV_PY) throw new Error("the stock env.py has no 'config = context.config' line");
  return replaced;
}

function withIniUrl(ini: string, url: string): string {
  return ini.replace(/^sqlalchemy\.url = .*\n/m, '').replace('[alembic]\n', `[alembic]\nsqlalchemy.url = ${url.replace(/%/g, '%%')}\n`);
}

const PYTHON_FASTKIT_CORE = (url: string) => ({
  '__init__.py': '',
  'config.py': `class _Database:\n    DATABASE_URL = ${JSON.stringify(url)}\n\n\nclass ConfigManager:\n    def __init__(self, modules=None, auto_load=False):\n        self.database = _Database()\n`,
});

function writeFastkitCore(scene: Scene, folder: string, url: string): void {
  for (const [name, text] of Object.entries(PYTHON_FASTKIT_CORE(url))) scene.write(join(folder, 'fastkit_core', name), text);
}

const upperScheme = (url: string) => url.replace(/^[a-z0-9+]+/, (scheme) => scheme.toUpperCase());

const ENV_PY_CLASSES: EnvPyClass[] = [
  {
    name: "fastkit's env.py, DATABASE_URL",
    setup(scene) {
      const [a, b] = [scene.database('a'), scene.database('b')];
      scene.env.DATABASE_URL = a.url;
      return [() => (scene.env.DATABASE_URL = a.url), () => (scene.env.DATABASE_URL = b.url)];
    },
  },
  {
    name: 'stock `alembic init` env.py, sqlalchemy.url in alembic.ini',
    setup(scene) {
      const [a, b] = [scene.database('a'), scene.database('b')];
      scene.write('alembic/env.py', STOCK_ENV_PY);
      const ini = readFileSync(join(scene.project, 'alembic.ini'), 'utf8');
      const use = (url: string) => scene.write('alembic.ini', withIniUrl(ini, url));
      use(a.url);
      return [() => use(a.url), () => use(b.url)];
    },
  },
  {
    name: 'DATABASE_URL from os.environ',
    setup(scene) {
      const [a, b] = [scene.database('a'), scene.database('b')];
      scene.write('alembic/env.py', stockEnvPyWith('import os', 'os.environ["DATABASE_URL"]'));
      scene.env.DATABASE_URL = a.url;
      return [() => (scene.env.DATABASE_URL = a.url), () => (scene.env.DATABASE_URL = b.url), () => (scene.env.DATABASE_URL = undefined)];
    },
  },
  {
    name: 'load_dotenv() in database.py, a .env file',
    setup(scene) {
      const [a, b] = [scene.database('a'), scene.database('b')];
      scene.write('alembic/env.py', stockEnvPyWith('from database import DATABASE_URL', 'DATABASE_URL'));
      scene.edit(
        'database.py',
        (text) => `${text}\nimport os\n\nfrom dotenv import load_dotenv\n\nload_dotenv()\nDATABASE_URL = os.environ.get("DATABASE_URL", ${JSON.stringify(a.url)})\n`,
      );
      return [
        () => scene.write('.env', `DATABASE_URL=${b.url}\n`),
        () => scene.write('.env', `# the team's database\nDATABASE_URL=${a.url}\n`),
        () => scene.remove('.env'),
        () => (scene.env.DATABASE_URL = b.url),
        () => (scene.env.DATABASE_URL = undefined),
      ];
    },
  },
  {
    name: 'pydantic-settings BaseSettings with env_file',
    setup(scene) {
      const [a, b] = [scene.database('a'), scene.database('b')];
      scene.write('alembic/env.py', stockEnvPyWith('from database import DATABASE_URL', 'DATABASE_URL'));
      scene.edit(
        'database.py',
        (text) =>
          `${text}\nfrom pydantic_settings import BaseSettings, SettingsConfigDict\n\n\nclass Settings(BaseSettings):\n` +
          `    model_config = SettingsConfigDict(env_file=".env", extra="ignore")\n    database_url: str = ${JSON.stringify(a.url)}\n\n\n` +
          'DATABASE_URL = Settings().database_url\n',
      );
      return [
        () => scene.write('.env', `DATABASE_URL=${b.url}\n`),
        () => scene.write('.env', `DATABASE_URL=${a.url}\nDEBUG=1\n`),
        () => scene.remove('.env'),
        () => (scene.env.DATABASE_URL = b.url),
        () => (scene.env.DATABASE_URL = undefined),
        () => (scene.env.SOME_OTHER_SETTING = String(Math.random())), // pydantic-settings reads the whole environment
      ];
    },
  },
  {
    name: "fastkit_core on prepend_sys_path (fastkit's env.py)",
    setup(scene) {
      scene.sqliteFile('api.db');
      const { url } = scene.database('core');
      scene.edit('alembic.ini', (ini) => ini.replace(/^prepend_sys_path = .*$/m, 'prepend_sys_path = lib'));
      scene.write('lib/README', 'shared code\n');
      return [
        () => writeFastkitCore(scene, 'lib', url),
        () => scene.remove('lib/fastkit_core'),
        () => (scene.env.DATABASE_URL = url),
        () => (scene.env.DATABASE_URL = undefined),
      ];
    },
  },
  {
    name: "fastkit_core on PYTHONPATH (fastkit's env.py)",
    setup(scene) {
      scene.sqliteFile('api.db');
      const { url } = scene.database('core');
      const folder = tempDir('fastkit-pythonpath-');
      return [
        () => writeFastkitCore(scene, folder, url),
        () => scene.remove(join(folder, 'fastkit_core')),
        () => (scene.env.PYTHONPATH = folder),
        () => (scene.env.PYTHONPATH = undefined),
      ];
    },
  },
  {
    name: 'PGSERVICE and a service file',
    engines: ['PostgreSQL'],
    answers: false,
    setup(scene) {
      const [a, b] = [scene.database('a'), scene.database('b')];
      const service = (database: string) => scene.write('pg_service.conf', `[fkdiff]\nhost=${PG_HOST}\ndbname=${database}\n`);
      scene.write('alembic/env.py', stockEnvPyWith('import os', 'os.environ["DATABASE_URL"]'));
      scene.env.DATABASE_URL = `postgresql+${STACK.postgresDriver}://`;
      scene.env.PGSERVICEFILE = join(scene.project, 'pg_service.conf');
      scene.env.PGSERVICE = 'fkdiff';
      service(String(a.target.parts.database));
      return [
        () => service(String(a.target.parts.database)),
        () => service(String(b.target.parts.database)),
        () => (scene.env.PGSERVICE = undefined),
        () => (scene.env.PGSERVICE = 'fkdiff'),
      ];
    },
  },
  {
    name: 'a percent-encoded database name',
    setup(scene) {
      const literal = scene.database('fk%2Dpct');
      const decoded = scene.database('fk-pct');
      scene.env.DATABASE_URL = literal.url;
      return [() => (scene.env.DATABASE_URL = literal.url), () => (scene.env.DATABASE_URL = decoded.url)];
    },
  },
  {
    name: 'an upper-case URL scheme (Alembic cannot load it)',
    setup(scene) {
      const [a, b] = [scene.database('a'), scene.database('b')];
      scene.env.DATABASE_URL = a.url;
      return [
        () => (scene.env.DATABASE_URL = upperScheme(a.url)),
        () => (scene.env.DATABASE_URL = a.url),
        () => (scene.env.DATABASE_URL = upperScheme(b.url)),
      ];
    },
  },
  {
    name: 'postgresql:// without a driver name',
    engines: ['PostgreSQL'],
    setup(scene) {
      const [a, b] = [scene.database('a'), scene.database('b')];
      const bare = (url: string) => url.replace(/^postgresql\+\w+:/, 'postgresql:');
      scene.env.DATABASE_URL = a.url;
      return [() => (scene.env.DATABASE_URL = bare(a.url)), () => (scene.env.DATABASE_URL = a.url), () => (scene.env.DATABASE_URL = bare(b.url))];
    },
  },
  {
    name: 'a custom version table and schema',
    setup(scene) {
      const a = scene.database('a', { table: 'fk_versions' });
      const b = scene.database('b', { table: 'fk_versions' });
      scene.edit('alembic/env.py', (text) =>
        text
          .replace('VERSION_TABLE = "alembic_version"', 'VERSION_TABLE = "fk_versions"')
          .replace('        version_table=VERSION_TABLE,\n', '        version_table=VERSION_TABLE,\n        version_table_schema=os.environ.get("VERSION_SCHEMA") or None,\n'),
      );
      scene.env.DATABASE_URL = a.url;
      const knobs: Array<() => void> = [() => (scene.env.DATABASE_URL = a.url), () => (scene.env.DATABASE_URL = b.url)];
      if (scene.engine === 'PostgreSQL') {
        scene.schema(a, 'fkschema');
        knobs.push(() => (scene.env.VERSION_SCHEMA = 'fkschema'), () => (scene.env.VERSION_SCHEMA = undefined));
      }
      return knobs;
    },
  },
];


describe.each(engines.map((engine) => engine.name as Scene['engine']))('env.py as projects write it, on %s: the fast path answers only what Alembic would', (engine) => {
  const oracle = new Oracle();
  const silent = { stdout: { write: () => true }, stderr: { write: () => true } };
  const drops: Array<() => void> = [];
  // the door of a batched Nx run: Alembic in a fork of a server per interpreter, which records too
  const servers = new AlembicServers();
  afterAll(async () => {
    oracle.close();
    await servers.close();
    for (const drop of drops) drop();
  });

  const classes = ENV_PY_CLASSES.filter((envPy, index) =>
    envPy.engines ? envPy.engines.includes(engine) : ((index % 2 === 0) === (engine === 'SQLite')) !== FIRST_STACK,
  );
  test.each(classes.map((envPy) => [envPy.name, envPy] as const))('%s', async (name, envPy) => {
    const rng = seededRandom(SEED + name.length * 31 + engine.length);
    const project = exampleProject({ revisions: false });
    const unique = `fkenv_${process.pid}_${Math.random().toString(36).slice(2, 7)}`;
    const scene: Scene = {
      engine,
      project,
      env: { FASTKIT_CACHE_DIR: tempDir('fastkit-cache-'), VIRTUAL_ENV: VENV, DATABASE_URL: undefined, PYTHONPATH: undefined },
      targets: [],
      database(label, options = {}) {
        if (engine === 'SQLite') {
          const file = join(project, `${label}.db`);
          const target = { label, parts: { drivername: 'sqlite', database: file }, ...options };
          scene.targets.push(target);
          return { target, url: `sqlite:///${file}` };
        }
        const database = `${unique}_${label}`;
        const created = run('createdb', ['-h', PG_HOST, database]);
        if (created.code !== 0) throw new Error(`createdb ${database}: ${created.stderr}`);
        drops.push(() => run('dropdb', ['-h', PG_HOST, '--if-exists', '--force', database]));
        const driver = `postgresql+${STACK.postgresDriver}`;
        const parts = { drivername: driver, username: PG_USER, password: SENTINEL_PASSWORD, database, query: { host: PG_HOST } };
        const target = { label, parts, ...options };
        scene.targets.push(target);
        return { target, url: `${driver}://${PG_USER}:${SENTINEL_PASSWORD}@/${database}?host=${PG_HOST}` };
      },
      sqliteFile(file) {
        const target = { label: file, parts: { drivername: 'sqlite', database: join(project, file) } };
        scene.targets.push(target);
        return target;
      },
      schema(database, schema) {
        psqlIn(String(database.target.parts.database), `CREATE SCHEMA ${schema}`);
        const target = { ...database.target, label: `${database.target.label} in ${schema}`, schema };
        scene.targets.push(target);
        return target;
      },
      write(file, text) {
        const path = isAbsolute(file) ? file : join(project, file);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, text);
      },
      remove(file) {
        rmSync(isAbsolute(file) ? file : join(project, file), { recursive: true, force: true });
      },
      edit(file, change) {
        const path = join(project, file);
        const before = readFileSync(path, 'utf8');
        const after = change(before);
        if (after === before) throw new Error(`${name}: the setup did not change ${file}`);
        writeFileSync(path, after);
      },
    };

    // a straight history of four revisions, then env.py and what it reads as the class has them
    const ids = ['e1e1e1e1e1e1', 'e2e2e2e2e2e2', 'e3e3e3e3e3e3', 'e4e4e4e4e4e4'];
    ids.forEach((id, index) => scene.write(`alembic/versions/2026010${index + 1}_000000_step_${index + 1}.py`, revision(id, ids[index - 1] ?? null, `step ${index + 1}`)));
    const knobs = envPy.setup(scene);
    for (const target of scene.targets) await oracle.setRows(target, null);

    const env = () => Object.fromEntries(Object.entries({ ...process.env, ...scene.env }).filter((entry): entry is [string, string] => entry[1] !== undefined));
    const cli = (...args: string[]) => fastkit(['migrate', ...args], { cwd: project, env: scene.env });
    const snapshot = async () => Promise.all(scene.targets.map((target) => oracle.rows(target)));
    const restore = async (rows: Array<string[] | null>) => {
      for (const [index, target] of scene.targets.entries()) await oracle.setRows(target, rows[index]);
    };
    /** `status --json --no-fast` as a batched Nx task runs it: through the interpreter's server. */
    const servedStatus = async () => {
      const out: string[] = [];
      const err: string[] = [];
      const streams = { stdout: { write: (text: string) => out.push(text) > 0 }, stderr: { write: (text: string) => err.push(text) > 0 } };
      try {
        await status({ root: project, environment: env(), fast: false, json: true, streams, alembicServers: servers });
        return { code: 0, stdout: out.join(''), stderr: err.join('') };
      } catch (error) {
        return { code: 1, stdout: out.join(''), stderr: err.join('') || String(error) };
      }
    };
    const expectedExit = (truth: Answer) => ('error' in truth ? 1 : truth.upToDate ? 0 : 3);
    const log: string[] = [];
    let states = 0;
    let answered = 0;
    const before = new BeforeCount();

    /** The fast path, asked directly: where it answers, its answer is raw Alembic's. */
    const compare = async () => {
      const truth = await oracle.raw(project, env());
      const quick = await quickStatus(resolveProject({ root: project, env: scene.env as Record<string, string>, streams: silent }));
      before.note(await beforeFastPath({ root: project, env: scene.env, streams: silent }), quick, truth);
      states++;
      if (quick === undefined) return truth;
      answered++;
      expect({ steps: log, answer: quick }).toEqual({ steps: log, answer: truth });
      return truth;
    };

    const actions: Record<string, () => Promise<void>> = {
      // a change to what env.py reads
      change: async () => rng.pick(knobs)(),
      // the database moves on (another deploy, a hand edit): any revision, none, two, an unknown one
      rows: async () => {
        const target = rng.pick(scene.targets);
        const rows = rng.pick<string[] | null>([null, [], [rng.pick(ids)], [rng.pick(ids)], [rng.pick(ids)], ['deadbeef0000'], [ids[0], rng.pick(ids.slice(1))]]);
        log.push(`rows of ${target.label}: ${JSON.stringify(rows)}`);
        await oracle.setRows(target, rows);
      },
      // fastkit's status as a user runs it (through Python or not): Alembic's answer
      status: async () => {
        const truth = await oracle.raw(project, env());
        const door = rng.pick(['fastkit status', 'fastkit status --no-fast', 'a batch server']);
        log.push(`(${door})`);
        const shown = door === 'a batch server' ? await servedStatus() : cli('status', '--json', ...(door.endsWith('--no-fast') ? ['--no-fast'] : []));
        expect({ steps: log, exit: shown.code, answer: shown.code === 0 ? JSON.parse(shown.stdout) : 'error' in truth ? truth : shown.stderr }).toEqual({
          steps: log,
          exit: 'error' in truth ? 1 : 0,
          answer: truth,
        });
      },
      check: async () => {
        const truth = await oracle.raw(project, env());
        expect({ steps: log, exit: cli('status', '--check').code }).toEqual({ steps: log, exit: expectedExit(truth) });
      },
      // run does what `run --no-fast` and raw `alembic upgrade head` do, from the same state
      run: async () => {
        const before = await snapshot();
        const fast = cli('run').code === 0;
        const afterFast = await snapshot();
        await restore(before);
        const slow = cli('run', '--no-fast').code === 0;
        const afterSlow = await snapshot();
        await restore(before);
        const raw = await oracle.rawUpgrade(project, env());
        const afterRaw = await snapshot();
        expect({ steps: log, fast: [fast, afterFast], slow: [slow, afterSlow] }).toEqual({ steps: log, fast: [raw, afterRaw], slow: [raw, afterRaw] });
      },
    };
    // `run` costs three migrations: drawn on the first stack only
    const weights = ['change', 'change', 'change', 'rows', 'rows', 'rows', 'status', 'status', 'check', ...(FIRST_STACK ? ['run'] : [])];

    // Alembic runs env.py once: from then on the fast path may answer
    cli('status', '--no-fast');
    await compare();
    for (let step = 0; step < STEPS; step++) {
      const action = rng.pick(weights);
      log.push(action);
      await actions[action]();
      await compare();
    }
    answeredPerClass.push(`  ${name} on ${engine}: ${answered} of ${states} states answered${before}`);
    if (envPy.answers === false) expect(answered).toBe(0);
    else expect(answered).toBeGreaterThan(0);
  });
});

function psqlIn(database: string, sql: string): void {
  const ran = run('psql', ['-h', PG_HOST, '-d', database, '-v', 'ON_ERROR_STOP=1', '-Atc', sql]);
  if (ran.code !== 0) throw new Error(`psql ${database}: ${ran.stderr}`);
}
