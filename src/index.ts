/** fastkit's core API: the migrate actions the CLI, the Nx executors and gulp share. */
export { make, rollback, run, status } from './migrate';
export { check } from './check';
export type { CheckFinding, CheckOptions, CheckReport } from './check';
export { sql } from './sql';
export type { SqlOptions, SqlResult } from './sql';
export type { MakeResult, RevisionInfo, RollbackResult, RunResult, StatusReport } from './migrate';
export type { CommandNames, MakeOptions, MigrateOptions, StatusOptions } from './options';
export { ExitCode, FastkitError, UsageError, describeError } from './errors';
export { findAlembic } from './find-alembic';
export { findConfig } from './find-config';
export { maskSecrets } from './mask';
