import { globAsync, type Tree } from '@nx/devkit';
import { hasAlembicTable } from '../../../src/pyproject';
import { envPyPath } from '../../../src/alembic-tree';

/** A project with Alembic set up, as the sync generator sees it. */
export interface AlembicProject {
  /** Its folder, as a Tree path ('.' for the workspace root). */
  root: string;
  /** Its env.py, as a Tree path. */
  envPy: string;
}

/**
 * Every folder with an alembic.ini, or a pyproject.toml with [tool.alembic], and an env.py: the
 * same projects fastkit/plugin infers, found from the files (git-ignored ones left out), so the
 * generator needs no options and no project graph.
 */
export async function alembicProjects(tree: Tree): Promise<AlembicProject[]> {
  const configs = await globAsync(tree, ['**/alembic.ini', '**/pyproject.toml']);
  const roots = new Set<string>();
  for (const file of configs) {
    const folder = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '.';
    if (file.endsWith('pyproject.toml') && !configuresAlembic(tree, file)) continue;
    roots.add(folder);
  }
  return [...roots]
    .sort()
    .map((root) => ({ root, envPy: envPyPath(tree, root) }))
    .filter((project) => tree.exists(project.envPy));
}

function configuresAlembic(tree: Tree, pyproject: string): boolean {
  try {
    return hasAlembicTable(tree.read(pyproject, 'utf-8') ?? '');
  } catch {
    return false; // a broken [tool.alembic] header: fastkit/plugin reports it, Alembic refuses it
  }
}
