#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ExitCode, FastkitError, UsageError, describeError, printFailure } from './errors';
import { check } from './check';
import { make, rollback, run, status } from './migrate';
import { sql } from './sql';
import type { MigrateOptions } from './options';
import { writeError, writeFailed, writeTo } from './output';
import { packageFile } from './package-root';

const HELP = `fastkit: Alembic migrations in four short commands, and two offline ones for CI

Usage:
  fastkit migrate make -m "message"   alembic revision --autogenerate -m "message"
  fastkit migrate run                 alembic upgrade head
  fastkit migrate rollback            alembic downgrade -1
  fastkit migrate status              alembic current, plus what is pending
  fastkit migrate check               the revision history checked without a database
  fastkit migrate sql                 alembic upgrade head --sql, into a file

Options:
  -m, --message TEXT     the revision message (make)
      --no-autogenerate  write an empty revision instead of comparing models (make)
      --check            exit 3 unless the database is at head (status)
      --json             print only the result as JSON (status, check)
  -o, --output FILE      the SQL file (sql; default: dist/migrations/upgrade.sql in the project)
      --dialect NAME     render for this dialect: postgresql, mysql, sqlite... (sql)
      --from REV         render from this revision instead of base (sql)
  -c, --config PATH      alembic.ini or pyproject.toml (default: found here or above)
      --cwd PATH         folder to run Alembic in (default: the config's folder)
      --alembic CMD      the command that runs Alembic, e.g. "uv run alembic"
  -n, --name NAME        the ini section, for several databases
  -x KEY=VALUE           passed to env.py as alembic -x KEY=VALUE (repeatable)
      --no-fast          always ask Alembic (status and run may otherwise answer
                         without starting Python when certain; FASTKIT_NO_FAST=1)
      --verbose          show full Python tracebacks
  -h, --help             show this help
  -v, --version          show the version

Exit codes: 0 ok, 1 failure (check: an error in the history), 2 usage error,
3 status --check found the database behind head.
`;

const MIGRATE_HELP = HELP.replace(/^fastkit: .*\n\n/, '');

const OPTIONS = {
  message: { type: 'string', short: 'm' },
  'no-autogenerate': { type: 'boolean' },
  check: { type: 'boolean' },
  json: { type: 'boolean' },
  output: { type: 'string', short: 'o' },
  dialect: { type: 'string' },
  from: { type: 'string' },
  config: { type: 'string', short: 'c' },
  cwd: { type: 'string' },
  alembic: { type: 'string' },
  name: { type: 'string', short: 'n' },
  x: { type: 'string', short: 'x', multiple: true },
  verbose: { type: 'boolean' },
  'no-fast': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} satisfies ParseArgsConfig['options'];

const ACTIONS = ['make', 'run', 'rollback', 'status', 'check', 'sql'] as const;
type Action = (typeof ACTIONS)[number];

/** The options each subcommand takes beyond the common ones; any other is a usage error. */
const ACTION_OPTIONS: Record<Action, Array<keyof typeof OPTIONS>> = {
  make: ['message', 'no-autogenerate'],
  run: ['no-fast'],
  rollback: [],
  status: ['check', 'json', 'no-fast'],
  check: ['json'],
  sql: ['output', 'dialect', 'from'],
};

