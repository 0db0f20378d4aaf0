import { globAsync, joinPathFragments, type Tree } from '@nx/devkit';
import { ALEMBIC_INI, alembicConfigOf, PYPROJECT } from '../../../src/alembic-settings';
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
  const configs = await globAsync(tree, [`**/${ALEMBIC_INI}`, `**/${PYPROJECT}`]);
  const folders = new Set(configs.map((file) => (file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '.')));
  return [...folders]
    .filter((folder) => configuresAlembic(tree, folder))
    .sort()
    .map((root) => ({ root, envPy: envPyPath(tree, root) }))
    .filter((project) => tree.exists(project.envPy));
}

function configuresAlembic(tree: Tree, folder: string): boolean {
  try {
    return alembicConfigOf((file) => tree.read(joinPathFragments(folder, file), 'utf-8') ?? undefined) !== undefined;
  } catch {
    return false; // a broken [tool.alembic] header: fastkit/plugin reports it, Alembic refuses it
  }
}
