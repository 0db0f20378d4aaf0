/**
 * The dependencies @nxlv/python adds by itself when it is registered in nx.json: one `implicit`
 * edge per local dependency a project's pyproject.toml declares. Nx merges duplicate edges only
 * when their type is the same, so fastkit leaves these source→target pairs out instead of adding
 * them a second time as `static`. Follows @nxlv/python 21–23 (`getDependencies` of its uv and
 * poetry providers); its `inferDependencies` option (import scanning) is not followed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { table, type PyprojectFiles } from './installed-packages';
import { workspacePath } from './module-finder';
import { isTomlTable, readToml, type TomlTable, type TomlValue } from './toml-reader';

const NXLV_PYTHON = '@nxlv/python';

export interface NxlvContext {
  workspaceRoot: string;
  projects: Record<string, { root: string }>;
  nxJsonConfiguration?: { plugins?: Array<string | { plugin: string; options?: unknown }> };
}

/** `source\0target` for each edge @nxlv/python adds; empty when it is not registered. */
export function nxlvPythonEdges(context: NxlvContext, pyprojects: PyprojectFiles): Set<string> {
  const edges = new Set<string>();
  const entry = context.nxJsonConfiguration?.plugins?.find(
    (plugin) => (typeof plugin === 'string' ? plugin : plugin?.plugin) === NXLV_PYTHON,
  );
  if (entry === undefined) return edges;
  const options = (typeof entry === 'object' && isRecord(entry.options) ? entry.options : {}) as { packageManager?: string };
  const byRoot = new Map<string, string>();
  for (const [name, project] of Object.entries(context.projects)) byRoot.set(rootOf(project.root), name);

  const uvLockFile = join(context.workspaceRoot, 'uv.lock');
  const uv = options.packageManager ? options.packageManager === 'uv' : existsSync(uvLockFile);
  const lock = uv && existsSync(uvLockFile) ? lockedPackages(uvLockFile) : undefined;
  const rootSources = uv ? (table(pyprojects.of(''), 'tool', 'uv', 'sources') ?? {}) : {};

  for (const [name, project] of Object.entries(context.projects)) {
    const root = rootOf(project.root);
    const toml = pyprojects.of(root);
    if (!toml) continue;
    const targets = uv ? uvDependencies(name, root, toml, rootSources, lock, byRoot) : poetryDependencies(root, toml, byRoot);
    for (const target of targets) edges.add(`${name}\0${target}`);
  }
  return edges;
}

/** Poetry: `[tool.poetry(.group.*).dependencies] x = { path = "…" }` whose path is a project's root. */
function poetryDependencies(root: string, toml: TomlTable, byRoot: Map<string, string>): string[] {
  const groups = Object.values(table(toml, 'tool', 'poetry', 'group') ?? {});
  const tables = [table(toml, 'tool', 'poetry', 'dependencies'), ...groups.map((group) => (isTomlTable(group) ? table(group, 'dependencies') : undefined))];
  const found: string[] = [];
  for (const dependency of tables.flatMap((dependencies) => Object.values(dependencies ?? {}))) {
    const path = isTomlTable(dependency) ? dependency.path : undefined;
    const target = typeof path === 'string' ? byRoot.get(workspacePath(posix.join(root || '.', path)) ?? '\0') : undefined;
    if (target) found.push(target);
  }
  return found;
}

/**
 * uv: a dependency (main or a dependency group) with a uv source; with a uv.lock, a
 * `{ workspace = true }` source whose locked `editable` path is a project's root; without one,
 * a `{ path = "…" }` source.
 */
function uvDependencies(
  name: string,
  root: string,
  toml: TomlTable,
  rootSources: TomlTable,
  lock: Map<string, TomlTable> | undefined,
  byRoot: Map<string, string>,
): string[] {
  const sources = { ...rootSources, ...(table(toml, 'tool', 'uv', 'sources') ?? {}) };
  const packageName = typeof table(toml, 'project')?.name === 'string' ? (table(toml, 'project')!.name as string) : name;
  const groups: Array<[category: string, dependencies: TomlValue | undefined]> = [
    ['main', table(toml, 'project')?.dependencies],
    ...Object.entries(table(toml, 'dependency-groups') ?? {}),
  ];
  const found: string[] = [];
  for (const [category, dependencies] of groups) {
    for (const dependency of Array.isArray(dependencies) ? dependencies : []) {
      if (typeof dependency !== 'string') continue;
      const normalized = /^[a-zA-Z0-9-_]+/.exec(dependency)?.[0];
      const source = normalized ? sources[normalized] : undefined;
      if (!normalized || !isTomlTable(source)) continue;
      let targetRoot: string | undefined;
      if (lock) {
        if (!source.workspace) continue;
        const metadata = table(lock.get(packageName), 'metadata');
        const requirements = category === 'main' ? metadata?.['requires-dist'] : table(metadata, 'requires-dev')?.[category];
        const locked = (Array.isArray(requirements) ? requirements : []).find((item) => isTomlTable(item) && item.name === normalized);
        const editable = isTomlTable(locked) ? locked.editable : undefined;
        targetRoot = typeof editable === 'string' ? workspacePath(editable) : undefined;
      } else if (typeof source.path === 'string') {
        targetRoot = workspacePath(posix.join(root || '.', source.path));
      }
      const target = targetRoot === undefined ? undefined : byRoot.get(targetRoot);
      if (target) found.push(target);
    }
  }
  return found;
}

/** uv.lock's `[[package]]` tables by name. */
function lockedPackages(file: string): Map<string, TomlTable> {
  const packages = new Map<string, TomlTable>();
  try {
    const locked = readToml(readFileSync(file, 'utf8')).package;
    for (const item of Array.isArray(locked) ? locked : []) {
      if (isTomlTable(item) && typeof item.name === 'string') packages.set(item.name, item);
    }
  } catch {
    // an unreadable uv.lock makes @nxlv/python fail on its own; fastkit then adds its edges
  }
  return packages;
}

function rootOf(root: string): string {
  return workspacePath(root) ?? root;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
