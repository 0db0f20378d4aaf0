import { helperEnvironment } from './alembic';
import { changedInput } from './env-py-record';
import type { Project } from './project';
import { recalledRevisionGraph, type GraphRevision, type RevisionGraph } from './revision-graph';
import { readVersionTable } from './version-table';

/** What `status` reports, answered without starting Python. */
export interface QuickStatus {
  current: string[];
  heads: string[];
  pending: Array<{ revision: string; message: string }>;
  upToDate: boolean;
}

/**
 * `status` without Python, when fastkit can prove the answer is Alembic's: the revision files
 * and config are exactly those Alembic last read (their graph is remembered), the history is one
 * straight line, nothing env.py read last time changed (environment variables, files, imports,
 * folders: src/env-py-record.ts), and the database it used then can be read exactly as it was
 * (the same SQLite file; the same PostgreSQL server, database, user and session), in the same
 * version table. Anything else returns undefined, and the caller asks Alembic: silently and
 * correctly.
 */
export async function quickStatus(project: Project): Promise<QuickStatus | undefined> {
  const answer = await tryQuickStatus(project);
  if (project.verbose) {
    project.output.err(typeof answer === 'string' ? `fast path: asking Alembic (${answer})` : 'fast path: answered without Python');
  }
  return typeof answer === 'string' ? undefined : answer;
}

/** The answer, or why fastkit cannot be certain of it. */
async function tryQuickStatus(project: Project): Promise<QuickStatus | string> {
  if (!project.fast) return 'fast path turned off';
  const graph = recalledRevisionGraph(project);
  if (!graph) return 'the revision files or the config changed since Alembic last read them';
  if (!graph.record || !graph.environment) return 'Alembic has not run env.py since the revision files changed';
  if (graph.heads.length > 1) return `${graph.heads.length} heads`;
  const chain = straightLine(graph);
  if (!chain) return 'the history branches, merges or has labels';
  const changed = changedInput(graph.record, graph.environment, helperEnvironment(project));
  if (changed) return changed;
  const current = await readVersionTable(graph.record, helperEnvironment(project));
  if (typeof current === 'string') return current;
  if (current.length > 1) return `the version table has ${current.length} rows`;
  const at = current.length === 0 ? 0 : chain.findIndex((revision) => revision.revision === current[0]) + 1;
  if (at === 0 && current.length === 1) return `the database is at ${current[0]}, which no revision file defines`;
  return {
    current,
    heads: graph.heads,
    pending: chain.slice(at).map(({ revision, message }) => ({ revision, message })),
    upToDate: at === chain.length,
  };
}

/** The revisions from base to head when the history has no branch, merge, label or dependency. */
function straightLine(graph: RevisionGraph): GraphRevision[] | undefined {
  const byId = new Map(graph.revisions.map((revision) => [revision.revision, revision]));
  const children = new Map<string, number>();
  for (const revision of graph.revisions) {
    if (revision.down.length > 1 || revision.branchLabels.length || revision.dependsOn.length) return undefined;
    for (const down of revision.down) children.set(down, (children.get(down) ?? 0) + 1);
  }
  if ([...children.values()].some((count) => count > 1)) return undefined;
  const chain: GraphRevision[] = [];
  for (let revision = byId.get(graph.heads[0]); revision; revision = byId.get(revision.down[0] ?? '')) {
    chain.unshift(revision);
    if (chain.length > graph.revisions.length) return undefined;
  }
  return chain.length === graph.revisions.length ? chain : undefined;
}
