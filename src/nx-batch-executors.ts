/**
 * The batch implementations executors.json names, one export per executor of an action the
 * table batches (`"batchImplementation": "./dist/src/nx-batch-executors#migrate-run"`): Nx
 * requires this module and takes the export by that name. A new batched action is one flag in
 * src/actions.ts (`batch: true`), nothing here.
 */
import type { TaskGraphExecutor } from '@nx/devkit';
import { ACTIONS, executorName, type ActionTable, type ExecutorActionName } from './actions';
import { nxBatchExecutor } from './nx-executor';

const batchExecutors: Record<string, TaskGraphExecutor> = {};
for (const [action, spec] of Object.entries(ACTIONS as ActionTable)) {
  if (spec.executor && spec.batch) batchExecutors[executorName(action)] = nxBatchExecutor(action as ExecutorActionName);
}

export = batchExecutors;
