/**
 * Python's import system (PathFinder and the finders editable installs add), run over the
 * workspace's files as Nx lists them instead of over the disk: which file `import a.b` runs,
 * given a sys.path. Only the workspace's own modules are found; a name that site-packages
 * provides is external, and one found nowhere (the standard library) is nothing.
 */
import { posix } from 'node:path';

/** The files Nx tracks (every file not ignored), and what each folder holds. */
export class WorkspaceFiles {
  /** Folder → the names of the files and folders directly in it ('' is the root). */
  private readonly children = new Map<string, Set<string>>([['', new Set()]]);

  constructor(private readonly files: ReadonlySet<string>) {
    for (const file of files) {
      let path = file;
      for (let slash = path.lastIndexOf('/'); ; slash = path.lastIndexOf('/')) {
        const folder = slash === -1 ? '' : path.slice(0, slash);
        let names = this.children.get(folder);
        const known = names !== undefined;
        if (!names) this.children.set(folder, (names = new Set()));
        names.add(path.slice(slash + 1));
        if (known || slash === -1) break; // a folder seen before has its parents recorded already
        path = folder;
      }
    }
  }

  has(file: string): boolean {
    return this.files.has(file);
  }

  isFolder(folder: string): boolean {
    return this.children.has(folder);
  }

  /** The names of the files and folders directly in `folder`. */
  childrenOf(folder: string): ReadonlySet<string> {
    return this.children.get(folder) ?? EMPTY;
  }

  private readonly modules = new Map<string, Set<string>>();
  private readonly signatures = new Map<string, string>();

  /** What `folder` holds (its file and folder names, sorted), to tell whether a lookup there would still give the same answer. */
  signature(folder: string): string {
    let signature = this.signatures.get(folder);
    if (signature === undefined) {
      const names = this.children.get(folder);
      signature = names ? [...names].sort().join('/') : '\0';
      this.signatures.set(folder, signature);
    }
    return signature;
  }

  /** The names `folder` could hold a module or package of (`x` for `x.py` and for a folder `x`). */
  moduleNamesIn(folder: string): ReadonlySet<string> {
    let names = this.modules.get(folder);
    if (!names) {
      names = new Set();
      for (const child of this.childrenOf(folder)) names.add(child.endsWith('.py') ? child.slice(0, -3) : child);
      this.modules.set(folder, names);
    }
    return names;
  }
}

const EMPTY: ReadonlySet<string> = new Set();

/** One entry of sys.path: a workspace folder ('' is the root), or site-packages itself. */
export type PathEntry = { folder: string } | { site: ReadonlySet<string> };

/** What importing a module runs and where its submodules are. */
export interface FoundModule {
  /** The workspace files Python runs, outermost package's `__init__.py` first. */
  files: string[];
  /** A package's folders (several for a namespace package); none for a plain module. */
  folders: string[];
}

/** `folder/name`, with '' as the workspace root. */
export function childPath(folder: string, name: string): string {
  return folder === '' ? name : `${folder}/${name}`;
}

/** A path relative to the workspace root, normalized ('' for the root), or undefined when it leaves the workspace. */
export function workspacePath(path: string): string | undefined {
  const normalized = posix.normalize(path).replace(/\/+$/, '');
  if (normalized === '..' || normalized.startsWith('../') || normalized.startsWith('/')) return undefined;
  return normalized === '.' ? '' : normalized;
}

/** What the entries of a sys.path tail hold under one top-level name. */
interface TailHit {
  /** The first regular package or module. */
  found?: FoundModule;
  /** site-packages came first with this name. */
  external?: true;
  /** Folders without `__init__.py` before any of those: namespace portions. */
  portions: string[];
}

/**
 * The part of sys.path from site-packages on (site-packages, `.pth` folders, installed local
 * packages, appends) and the finders of editable installs after it, indexed by top-level name
 * once, because every Alembic project of a workspace usually shares it.
 */
export class SysPathTail {
  private readonly names = new Map<string, TailHit>();
  /** Finds modules on the tail alone; shared by every project with this tail. */
  readonly finder: ModuleFinder;
  /** The folders whose contents the tail's answers depend on (its own lookups included). */
  readonly reads = new Set<string>();

  constructor(
    private readonly files: WorkspaceFiles,
    entries: readonly PathEntry[],
    /** Top-level names mapped by editable-install finders to a workspace folder or file. */
    private readonly finders: ReadonlyMap<string, string>,
  ) {
    this.finder = new ModuleFinder(files, [], this, this.reads);
    for (const entry of entries) {
      if ('site' in entry) {
        for (const name of entry.site) {
          const hit = this.hit(name);
          if (!hit.found) hit.external = true;
        }
        continue;
      }
      this.reads.add(entry.folder);
      for (const child of files.childrenOf(entry.folder)) {
        const name = child.endsWith('.py') ? child.slice(0, -3) : child;
        if (!IDENTIFIER.test(name)) continue;
        const hit = this.hit(name);
        if (hit.found || hit.external) continue;
        const found = inFolder(files, entry.folder, name, hit.portions, this.reads);
        if (found) hit.found = found;
      }
    }
  }

