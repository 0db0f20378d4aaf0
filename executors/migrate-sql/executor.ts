import { nxExecutor } from '../../src/nx-executor';
import { sql } from '../../src/sql';
import type { MigrateSqlExecutorOptions } from './schema';

export default nxExecutor<MigrateSqlExecutorOptions>(sql);
