import type { NxMigrateOptions } from '../../src/nx-executor';

export interface MigrateStatusExecutorOptions extends NxMigrateOptions {
  /** Fail unless the database is at head. @default false */
  check?: boolean;
  /** Print only `{ current, heads, pending, upToDate }` as JSON. @default false */
  json?: boolean;
}
