// Generated from src/actions.ts by scripts/write-nx-schemas.mjs (npm run build); do not edit.

import type { CommonExecutorOptions } from '../common-options';

export interface MigrateSqlExecutorOptions extends CommonExecutorOptions {
  /** The SQL file to write, relative to the project root. @default "dist/migrations/upgrade.sql" */
  output?: string;
  /** The SQLAlchemy dialect to render for: postgresql, mysql, mariadb, sqlite, mssql, oracle (optionally with a driver, postgresql+psycopg). env.py gets DATABASE_URL=<dialect>:// without a host, so no server is needed. Default: the dialect of the URL env.py uses. See https://docs.sqlalchemy.org/en/20/dialects/ */
  dialect?: string;
  /** Render from this revision (already applied) to head instead of from base: alembic upgrade FROM:head --sql. */
  from?: string;
}
