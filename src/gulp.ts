import { parseArgs } from 'node:util';
import { check } from './check';
import { describeError } from './errors';
import { make, rollback, run, status } from './migrate';
import type { MakeOptions, MigrateOptions, StatusOptions } from './options';
import { sql, type SqlOptions } from './sql';

/** A gulp task: a named async function gulp can list (`gulp --tasks`) and run. */
export interface GulpTask {
  (): Promise<void>;
  displayName: string;
  description: string;
  flags?: Record<string, string>;
}

export interface GulpTaskOptions
  extends Omit<MigrateOptions, 'commands' | 'streams'>,
    Pick<StatusOptions, 'check'>,
    Pick<SqlOptions, 'output' | 'dialect' | 'from'> {}

/**
 * The migrate tasks for a gulpfile:
 *   const { tasks } = require('fastkit/gulp');
 *   module.exports = tasks({ cwd: 'apps/api' });
 * `gulp migrate:make --message "create_invoices"` (or -m) takes the message from the command line;
 * `gulp migrate:sql --dialect postgresql` (and --output, --from) the SQL options, over `options`.
 */
export function tasks(options: GulpTaskOptions = {}): Record<string, GulpTask> {
  const shared: MigrateOptions = {
    ...options,
    commands: {
      make: 'gulp migrate:make -m "message"',
      run: 'gulp migrate:run',
      rollback: 'gulp migrate:rollback',
      status: 'gulp migrate:status',
    },
  };
  return {
    'migrate:make': task('migrate:make', 'Write a migration from the model changes (alembic revision --autogenerate)', () =>
      make({ ...shared, message: messageFromArgv(process.argv) } satisfies MakeOptions),
      { '--message, -m': 'the revision message (required)' },
    ),
    'migrate:run': task('migrate:run', 'Apply every pending migration (alembic upgrade head)', () => run(shared)),
    'migrate:rollback': task('migrate:rollback', 'Undo the last applied migration (alembic downgrade -1)', () => rollback(shared)),
    'migrate:status': task('migrate:status', 'Show the applied revision and what is pending (alembic current)', () =>
      status({ ...shared, check: options.check }),
    ),
    'migrate:check': task('migrate:check', 'Check the revision history without a database (heads, missing revisions, data loss)', () =>
      check(shared),
    ),
    'migrate:sql': task(
      'migrate:sql',
      'Write the upgrade SQL into a file without a database (alembic upgrade head --sql)',
      () => sql({ ...shared, ...sqlOptionsFromArgv(process.argv, options) } satisfies SqlOptions),
      { '--dialect': 'postgresql, mysql, sqlite... (default: from the URL)', '--output, -o': 'the SQL file', '--from': 'start after this revision' },
    ),
  };
}

function task(
  displayName: string,
  description: string,
  action: () => Promise<unknown>,
  flags?: Record<string, string>,
): GulpTask {
  // a named async function: gulp awaits it, and a rejection carries the core's message
  const migrateTask = async function migrateTask(): Promise<void> {
    try {
      await action();
    } catch (error) {
      throw taskError(displayName, error);
    }
  } as GulpTask;
  Object.defineProperty(migrateTask, 'name', { value: displayName });
  migrateTask.displayName = displayName;
  migrateTask.description = description;
  if (flags) migrateTask.flags = flags;
  return migrateTask;
}

/**
 * The rejection gulp prints: the core's one line, without a stack trace (gulp prints
 * `toString()` instead of the stack for errors that carry a boolean `showStack`, as
 * plugin errors do).
 */
function taskError(displayName: string, cause: unknown): Error {
  const error = new Error(describeError(cause)) as Error & { showStack: boolean; plugin: string; exitCode?: number };
  error.name = 'fastkit';
  error.plugin = 'fastkit';
  error.showStack = false;
  error.toString = () => `${displayName}: ${error.message}`;
  return error;
}

/** `--dialect`, `--output` (`-o`) and `--from` from gulp's command line, else from the tasks' options. */
function sqlOptionsFromArgv(argv: string[], options: GulpTaskOptions): Pick<SqlOptions, 'output' | 'dialect' | 'from'> {
  const { values } = parseArgs({
    args: argv.slice(2),
    options: { dialect: { type: 'string' }, output: { type: 'string', short: 'o' }, from: { type: 'string' } },
    strict: false,
    allowPositionals: true,
  });
  const given = (name: 'dialect' | 'output' | 'from') => (typeof values[name] === 'string' ? (values[name] as string) : options[name]);
  return { dialect: given('dialect'), output: given('output'), from: given('from') };
}

/** gulp passes its whole command line through; the message is `--message X` or `-m X` in it. */
function messageFromArgv(argv: string[]): string | undefined {
  const { values } = parseArgs({
    args: argv.slice(2),
    options: { message: { type: 'string', short: 'm' } },
    strict: false,
    allowPositionals: true,
  });
  return typeof values.message === 'string' ? values.message : undefined;
}
