// Generated from src/actions.ts by scripts/write-nx-schemas.mjs (npm run build); do not edit.

import type { CommonExecutorOptions } from '../common-options';

export interface MigrateRunExecutorOptions extends CommonExecutorOptions {
  /** Answer without starting Python when fastkit can be certain (its own env.py, unchanged revision files, a straight history, SQLite or PostgreSQL); false always asks Alembic. FASTKIT_NO_FAST=1 does the same. @default true */
  fast?: boolean;
  /** Record the checksum of each revision file as it is applied, in the same transaction, in <version_table>_checksums (alembic_version_checksums by default) next to the version table, so status can tell when a file changed after it ran. Revisions applied before are recorded on the first such run. @default false */
  checksums?: boolean;
}
