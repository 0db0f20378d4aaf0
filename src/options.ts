import type { OutputStreams } from './output';

/** Options every action, door and target accepts (DESIGN §2, common options). */
export interface MigrateOptions {
  /**
   * The Alembic config: an `alembic.ini`, or a `pyproject.toml` with a `[tool.alembic]` section.
   * Relative to `root`.
   * @default the first alembic.ini (or such pyproject.toml) in `cwd` (else `root`) or a folder above it
   */
  config?: string;
  /**
   * Folder Alembic runs in. Relative to `root`.
   * @default the config's folder, since `prepend_sys_path = .` resolves from it
   */
  cwd?: string;
  /**
   * The command that runs Alembic, e.g. `uv run alembic` or `.venv/bin/alembic`; split on
   * white space, never given to a shell. Overrides detection.
   * @default found as described in the README (VIRTUAL_ENV, .venv, uv, poetry, python3)
   */
  alembic?: string;
  /** Extra environment for Alembic, e.g. `{ "DATABASE_URL": "postgresql://…" }`. */
  env?: Record<string, string>;
  /** Extra global Alembic arguments, e.g. `["-x", "tenant=acme"]`. */
  args?: string[];
  /**
   * The ini section to use, for several databases (`alembic -n NAME`).
   * @default "alembic"
   */
  name?: string;
  /** Show full Python tracebacks. @default false */
  verbose?: boolean;
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
}

/** What the user types to run each action; hints name the door's own commands. */
export interface CommandNames {
  make: string;
  run: string;
  rollback: string;
  status: string;
}

export const CLI_COMMANDS: CommandNames = {
  make: 'fastkit migrate make -m "message"',
  run: 'fastkit migrate run',
  rollback: 'fastkit migrate rollback',
  status: 'fastkit migrate status',
};

export interface MakeOptions extends MigrateOptions {
  /** The revision message: required, one line. */
  message?: string;
  /** Compare the models with the database (`--autogenerate`). @default true */
  autogenerate?: boolean;
}

export interface StatusOptions extends MigrateOptions {
  /** Fail (exit 3) unless the database is at head. @default false */
  check?: boolean;
  /** Print only `{ current, heads, pending, upToDate }` as JSON. @default false */
  json?: boolean;
}
