// Generated from src/actions.ts by scripts/write-nx-schemas.mjs (npm run build); do not edit.

import type { CommonExecutorOptions } from '../common-options';

export interface MigrateVerifyExecutorOptions extends CommonExecutorOptions {
  /** A server fastkit may create and drop databases on, e.g. postgresql+psycopg://postgres@localhost/postgres (the database it names is only connected to). Default: FASTKIT_SHADOW_URL; a SQLite project needs none. */
  shadowUrl?: string;
  /** Print only {"ok", "dialect", "revisions", "verified", "head", "modelsChecked", "findings"} as JSON. @default false */
  json?: boolean;
}
