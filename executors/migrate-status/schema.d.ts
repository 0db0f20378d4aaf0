// Generated from src/actions.ts by scripts/write-nx-schemas.mjs (npm run build); do not edit.

import type { CommonExecutorOptions } from '../common-options';

export interface MigrateStatusExecutorOptions extends CommonExecutorOptions {
  /** Fail unless the database is at head (for CI gates). @default false */
  check?: boolean;
  /** Print only {"current", "heads", "pending", "upToDate"} as JSON (with checksums, also "changed" and "unrecorded"). @default false */
  json?: boolean;
  /** Report every Alembic environment of the ini (each section with a script_location, alembic -n NAME), one after the other; with check, fail unless all are at head. JSON: {"sections": {NAME: report}, "upToDate"}. @default false */
  allSections?: boolean;
  /** Also compare the database's schema with the schema its applied revision should have (replayed on a shadow database, see migrate-verify), and fail on a difference: a column or index added or removed by hand. Only reads the database. @default false */
  drift?: boolean;
  /** Answer without starting Python when fastkit can be certain (its own env.py, unchanged revision files, a straight history, SQLite or PostgreSQL); false always asks Alembic. FASTKIT_NO_FAST=1 does the same. @default true */
  fast?: boolean;
  /** Compare each applied revision's file with the checksum recorded in <version_table>_checksums (alembic_version_checksums by default) when it ran: warns when one changed, and check fails. @default false */
  checksums?: boolean;
}
