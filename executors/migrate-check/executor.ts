import { check } from '../../src/check';
import { nxExecutor } from '../../src/nx-executor';
import type { MigrateCheckExecutorOptions } from './schema';

export default nxExecutor<MigrateCheckExecutorOptions>(check);
