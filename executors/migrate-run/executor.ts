import { run } from '../../src/migrate';
import { nxExecutor } from '../../src/nx-executor';
import type { MigrateRunExecutorOptions } from './schema';

export default nxExecutor<MigrateRunExecutorOptions>(run);
