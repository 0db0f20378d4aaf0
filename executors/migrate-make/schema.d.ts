// Generated from src/actions.ts by scripts/write-nx-schemas.mjs (npm run build); do not edit.

import type { CommonExecutorOptions } from '../common-options';

export interface MigrateMakeExecutorOptions extends CommonExecutorOptions {
  /** The revision message, one line; it also names the file (YYYYMMDD_HHMMSS_slug.py). */
  message?: string;
  /** Compare the models with the database; false writes an empty revision to fill in by hand. @default true */
  autogenerate?: boolean;
  /** The version folder to write the revision into, one of version_locations (alembic revision --version-path), relative to the project root. Default: where Alembic would write it (beside the head it revises; with several folders and no revision yet, the first). See https://alembic.sqlalchemy.org/en/latest/branches.html#creating-a-labeled-base-revision */
  versionPath?: string;
}
