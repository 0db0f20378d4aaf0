import { joinPathFragments, type Tree } from '@nx/devkit';
import { UsageError } from '../../../src/errors';
import { writeNewFiles, type Templates } from '../../../src/generated-files';
import type { ProjectInfo } from '../../../src/nx-generator';
import type { Model } from './plan-model';

/**
 * Writes the module's files (and database.py where the project needs a Base), all or nothing.
 * Running it again for the same module finds the same files and changes nothing; a module of
 * that name with other content is refused. Returns the files it created.
 */
export function writeModule(tree: Tree, project: ProjectInfo, model: Model, templates: Templates[], envPy: string): string[] {
  const modules = joinPathFragments(project.root, 'modules');
  const sameNameFile = joinPathFragments(modules, `${model.moduleName}.py`);
  if (tree.exists(sameNameFile)) {
    throw new UsageError(
      `Module "${model.moduleName}" already exists as ${sameNameFile}`,
      'Choose another name, or turn that file into modules/<name>/models.py yourself',
    );
  }
  const { clashes, changed } = writeNewFiles(tree, templates);
  const moduleFolder = joinPathFragments(modules, model.moduleName) + '/';
  const inModule = clashes.filter((file) => file.startsWith(moduleFolder));
  if (inModule.length) {
    throw new UsageError(
      `Module "${model.moduleName}" already exists with other content (${inModule.join(', ')})`,
      `Nothing was written. Choose another name, or register its model in ${envPy} by hand`,
    );
  }
  if (clashes.length) {
    throw new UsageError(
      `The project has no declarative Base, and ${clashes.join(', ')} already exists with other content`,
      'Nothing was written. Define a Base there (class Base(DeclarativeBase)), or move that file aside',
    );
  }
  const packageInit = joinPathFragments(modules, '__init__.py');
  if (tree.exists(packageInit)) return changed;
  tree.write(packageInit, '');
  return [...changed, packageInit];
}
