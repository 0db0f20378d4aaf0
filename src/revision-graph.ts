import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheFolder } from './cache-folder';
import { environmentKey, type EnvironmentKey, type EnvPyRecord } from './env-py-record';
import type { Project } from './project';
import { writeFileAtomically } from './write-atomically';

/** One revision as Alembic itself read it. */
export interface GraphRevision {
  revision: string;
  down: string[];
  message: string;
  branchLabels: string[];
  dependsOn: string[];
}

/** Alembic's view of a project's revision history, with the files it came from. */
export interface RevisionGraph {
  envPy: string;
  revisions: GraphRevision[];
  heads: string[];
  /** The version locations Alembic lists (absolute folders). */
  locations: string[];
  /** Every revision file in them, with the sha256 of its content. */
  files: Record<string, string>;
  /** What env.py used and read (status, run and rollback report it). */
  record?: EnvPyRecord;
}

/** A remembered graph, with the environment its record is keyed on. */
export interface RememberedGraph extends RevisionGraph {
  environment?: EnvironmentKey;
}

interface Record_ extends RememberedGraph {
  /** sha256 of the Alembic config (and pyproject.toml beside it), which decides the locations. */
  config: string;
}

// Alembic's own rule for which files in a versions folder are revisions (script/base.py).
const REVISION_FILE = /^(?!\.#|__init__).*\.py$/;

/**
 * Keeps what Alembic said about a project's revisions (the helper reports it on every status,
 * run and rollback), so a later call can reuse it without starting Python, for as long as the
 * config and every revision file are byte for byte the same. `env` is the environment the
 * helper ran with: the record of what env.py read is keyed on its values.
 */
export function rememberRevisionGraph(project: Project, graph: RevisionGraph, env: Record<string, string | undefined>): void {
  const file = recordFile(project);
  const record: Record_ = { ...graph, environment: graph.record && environmentKey(graph.record, env), config: configHash(project) };
  try {
    writeFileAtomically(file, JSON.stringify(record), { folderMode: 0o700 });
  } catch {
    // a cache that cannot be written only means the next call asks Alembic again
  }
}

/** The remembered graph, if the files it came from are still exactly as they were. */
export function recalledRevisionGraph(project: Project): RememberedGraph | undefined {
  let record: Record_;
  try {
    record = JSON.parse(readFileSync(recordFile(project), 'utf8'));
  } catch {
    return undefined;
  }
  if (record.config !== configHash(project)) return undefined;
  const now: Record<string, string> = {};
  for (const location of record.locations) {
    if (!existsSync(location)) continue;
    for (const name of readdirSync(location, { withFileTypes: true })) {
      if (!name.isFile() || !REVISION_FILE.test(name.name)) continue;
      const path = join(location, name.name);
      now[path] = sha256(readFileSync(path));
    }
  }
  const before = Object.keys(record.files);
  if (before.length !== Object.keys(now).length || before.some((path) => now[path] !== record.files[path])) {
    return undefined;
  }
  return record;
}

/** Changes when what is kept changes, so a record of another layout is never read. */
const RECORD_LAYOUT = 2;

function recordFile(project: Project): string {
  const key = sha256(JSON.stringify([RECORD_LAYOUT, project.config, project.name ?? 'alembic', project.args, project.python.python, project.cwd]));
  return join(cacheFolder(project.env), 'revision-graphs', `${key.slice(0, 32)}.json`);
}

function configHash(project: Project): string {
  const hash = createHash('sha256').update(readFileSync(project.config));
  const pyproject = join(project.cwd, 'pyproject.toml');
  if (existsSync(pyproject)) hash.update(readFileSync(pyproject));
  return hash.digest('hex');
}

function sha256(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}
