import type { NxMigrateOptions } from '../../src/nx-executor';

export interface MigrateMakeExecutorOptions extends NxMigrateOptions {
  /** The revision message: required, one line. */
  message?: string;
  /** Compare the models with the database. @default true */
  autogenerate?: boolean;
}
