import type { NxMigrateOptions } from '../../src/nx-executor';

export interface MigrateRunExecutorOptions extends NxMigrateOptions {}
