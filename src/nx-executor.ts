import type { ExecutorContext, Task, TaskGraph, TaskGraphExecutor } from '@nx/devkit';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { ACTIONS, coreOf, executorName, type ActionTable, type ExecutorActionName, type OptionsOf } from './actions';
import { AlembicServers } from './alembic-server';
import { checkNxOptions } from './door-options';
import { reportFailure } from './errors';
import type { CommandNames, MigrateOptions } from './options';
import type { OutputStreams } from './output';

/**
 * The Nx executor of an action (executors/migrate-<action>/executor.ts is this one call): its
 * options are checked against the action table before anything runs, paths resolve from the
 * project root (where alembic.ini is by default), hints name this project's own targets, and
 * a failure is printed once and becomes `{ success: false }` (Nx then exits 1 whatever the kind).
 */
export function nxExecutor<A extends ExecutorActionName>(action: A) {
  return async function runExecutor(options: OptionsOf<A>, context: ExecutorContext): Promise<{ success: boolean }> {
    return { success: await runTask(action, options, context) };
  };
}

/** What a batched task runs with instead of this process's own streams, environment and a Python process per request. */
type TaskSurroundings = Pick<MigrateOptions, 'streams' | 'environment' | 'alembicServers'>;

/** One task, as its executor runs it: true when it succeeded; a failure is printed on its stderr. */
async function runTask(action: ExecutorActionName, options: Record<string, unknown>, context: ExecutorContext, surroundings: TaskSurroundings = {}): Promise<boolean> {
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
      ...surroundings,
    });
    return true;
  } catch (error) {
    reportFailure(error, options.verbose === true, surroundings.streams?.stderr);
    return false;
  }
}

/** What Nx's batch runner takes from a batch implementation for each task as it completes. */
interface BatchTaskResult {
  task: string;
  result: { success: boolean; status: 'success' | 'failure' | 'skipped'; terminalOutput: string; startTime?: number; endTime?: number };
}

/**
 * The batch implementation of an action (executors.json's `batchImplementation`, through
 * src/nx-batch-executors.ts): `nx run-many` hands it every task of the run at once, and it
 * runs them in this one process, as many at a time as there are CPUs, with one Python server
 * per interpreter that imports Alembic once (src/alembic-server.ts). Each task is what its
 * executor would do alone: its own options, its project's environment (Nx's .env files for
 * it), its own output (the task's terminal output, not this process's) and its own result,
 * streamed to Nx as it completes. A failure stops nothing else; a task whose dependency in
 * the batch failed is skipped, as Nx skips it. Ctrl-C starts no more tasks, passes the signal
 * on to the running ones (each rolls back) and ends with them.
 */
export function nxBatchExecutor<A extends ExecutorActionName>(action: A): TaskGraphExecutor<OptionsOf<A>> {
  return async function runBatch(taskGraph, inputs, _overrides, context) {
    return runTasks(action, taskGraph, withNxVerbose(inputs), context);
  };
}

/**
 * `--verbose` on the nx command line: Nx hands it to an executor run alone as its `verbose`
 * option, but a batch gets the schema's default instead (Nx keeps the flag for itself and only
 * sets NX_VERBOSE_LOGGING), so each task gets it back here.
 */
function withNxVerbose(inputs: Record<string, object>): Record<string, object> {
  if (process.env.NX_VERBOSE_LOGGING !== 'true') return inputs;
  return Object.fromEntries(Object.entries(inputs).map(([id, options]) => [id, { ...options, verbose: true }]));
}

