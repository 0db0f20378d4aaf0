import type { NxMigrateOptions } from '../../src/nx-executor';

export interface MigrateRollbackExecutorOptions extends NxMigrateOptions {}