/** Runs the CLI with these arguments and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    return fail(new UsageError(firstSentence((error as Error).message), 'See `fastkit --help`.'));
  }
  const { values, positionals } = parsed;
  if (values.version) {
    writeTo(process.stdout, `${version()}\n`);
    return ExitCode.ok;
  }
  const [group, action, ...rest] = positionals;
  if (values.help || group === 'help') {
    writeTo(process.stdout, group === 'migrate' ? MIGRATE_HELP : HELP);
    return ExitCode.ok;
  }
  if (group !== 'migrate') {
    return fail(
      new UsageError(group ? `Unknown command \`${group}\`` : 'No command given', 'Try `fastkit migrate status`, or `fastkit --help`.'),
    );
  }
  if (!ACTIONS.includes(action as (typeof ACTIONS)[number])) {
    return fail(
      new UsageError(
        action ? `Unknown subcommand \`migrate ${action}\`` : 'No subcommand given',
        `Use one of: ${ACTIONS.map((name) => `migrate ${name}`).join(', ')}.`,
      ),
    );
  }
  if (rest.length > 0) {
    return fail(new UsageError(`Unexpected argument \`${rest[0]}\``, 'Quote a message with spaces: -m "add status".'));
  }
  const misplaced = misplacedOption(action as Action, Object.keys(values) as Array<keyof typeof OPTIONS>);
  if (misplaced) return fail(misplaced);

  const common: MigrateOptions = {
    config: values.config,
    cwd: values.cwd,
    alembic: values.alembic,
    name: values.name,
    args: (values.x ?? []).flatMap((pair) => ['-x', pair]),
    verbose: values.verbose,
    fast: !values['no-fast'],
  };
  try {
    if (action === 'make') await make({ ...common, message: values.message, autogenerate: !values['no-autogenerate'] });
    else if (action === 'run') await run(common);
    else if (action === 'rollback') await rollback(common);
    else if (action === 'status') await status({ ...common, check: values.check, json: values.json });
    else if (action === 'check') await check({ ...common, json: values.json });
    else await sql({ ...common, output: values.output, dialect: values.dialect, from: values.from });
    return ExitCode.ok;
  } catch (error) {
    return fail(error, values.verbose);
  }
}

function misplacedOption(action: Action, given: Array<keyof typeof OPTIONS>): UsageError | undefined {
  const specific = new Set(Object.values(ACTION_OPTIONS).flat());
  const option = given.find((name) => specific.has(name) && !ACTION_OPTIONS[action].includes(name));
  if (!option) return undefined;
  const owners = ACTIONS.filter((name) => ACTION_OPTIONS[name].includes(option)).map((name) => `migrate ${name}`);
  return new UsageError(`--${option} does not apply to \`migrate ${action}\``, `It is an option of ${owners.join(' and ')}.`);
}

function fail(error: unknown, verbose = false): number {
  printFailure(error, verbose);
  return error instanceof FastkitError ? error.exitCode : ExitCode.failure;
}

/** node:util's parse errors go on to advise about `--`, which is not advice for fastkit users. */
function firstSentence(text: string): string {
  return text.split('\n', 1)[0].split(/\.(?:\s|$)/, 1)[0];
}

function version(): string {
  return JSON.parse(readFileSync(packageFile('package.json'), 'utf8')).version;
}

/**
 * A stdout that could not be written (a full disk: `fastkit migrate run > /dev/full`) after the
 * action itself succeeded, as the one line of a failure; a reader that stopped early
 * (`fastkit migrate status | head -1`) is no failure.
 */
function lostOutput(): FastkitError | undefined {
  const error = writeError(process.stdout);
  if (!error || error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return undefined;
  const reason = error.message.replace(/, write$/, '');
  return new FastkitError(`Could not write the output (${reason}); the command itself ran to the end`, {
    hint: 'Send the output where it can be written, and see the database with `fastkit migrate status`.',
  });
}

if (require.main === module) {
  // Output that cannot be written never stops a migration midway: the error is kept (src/output.ts)
  // and said once the action has finished.
  let finished = false;
  let reported = false;
  const reportLostOutput = () => {
    const lost = finished && !reported && process.exitCode === ExitCode.ok ? lostOutput() : undefined;
    if (!lost) return;
    reported = true;
    printFailure(lost);
    process.exitCode = lost.exitCode;
  };
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    writeFailed(process.stdout, error);
    reportLostOutput();
  });
  process.stderr.on('error', (error: NodeJS.ErrnoException) => writeFailed(process.stderr, error));
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      finished = true;
      reportLostOutput();
    },
    (error) => {
      writeTo(process.stderr, `fastkit: ${describeError(error)}\n`);
      process.exitCode = ExitCode.failure;
    },
  );
}
