import { rollback } from '../../src/migrate';
import { nxExecutor } from '../../src/nx-executor';
import type { MigrateRollbackExecutorOptions } from './schema';

export default nxExecutor<MigrateRollbackExecutorOptions>(rollback);
