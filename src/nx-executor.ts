import type { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import { printFailure } from './errors';
import type { CommandNames, MigrateOptions } from './options';

/** Options of every fastkit executor; paths are relative to the project root. */
export interface NxMigrateOptions extends Omit<MigrateOptions, 'root' | 'commands' | 'streams'> {}

const ACTIONS = ['make', 'run', 'rollback', 'status'] as const;

/**
 * Turns a core action into an Nx executor: the project root is where paths resolve and
 * where alembic.ini is by default; hints name this project's own targets; a failure is
 * printed once and becomes `{ success: false }`.
 */
export function nxExecutor<O extends NxMigrateOptions>(action: (options: O & MigrateOptions) => Promise<unknown>) {
  return async function runExecutor(options: O, context: ExecutorContext): Promise<{ success: boolean }> {
    const projectRoot = context.projectName
      ? (context.projectsConfigurations?.projects[context.projectName]?.root ?? '.')
      : '.';
    try {
      await action({
        ...options,
        config: options.config ?? 'alembic.ini',
        root: join(context.root, projectRoot),
        commands: nxCommands(context),
      });
      return { success: true };
    } catch (error) {
      printFailure(error, options.verbose);
      return { success: false };
    }
  };
}

/** `nx run api:migrate-run`, or whatever this project calls the target that runs fastkit's executor. */
function nxCommands(context: ExecutorContext): Partial<CommandNames> {
  const project = context.projectName;
  if (!project) return {};
  const targets = context.projectsConfigurations?.projects[project]?.targets ?? {};
  const commands: Partial<CommandNames> = {};
  for (const action of ACTIONS) {
    const target =
      Object.entries(targets).find(([, config]) => config.executor === `fastkit:migrate-${action}`)?.[0] ??
      `migrate-${action}`;
    commands[action] = `nx run ${project}:${target}${action === 'make' ? ' -m "message"' : ''}`;
  }
  return commands;
}