  private hit(name: string): TailHit {
    let hit = this.names.get(name);
    if (!hit) this.names.set(name, (hit = { portions: [] }));
    return hit;
  }

  /** Where `name` is found after the head of sys.path gave only `portions` (or nothing). */
  topLevel(name: string, portions: string[]): FoundModule | null {
    const hit = this.names.get(name);
    if (hit?.found) return hit.found;
    if (hit?.external) return null; // installed in site-packages: not the workspace's
    const all = hit ? [...portions, ...hit.portions] : portions;
    if (all.length > 0) return { files: [], folders: all };
    const mapped = this.finders.get(name);
    if (mapped === undefined) return null;
    this.reads.add(posix.dirname(mapped)).add(mapped);
    if (mapped.endsWith('.py')) {
      if (!this.files.has(mapped)) return null;
      return { files: [mapped], folders: posix.basename(mapped) === '__init__.py' ? [posix.dirname(mapped)] : [] };
    }
    const init = childPath(mapped, '__init__.py');
    if (this.files.has(init)) return { files: [init], folders: [mapped] };
    return this.files.isFolder(mapped) ? { files: [], folders: [mapped] } : null;
  }
}

const IDENTIFIER = /^[A-Za-z_][\w]*$/;

/**
 * Finds modules as Python would on one sys.path: the first entry with a regular package
 * (`a/__init__.py`) or module (`a.py`) wins; folders without `__init__.py` only make a namespace
 * package when no entry has either; the finders of editable installs come after every entry.
 */
export class ModuleFinder {
  private readonly found = new Map<string, FoundModule | null>();

  constructor(
    private readonly files: WorkspaceFiles,
    /** The folders before site-packages: env.py's inserts, prepend_sys_path, the config's folder. */
    private readonly head: readonly string[],
    private readonly tail: SysPathTail,
    /** Where to note each folder a lookup looks into. */
    private readonly reads: Set<string>,
  ) {
    for (const folder of head) reads.add(folder);
  }

  /** `import a.b.c`: the files of a, a.b and a.b.c; null when any of them is not a workspace module. */
  find(dotted: string): FoundModule | null {
    let result = this.found.get(dotted);
    if (result !== undefined) return result;
    const dot = dotted.lastIndexOf('.');
    const top = dot === -1 ? dotted : dotted.slice(0, dotted.indexOf('.'));
    if (this.head.length > 0 && !this.head.some((folder) => this.files.moduleNamesIn(folder).has(top))) {
      result = this.tail.finder.find(dotted); // nothing of that name before site-packages: the tail's answer
    } else if (dot === -1) result = this.topLevel(dotted);
    else {
      const parent = this.find(dotted.slice(0, dot));
      result = parent && this.submodule(parent, dotted.slice(dot + 1));
    }
    this.found.set(dotted, result);
    return result;
  }

  /** A module below a package already found (or below a folder, for a relative import). */
  submodule(parent: FoundModule, name: string): FoundModule | null {
    const portions: string[] = [];
    for (const folder of parent.folders) {
      const found = inFolder(this.files, folder, name, portions, this.reads);
      if (found) return { files: [...parent.files, ...found.files], folders: found.folders };
    }
    return portions.length > 0 ? { files: parent.files, folders: portions } : null;
  }

  private topLevel(name: string): FoundModule | null {
    const portions: string[] = [];
    for (const folder of this.head) {
      const found = inFolder(this.files, folder, name, portions, this.reads);
      if (found) return found;
    }
    return this.tail.topLevel(name, portions);
  }
}

/** FileFinder for one folder: a package, then a module; a bare folder is noted as a namespace portion. */
function inFolder(files: WorkspaceFiles, folder: string, name: string, portions: string[], reads: Set<string>): FoundModule | undefined {
  const path = childPath(folder, name);
  // what `folder` holds says whether `path` exists; only an existing folder has contents of its own to read
  reads.add(folder);
  if (files.isFolder(path)) reads.add(path);
  const init = `${path}/__init__.py`;
  if (files.has(init)) return { files: [init], folders: [path] };
  if (files.has(`${path}.py`)) return { files: [`${path}.py`], folders: [] };
  if (files.isFolder(path)) portions.push(path);
  return undefined;
}
