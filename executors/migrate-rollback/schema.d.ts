// Generated from src/actions.ts by scripts/write-nx-schemas.mjs (npm run build); do not edit.

import type { CommonExecutorOptions } from '../common-options';

export interface MigrateRollbackExecutorOptions extends CommonExecutorOptions {
  /** Remove the rolled-back revision's checksum from <version_table>_checksums (alembic_version_checksums by default) (where run records them). @default false */
  checksums?: boolean;
}
