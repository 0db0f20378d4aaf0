import { joinPathFragments, type Tree } from '@nx/devkit';
import { modelClassesIn } from '../../../src/declarative-base';
import type { ModelImport } from '../../../src/model-imports';

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