async function* runTasks(action: ExecutorActionName, taskGraph: TaskGraph, inputs: Record<string, object>, context: ExecutorContext): AsyncIterableIterator<BatchTaskResult> {
  const taskEnvironment = nxTaskEnvironment(context);
  const ids = Object.keys(taskGraph.tasks);
  if (ids.length === 1 && !(ACTIONS as ActionTable)[action].cache) {
    yield runAlone(action, taskGraph.tasks[ids[0]], inputs[ids[0]], context, taskEnvironment);
    return;
  }
  const servers = AlembicServers.available ? new AlembicServers() : undefined;
  const waiting = new Set(Object.keys(taskGraph.tasks));
  const succeeded = new Map<string, boolean>();
  const running = new Map<string, Promise<BatchTaskResult>>();
  const limit = Math.max(1, availableParallelism());
  let stopped = false;
  const stop = () => (stopped = true);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);

  const dependencies = (id: string) =>
    (taskGraph.dependencies[id] ?? [])
      .map((edge: string | { id: string }) => (typeof edge === 'string' ? edge : edge.id))
      .filter((dependency) => dependency in taskGraph.tasks);

  try {
    while (waiting.size > 0 || running.size > 0) {
      for (const id of [...waiting]) {
        const after = dependencies(id);
        const failed = stopped || after.some((dependency) => succeeded.get(dependency) === false);
        if (failed) {
          waiting.delete(id);
          succeeded.set(id, false);
          yield { task: id, result: { success: false, status: 'skipped', terminalOutput: '' } };
          continue;
        }
        if (running.size >= limit || !after.every((dependency) => succeeded.has(dependency))) continue;
        waiting.delete(id);
        const task = taskGraph.tasks[id];
        running.set(id, runBatchTask(action, task, inputs[id], context, { environment: taskEnvironment(task), alembicServers: servers }));
      }
      if (running.size === 0) {
        // what is left waits on itself (a cycle Nx would not hand over): nothing can run it
        for (const id of waiting) yield { task: id, result: { success: false, status: 'skipped', terminalOutput: '' } };
        waiting.clear();
        break;
      }
      const done = await Promise.race(running.values());
      running.delete(done.task);
      succeeded.set(done.task, done.result.success);
      yield done;
    }
  } finally {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(signal, stop);
    await Promise.allSettled(running.values());
    await servers?.close();
  }
}

/**
 * A batch of one (Nx 24 batches `nx run api:migrate-run` too): the task as its executor runs
 * it, a Python process of its own, its output live on this process's stdout and stderr, which
 * Nx passes on as they come, so a long migration shows its progress and errors stay on stderr.
 * Nothing is kept for Nx to print again. A cached action (check, sql) keeps its output
 * instead, for Nx to store and replay.
 */
async function runAlone(action: ExecutorActionName, task: Task, options: object, context: ExecutorContext, taskEnvironment: TaskEnvironment): Promise<BatchTaskResult> {
  const startTime = Date.now();
  const success = await runTask(action, options as Record<string, unknown>, taskContextOf(task, context), { environment: taskEnvironment(task) });
  return { task: task.id, result: { success, status: success ? 'success' : 'failure', terminalOutput: '', startTime, endTime: Date.now() } };
}

function taskContextOf(task: Task, context: ExecutorContext): ExecutorContext {
  return { ...context, projectName: task.target.project, targetName: task.target.target, configurationName: task.target.configuration ?? undefined };
}

/** One task of a batch, its output kept for it alone. */
async function runBatchTask(
  action: ExecutorActionName,
  task: Task,
  options: object,
  context: ExecutorContext,
  surroundings: Omit<TaskSurroundings, 'streams'>,
): Promise<BatchTaskResult> {
  const output: string[] = [];
  const terminal = { write: (chunk: string) => output.push(String(chunk)) };
  const streams: OutputStreams = { stdout: terminal, stderr: terminal };
  const startTime = Date.now();
  const success = await runTask(action, options as Record<string, unknown>, taskContextOf(task, context), { ...surroundings, streams });
  return { task: task.id, result: { success, status: success ? 'success' : 'failure', terminalOutput: output.join(''), startTime, endTime: Date.now() } };
}

type TaskEnvironment = (task: Task) => Record<string, string | undefined>;

/**
 * The environment Nx gives a task it runs alone: its project's .env files loaded over the
 * workspace's (Nx's own getTaskSpecificEnv, from the nx running this batch), and the
 * NX_TASK_TARGET_* variables. A batch's process has only the workspace's.
 */
function nxTaskEnvironment(context: ExecutorContext): TaskEnvironment {
  type NxTaskEnv = { getTaskSpecificEnv?(task: Task, graph: unknown): Record<string, string | undefined> };
  let nx: NxTaskEnv = {};
  try {
    nx = require(require.resolve('nx/src/tasks-runner/task-env', { paths: [context.root, __dirname] })) as NxTaskEnv;
  } catch {
    // an Nx without it: the batch's own environment, which has the workspace's .env files
  }
  return (task) => ({
    ...(nx.getTaskSpecificEnv ? nx.getTaskSpecificEnv(task, context.projectGraph) : process.env),
    NX_TASK_TARGET_PROJECT: task.target.project,
    NX_TASK_TARGET_TARGET: task.target.target,
    NX_TASK_TARGET_CONFIGURATION: task.target.configuration ?? undefined,
    NX_TASK_HASH: task.hash,
  });
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
