import { joinPathFragments, type Tree } from '@nx/devkit';
import type { ProjectInfo } from '../../../src/nx-generator';

/** alembic/versions/ holds the revisions; a .gitkeep keeps it in git while it is empty. Says whether it wrote one. */
export function keepVersionsFolder(tree: Tree, project: ProjectInfo): boolean {
  const versions = joinPathFragments(project.root, 'alembic', 'versions');
  if (tree.children(versions).length > 0) return false;
  tree.write(joinPathFragments(versions, '.gitkeep'), '');
  return true;
}
