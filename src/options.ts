import type { ActionName, ActionOptions, CommonOptions } from './actions';
import { ACTIONS } from './actions';
import type { AlembicServers } from './alembic-server';
import type { OutputStreams } from './output';

/**
 * Options every action takes: the common options of the action table (src/actions.ts, where
 * each is described), and what a door adds.
 */
export interface MigrateOptions extends CommonOptions {
  /**
   * Let `status`, and `run` with nothing pending, answer without starting Python when fastkit
   * can be certain (README, "Fast path"). `false`, or FASTKIT_NO_FAST=1, always asks Alembic.
   * @default true
   */
  fast?: boolean;
  /** Folder that relative paths resolve from. @default process.cwd() */
  root?: string;
  /** How the user runs each action in the door they came through, for hints. */
  commands?: Partial<CommandNames>;
  /** Where output goes. @default process.stdout and process.stderr */
  streams?: OutputStreams;
  /**
   * The environment before `env` is added: a batched Nx task's own (its project's .env files
   * loaded, as Nx gives a task run alone). @default process.env
   */
  environment?: Record<string, string | undefined>;
  /** Python servers that import Alembic once, for a batched Nx run. @default a process per request */
  alembicServers?: AlembicServers;
}

/** What the user types to run each action; hints name the door's own commands (`{run}`). */
export type CommandNames = Record<ActionName, string>;

/** How each door spells an action: `fastkit migrate make -m "message"`, `gulp migrate:run`. */
export function commandNames(spell: (action: ActionName) => string): CommandNames {
  const names = {} as CommandNames;
  for (const action of Object.keys(ACTIONS) as ActionName[]) {
    const usage = (ACTIONS[action] as { usage?: string }).usage;
    names[action] = usage ? `${spell(action)} ${usage}` : spell(action);
  }
  return names;
}

export const CLI_COMMANDS: CommandNames = commandNames((action) => `fastkit migrate ${action}`);

/**
 * The door's commands for one ini section: each names it with `--name`, the option's spelling
 * in every door (the CLI's -n, a target option in Nx and gulp), so a hint's command acts on the
 * database the user was looking at. Alembic's default section needs no name.
 */
export function commandsInSection(commands: CommandNames, section: string | undefined): CommandNames {
  if (section === undefined || section === 'alembic') return commands;
  // a section name a shell would split (an ini allows spaces) is quoted as a shell quotes it
  const spelled = /^[\w.@%+=:,/-]+$/.test(section) ? section : `'${section.replace(/'/g, "'\\''")}'`;
  return Object.fromEntries(Object.entries(commands).map(([action, command]) => [action, `${command} --name ${spelled}`])) as CommandNames;
}

export interface MakeOptions extends MigrateOptions, ActionOptions<'make'> {}

export interface StatusOptions extends MigrateOptions, ActionOptions<'status'> {}

export interface RunOptions extends MigrateOptions, ActionOptions<'run'> {}

export interface RollbackOptions extends MigrateOptions, ActionOptions<'rollback'> {}
