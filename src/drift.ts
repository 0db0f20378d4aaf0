import { callAlembic } from './alembic';
import type { ResultEvent } from './helper-protocol';
import type { Project } from './project';
import { shadowProgress } from './shadow-database';

export type DriftFacts = ResultEvent<'drift'>;
export type Drifted = DriftFacts['drift'][number];

/**
 * `status --drift`: the status facts, and how the live schema differs from the schema its
 * applied revision should have, which the migrations up to it make on a shadow database. The
 * live database is only read.
 */
export function readDrift(project: Project, json: boolean | undefined): Promise<DriftFacts> {
  return callAlembic<DriftFacts>(project, 'drift', { onShadow: shadowProgress(project), stdoutToStderr: json });
}
