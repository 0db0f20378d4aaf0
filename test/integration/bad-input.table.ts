/**
 * The bad-input table: each mistake a user can make, what they type, and the line they see.
 * test/integration/bad-input.spec.ts runs every row for real and checks the rest (exit code,
 * one line, no traceback, no password, nothing written or lost); docs/bad-input.md is
 * rendered from these rows (`renderBadInputDoc`) and checked to be up to date by that spec.
 *
 * `says`, `prints` and `env` may hold {placeholders}: the spec fills them with the row's real
 * values (a temporary folder, the sentinel password), the document with readable examples.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFastkit, type Started } from '../support/processes';
import { commitAll, commitRevisions, git, gitRepository } from '../support/git';
import { revision } from '../support/revisions';
import { SENTINEL_PASSWORD } from '../support/secrets';
import { bareVenv, createPostgresDatabase, fastkit, PG_HOST, PG_USER, psql, tempDir, VENV } from '../support/workspace';

/** What a row's situation can use and leave behind. */
export interface Context {
  /**
   * A fresh copy of examples/api with an empty versions folder (the row's revisions are its
   * own); for the Nx rows, apps/api of the Nx workspace (also without revisions).
   */
  project: string;
  /** Where the command runs: the project, unless the situation moves it. */
  cwd: string;
  /** Environment the situation sets without the user typing it (the row's database). */
  env: Record<string, string>;
  /** The real values of this row's placeholders. */
  vars: Record<string, string>;
  /** A PostgreSQL database of the row: compared before and after (schema and version). */
  database?: { name: string; url: string; drop(): void };
  /** A real Nx workspace shared by the Nx rows (apps/shop: no Alembic; apps/api: the example). */
  nxRoot: string;
  /** Processes the situation started (a lock holder), stopped before the after-snapshot. */
  background: Started[];
}

export interface Situation {
  /** Sets the scene before the "before" snapshot. */
  prepare?(context: Context): void;
  /** Starts what runs beside the command (after the snapshot), e.g. another migration holding the lock. */
  start?(context: Context): Promise<void>;
}

export interface BadInput {
  /** The section of docs/bad-input.md. */
  area: string;
  /** The mistake, in the user's words. */
  mistake: string;
  door: 'fastkit' | 'nx';
  /** What the user types after `fastkit` or `nx`. */
  args: string[];
  /** Environment the user sets, shown before the command. */
  env?: Record<string, string>;
  given?: Situation;
  exit: number;
  /** The one line fastkit prints for it (after `fastkit: ` or Nx's ` NX   `), exactly. */
  says: string;
  /** What stdout holds before that line (status --check prints its report first). */
  prints?: string[];
  /** Progress on stderr before that line (Alembic's autogenerate, the lock's "Waiting…"). */
  progress?: string[];
}

/** Example values for the document; the spec fills the real ones in. */
export const DOC_VALUES: Record<string, string> = {
  password: 's3cret',
  python: '.venv/bin/python',
  folder: '/home/me/notes',
  venv: '/home/me/api/venv',
  project: '/home/me/api',
  pgUser: 'me',
  pgHost: '%2Fvar%2Frun%2Fpostgresql',
  pid: '4242',
  time: '10:31:07',
};

/** Placeholders whose value the spec cannot know in advance: matched by pattern. */
export const WILDCARDS: Record<string, string> = {
  pid: '\\d+',
  time: '\\d\\d:\\d\\d:\\d\\d',
};

// --- situations ---------------------------------------------------------------------------

const CREATE_NOTES = revision(
  'a1a1a1a1a1a1',
  null,
  'create notes',
  'op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True))',
  'op.drop_table("notes")',
);
const ADD_TITLE = revision(
  'b2b2b2b2b2b2',
  'a1a1a1a1a1a1',
  'add title to notes',
  'op.add_column("notes", sa.Column("title", sa.String(200)))',
  'op.drop_column("notes", "title")',
);
const OTHER_BRANCH = revision(
  'c3c3c3c3c3c3',
  'a1a1a1a1a1a1',
  'add body to notes',
  'op.add_column("notes", sa.Column("body", sa.Text))',
  'op.drop_column("notes", "body")',
);
const SLOW = revision('d4d4d4d4d4d4', null, 'slow data fix', 'op.execute("SELECT pg_sleep(120)")');

/** An env.py shaped like Alembic's async template: the engine is async, the migrations run through run_sync. */
const ASYNC_ENV_PY = `import asyncio
import os

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine


def run_migrations(connection):
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


async def main():
    engine = create_async_engine(os.environ["DATABASE_URL"])
    async with engine.connect() as connection:
        await connection.run_sync(run_migrations)
    await engine.dispose()


asyncio.run(main())
`;

function writeRevisions(context: Context, files: Record<string, string>): void {
  for (const [name, source] of Object.entries(files)) writeFileSync(join(context.project, 'alembic', 'versions', name), source);
}

/** Changes a file of the project with a function of its text. */
function edit(context: Context, file: string, change: (text: string) => string): void {
  const path = join(context.project, file);
  const before = readFileSync(path, 'utf8');
  const after = change(before);
  if (after === before) throw new Error(`the situation did not change ${file}`);
  writeFileSync(path, after);
}

/** The project's own revisions: create notes, then add title. */
const history: Situation = {
  prepare: (context) => writeRevisions(context, { '20260101_000001_create_notes.py': CREATE_NOTES, '20260101_000002_add_title.py': ADD_TITLE }),
};

/** Two revisions that both follow create notes: the history has two heads. */
const twoHeads: Situation = {
  prepare: (context) =>
    writeRevisions(context, {
      '20260101_000001_create_notes.py': CREATE_NOTES,
      '20260101_000002_add_title.py': ADD_TITLE,
      '20260101_000003_add_body.py': OTHER_BRANCH,
    }),
};

