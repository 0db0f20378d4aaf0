/**
 * The actions fastkit offers, in one table every door reads: the CLI's parser and help
 * (src/cli.ts), the Nx executors (src/nx-executor.ts, and the executors.json, schema.json and
 * schema.d.ts that src/nx-schemas.ts generates at build), gulp's tasks (src/gulp.ts) and the
 * plugin's targets (src/plugin.ts). A new action is one entry here plus its core function (and,
 * when it has an executor, a one-line executors/migrate-<name>/executor.ts).
 *
 * The plugin loads this module while Nx builds its graph, so it imports nothing at load time:
 * an action's core function is required only when the action runs.
 */
import type { FailureKind } from './errors';

/** An option as every door shows it; the key in `options` is its camelCase name. */
export interface OptionSpec {
  type: 'string' | 'boolean' | 'array' | 'object';
  /** What it is, in a sentence or two, ending with the Alembic docs link where one helps. */
  description: string;
  /** The one-letter flag (`-m`): Nx's alias and the CLI's short option. */
  alias?: string;
  /** What it is when not given: schema.json's `default`, and the `@default` of its type. */
  default?: string | boolean;
  /** How the CLI offers it; absent: not a CLI flag (the CLI has the real environment, for one). */
  cli?: CliFlag;
  /** Nx also takes it from the first bare argument (`nx run api:migrate-make create_invoices`). */
  positional?: true;
}

export interface CliFlag {
  /** The line in `fastkit --help`, after the flag. */
  help: string;
  /** The value's name in the help (`TEXT`, `PATH`); none for a boolean. */
  value?: string;
  /** The flag, when it is not the option's kebab-case name (`x` for `args`). */
  flag?: string;
  /** A one-letter flag of the CLI only (Nx takes `-c` for --configuration, so config is `-c` only here). */
  short?: string;
  /** For a repeatable flag: the option its values make (`-x a=1 -x b=2` → `["-x", "a=1", "-x", "b=2"]`). */
  repeat?: (values: string[]) => unknown;
}

/** Where an action reads or writes a database, which decides whether Nx may cache it. */
export type DatabaseUse = 'live' | 'shadow' | 'none';

/** How Nx caches an action: its inputs (src/offline-inputs.ts) and its outputs. */
export interface NxCache {
  /**
   * `history`: the config and the revision files as text; `project`: every Python file env.py
   * may import (its own and its dependency projects'), and DATABASE_URL; `shadow`: the same
   * files, and in place of DATABASE_URL the dialect and major version of the database the
   * action runs on (src/shadow-key.ts), never its host or password.
   */
  inputs: 'history' | 'project' | 'shadow';
  /** Files it writes, as Nx output patterns; an option's default names them. */
  outputs?: readonly string[];
}

export interface ActionSpec {
  /** What it does, one line in the user's words, third person ("Applies every pending migration"). */
  summary: string;
  /** The Alembic command it stands for, after `alembic` (`upgrade head`); none when it has no counterpart. */
  alembic?: string;
  /** What else a user should know: the rest of its executor's description. */
  details?: string;
  /** The Alembic documentation page that explains it. */
  docs: string;
  /** Its executor schema's title. */
  title: string;
  /** Options beyond the common ones. */
  options: Record<string, OptionSpec>;
  database: DatabaseUse;
  /** Whether Nx may cache it, and on what; never for an action that touches a live database. */
  cache?: NxCache;
  /** An Nx executor and inferred target `migrate-<name>`; false: a CLI subcommand only. */
  executor: boolean;
  /**
   * `nx run-many` hands all its tasks to one process (executors.json's `batchImplementation`
   * and `preferBatch`, src/nx-executor.ts), where Python requests share a server that imports
   * Alembic once. Each task keeps its own output and result.
   */
  batch?: boolean;
  /** A gulp task `migrate:<name>`. */
  gulp: boolean;
  /** What `fastkit migrate <name>` needs typed after it, for the help and for hints (`-m "message"`). */
  usage?: string;
  /** Failures particular to it, whose exit code is not 1 (the codes come from src/errors.ts). */
  exits?: readonly FailureKind[];
  /** Sync generators Nx runs before the target. */
  syncGenerators?: readonly string[];
  /** The core function: required when the action runs, never when the table is only read. */
  core(): (options: never) => Promise<unknown>;
}

