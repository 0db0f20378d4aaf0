/**
 * What the generators read of an Alembic project in the Nx Tree: where its env.py is, and
 * which models its modules/ folder holds.
 */
import { joinPathFragments, type Tree } from '@nx/devkit';
import { ALEMBIC_INI, alembicSettings, projectRelativeFolder, PYPROJECT } from './alembic-settings';
import { modelClassesIn } from './declarative-base';
import type { ModelImport } from './model-imports';

/**
 * Where the env.py of the project in `root` is (whether or not it exists): in the folder
 * alembic.ini (else pyproject.toml's [tool.alembic]) names as script_location, else alembic/.
 */
export function envPyPath(tree: Tree, root: string): string {
  return joinPathFragments(root, scriptFolder(tree, root) ?? 'alembic', 'env.py');
}

/**
 * script_location relative to the project folder, where it is a plain folder (`..` included).
 * Alembic reads it from alembic.ini, else from pyproject.toml's [tool.alembic].
 */
function scriptFolder(tree: Tree, root: string): string | undefined {
  const location = [ALEMBIC_INI, PYPROJECT]
    .map((file) => {
      const text = tree.read(joinPathFragments(root, file), 'utf-8');
      return text ? alembicSettings(text, file).script_location : undefined;
    })
    .find(Boolean);
  return location ? projectRelativeFolder(location) : undefined;
}

/**
 * The imports of every model the project has: each `modules/<name>/models.py` with the classes
 * in it that subclass the Base (a file without any is imported as a whole, which registers its
 * tables all the same).
 */
export function projectModelImports(tree: Tree, projectRoot: string, baseName: string): ModelImport[] {
  const modules = joinPathFragments(projectRoot, 'modules');
  if (!tree.exists(modules) || tree.isFile(modules)) return [];
  return tree
    .children(modules)
    .filter((name) => /^[A-Za-z_]\w*$/.test(name) && tree.isFile(joinPathFragments(modules, name, 'models.py')))
    .sort()
    .map((name) => ({
      module: `modules.${name}.models`,
      names: modelClassesIn(tree.read(joinPathFragments(modules, name, 'models.py'), 'utf-8') ?? '', baseName),
    }));
}
