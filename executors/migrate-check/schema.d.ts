import type { NxMigrateOptions } from '../../src/nx-executor';

export interface MigrateCheckExecutorOptions extends NxMigrateOptions {
  /** Print only `{ ok, revisions, heads, errors, warnings }` as JSON. @default false */
  json?: boolean;
}
