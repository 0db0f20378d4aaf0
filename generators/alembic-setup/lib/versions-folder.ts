import { joinPathFragments, type Tree } from '@nx/devkit';
import type { ProjectInfo } from '../../../src/nx-generator';

/** alembic/versions/ holds the revisions; a .gitkeep keeps it in git while it is empty. */
export function keepVersionsFolder(tree: Tree, project: ProjectInfo): void {
  const versions = joinPathFragments(project.root, 'alembic', 'versions');
  if (tree.children(versions).length === 0) tree.write(joinPathFragments(versions, '.gitkeep'), '');
}