const ALEMBIC_DOCS = 'https://alembic.sqlalchemy.org/en/latest';

/** Options every action, door and target takes (DESIGN §2, common options), declared once. */
export const COMMON_OPTIONS = {
  config: {
    type: 'string',
    default: 'alembic.ini',
    description: `The Alembic config: alembic.ini, or a pyproject.toml with [tool.alembic]. Relative to the project root. See ${ALEMBIC_DOCS}/tutorial.html#editing-the-ini-file`,
    cli: { short: 'c', value: 'PATH', help: 'alembic.ini or pyproject.toml (default: found here or above)' },
  },
  cwd: {
    type: 'string',
    description: "Folder Alembic runs in, relative to the project root. Defaults to the config's folder, since prepend_sys_path = . resolves from it.",
    cli: { value: 'PATH', help: "folder to run Alembic in (default: the config's folder)" },
  },
  alembic: {
    type: 'string',
    description:
      'The command that runs Alembic, e.g. "uv run alembic" or ".venv/bin/alembic"; overrides detection (VIRTUAL_ENV, .venv, uv, poetry, python3).',
    cli: { value: 'CMD', help: 'the command that runs Alembic, e.g. "uv run alembic"' },
  },
  env: {
    type: 'object',
    description: 'Extra environment for Alembic, e.g. { "DATABASE_URL": "postgresql+psycopg://app@db/app" }.',
  },
  args: {
    type: 'array',
    description: `Extra global Alembic arguments, e.g. ["-x", "tenant=acme"]. See ${ALEMBIC_DOCS}/api/commands.html`,
    cli: {
      flag: 'x',
      value: 'KEY=VALUE',
      help: 'passed to env.py as alembic -x KEY=VALUE (repeatable)',
      repeat: (values) => values.flatMap((pair) => ['-x', pair]),
    },
  },
  name: {
    type: 'string',
    description: `The ini section to use, for several databases (alembic -n NAME). See ${ALEMBIC_DOCS}/cookbook.html#run-multiple-alembic-environments-from-one-ini-file`,
    cli: { short: 'n', value: 'NAME', help: 'the ini section, for several databases' },
  },
  verbose: {
    type: 'boolean',
    default: false,
    description: 'Show full Python tracebacks.',
    cli: { help: 'show full Python tracebacks' },
  },
} as const satisfies Record<string, OptionSpec>;

const FAST = {
  type: 'boolean',
  default: true,
  description:
    'Answer without starting Python when fastkit can be certain (its own env.py, unchanged revision files, a straight history, SQLite or PostgreSQL); false always asks Alembic. FASTKIT_NO_FAST=1 does the same.',
  cli: { help: 'always ask Alembic; FASTKIT_NO_FAST=1 does the same' },
} as const satisfies OptionSpec;

/** The side table of `checksums`, as the docs name it. */
const CHECKSUM_TABLE = '<version_table>_checksums (alembic_version_checksums by default)';
const CHECKSUMS_CLI = { help: "keep each applied revision's checksum in the database, and compare it" } as const;

/** Where migrate-sql writes by default, relative to the project; also its cached output. */
export const DEFAULT_SQL_OUTPUT = 'dist/migrations/upgrade.sql';

