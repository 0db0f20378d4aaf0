import { parseArgs } from 'node:util';
import { ACTIONS, coreOf, describeAction, type ActionName, type ActionSpec, type CommonOptions, type OptionsOf } from './actions';
import { cliFlagOf, cliFlagUsage, optionsFromCli, parseOptionsOf } from './door-options';
import { describeError, ExitCode, exitCodeOfError } from './errors';
import { commandNames, type MigrateOptions } from './options';

/** A gulp task: a named async function gulp can list (`gulp --tasks`) and run. */
export interface GulpTask {
  (): Promise<void>;
  displayName: string;
  description: string;
  flags?: Record<string, string>;
}

/** What a gulpfile may set for every task: the common options, and any action's own (`check`, `dialect`…). */
export type GulpTaskOptions = CommonOptions & Partial<UnionToIntersection<OptionsOf<ActionName>>> & Pick<MigrateOptions, 'fast' | 'root'>;

type UnionToIntersection<U> = (U extends unknown ? (whole: U) => void : never) extends (whole: infer I) => void ? I : never;

/**
 * The migrate tasks for a gulpfile, one per action of the table that has a gulp task:
 *   const { tasks } = require('fastkit/gulp');
 *   module.exports = tasks({ cwd: 'apps/api' });
 * An action's own flags on gulp's command line (`gulp migrate:make -m "create_invoices"`,
 * `gulp migrate:sql --dialect postgresql`) win over `options`.
 */
export function tasks(options: GulpTaskOptions = {}): Record<string, GulpTask> {
  const shared: MigrateOptions = { ...options, commands: commandNames((action) => `gulp migrate:${action}`) };
  const all: Record<string, GulpTask> = {};
  for (const [action, spec] of Object.entries(ACTIONS) as Array<[ActionName, ActionSpec]>) {
    if (!spec.gulp) continue;
    const flags = Object.entries(spec.options)
      .filter(([name, option]) => cliFlagOf(name, option))
      .map(([name, option]) => [cliFlagUsage(name, option).trim(), option.cli!.help] as const);
    all[`migrate:${action}`] = task(
      `migrate:${action}`,
      describeAction(spec),
      () => coreOf(action)({ ...shared, ...fromGulpArgv(spec, process.argv) }),
      flags.length ? Object.fromEntries(flags) : undefined,
    );
  }
  return all;
}

function task(displayName: string, description: string, action: () => Promise<unknown>, flags?: Record<string, string>): GulpTask {
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
 * `toString()` instead of the stack for errors that carry a boolean `showStack`, as plugin
 * errors do). It carries the failure's exit code, and gulp exits with it.
 */
function taskError(displayName: string, cause: unknown): Error {
  const error = new Error(describeError(cause)) as Error & { showStack: boolean; plugin: string; exitCode: number };
  error.name = 'fastkit';
  error.plugin = 'fastkit';
  error.showStack = false;
  error.exitCode = exitCodeOfError(cause);
  error.toString = () => `${displayName}: ${error.message}`;
  keepExitCode(error.exitCode);
  return error;
}

/** gulp ends a failed run with `process.exit(1)`; a failure of another kind (usage: 2, behind head: 3) keeps its own code. */
function keepExitCode(code: number): void {
  if (code === ExitCode.failure) return;
  process.once('exit', () => {
    process.exitCode = code;
  });
}

/**
 * The action's own flags from gulp's command line, which gulp passes through whole (with its
 * own flags, such as --cwd, and the task names): read leniently, and only the action's flags.
 */
function fromGulpArgv(spec: ActionSpec, argv: string[]): Record<string, unknown> {
  const { values } = parseArgs({ args: argv.slice(2), options: parseOptionsOf(spec.options), strict: false, allowPositionals: true });
  return optionsFromCli(spec.options, values);
}
