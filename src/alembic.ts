import { ExitCode, FastkitError } from './errors';
import { displayPathsIn } from './output';
import { packageFile } from './package-root';
import { runProcess } from './process';
import { hugePageAllocation } from './python-allocator';
import type { Project } from './project';
import type { ErrorEvent, GraphEvent, HelperAction, ShadowEvent, StepEvent } from './helper-protocol';
import { rememberRevisionGraph } from './revision-graph';

/** The helper fastkit runs with the project's Python; it speaks Alembic's Python API. */
export const HELPER = packageFile('python', 'fastkit_alembic.py');

/** One migration Alembic is about to run (upgrade) or undo (downgrade): src/helper-protocol.ts. */
export type { StepEvent };

export interface CallOptions {
  /** Extra request fields for the action (message, autogenerate…). */
  request?: Record<string, unknown>;
  onStep?(step: StepEvent): void;
  /** A shadow database made, dropped or swept (verify, status --drift). */
  onShadow?(shadow: ShadowEvent): void;
  /** Send the child's stdout to stderr, e.g. when stdout must hold only JSON. */
  stdoutToStderr?: boolean;
}

/**
 * Runs one action through the Python helper and returns the facts it reports. Alembic's own
 * output is streamed (masked) as it comes; an error it reports is thrown as a FastkitError.
 */
export async function callAlembic<T>(project: Project, action: HelperAction, options: CallOptions = {}): Promise<T> {
  const { output } = project;
  let result: T | undefined;
  let failure: ErrorEvent | undefined;
  const request = {
    action,
    config: project.config,
    name: project.name,
    args: project.args,
    ...options.request,
  };

  // what env.py sees of fastkit's environment, by either door (a process of its own, or a server's fork)
  const env = helperEnvironment(project);
  const onEvent = (line: string) => {
    let event: { type: string } & Record<string, unknown>;
    try {
      event = JSON.parse(line);
    } catch {
      output.err(line);
      return;
    }
    if (event.type === 'step') options.onStep?.(event as unknown as StepEvent);
    else if (event.type === 'shadow') options.onShadow?.(event as unknown as ShadowEvent);
    else if (event.type === 'graph') rememberRevisionGraph(project, event as unknown as GraphEvent, env);
    else if (event.type === 'result') result = event as unknown as T;
    else if (event.type === 'error') failure = event as unknown as ErrorEvent;
  };

  const listeners = { onStdout: options.stdoutToStderr ? output.err : output.out, onStderr: output.err, onEvent };
  let exit;
  try {
    exit = project.alembicServers
      ? await project.alembicServers.run(project.python.python, request, { cwd: project.cwd, env, ...listeners })
      : await runProcess([...project.python.python, HELPER], {
          cwd: project.cwd,
          env: { ...env, ...hugePageAllocation(env), FASTKIT_REQUEST: JSON.stringify(request), FASTKIT_EVENTS_FD: '3' },
          ...listeners,
        });
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') throw alembicMissing(project, `${project.python.python[0]} was not found`);
    throw error;
  }

  if (exit.forwarded === 'SIGINT' || exit.exitCode === ExitCode.interrupted) {
    throw new FastkitError('Interrupted', { code: 'interrupted' });
  }
  if (exit.forwarded === 'SIGTERM' || exit.exitCode === ExitCode.terminated) {
    throw new FastkitError('Terminated', { code: 'terminated' });
  }
  if (failure) {
    if (failure.code === 'alembic-missing') throw alembicMissing(project, failure.message);
    throw new FastkitError(displayPathsIn(failure.message), {
      code: failure.code,
      hint: failure.hint
        ? displayPathsIn(fillCommands(failure.hint, project))
        : failure.code === 'unexpected' && !project.verbose
          ? 'Run it again with --verbose for the full traceback.'
          : undefined,
      detail: failure.traceback ?? undefined,
    });
  }
  if (exit.exitCode !== 0 || result === undefined) {
    throw new FastkitError(
      exit.signal ? `Alembic was stopped by ${exit.signal}` : `Alembic exited with code ${exit.exitCode} without a result`,
      { code: 'alembic-exit', hint: 'Run again with --verbose and read the output above.' },
    );
  }
  return result;
}

/**
 * The environment env.py runs with, the same by either door: the project's, unbuffered. The
 * one-shot helper also gets its request and event channel (FASTKIT_REQUEST, FASTKIT_EVENTS_FD),
 * which are fastkit's own and no input of env.py (src/env-py-record.ts leaves them out), and
 * the process, as the batch server does, its allocator (src/python-allocator.ts): how Python
 * takes memory, read as it starts, no input of env.py either, and not worked out by the fast path.
 */
export function helperEnvironment(project: Project): Record<string, string | undefined> {
  return { ...project.env, PYTHONUNBUFFERED: '1' };
}

function alembicMissing(project: Project, what: string): FastkitError {
  const tried = project.python.tried.length ? `; tried ${project.python.tried.join(', ')}` : '';
  return new FastkitError(`Alembic not found: ${what}${tried}`, {
    code: 'alembic-missing',
    hint: 'Install it in the project: python3 -m venv .venv && .venv/bin/pip install alembic sqlalchemy (or set the alembic option).',
  });
}

/** Hints name the command in the door the user came through: `{run}`, `{alembic}`… */
export function fillCommands(hint: string, project: Project): string {
  const names: Record<string, string> = { ...project.commands, alembic: project.python.alembic };
  return hint.replace(/\{(\w+)\}/g, (whole, key: string) => names[key] ?? whole);
}