/** Three revisions that all follow create notes: three heads. */
const threeHeads: Situation = {
  prepare: (context) => {
    twoHeads.prepare!(context);
    writeRevisions(context, { '20260101_000004_add_tags.py': revision('e5e5e5e5e5e5', 'a1a1a1a1a1a1', 'add tags to notes') });
  },
};

/** Two heads in a project that is no git repository. */
const twoHeadsOutsideGit: Situation = {
  prepare: (context) => {
    twoHeads.prepare!(context);
    context.vars.project = context.project;
  },
};

/** Two heads after a git merge: branch `title` added add title, main added add body; `title` merged main. */
function mergedBranches(onTitle: (context: Context) => void = () => undefined): Situation {
  return {
    prepare(context) {
      writeRevisions(context, { '20260101_000001_create_notes.py': CREATE_NOTES });
      gitRepository(context.project);
      git(context.project, ['checkout', '-q', '-b', 'title']);
      commitRevisions(context.project, { '20260101_000002_add_title.py': ADD_TITLE }, 'add title');
      onTitle(context);
      git(context.project, ['checkout', '-q', 'main']);
      commitRevisions(context.project, { '20260101_000003_add_body.py': OTHER_BRANCH }, 'add body');
      git(context.project, ['checkout', '-q', 'title']);
      git(context.project, ['merge', '-q', 'main']);
      commitAll(context.project, 'merged');
    },
  };
}

/** A fresh PostgreSQL database as the project's DATABASE_URL, plus what `then` does to it. */
function onPostgres(then: (context: Context) => void = () => undefined): Situation {
  return {
    prepare(context) {
      const database = createPostgresDatabase('fk_bad');
      context.database = database;
      context.env.DATABASE_URL = database.url;
      then(context);
    },
  };
}

function migrate(context: Context, ...args: string[]): void {
  const ran = fastkit(['migrate', ...args], { cwd: context.project, env: context.env });
  if (ran.code !== 0) throw new Error(`setting the scene failed: fastkit migrate ${args.join(' ')}:\n${ran.all}`);
}

function combine(...situations: Situation[]): Situation {
  return {
    prepare: (context) => situations.forEach((situation) => situation.prepare?.(context)),
    start: async (context) => {
      for (const situation of situations) await situation.start?.(context);
    },
  };
}

// --- the table ----------------------------------------------------------------------------

const UNREACHABLE = 'postgresql+psycopg://app:{password}@127.0.0.1:1/app';
const CONNECT_REFUSED =
  'Cannot connect to the database at postgresql+psycopg://app:***@127.0.0.1:1/app: the server is not reachable (Connection refused). ' +
  'Start the database server or fix the host and port in DATABASE_URL.';
/** A live PostgreSQL URL for the verify rows (they stop before connecting to it). */
const SHADOW_LIVE = 'postgresql+psycopg://app:{password}@db.internal:5432/app';
const MESSAGE_REQUIRED = 'A message is required. Describe the change with -m, e.g. -m "create_invoices".';
const SUBCOMMANDS = 'Use one of: migrate make, migrate run, migrate rollback, migrate status, migrate check, migrate sql, migrate rebase, migrate hash, migrate verify.';
const MERGE = 'Merge them into one with `fastkit migrate rebase --merge`, then `fastkit migrate run`.';