/** The actions, in the order the help and `nx show project` list them. */
export const ACTIONS = {
  make: {
    summary: 'Writes an Alembic revision from the model changes',
    alembic: 'revision --autogenerate -m MESSAGE',
    details: 'Writes nothing when no model changed.',
    docs: `${ALEMBIC_DOCS}/autogenerate.html`,
    title: 'Make a migration',
    usage: '-m "message"',
    options: {
      message: {
        type: 'string',
        alias: 'm',
        positional: true,
        description: 'The revision message, one line; it also names the file (YYYYMMDD_HHMMSS_slug.py).',
        cli: { value: 'TEXT', help: 'the revision message' },
      },
      autogenerate: {
        type: 'boolean',
        default: true,
        description: 'Compare the models with the database; false writes an empty revision to fill in by hand.',
        cli: { help: 'write an empty revision instead of comparing models' },
      },
      versionPath: {
        type: 'string',
        description: `The version folder to write the revision into, one of version_locations (alembic revision --version-path), relative to the project root. Default: where Alembic would write it (beside the head it revises; with several folders and no revision yet, the first). See ${ALEMBIC_DOCS}/branches.html#creating-a-labeled-base-revision`,
        cli: { value: 'PATH', help: 'the version folder to write into (one of version_locations)' },
      },
    },
    database: 'live',
    executor: true,
    gulp: true,
    syncGenerators: ['fastkit:sync-models'], // keeps env.py's model imports true to modules/*/models.py
    core: () => require('./migrate').make,
  },
  run: {
    summary: 'Applies every pending migration',
    alembic: 'upgrade head',
    details: 'Prints nothing when nothing is pending.',
    docs: `${ALEMBIC_DOCS}/tutorial.html#running-our-first-migration`,
    title: 'Run migrations',
    options: {
      fast: FAST,
      checksums: {
        type: 'boolean',
        default: false,
        description: `Record the checksum of each revision file as it is applied, in the same transaction, in ${CHECKSUM_TABLE} next to the version table, so status can tell when a file changed after it ran. Revisions applied before are recorded on the first such run.`,
        cli: CHECKSUMS_CLI,
      },
    },
    database: 'live',
    executor: true,
    batch: true,
    gulp: true,
    core: () => require('./migrate').run,
  },
  rollback: {
    summary: 'Undoes exactly one applied migration',
    alembic: 'downgrade -1',
    details: 'One step per call, on purpose.',
    docs: `${ALEMBIC_DOCS}/tutorial.html#downgrading`,
    title: 'Roll back one migration',
    options: {
      checksums: {
        type: 'boolean',
        default: false,
        description: `Remove the rolled-back revision's checksum from ${CHECKSUM_TABLE} (where run records them).`,
        cli: CHECKSUMS_CLI,
      },
    },
    database: 'live',
    executor: true,
    gulp: true,
    core: () => require('./migrate').rollback,
  },
  status: {
    summary: 'Shows the applied revision and what is pending',
    alembic: 'current',
    details: '"(head)" on its line means up to date.',
    docs: `${ALEMBIC_DOCS}/api/commands.html#alembic.command.current`,
    title: 'Migration status',
    options: {
      check: {
        type: 'boolean',
        default: false,
        description: 'Fail unless the database is at head (for CI gates).',
        cli: { help: 'exit 3 unless the database is at head' },
      },
      json: {
        type: 'boolean',
        default: false,
        description: 'Print only {"current", "heads", "pending", "upToDate"} as JSON (with checksums, also "changed" and "unrecorded").',
        cli: { help: 'print only the result as JSON' },
      },
      allSections: {
        type: 'boolean',
        default: false,
        description:
          'Report every Alembic environment of the ini (each section with a script_location, alembic -n NAME), one after the other; with check, fail unless all are at head. JSON: {"sections": {NAME: report}, "upToDate"}.',
        cli: { help: 'report every section of the ini that has a script_location' },
      },
      drift: {
        type: 'boolean',
        default: false,
        description:
          "Also compare the database's schema with the schema its applied revision should have (replayed on a shadow database, see migrate-verify), and fail on a difference: a column or index added or removed by hand. Only reads the database.",
        cli: { help: 'compare the schema with its revision\'s, on a shadow database' },
      },
      fast: FAST,
      checksums: {
        type: 'boolean',
        default: false,
        description: `Compare each applied revision's file with the checksum recorded in ${CHECKSUM_TABLE} when it ran: warns when one changed, and check fails.`,
        cli: CHECKSUMS_CLI,
      },
    },
    database: 'live',
    executor: true,
    batch: true,
    gulp: true,
    exits: ['not-at-head'],
    core: () => require('./migrate').status,
  },
  check: {
    summary: 'Checks the Alembic revision history without a database',
    details:
      'Fails on more than one head, a down_revision that does not exist, duplicate revision ids, a file that does not compile or breaks the file_template, and (where a versions folder has a fastkit.sum) a revision file changed after it was recorded, one not recorded, or an entry whose file is gone; warns (file:line) about dropped tables and columns, type changes that can lose data, likely renames and downgrades that do nothing.',
    docs: `${ALEMBIC_DOCS}/branches.html`,
    title: 'Migration check',
    options: {
      json: {
        type: 'boolean',
        default: false,
        description: 'Print only {"ok", "revisions", "heads", "errors", "warnings"} as JSON.',
        cli: { help: 'print only the result as JSON' },
      },
    },
    database: 'none',
    cache: { inputs: 'history' },
    executor: true,
    batch: true,
    gulp: true,
    core: () => require('./check').check,
  },
  sql: {
    summary: `Writes the upgrade SQL into a file without a database`,
    alembic: 'upgrade head --sql',
    details: `From base (or a given revision) to head, into ${DEFAULT_SQL_OUTPUT} unless output says otherwise.`,
    docs: `${ALEMBIC_DOCS}/offline.html`,
    title: 'Migration SQL',
    options: {
      output: {
        type: 'string',
        default: DEFAULT_SQL_OUTPUT,
        description: 'The SQL file to write, relative to the project root.',
        cli: { short: 'o', value: 'FILE', help: `the SQL file (default: ${DEFAULT_SQL_OUTPUT} in the project)` },
      },
      dialect: {
        type: 'string',
        description:
          'The SQLAlchemy dialect to render for: postgresql, mysql, mariadb, sqlite, mssql, oracle (optionally with a driver, postgresql+psycopg). env.py gets DATABASE_URL=<dialect>:// without a host, so no server is needed. Default: the dialect of the URL env.py uses. See https://docs.sqlalchemy.org/en/20/dialects/',
        cli: { value: 'NAME', help: 'render for this dialect: postgresql, mysql, sqlite...' },
      },
      from: {
        type: 'string',
        description: 'Render from this revision (already applied) to head instead of from base: alembic upgrade FROM:head --sql.',
        cli: { value: 'REV', help: 'render from this revision instead of base' },
      },
    },
    database: 'none',
    cache: { inputs: 'project', outputs: ['{projectRoot}/{options.output}'] },
    executor: true,
    batch: true,
    gulp: true,
    core: () => require('./sql').sql,
  },
  rebase: {
    summary: "Re-parents this branch's Alembic revisions onto the other head",
    details:
      "For two heads after a git merge: the first revision this git branch added since its merge base with onto is made to revise the other head (down_revision and Revises: rewritten, fastkit.sum updated, the result read by Alembic). Refuses while one of them is applied in the database.",
    docs: `${ALEMBIC_DOCS}/branches.html`,
    title: 'Rebase migrations',
    options: {
      onto: {
        type: 'string',
        description:
          "The git branch this branch's revisions go after: the revisions added since the merge base with it are this branch's. Default: the repository's default branch (origin/HEAD, else main or master).",
        cli: { value: 'BRANCH', help: "the git branch to rebase this branch's revisions onto (default: origin/HEAD, main, master)" },
      },
      merge: {
        type: 'boolean',
        default: false,
        description: `Write an Alembic merge revision of the heads instead (alembic merge heads). See ${ALEMBIC_DOCS}/branches.html#merging-branches`,
        cli: { help: 'write a merge revision instead' },
      },
    },
    database: 'live',
    executor: true,
    gulp: true,
    core: () => require('./rebase').rebase,
  },
  hash: {
    summary: 'Writes the checksum file of the revision files',
    details: 'alembic/versions/fastkit.sum, for a history that predates fastkit or an edit made on purpose; make keeps it up to date.',
    docs: `${ALEMBIC_DOCS}/tutorial.html#create-a-migration-script`,
    title: 'Hash migrations',
    options: {},
    database: 'none',
    executor: false,
    gulp: false,
    core: () => require('./checksum-file').hash,
  },
  verify: {
    summary: 'Proves every migration on a shadow database: upgrade, downgrade, upgrade again; then the models against head',
    details:
      'Runs on a database fastkit makes and drops: a temporary SQLite file, or a database on the server of FASTKIT_SHADOW_URL (PostgreSQL, MySQL, MariaDB). Never touches the database of DATABASE_URL.',
    docs: `${ALEMBIC_DOCS}/autogenerate.html#comparing-and-rendering-migrations`,
    title: 'Migration verify',
    options: {
      shadowUrl: {
        type: 'string',
        description:
          'A server fastkit may create and drop databases on, e.g. postgresql+psycopg://postgres@localhost/postgres (the database it names is only connected to). Default: FASTKIT_SHADOW_URL; a SQLite project needs none.',
        cli: { value: 'URL', help: 'server for the shadow database (default: FASTKIT_SHADOW_URL)' },
      },
      json: {
        type: 'boolean',
        default: false,
        description: 'Print only {"ok", "dialect", "revisions", "verified", "head", "modelsChecked", "findings"} as JSON.',
        cli: { help: 'print only the result as JSON' },
      },
    },
    database: 'shadow',
    cache: { inputs: 'shadow' },
    executor: true,
    gulp: true,
    core: () => require('./verify').verify,
  },
} as const satisfies Record<string, ActionSpec>;

