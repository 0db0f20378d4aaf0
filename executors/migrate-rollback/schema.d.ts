// Generated from src/actions.ts by scripts/write-nx-schemas.mjs (npm run build); do not edit.

import type { CommonExecutorOptions } from '../common-options';

export type MigrateRollbackExecutorOptions = CommonExecutorOptions;
