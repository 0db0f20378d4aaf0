import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { AlembicServers } from './alembic-server';
import { FastkitError } from './errors';
import { findAlembic, type PythonCommand } from './find-alembic';
import { findConfig } from './find-config';
import { maskSecrets, secretsIn } from './mask';
import { CLI_COMMANDS, commandsInSection, type CommandNames, type MigrateOptions } from './options';
import { createOutput, displayPath, type Output } from './output';

/** Everything an action needs, resolved once from the options a door passed in. */
export interface Project {
  /** Absolute path of alembic.ini (or pyproject.toml). */
  config: string;
  /** Absolute folder Alembic runs in. */
  cwd: string;
  /** The child's whole environment. */
  env: Record<string, string | undefined>;
  name?: string;
  args: string[];
  python: PythonCommand;
  output: Output;
  commands: CommandNames;
  verbose: boolean;
  /** May answer without Python when certain (see src/fast-path.ts). */
  fast: boolean;
  /** Where Python requests go in a batched Nx run: servers that import Alembic once; else a process per request. */
  alembicServers?: AlembicServers;
}

export function resolveProject(options: MigrateOptions): Project {
  const root = resolve(options.root ?? process.cwd());
  const env = { ...(options.environment ?? process.env), ...options.env };
  const output = createOutput(secretsIn(env), options.streams);
  const givenCwd = options.cwd ? resolve(root, options.cwd) : undefined;
  if (givenCwd && !existsSync(givenCwd)) {
    throw new FastkitError(`The folder to run Alembic in does not exist: ${displayPath(givenCwd)}`, {
      code: 'missing-cwd',
      hint: "Check the cwd option (--cwd), or leave it out to run in the config's folder.",
    });
  }
  const config = options.config ? findConfig(root, options.config) : findConfig(givenCwd ?? root);
  const cwd = givenCwd ?? dirname(config);
  return {
    config,
    cwd,
    env,
    name: options.name,
    args: options.args ?? [],
    python: findAlembic({ alembic: options.alembic, from: dirname(config), env }),
    output,
    commands: commandsInSection({ ...CLI_COMMANDS, ...options.commands }, options.name),
    verbose: options.verbose ?? false,
    fast: (options.fast ?? true) && !turnedOn(env.FASTKIT_NO_FAST),
    alembicServers: options.alembicServers,
  };
}

/** An on/off environment variable: unset, empty, `0`, `false`, `no` and `off` (any case) leave it off. */
function turnedOn(value: string | undefined): boolean {
  return value !== undefined && !['', '0', 'false', 'no', 'off'].includes(value.trim().toLowerCase());
}

/**
 * Resolves the project and runs an action in it. Whatever it throws leaves with its
 * passwords masked, so every door can print or reject with the message as it is.
 */
export async function withProject<T>(options: MigrateOptions, action: (project: Project) => Promise<T>): Promise<T> {
  try {
    return await action(resolveProject(options));
  } catch (error) {
    throw masked(error, secretsIn({ ...(options.environment ?? process.env), ...options.env }));
  }
}

function masked(error: unknown, secrets: string[]): unknown {
  if (!(error instanceof FastkitError)) {
    if (error instanceof Error) error.message = maskSecrets(error.message, secrets);
    return error;
  }
  const mask = (text: string | undefined) => (text === undefined ? undefined : maskSecrets(text, secrets));
  const copy = new FastkitError(mask(error.message) as string, {
    hint: mask(error.hint),
    code: error.code,
    detail: mask(error.detail),
  });
  copy.name = error.name;
  return Object.setPrototypeOf(copy, Object.getPrototypeOf(error)); // a UsageError stays one
}
