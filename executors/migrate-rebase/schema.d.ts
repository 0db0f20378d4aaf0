// Generated from src/actions.ts by scripts/write-nx-schemas.mjs (npm run build); do not edit.

import type { CommonExecutorOptions } from '../common-options';

export interface MigrateRebaseExecutorOptions extends CommonExecutorOptions {
  /** The git branch this branch's revisions go after: the revisions added since the merge base with it are this branch's. Default: the repository's default branch (origin/HEAD, else main or master). */
  onto?: string;
  /** Write an Alembic merge revision of the heads instead (alembic merge heads). See https://alembic.sqlalchemy.org/en/latest/branches.html#merging-branches @default false */
  merge?: boolean;
}