export const BAD_INPUTS: BadInput[] = [
  // --- the CLI ---
  { area: 'Using the CLI', mistake: 'No command', door: 'fastkit', args: [], exit: 2, says: 'No command given. Try `fastkit migrate status`, or `fastkit --help`.' },
  {
    area: 'Using the CLI',
    mistake: 'A command that does not exist',
    door: 'fastkit',
    args: ['migrations', 'run'],
    exit: 2,
    says: 'Unknown command `migrations`. Try `fastkit migrate status`, or `fastkit --help`.',
  },
  { area: 'Using the CLI', mistake: 'No subcommand', door: 'fastkit', args: ['migrate'], exit: 2, says: `No subcommand given. ${SUBCOMMANDS}` },
  {
    area: 'Using the CLI',
    mistake: "Alembic's name for a subcommand",
    door: 'fastkit',
    args: ['migrate', 'upgrade'],
    exit: 2,
    says: `Unknown subcommand \`migrate upgrade\`. ${SUBCOMMANDS}`,
  },
  {
    area: 'Using the CLI',
    mistake: 'An option fastkit does not have',
    door: 'fastkit',
    args: ['migrate', 'run', '--sql'],
    exit: 2,
    says: "Unknown option '--sql'. See `fastkit --help`.",
  },
  {
    area: 'Using the CLI',
    mistake: "An option of another subcommand",
    door: 'fastkit',
    args: ['migrate', 'status', '-m', 'add status'],
    exit: 2,
    says: '--message does not apply to `migrate status`. It is an option of migrate make.',
  },
  {
    area: 'Using the CLI',
    mistake: '-x without its KEY=VALUE',
    door: 'fastkit',
    args: ['migrate', 'run', '-x'],
    exit: 2,
    says: "Option '-x, --x <value>' argument missing. See `fastkit --help`.",
  },
  { area: 'Using the CLI', mistake: 'make without a message', door: 'fastkit', args: ['migrate', 'make'], exit: 2, says: MESSAGE_REQUIRED },
  {
    area: 'Using the CLI',
    mistake: '-m without its value',
    door: 'fastkit',
    args: ['migrate', 'make', '-m'],
    exit: 2,
    says: "Option '-m, --message <value>' argument missing. See `fastkit --help`.",
  },
  {
    area: 'Using the CLI',
    mistake: 'A message that starts with a dash, after -m',
    door: 'fastkit',
    args: ['migrate', 'make', '-m', '-fix'],
    exit: 2,
    says: "Option '-m' argument is ambiguous. For a value that starts with a dash, write --message=-XYZ.",
  },
  { area: 'Using the CLI', mistake: 'An empty message', door: 'fastkit', args: ['migrate', 'make', '-m', ''], exit: 2, says: MESSAGE_REQUIRED },
  { area: 'Using the CLI', mistake: 'A message of spaces', door: 'fastkit', args: ['migrate', 'make', '-m', ' \t '], exit: 2, says: MESSAGE_REQUIRED },
  {
    area: 'Using the CLI',
    mistake: 'A message of several lines',
    door: 'fastkit',
    args: ['migrate', 'make', '-m', 'create notes\n\nand tags'],
    exit: 2,
    says: 'The message must be one line. Put details in the revision file instead.',
  },
  {
    area: 'Using the CLI',
    mistake: 'A message with spaces, not quoted',
    door: 'fastkit',
    args: ['migrate', 'make', '-m', 'add', 'notes'],
    exit: 2,
    says: 'Unexpected argument `notes`. Quote a message with spaces: -m "add status".',
  },

  // --- configuration ---
  {
    area: 'Configuration',
    mistake: 'No alembic.ini in this folder or above',
    door: 'fastkit',
    args: ['migrate', 'status'],
    given: {
      prepare(context) {
        context.cwd = tempDir('fastkit-notes-');
        context.vars.folder = context.cwd;
      },
    },
    exit: 1,
    says:
      'No alembic.ini in {folder} or any folder above it. Run the command inside a project that uses Alembic, pass --config, ' +
      'or set Alembic up with `nx g fastkit:alembic-setup`.',
  },
  {
    area: 'Configuration',
    mistake: '--config names a file that is not there',
    door: 'fastkit',
    args: ['migrate', 'run', '--config', 'conf/alembic.ini'],
    exit: 1,
    says: 'No Alembic config at conf/alembic.ini. Check the --config path, or set Alembic up with `nx g fastkit:alembic-setup`.',
  },
  {
    area: 'Configuration',
    mistake: '--config names a file that is not an ini file',
    door: 'fastkit',
    args: ['migrate', 'run', '--config', 'alembic/env.py'],
    exit: 1,
    says: 'alembic/env.py is not a valid ini file (File contains no section headers). Fix it, or give the right file with --config.',
  },
  {
    area: 'Configuration',
    mistake: '--config names an ini file that is not Alembic\'s',
    door: 'fastkit',
    args: ['migrate', 'run', '--config', 'setup.cfg'],
    given: { prepare: (context) => writeFileSync(join(context.project, 'setup.cfg'), '[flake8]\nmax-line-length = 120\n') },
    exit: 1,
    says:
      'setup.cfg is not an Alembic config: no section of it sets script_location. ' +
      "Give the project's alembic.ini with --config, or set Alembic up with `nx g fastkit:alembic-setup`.",
  },
  {
    area: 'Configuration',
    mistake: '-n names a section alembic.ini does not have',
    door: 'fastkit',
    args: ['migrate', 'run', '-n', 'tenants'],
    exit: 1,
    says: 'alembic.ini has no [tenants] section. Check the section name given with -n/--name (sections with a script_location: alembic).',
  },
  {
    area: 'Configuration',
    mistake: '--cwd names a folder that is not there',
    door: 'fastkit',
    args: ['migrate', 'run', '--cwd', 'build'],
    exit: 1,
    says: "The folder to run Alembic in does not exist: build. Check the cwd option (--cwd), or leave it out to run in the config's folder.",
  },
  {
    area: 'Configuration',
    mistake: '--alembic names a command fastkit cannot read',
    door: 'fastkit',
    args: ['migrate', 'run', '--alembic', 'python3'],
    exit: 2,
    says: 'fastkit cannot tell which Python runs `python3`. Give a command that ends in `alembic` or `-m alembic`, e.g. `uv run alembic`.',
  },
  {
    area: 'Configuration',
    mistake: 'Alembic is not installed in the active venv',
    door: 'fastkit',
    args: ['migrate', 'run'],
    given: {
      prepare(context) {
        const venv = bareVenv();
        context.vars.venv = venv;
        context.vars.project = context.project;
        context.env.VIRTUAL_ENV = venv;
        context.env.PATH = `${join(venv, 'bin')}:${process.env.PATH}`; // as after `source venv/bin/activate`
      },
    },
    exit: 1,
    says:
      'Alembic not found: alembic is not installed for {venv}/bin/python3; tried {venv} (its Python cannot import alembic), ' +
      '.venv in {project} or a folder above (none), uv.lock (none), poetry.lock (none). ' +
      'Install it in the project: python3 -m venv .venv && .venv/bin/pip install alembic sqlalchemy (or set the alembic option).',
  },

  // --- the database connection ---
  {
    area: 'The database connection',
    mistake: 'The server is down (run)',
    door: 'fastkit',
    args: ['migrate', 'run'],
    env: { DATABASE_URL: UNREACHABLE },
    exit: 1,
    says: CONNECT_REFUSED,
  },
  {
    area: 'The database connection',
    mistake: 'The server is down (make)',
    door: 'fastkit',
    args: ['migrate', 'make', '-m', 'add notes'],
    env: { DATABASE_URL: UNREACHABLE },
    exit: 1,
    says: CONNECT_REFUSED,
  },
  {
    area: 'The database connection',
    mistake: 'The server is down (rollback)',
    door: 'fastkit',
    args: ['migrate', 'rollback'],
    env: { DATABASE_URL: UNREACHABLE },
    exit: 1,
    says: CONNECT_REFUSED,
  },
  {
    area: 'The database connection',
    mistake: 'A wrong password',
    door: 'fastkit',
    args: ['migrate', 'status'],
    env: { DATABASE_URL: 'postgresql+psycopg://app:{password}@127.0.0.1:5432/app' },
    exit: 1,
    says:
      'Cannot connect to the database at postgresql+psycopg://app:***@127.0.0.1:5432/app: authentication failed ' +
      '(password authentication failed for user "app"). Check the user and password in DATABASE_URL.',
  },
  {
    area: 'The database connection',
    mistake: 'A database that does not exist',
    door: 'fastkit',
    args: ['migrate', 'run'],
    env: { DATABASE_URL: 'postgresql+psycopg://{pgUser}:{password}@/no_such_db?host={pgHost}' },
    exit: 1,
    says:
      'Cannot connect to the database at postgresql+psycopg://{pgUser}:***@/no_such_db?host={pgHost}: the database does not exist ' +
      '(database "no_such_db" does not exist). Create it (e.g. createdb NAME) or fix the name in DATABASE_URL.',
  },
  {
    area: 'The database connection',
    mistake: 'A port that is not a number',
    door: 'fastkit',
    args: ['migrate', 'run'],
    env: { DATABASE_URL: 'postgresql+psycopg://app:{password}@db:port/app' },
    exit: 1,
    says: "The database URL is not valid: its port 'port' is not a number. Fix DATABASE_URL, e.g. postgresql+psycopg://user@host:5432/dbname or sqlite:///app.db.",
  },
  {
    area: 'The database connection',
    mistake: 'Not a URL at all',
    door: 'fastkit',
    args: ['migrate', 'run'],
    env: { DATABASE_URL: 'db.internal:5432/app' },
    exit: 1,
    says:
      'The database URL is not valid: Could not parse SQLAlchemy URL from given URL string. ' +
      'Fix DATABASE_URL, e.g. postgresql+psycopg://user@host:5432/dbname or sqlite:///app.db.',
  },
  {
    area: 'The database connection',
    mistake: 'A misspelt dialect',
    door: 'fastkit',
    args: ['migrate', 'run'],
    env: { DATABASE_URL: 'postgress://app:{password}@db.internal/app' },
    exit: 1,
    says:
      'The database URL names a dialect SQLAlchemy does not know: postgress. ' +
      'Start DATABASE_URL with a known one, e.g. postgresql+psycopg://, mysql+pymysql:// or sqlite:///.',
  },
  {
    area: 'The database connection',
    mistake: 'A driver that is not installed',
    door: 'fastkit',
    args: ['migrate', 'run'],
    env: { DATABASE_URL: 'postgresql+pg8000://app:{password}@db.internal/app' },
    exit: 1,
    says:
      "The database driver pg8000 is not installed. Install it in the project's Python environment " +
      '(e.g. psycopg[binary] for postgresql+psycopg, pymysql for mysql+pymysql), or change the driver in DATABASE_URL.',
  },
  {
    area: 'The database connection',
    mistake: 'An async driver with an env.py that does not use asyncio',
    door: 'fastkit',
    args: ['migrate', 'run'],
    env: { DATABASE_URL: 'sqlite+aiosqlite:///app.db' },
    exit: 1,
    says:
      "The database URL's driver aiosqlite is async, but env.py runs the migrations without asyncio. " +
      'Use a sync driver in the URL (e.g. postgresql+psycopg://, sqlite:///), or an env.py that runs them with asyncio (as `alembic init -t async` writes).',
  },
  {
    area: 'The database connection',
    mistake: 'A sync driver with an env.py that runs the migrations with asyncio',
    door: 'fastkit',
    args: ['migrate', 'run'],
    env: { DATABASE_URL: 'sqlite:///app.db' },
    given: { prepare: (context) => writeFileSync(join(context.project, 'alembic', 'env.py'), ASYNC_ENV_PY) },
    exit: 1,
    says:
      "env.py runs the migrations with asyncio, but the database URL's driver pysqlite is not async. " +
      'Use an async driver in the URL (e.g. postgresql+asyncpg://, sqlite+aiosqlite:///), or an env.py without asyncio.',
  },
  {
    area: 'The database connection',
    mistake: 'A SQLite file in a folder that does not exist',
    door: 'fastkit',
    args: ['migrate', 'run'],
    env: { DATABASE_URL: 'sqlite:///data/app.db' },
    exit: 1,
    says:
      'Cannot connect to the database at sqlite:///data/app.db: the SQLite file cannot be opened (unable to open database file). ' +
      'Check that the folder in the SQLite URL exists and is writable.',
  },

  // --- the project's files ---
  {
    area: "The project's files",
    mistake: 'env.py imports a package that is not installed',
    door: 'fastkit',
    args: ['migrate', 'run'],
    given: { prepare: (context) => edit(context, 'alembic/env.py', (text) => text.replace('from database import Base\n', 'from database import Base\nimport stripe\n')) },
    exit: 1,
    says: "alembic/env.py, line 27: No module named 'stripe'. Install it in the project's Python environment, or fix the import.",
  },
  {
    area: "The project's files",
    mistake: 'env.py imports a name that does not exist',
    door: 'fastkit',
    args: ['migrate', 'status'],
    given: { prepare: (context) => edit(context, 'alembic/env.py', (text) => text.replace('from database import Base\n', 'from database import Bsae as Base\n')) },
    exit: 1,
    says: "alembic/env.py, line 26: cannot import name 'Bsae' from 'database' (database.py). Fix the import.",
  },
  {
    area: "The project's files",
    mistake: 'env.py stops with an error of its own',
    door: 'fastkit',
    args: ['migrate', 'run'],
    given: {
      prepare: (context) =>
        edit(context, 'alembic/env.py', (text) => text.replace('\nconfig = context.config\n', '\nraise RuntimeError("set APP_ENV first")\nconfig = context.config\n')),
    },
    exit: 1,
    says: 'RuntimeError: set APP_ENV first (alembic/env.py, line 35). Run it again with --verbose for the full traceback.',
  },
  {
    area: "The project's files",
    mistake: 'env.py is missing',
    door: 'fastkit',
    args: ['migrate', 'run'],
    given: { prepare: (context) => rmSync(join(context.project, 'alembic', 'env.py')) },
    exit: 1,
    says: "Alembic's env.py is missing: alembic/env.py. Restore it, or set Alembic up with `nx g fastkit:alembic-setup`.",
  },
  {
    area: "The project's files",
    mistake: 'a models module env.py imports fails as it loads',
    door: 'fastkit',
    args: ['migrate', 'status'],
    given: {
      prepare: (context) =>
        edit(context, 'modules/invoices/models.py', (text) => `${text}\n\nclass Refund(Base):\n    __tablename__ = "refunds"\n    invoice: "Mapped[Invoice]" = undefined_relationship()\n`),
    },
    exit: 1,
    says: "NameError: name 'undefined_relationship' is not defined (modules/invoices/models.py, line 19). Run it again with --verbose for the full traceback.",
  },
  {
    area: "The project's files",
    mistake: "the project's settings reject a value (pydantic)",
    door: 'fastkit',
    args: ['migrate', 'run'],
    given: {
      prepare: (context) =>
        edit(context, 'database.py', (text) => `${text}\n\nfrom pydantic import BaseModel, PositiveInt\n\n\nclass Settings(BaseModel):\n    pool_size: PositiveInt\n\n\nsettings = Settings(pool_size=-1)\n`),
    },
    exit: 1,
    says: 'ValidationError: Settings: pool_size: Input should be greater than 0 (database.py, line 27). Run it again with --verbose for the full traceback.',
  },
  {
    area: "The project's files",
    mistake: 'A revision with a syntax error',
    door: 'fastkit',
    args: ['migrate', 'run'],
    given: {
      prepare: (context) =>
        writeRevisions(context, {
          '20260101_000001_create_notes.py': CREATE_NOTES,
          '20260101_000002_add_title.py': ADD_TITLE.replace('def downgrade():', 'def downgrade(:'),
        }),
    },
    exit: 1,
    says: 'Syntax error in alembic/versions/20260101_000002_add_title.py, line 21: invalid syntax. Fix that file and run the command again.',
  },
  {
    area: "The project's files",
    mistake: 'script.py.mako renders a revision that does not compile',
    door: 'fastkit',
    args: ['migrate', 'make', '-m', 'create tables'],
    given: { prepare: (context) => edit(context, 'alembic/script.py.mako', (text) => text.replace('def upgrade() -> None:', 'def upgrade( -> None:')) },
    exit: 1,
    progress: [
      "INFO  [alembic.autogenerate.compare.tables] Detected added table 'clients'",
      "INFO  [alembic.autogenerate.compare.tables] Detected added table 'invoices'",
    ],
    says: 'The new revision did not compile (invalid syntax, line 21) and was removed. Check alembic/script.py.mako and the model code it rendered.',
  },

  // --- the migration history and the database's state ---
  {
    area: 'The history and the database',
    mistake: 'Two heads (run)',
    door: 'fastkit',
    args: ['migrate', 'run'],
    given: twoHeads,
    exit: 1,
    says: `The revision history has 2 heads: b2b2b2b2b2b2, c3c3c3c3c3c3. ${MERGE}`,
  },
  {
    area: 'The history and the database',
    mistake: 'Two heads (make)',
    door: 'fastkit',
    args: ['migrate', 'make', '-m', 'add tags'],
    given: twoHeads,
    exit: 1,
    says: `The revision history has 2 heads: b2b2b2b2b2b2, c3c3c3c3c3c3. ${MERGE}`,
  },
  {
    area: 'The history and the database',
    mistake: 'Two heads (status --check)',
    door: 'fastkit',
    args: ['migrate', 'status', '--check'],
    given: twoHeads,
    exit: 3,
    prints: [
      'Multiple heads: b2b2b2b2b2b2, c3c3c3c3c3c3',
      'Merge them with `fastkit migrate rebase --merge`, then `fastkit migrate run`',
      'No migration applied (base)',
      '3 pending migrations:',
      '  a1a1a1a1a1a1  create notes',
      '  c3c3c3c3c3c3  add body to notes',
      '  b2b2b2b2b2b2  add title to notes',
      'Apply them with `fastkit migrate run`',
    ],
    says: 'The history has 2 heads. Merge them with `fastkit migrate rebase --merge`, then `fastkit migrate run`.',
  },
  {
    area: 'The history and the database',
    mistake: "rebase while this branch's revision is applied in the database",
    door: 'fastkit',
    args: ['migrate', 'rebase'],
    given: mergedBranches((context) => migrate(context, 'run')),
    exit: 1,
    says:
      'Revision b2b2b2b2b2b2 (add title to notes) of this branch is applied in the database. Roll it back first with `fastkit migrate rollback`, then rebase again.',
  },
  {
    area: 'The history and the database',
    mistake: 'rebase with three heads',
    door: 'fastkit',
    args: ['migrate', 'rebase'],
    given: threeHeads,
    exit: 1,
    says:
      'The history has 3 heads (b2b2b2b2b2b2, c3c3c3c3c3c3, e5e5e5e5e5e5); rebase puts one branch after the other of two. Merge them with `fastkit migrate rebase --merge`.',
  },
  {
    area: 'The history and the database',
    mistake: 'rebase outside a git repository',
    door: 'fastkit',
    args: ['migrate', 'rebase'],
    given: twoHeadsOutsideGit,
    exit: 1,
    says:
      "{project} is not in a git repository, and rebase asks git which revisions this branch added. Run it in the project's git checkout, or write a merge revision with `fastkit migrate rebase --merge`.",
  },
  {
    area: 'The history and the database',
    mistake: 'rebase --onto a branch that does not exist',
    door: 'fastkit',
    args: ['migrate', 'rebase', '--onto', 'develop'],
    given: mergedBranches(),
    exit: 2,
    says: '--onto develop names no branch or commit of this repository. Give one git knows, e.g. --onto origin/main (`git branch -a` lists them).',
  },
  {
    area: 'The history and the database',
    mistake: 'A migration fails on the database (PostgreSQL rolls the whole run back)',
    door: 'fastkit',
    args: ['migrate', 'run'],
    given: combine(
      {
        prepare: (context) =>
          writeRevisions(context, {
            '20260101_000001_create_notes.py': CREATE_NOTES,
            '20260101_000002_backfill.py': revision('f6f6f6f6f6f6', 'a1a1a1a1a1a1', 'backfill', 'op.execute("UPDATE note SET title = \'x\'")'),
          }),
      },
      onPostgres(),
    ),
    exit: 1,
    prints: ['Running upgrade base -> a1a1a1a1a1a1, create notes', 'Running upgrade a1a1a1a1a1a1 -> f6f6f6f6f6f6, backfill'],
    says:
      'ProgrammingError: (psycopg.errors.UndefinedTable) relation "note" does not exist (alembic/versions/20260101_000002_backfill.py, line 18). ' +
      'Run it again with --verbose for the full traceback.',
  },
  {
    area: 'The history and the database',
    mistake: 'The database is at a revision no file defines (another branch)',
    door: 'fastkit',
    args: ['migrate', 'run'],
    given: combine(
      history,
      onPostgres((context) => {
        migrate(context, 'run');
        psql(context.database!.name, "UPDATE alembic_version SET version_num = 'e5e5e5e5e5e5'");
      }),
    ),
    exit: 1,
    says:
      'The database is at revision e5e5e5e5e5e5, which no file in the versions folder defines. ' +
      'Check out the branch that has that revision, or restore its file. If two projects share this database and one version ' +
      'table, give each its own database URL (or version_table).',
  },
  {
    area: 'The history and the database',
    mistake: 'make while the database is behind head',
    door: 'fastkit',
    args: ['migrate', 'make', '-m', 'add tags'],
    given: combine(history, onPostgres()),
    exit: 1,
    says: 'The database is behind head: apply the pending migrations first. Run `fastkit migrate run` first, then make the revision.',
  },
  {
    area: 'The history and the database',
    mistake: 'status --check while the database is behind head',
    door: 'fastkit',
    args: ['migrate', 'status', '--check'],
    given: combine(
      {
        prepare: (context) => writeRevisions(context, { '20260101_000001_create_notes.py': CREATE_NOTES }),
      },
      onPostgres((context) => {
        migrate(context, 'run');
        writeRevisions(context, { '20260101_000002_add_title.py': ADD_TITLE });
      }),
    ),
    exit: 3,
    prints: ['a1a1a1a1a1a1', '1 pending migration:', '  b2b2b2b2b2b2  add title to notes', 'Apply it with `fastkit migrate run`'],
    says: 'The database is behind head: 1 pending migration. Apply it with `fastkit migrate run`.',
  },
  {
    area: 'The history and the database',
    mistake: 'rollback with nothing applied',
    door: 'fastkit',
    args: ['migrate', 'rollback'],
    given: combine(history, onPostgres()),
    exit: 1,
    says: 'Nothing to roll back. The database is at base: no migration is applied.',
  },
  {
    area: 'The history and the database',
    mistake: 'Another migration holds the lock longer than FASTKIT_LOCK_TIMEOUT',
    door: 'fastkit',
    args: ['migrate', 'run'],
    env: { FASTKIT_LOCK_TIMEOUT: '1' },
    given: combine(
      { prepare: (context) => writeRevisions(context, { '20260101_000001_slow_data_fix.py': SLOW }) },
      onPostgres(),
      {
        async start(context) {
          const holder = startFastkit(['migrate', 'run'], { cwd: context.project, env: context.env });
          context.background.push(holder);
          await holder.waitFor('Running upgrade base -> d4d4d4d4d4d4');
        },
      },
    ),
    exit: 1,
    progress: ['Waiting for another migration to finish (server pid {pid}, connected since {time}) (up to 1 s; FASTKIT_LOCK_TIMEOUT sets it)...'],
    says:
      'Timed out after 1 s waiting for the migration lock held by server pid {pid}, connected since {time}. ' +
      'Wait for that migration to finish or stop it, or raise FASTKIT_LOCK_TIMEOUT.',
  },

  // --- generators ---
  {
    area: 'Generators',
    mistake: 'A module name that is a path',
    door: 'nx',
    args: ['g', 'fastkit:module', '../x', '--project', 'api'],
    exit: 1,
    says: 'Module name "../x" is a path. Give a plain snake_case name (e.g. invoices or order_items); modules always go to <project>/modules/<name>',
  },
  {
    area: 'Generators',
    mistake: 'A module name that is not snake_case',
    door: 'nx',
    args: ['g', 'fastkit:module', 'OrderItems', '--project', 'api'],
    exit: 1,
    says:
      'Module name "OrderItems" is not a snake_case Python identifier. ' +
      'Use lower-case letters, digits and single underscores, starting with a letter, e.g. invoices or order_items',
  },
  {
    area: 'Generators',
    mistake: 'A module name that is a Python keyword',
    door: 'nx',
    args: ['g', 'fastkit:module', 'class', '--project', 'api'],
    exit: 1,
    says: 'Module name "class" is a Python keyword. Choose another name, e.g. invoices or order_items',
  },
  {
    area: 'Generators',
    mistake: 'A module in a project without Alembic',
    door: 'nx',
    args: ['g', 'fastkit:module', 'invoices', '--project', 'shop'],
    exit: 1,
    says:
      'apps/shop/alembic/env.py not found, so there is no env.py to register the model in. Set Alembic up first: nx g fastkit:alembic-setup --project shop',
  },
  {
    area: 'Generators',
    mistake: 'A project that does not exist',
    door: 'nx',
    args: ['g', 'fastkit:alembic-setup', '--project', 'shpo'],
    exit: 1,
    says: 'No project named "shpo" in this workspace. `nx show projects` lists the names',
  },
  {
    area: 'Generators',
    mistake: 'alembic-setup over an alembic.ini you changed',
    door: 'nx',
    args: ['g', 'fastkit:alembic-setup', '--project', 'api'],
    given: {
      prepare(context) {
        const ini = join(context.nxRoot, 'apps', 'api', 'alembic.ini');
        writeFileSync(ini, readFileSync(ini, 'utf8') + '\n# my change\n');
      },
    },
    exit: 1,
    says: 'apps/api/alembic.ini already exists with other content. Nothing was written. Move it aside, or pass --force to overwrite it',
  },

  // --- Nx targets ---
  {
    area: 'Nx targets',
    mistake: 'The server is down (nx run)',
    door: 'nx',
    args: ['run', 'api:migrate-run'],
    env: { DATABASE_URL: UNREACHABLE },
    exit: 1,
    says: CONNECT_REFUSED,
  },
  {
    area: 'Nx targets',
    mistake: 'migrate-make without a message',
    door: 'nx',
    args: ['run', 'api:migrate-make'],
    exit: 1,
    says: MESSAGE_REQUIRED,
  },
  {
    area: 'Nx targets',
    mistake: 'migrate-make with an empty message',
    door: 'nx',
    args: ['run', 'api:migrate-make', '-m', ''],
    exit: 1,
    says: MESSAGE_REQUIRED,
  },
  {
    area: 'Nx targets',
    mistake: 'migrate-status --check while the database is behind head',
    door: 'nx',
    args: ['run', 'api:migrate-status', '--check'],
    given: { prepare: (context) => writeRevisions(context, { '20260101_000001_create_notes.py': CREATE_NOTES }) },
    exit: 1,
    prints: ['No migration applied (base)', '1 pending migration:', '  a1a1a1a1a1a1  create notes', 'Apply it with `nx run api:migrate-run`'],
    says: 'The database is behind head: 1 pending migration. Apply it with `nx run api:migrate-run`.',
  },

  // --- issue 9: a password in the URL's query, a version folder that is not there, a bad version table name ---
  {
    area: 'The database connection',
    mistake: 'The server is down, with the password in the URL query (?password=)',
    door: 'fastkit',
    args: ['migrate', 'run'],
    env: { DATABASE_URL: 'postgresql+psycopg://app@127.0.0.1:1/app?password={password}' },
    exit: 1,
    says:
      'Cannot connect to the database at postgresql+psycopg://app@127.0.0.1:1/app?password=***: the server is not reachable (Connection refused). ' +
      'Start the database server or fix the host and port in DATABASE_URL.',
  },
  {
    area: 'Configuration',
    mistake: 'version_locations names a folder that is not there (check)',
    door: 'fastkit',
    args: ['migrate', 'check'],
    given: {
      prepare: (context) =>
        edit(context, 'alembic.ini', (text) => text.replace('path_separator = os\n', 'path_separator = os\nversion_locations = %(here)s/alembic/versions:shared/versions\n')),
    },
    exit: 1,
    prints: [
      'alembic.ini:15: error: version_locations names shared/versions, which is not a folder. Create it, or fix version_locations in alembic.ini.',
      'Checked 0 revisions: 1 error, no warnings',
    ],
    says: 'Migration check failed: 1 error. Each is listed above with its file and line.',
  },
  {
    area: 'Generators',
    mistake: 'A version table name that is not a plain table name',
    door: 'nx',
    args: ['g', 'fastkit:alembic-setup', '--project', 'api', '--versionTable', 'orders-version'],
    exit: 1,
    says:
      'versionTable "orders-version" is not a plain table name. Use letters, digits and underscores, at most 63, not starting with a digit, e.g. orders_alembic_version',
  },
  unknownNxOption('migrate-run', '--dry-run', 'fastkit has no dry run; migrate-sql shows the SQL'),
  unknownNxOption('migrate-run', '--sql', "Alembic's offline mode is the migrate-sql target"),
  unknownNxOption('migrate-rollback', '--revision=base', 'it undoes one migration per call'),
  {
    area: 'Nx targets',
    mistake: 'An option of another target (migrate-run --check)',
    door: 'nx',
    args: ['run', 'api:migrate-run', '--check'],
    exit: 1,
    says: '--check does not apply to migrate-run. It is an option of migrate-status.',
  },
  // --- issue 11: the shadow database of verify and status --drift ---
  {
    area: 'Verify and drift',
    mistake: 'The shadow URL is the database of DATABASE_URL',
    door: 'fastkit',
    args: ['migrate', 'verify'],
    env: { DATABASE_URL: SHADOW_LIVE, FASTKIT_SHADOW_URL: SHADOW_LIVE },
    exit: 2,
    says:
      'The shadow URL names the database of DATABASE_URL (app); fastkit never runs its checks there. Point FASTKIT_SHADOW_URL at another database ' +
      'of that server (e.g. postgres): fastkit creates its own shadow database beside it and drops it afterwards.',
  },
  {
    area: 'Verify and drift',
    mistake: 'A PostgreSQL project without a shadow server',
    door: 'fastkit',
    args: ['migrate', 'verify'],
    env: { DATABASE_URL: SHADOW_LIVE },
    exit: 1,
    says:
      "This project's database is PostgreSQL: checking it needs a shadow database server. Set FASTKIT_SHADOW_URL (or the shadowUrl option) to a " +
      'PostgreSQL server fastkit may create and drop databases on, e.g. postgresql+psycopg://postgres@localhost/postgres.',
  },
  {
    area: 'Verify and drift',
    mistake: 'A shadow URL that is not a URL',
    door: 'fastkit',
    args: ['migrate', 'verify', '--shadow-url', 'localhost:5432'],
    exit: 2,
    says: 'The shadow URL (FASTKIT_SHADOW_URL or shadowUrl) is not a database URL SQLAlchemy can use. Give one like postgresql+psycopg://postgres@localhost/postgres.',
  },
  {
    area: 'Verify and drift',
    mistake: 'A SQLite file as the shadow server',
    door: 'fastkit',
    args: ['migrate', 'verify'],
    env: { FASTKIT_SHADOW_URL: 'sqlite:///shadow.db' },
    exit: 2,
    says:
      'The shadow URL names a sqlite database; fastkit makes shadow databases on PostgreSQL, MySQL and MariaDB servers. Leave FASTKIT_SHADOW_URL unset ' +
      'for a SQLite project (its shadow is a temporary file), or point it at a PostgreSQL, MySQL or MariaDB server.',
  },
  {
    area: 'Verify and drift',
    mistake: 'A shadow server of another kind than the database',
    door: 'fastkit',
    args: ['migrate', 'verify'],
    env: { DATABASE_URL: SHADOW_LIVE, FASTKIT_SHADOW_URL: 'mysql+pymysql://root:{password}@localhost/mysql' },
    exit: 2,
    says:
      'env.py connects to a PostgreSQL database, but the shadow URL names a MySQL/MariaDB server. Point FASTKIT_SHADOW_URL at a PostgreSQL server, ' +
      'so the migrations run on the database they are written for.',
  },
  {
    area: 'Verify and drift',
    mistake: 'The shadow server is down',
    door: 'fastkit',
    args: ['migrate', 'verify'],
    env: { DATABASE_URL: SHADOW_LIVE, FASTKIT_SHADOW_URL: 'postgresql+psycopg://app:{password}@127.0.0.1:1/postgres' },
    exit: 1,
    says:
      'Cannot connect to the shadow database server at postgresql+psycopg://app:***@127.0.0.1:1/postgres: Connection refused. ' +
      'Check FASTKIT_SHADOW_URL (or the shadowUrl option): the server must be running and the user able to log in.',
  },
  {
    area: 'Nx targets',
    mistake: 'migrate-verify of a PostgreSQL project without a shadow server',
    door: 'nx',
    args: ['run', 'api:migrate-verify'],
    env: { DATABASE_URL: SHADOW_LIVE },
    given: {
      prepare: (context) =>
        edit(context, 'project.json', (text) => {
          const project = JSON.parse(text) as { targets: Record<string, unknown> };
          project.targets['migrate-verify'] = { executor: 'fastkit:migrate-verify' };
          return JSON.stringify(project) + '\n';
        }),
    },
    exit: 1,
    says:
      "This project's database is PostgreSQL: checking it needs a shadow database server. Set FASTKIT_SHADOW_URL (or the shadowUrl option) to a " +
      'PostgreSQL server fastkit may create and drop databases on, e.g. postgresql+psycopg://postgres@localhost/postgres.',
  },
];

