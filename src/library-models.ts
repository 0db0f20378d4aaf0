/**
 * The model modules of the libraries an Alembic project's env.py imports, as the sync-models
 * generator sees them. Autogenerate only compares the tables whose module was imported, so a
 * model module added to a shared library (`libs/db-models/src/db_models/invoices.py`) is invisible
 * to every service until something imports it: the library's package or env.py.
 *
 * A library's model module here is a `.py` file in the same package as a module that the
 * project's own files import from outside the project (`from db_models.customers import Customer`
 * makes every module of `db_models` a candidate, not those of its subpackages), that defines a
 * class on a declarative base env.py's imports define. One that nothing env.py runs imports yet
 * is missing; a block entry whose file is gone from a library package that is still there is gone.
 * Modules are found as createDependencies finds them (src/project-dependencies.ts): no Python.
 */
import { getProjects, globAsync, type Tree } from '@nx/devkit';
import { posix } from 'node:path';
import { declarativeBasesIn, modelClassesIn } from './declarative-base';
import { BLOCK_BEGIN, type ModelImport } from './model-imports';
import { workspacePath } from './module-finder';
import { envPyReaches, type DependenciesContext, type EnvPyReach } from './project-dependencies';

/** A model module of a library, to be imported in env.py's block. */
export interface LibraryModelImport extends ModelImport {
  /** Its file, as a Tree path. */
  file: string;
}

export interface LibraryModels {
  /** Model modules that nothing env.py runs imports yet. */
  missing: LibraryModelImport[];
  /** Whether a module of env.py's block is one whose file is gone from a library package that is still there. */
  gone(module: string): boolean;
}

/** The workspace as the import walk reads it: the Tree's files, each owned by the deepest project folder holding it. */
export class TreeWorkspace {
  private readonly reach: (project: string) => EnvPyReach | undefined;

  private constructor(
    private readonly tree: Tree,
    context: DependenciesContext,
    private readonly names: Map<string, string>,
  ) {
    this.reach = envPyReaches(context, (file) => this.tree.read(file, 'utf-8') ?? undefined);
  }

  /** `alembicRoots` are the Alembic projects' folders, projects whether or not a project.json names them (fastkit/plugin infers them). */
  static async read(tree: Tree, alembicRoots: string[]): Promise<TreeWorkspace> {
    const projects: DependenciesContext['projects'] = {};
    const names = new Map<string, string>();
    for (const [name, project] of getProjects(tree)) {
      const root = workspacePath(project.root) ?? project.root;
      projects[name] = { root };
      names.set(root, name);
    }
    for (const folder of alembicRoots) {
      const root = workspacePath(folder) ?? folder;
      if (names.has(root)) continue;
      const name = `alembic:${root}`;
      projects[name] = { root };
      names.set(root, name);
    }
    const projectFileMap: DependenciesContext['fileMap']['projectFileMap'] = Object.fromEntries([...names.values()].map((name) => [name, []]));
    const nonProjectFiles: DependenciesContext['fileMap']['nonProjectFiles'] = [];
    for (const file of await globAsync(tree, ['**/*'])) {
      let owner: string | undefined;
      for (let folder = file; owner === undefined && folder !== ''; ) {
        folder = folder.includes('/') ? folder.slice(0, folder.lastIndexOf('/')) : '';
        owner = names.get(folder); // the deepest project folder holding the file
      }
      (owner === undefined ? nonProjectFiles : projectFileMap[owner]).push({ file, hash: '' });
    }
    const context: DependenciesContext = { workspaceRoot: tree.root, projects, fileMap: { projectFileMap, nonProjectFiles } };
    return new TreeWorkspace(tree, context, names);
  }

  /**
   * What the sync generator must add to, and drop from, the block of the project in `root`;
   * `baseName` is the project's own declarative Base (the library's are found in its files).
   */
  libraryModels(root: string, envPySource: string, baseName: string): LibraryModels {
    const none: LibraryModels = { missing: [], gone: () => false };
    if (!envPySource.includes(BLOCK_BEGIN)) return none; // no block: env.py's imports are the user's
    const folder = workspacePath(root) ?? root;
    const name = this.names.get(folder);
    const reach = name === undefined ? undefined : this.reach(name);
    if (!reach) return none;
    const inProject = (file: string) => folder === '' || file.startsWith(`${folder}/`);
    return { missing: this.missing(reach, baseName, inProject), gone: (module) => this.gone(reach, module, inProject) };
  }

  private missing(reach: EnvPyReach, baseName: string, inProject: (file: string) => boolean): LibraryModelImport[] {
    if (reach.entered.size === 0) return [];
    const bases = new Set([baseName, ...[...reach.ran].filter((file) => !inProject(file)).flatMap((file) => this.basesIn(file))]);
    const found: LibraryModelImport[] = [];
    const seen = new Set<string>();
    for (const entered of reach.entered) {
      const packageName = packageOf(reach, entered);
      if (packageName === undefined) continue;
      const folder = posix.dirname(entered);
      for (const child of [...this.tree.children(folder)].sort()) {
        const file = `${folder}/${child}`;
        const stem = child.slice(0, -'.py'.length);
        if (!child.endsWith('.py') || stem === '__init__' || !/^[A-Za-z_]\w*$/.test(stem) || reach.ran.has(file) || seen.has(file)) continue;
        seen.add(file);
        const text = this.read(file);
        const names = [...bases].flatMap((base) => modelClassesIn(text, base));
        if (names.length === 0) continue;
        const module = packageName ? `${packageName}.${stem}` : stem;
        if (reach.find(module)?.at(-1) !== file) continue; // another module of that name comes first on sys.path
        found.push({ module, names: [...new Set(names)], file });
      }
    }
    return found;
  }

  /** A block entry `pkg.mod` where `pkg` is a regular package outside the project and `pkg.mod` is no module any more. */
  private gone(reach: EnvPyReach, module: string, inProject: (file: string) => boolean): boolean {
    const dot = module.lastIndexOf('.');
    if (dot === -1 || reach.find(module) !== null) return false;
    const parent = reach.find(module.slice(0, dot))?.at(-1);
    return parent !== undefined && parent.endsWith('/__init__.py') && !inProject(parent);
  }

  private read(file: string): string {
    return this.tree.read(file, 'utf-8') ?? '';
  }

  private readonly bases = new Map<string, string[]>();

  /** The declarative bases a file defines, read once per run (every service reads the same library files). */
  private basesIn(file: string): string[] {
    let names = this.bases.get(file);
    if (!names) this.bases.set(file, (names = declarativeBasesIn(this.read(file))));
    return names;
  }
}

/**
 * The dotted name of the package holding `file` ('' for a top-level module), as the walk's
 * sys.path finds it: the shortest dotted tail of its path that imports this very file.
 */
function packageOf(reach: EnvPyReach, file: string): string | undefined {
  const parts = file.slice(0, -'.py'.length).split('/');
  const isPackage = parts[parts.length - 1] === '__init__';
  if (isPackage) parts.pop();
  for (let take = 1; take <= parts.length; take++) {
    const tail = parts.slice(parts.length - take);
    if (!tail.every((part) => /^[A-Za-z_]\w*$/.test(part))) return undefined;
    if (reach.find(tail.join('.'))?.at(-1) === file) return (isPackage ? tail : tail.slice(0, -1)).join('.');
  }
  return undefined;
}
