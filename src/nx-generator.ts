import { createProjectGraphAsync, getProjects, workspaceRoot, type GeneratorCallback, type Tree } from '@nx/devkit';
import { FastkitError, UsageError, describeError } from './errors';

/**
 * Turns a fastkit generator into what Nx runs. A FastkitError becomes an Error carrying the
 * one line a person reads ("problem. fix"), which `nx g` prints, without a stack (it is a
 * mistake to fix, not a crash). Nx writes the tree only when the generator succeeds, so a
 * refused run writes nothing.
 */
export function nxGenerator<O, R = GeneratorCallback | void>(generator: (tree: Tree, options: O) => Promise<R>) {
  return async function runGenerator(tree: Tree, options: O): Promise<R> {
    try {
      return await generator(tree, options);
    } catch (error) {
      if (!(error instanceof FastkitError)) throw error;
      const refused = new Error(describeError(error), { cause: error });
      delete refused.stack;
      throw refused;
    }
  };
}

/** A project of the workspace as the generators need it. */
export interface ProjectInfo {
  name: string;
  /** Its folder, as a Tree path ('.' for a root project). */
  root: string;
}

/**
 * The project called `name`. Projects with a project.json or package.json are in the tree;
 * a project that another plugin infers is only in the project graph, which is asked when the
 * tree is the workspace on disk (as under `nx g`, not in a test tree).
 */
export async function projectInfo(tree: Tree, name: string | undefined): Promise<ProjectInfo> {
  if (!name?.trim()) {
    throw new UsageError('No project given', 'Pass --project <name>; `nx show projects` lists them');
  }
  const root = getProjects(tree).get(name)?.root ?? (await rootInProjectGraph(tree, name));
  if (root === undefined) {
    throw new UsageError(`No project named "${name}" in this workspace`, '`nx show projects` lists the names');
  }
  return { name, root: root || '.' };
}

async function rootInProjectGraph(tree: Tree, name: string): Promise<string | undefined> {
  if (tree.root !== workspaceRoot) return undefined;
  try {
    return (await createProjectGraphAsync({ exitOnError: false })).nodes[name]?.data.root;
  } catch {
    return undefined;
  }
}
