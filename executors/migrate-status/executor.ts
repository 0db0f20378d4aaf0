import { status } from '../../src/migrate';
import { nxExecutor } from '../../src/nx-executor';
import type { MigrateStatusExecutorOptions } from './schema';

export default nxExecutor<MigrateStatusExecutorOptions>(status);
