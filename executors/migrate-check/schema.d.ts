// Generated from src/actions.ts by scripts/write-nx-schemas.mjs (npm run build); do not edit.

import type { CommonExecutorOptions } from '../common-options';

export interface MigrateCheckExecutorOptions extends CommonExecutorOptions {
  /** Print only {"ok", "revisions", "heads", "errors", "warnings"} as JSON. @default false */
  json?: boolean;
}
