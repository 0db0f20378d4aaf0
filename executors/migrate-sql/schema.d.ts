import type { NxMigrateOptions } from '../../src/nx-executor';

export interface MigrateSqlExecutorOptions extends NxMigrateOptions {
  /** The SQL file to write, relative to the project root. @default "dist/migrations/upgrade.sql" */
  output?: string;
  /** The SQLAlchemy dialect to render for, e.g. `postgresql`. @default the dialect of the URL env.py uses */
  dialect?: string;
  /** Render from this revision to head instead of from base. @default base */
  from?: string;
}