/**
 * An option an Nx target does not have, given with a migration pending: refused before
 * anything runs, so the database stays as it was.
 */
function unknownNxOption(target: string, flag: string, why: string): BadInput {
  const option = flag.split('=')[0];
  return {
    area: 'Nx targets',
    mistake: `${target} ${flag} (${why})`,
    door: 'nx',
    args: ['run', `api:${target}`, flag],
    given: { prepare: (context) => writeRevisions(context, { '20260101_000001_create_notes.py': CREATE_NOTES }) },
    exit: 1,
    says: `Unknown option '${option}' for ${target}. See \`nx run api:${target} --help\` for its options.`,
  };
}

/** A text with its placeholders filled in from `values`. */
export function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}

// --- the document -------------------------------------------------------------------------

/** A command line as a person types it in a POSIX shell. */
export function commandLine(row: BadInput, values: Record<string, string>): string {
  const quote = (arg: string) => {
    if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
    if (/[\n\t]/.test(arg)) return `$'${arg.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\t/g, '\\t')}'`;
    return arg.includes("'") ? `"${arg.replace(/(["\\$`])/g, '\\$1')}"` : `'${arg}'`;
  };
  const env = Object.entries(row.env ?? {}).map(([key, value]) => `${key}=${quote(fill(value, values))}`);
  return [...env, row.door, ...row.args.map(quote)].join(' ');
}

