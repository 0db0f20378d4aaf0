import type { Tree } from '@nx/devkit';
import { envPyPath } from '../../../src/alembic-tree';
import { UsageError } from '../../../src/errors';
import type { ProjectInfo } from '../../../src/nx-generator';

/**
 * The project's env.py: in the folder alembic.ini (or pyproject.toml's [tool.alembic]) names
 * as script_location, else in alembic/.
 */
export function findEnvPy(tree: Tree, project: ProjectInfo): string {
  const envPy = envPyPath(tree, project.root);
  if (!tree.exists(envPy)) {
    throw new UsageError(
      `${envPy} not found, so there is no env.py to register the model in`,
      `Set Alembic up first: nx g fastkit:alembic-setup --project ${project.name}`,
    );
  }
  return envPy;
}
