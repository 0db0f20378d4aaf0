/**
 * A temporary workspace on disk and the context Nx would hand createDependencies for it: every
 * file not under .venv, .nx, node_modules or .git, owned by the project with the deepest root
 * above it (as Nx assigns files), with a content hash.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DependenciesContext } from '../../src/project-dependencies';
import { tempDir } from './workspace';

const IGNORED = new Set(['.venv', '.nx', 'node_modules', '.git']);

/** Writes `files` (workspace path → content) into a new temporary folder. */
export function writeWorkspace(files: Record<string, string>, root = tempDir('fastkit-imports-')): string {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

/** The context for `projects` (name → root), with `plugins` as nx.json's. */
export function dependenciesContext(
  root: string,
  projects: Record<string, string>,
  plugins: DependenciesContext['nxJsonConfiguration'] = {},
): DependenciesContext {
  const roots = Object.entries(projects).sort(([, a], [, b]) => b.length - a.length);
  const projectFileMap: DependenciesContext['fileMap']['projectFileMap'] = Object.fromEntries(Object.keys(projects).map((name) => [name, []]));
  const nonProjectFiles: DependenciesContext['fileMap']['nonProjectFiles'] = [];
  for (const file of filesUnder(root, '')) {
    const data = { file, hash: createHash('sha1').update(readFileSync(join(root, file))).digest('hex') };
    const owner = roots.find(([, projectRoot]) => projectRoot === '.' || file.startsWith(`${projectRoot}/`));
    if (owner) projectFileMap[owner[0]].push(data);
    else nonProjectFiles.push(data);
  }
  return {
    workspaceRoot: root,
    projects: Object.fromEntries(Object.entries(projects).map(([name, projectRoot]) => [name, { name, root: projectRoot }])),
    nxJsonConfiguration: plugins,
    fileMap: { projectFileMap, nonProjectFiles },
  };
}

function filesUnder(root: string, folder: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(root, folder), { withFileTypes: true })) {
    if (IGNORED.has(entry.name)) continue;
    const path = folder ? `${folder}/${entry.name}` : entry.name;
    if (entry.isDirectory()) found.push(...filesUnder(root, path));
    else found.push(path);
  }
  return found;
}

/** A virtual environment's site-packages as pip, uv and poetry leave it: `pyvenv.cfg`, then `files` inside site-packages. */
export function writeVenv(root: string, files: Record<string, string>, venv = '.venv'): string {
  const site = join(root, venv, 'lib', 'python3.11', 'site-packages');
  mkdirSync(site, { recursive: true });
  writeFileSync(join(root, venv, 'pyvenv.cfg'), 'home = /usr/bin\ninclude-system-site-packages = false\n');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(site, path)), { recursive: true });
    writeFileSync(join(site, path), content);
  }
  return site;
}