function cell(text: string): string {
  const escaped = text.replace(/\|/g, '\\|');
  return escaped.includes('`') ? `\`\` ${escaped} \`\`` : `\`${escaped}\``;
}

/** docs/bad-input.md, rendered from the rows. */
export function renderBadInputDoc(rows: BadInput[] = BAD_INPUTS): string {
  const lines = [
    '# Bad input: what you type, what you see',
    '',
    '<!-- Generated from test/integration/bad-input.table.ts; do not edit by hand. -->',
    '<!-- Update: UPDATE_DOCS=1 npm test -- test/integration/bad-input.spec.ts -->',
    '',
    `Every row below is a mistake that \`npm test\` makes for real (${rows.length} of them): real Alembic, real`,
    'SQLite and PostgreSQL databases, the real `nx` CLI. Each one gives a non-zero exit code and one line',
    'naming the problem and the fix, with no Python traceback (add `--verbose` to see it) and no',
    'password; the project\'s files and the database are the same after it as before. Errors go to',
    'stderr as `fastkit: <line>` (Nx generators print them as ` NX   <line>`). Paths and passwords in the',
    'rows are examples.',
  ];
  for (const area of [...new Set(rows.map((row) => row.area))]) {
    lines.push('', `## ${area}`, '', '| Mistake | You type | You see | Exit |', '|---|---|---|---|');
    for (const row of rows.filter((candidate) => candidate.area === area)) {
      const line = fill(row.says, DOC_VALUES);
      const first = row.prints?.[0] ?? row.progress?.[0];
      const seen = first ? `${cell(fill(first, DOC_VALUES))} … then ${cell(line)}` : cell(line);
      lines.push(`| ${row.mistake} | ${cell(commandLine(row, DOC_VALUES))} | ${seen} | ${row.exit} |`);
    }
  }
  return lines.join('\n') + '\n';
}

/** Values every row shares. */
export function commonValues(): Record<string, string> {
  return {
    password: SENTINEL_PASSWORD,
    python: join(VENV, 'bin', 'python'),
    pgUser: PG_USER,
    pgHost: encodeURIComponent(PG_HOST),
  };
}

