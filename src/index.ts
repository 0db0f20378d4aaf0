/** fastkit's core API: the four migrate actions the CLI, the Nx executors and gulp share. */
export { make, rollback, run, status } from './migrate';
export type { MakeResult, RevisionInfo, RollbackResult, RunResult, StatusReport } from './migrate';
export type { CommandNames, MakeOptions, MigrateOptions, StatusOptions } from './options';
export { ExitCode, FastkitError, UsageError, describeError } from './errors';
export { findAlembic } from './find-alembic';
export { findConfig } from './find-config';
export { maskSecrets } from './mask';
