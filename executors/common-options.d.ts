// Generated from src/actions.ts by scripts/write-nx-schemas.mjs (npm run build); do not edit.

export interface CommonExecutorOptions {
  /** The Alembic config: alembic.ini, or a pyproject.toml with [tool.alembic]. Relative to the project root. See https://alembic.sqlalchemy.org/en/latest/tutorial.html#editing-the-ini-file @default "alembic.ini" */
  config?: string;
  /** Folder Alembic runs in, relative to the project root. Defaults to the config's folder, since prepend_sys_path = . resolves from it. */
  cwd?: string;
  /** The command that runs Alembic, e.g. "uv run alembic" or ".venv/bin/alembic"; overrides detection (VIRTUAL_ENV, .venv, uv, poetry, python3). */
  alembic?: string;
  /** Extra environment for Alembic, e.g. { "DATABASE_URL": "postgresql+psycopg://app@db/app" }. */
  env?: Record<string, string>;
  /** Extra global Alembic arguments, e.g. ["-x", "tenant=acme"]. See https://alembic.sqlalchemy.org/en/latest/api/commands.html */
  args?: string[];
  /** The ini section to use, for several databases (alembic -n NAME). See https://alembic.sqlalchemy.org/en/latest/cookbook.html#run-multiple-alembic-environments-from-one-ini-file */
  name?: string;
  /** Show full Python tracebacks. @default false */
  verbose?: boolean;
}
