import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readFastkitEnvPy } from './fastkit-env-py';
import { sitePackages } from './find-alembic';
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
 * `status` without Python, when fastkit can be certain of the answer: the env.py is fastkit's
 * own (so the URL is DATABASE_URL or the embedded SQLite file, and the table alembic_version),
 * the revision files are exactly those Alembic last read (their graph is remembered), the
 * history is one straight line, and the version table can be read (SQLite file, PostgreSQL).
 * Anything else returns undefined, and the caller asks Alembic: silently and correctly.
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
  if (project.args.length > 0) return 'extra Alembic arguments';
  const graph = recalledRevisionGraph(project);
  if (!graph) return 'the revision files changed since Alembic last read them';
  if (graph.heads.length > 1) return `${graph.heads.length} heads`;
  const chain = straightLine(graph);
  if (!chain) return 'the history branches, merges or has labels';
  const database = databaseOf(project, graph.envPy);
  if (!database) return 'env.py is not exactly the one fastkit writes, or the URL needs Python to resolve';
  const current = await readVersionTable(database.url, project.cwd, database.versionTable);
  if (!current) return 'the version table cannot be read directly';
  if (current.length > 1) return 'the database is on several branches';
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

/** The URL and version table fastkit's env.py would use, if the env.py is fastkit's and the answer does not need Python. */
function databaseOf(project: Project, envPy: string): { url: string; versionTable: string } | undefined {
  let envPySource: string;
  try {
    envPySource = readFileSync(envPy, 'utf8');
  } catch {
    return undefined;
  }
  const ours = readFastkitEnvPy(envPySource);
  if (!ours) return undefined;
  const { versionTable } = ours;
  if (project.env.DATABASE_URL) return { url: project.env.DATABASE_URL, versionTable };
  // without DATABASE_URL, env.py asks fastkit_core's ConfigManager where it is installed
  const venv = venvOf(project.python.python);
  if (!venv || hasPackage(venv, 'fastkit_core')) return undefined;
  const projectDir = dirname(dirname(realpathSync(envPy)));
  return { url: `sqlite:///${join(projectDir, ours.databaseFile)}`, versionTable };
}

function venvOf(python: string[]): string | undefined {
  if (python.length !== 1) return undefined;
  const venv = dirname(dirname(python[0]));
  return existsSync(join(venv, 'pyvenv.cfg')) ? venv : undefined;
}

/** A package installed in any form: a folder, a module, dist-info, an editable install's .pth. */
function hasPackage(venv: string, name: string): boolean {
  const pattern = new RegExp(name.replace(/_/g, '[_-]'), 'i');
  return sitePackages(venv).some((root) => {
    try {
      return readdirSync(root).some((entry) => pattern.test(entry));
    } catch {
      return false;
    }
  });
}