export type ActionName = keyof typeof ACTIONS;
export type ActionTable = Readonly<Record<string, ActionSpec>>;

/** The actions that have an Nx executor and inferred target. */
export type ExecutorActionName = { [A in ActionName]: (typeof ACTIONS)[A]['executor'] extends true ? A : never }[ActionName];

export const ACTION_NAMES = Object.keys(ACTIONS) as ActionName[];

/** The executor and default target name of an action: `migrate-run`. */
export function executorName(action: string): string {
  return `migrate-${action}`;
}

/** Every option an action takes: its own, then the common ones. */
export function optionsOf(spec: ActionSpec): Record<string, OptionSpec> {
  return { ...spec.options, ...COMMON_OPTIONS };
}

/** The action's one line for Nx and gulp: `Applies every pending migration (alembic upgrade head)`. */
export function describeAction(spec: ActionSpec): string {
  return spec.alembic ? `${spec.summary} (alembic ${spec.alembic})` : spec.summary;
}

type ValueOf<S> = S extends { type: 'string' }
  ? string
  : S extends { type: 'boolean' }
    ? boolean
    : S extends { type: 'array' }
      ? string[]
      : Record<string, string>;

type OptionValues<O> = { -readonly [K in keyof O]?: ValueOf<O[K]> };

/** The common options' values: what every action's options extend (src/options.ts). */
export type CommonOptions = OptionValues<typeof COMMON_OPTIONS>;

/** The options particular to action `A`, typed from the table. */
export type ActionOptions<A extends ActionName> = OptionValues<(typeof ACTIONS)[A]['options']>;

/** Every option of action `A` a door takes from the user. */
export type OptionsOf<A extends ActionName> = ActionOptions<A> & CommonOptions;

/** The core function of an action. Its own type says what it takes beyond the table (root, commands, streams). */
export function coreOf(action: ActionName): (options: object) => Promise<unknown> {
  return ACTIONS[action].core() as (options: object) => Promise<unknown>;
}
