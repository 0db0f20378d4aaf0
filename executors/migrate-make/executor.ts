import { make } from '../../src/migrate';
import { nxExecutor } from '../../src/nx-executor';
import type { MigrateMakeExecutorOptions } from './schema';

export default nxExecutor<MigrateMakeExecutorOptions>(make);
