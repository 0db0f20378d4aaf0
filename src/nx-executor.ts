import type { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import { ACTIONS, coreOf, executorName, type ExecutorActionName, type OptionsOf } from './actions';
import { checkNxOptions } from './door-options';
import { reportFailure } from './errors';
import type { CommandNames } from './options';

/**
 * The Nx executor of an action (executors/migrate-<action>/executor.ts is this one call): its
 * options are checked against the action table before anything runs, paths resolve from the
 * project root (where alembic.ini is by default), hints name this project's own targets, and
 * a failure is printed once and becomes `{ success: false }` (Nx then exits 1 whatever the kind).
 */
export function nxExecutor<A extends ExecutorActionName>(action: A) {
  return async function runExecutor(options: OptionsOf<A>, context: ExecutorContext): Promise<{ success: boolean }> {
    const project = context.projectName;
    const projectRoot = project ? (context.projectsConfigurations?.projects[project]?.root ?? '.') : '.';
    const target = context.targetName ?? executorName(action);
    try {
      const checked = checkNxOptions(action, options, { target, help: `nx run ${project ?? '<project>'}:${target} --help` });
      await coreOf(action)({
        ...checked,
        config: (checked.config as string | undefined) ?? 'alembic.ini',
        root: join(context.root, projectRoot),
        commands: nxCommands(context),
      });
      return { success: true };
    } catch (error) {
      reportFailure(error, options.verbose === true);
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
  for (const [action, spec] of Object.entries(ACTIONS)) {
    if (!spec.executor) continue;
    const executor = executorName(action);
    const target = Object.entries(targets).find(([, config]) => config.executor === `fastkit:${executor}`)?.[0] ?? executor;
    commands[action as keyof CommandNames] = `nx run ${project}:${target}${'usage' in spec ? ` ${spec.usage}` : ''}`;
  }
  return commands;
}
