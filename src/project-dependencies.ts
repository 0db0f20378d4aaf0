/**
 * fastkit/plugin's `createDependencies`: the Nx projects an Alembic project's migrations import.
 * env.py's imports are followed, file by file, through the workspace's own modules as Python
 * would find them on the sys.path Alembic runs with: prepend_sys_path, the config's folder,
 * env.py's own `sys.path` edits, and the workspace packages installed into the venv (editable
 * installs, `.pth` files) or declared in pyproject.toml (uv workspace members, path
 * dependencies). Every import that crosses into another project is a `static` edge from the
 * project of the importing file, with that file as `sourceFile`. Files only: no Python process.
 *
 * So `nx affected` reaches the services whose models live in a library, `nx graph` shows them,
 * and the cached targets that run env.py hash the libraries' Python files (their `^` inputs:
 * src/dependency-inputs.ts).
 *
 * Nx keeps each file's edges between runs and recomputes them when that file changes, so an edge
 * is attributed to the file holding the import. What a file's imports resolve to is kept by Nx
 * until the file (or the project list, or nx.json's plugins) changes: a library installed into
 * the venv later is seen at once by a file that had no edge yet, by one that had some after
 * `nx reset`.
 */
import type { DependencyType, FileData, ProjectConfiguration } from '@nx/devkit';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, posix } from 'node:path';
import { alembicLocations, alembicSettings, isUncertain, type AlembicSettings } from './alembic-settings';
import {
  declaredPackageFolders,
  findVirtualEnv,
  PyprojectFiles,
  readVirtualEnv,
  WorkspaceLocator,
  type VirtualEnvPackages,
} from './installed-packages';
import { childPath, ModuleFinder, SysPathTail, WorkspaceFiles, workspacePath, type FoundModule, type PathEntry } from './module-finder';
import { nxlvPythonEdges } from './nxlv-python-edges';
import { hasAlembicTable } from './pyproject';
import { readModuleSteps, type ModuleStep, type PathValue } from './python-imports';
import { TargetsCache, workspaceDataDirectory } from './targets-cache';

function staticDependency(source: string, target: string, sourceFile: string): StaticDependency {
  return { source, target, sourceFile, type: 'static' as DependencyType.static };
}

/** The context Nx 22–24 pass to createDependencies (`CreateDependenciesContext`), as far as fastkit reads it. */
export interface DependenciesContext {
  readonly workspaceRoot: string;
  readonly projects: Record<string, ProjectConfiguration>;
  readonly nxJsonConfiguration?: { plugins?: Array<string | { plugin: string; options?: unknown }> };
  readonly fileMap: {
    projectFileMap: Record<string, FileData[]>;
    nonProjectFiles: FileData[];
  };
}

/** One edge, as Nx's `RawProjectGraphDependency` of type static. */
export interface StaticDependency {
  source: string;
  target: string;
  sourceFile: string;
  type: DependencyType.static;
}

export const createDependencies = async (_options: unknown, context: DependenciesContext): Promise<StaticDependency[]> =>
  projectDependencies(context);

/** The edges, synchronously (createDependencies is this, awaited). */
export function projectDependencies(context: DependenciesContext): StaticDependency[] {
  const graph = new ImportGraph(context);
  try {
    return graph.dependencies();
  } finally {
    graph.saveCache();
  }
}

interface AlembicProject {
  name: string;
  root: string;
  /** alembic.ini or pyproject.toml, in the project root. */
  configFile: string;
  /** Workspace folders prepend_sys_path puts first. */
  prepended: string[];
  /** env.py, when it is a workspace file. */
  envPy?: string;
}

/** A venv as the walk uses it: site-packages' own names, then the workspace folders and finders it installs. */
interface InstalledVenv {
  path: string;
  siteNames: ReadonlySet<string>;
  folders: string[];
  finders: ReadonlyMap<string, string>;
}

/**
 * sys.path during one walk: the folders before site-packages, then the tail: site-packages, the
 * venv's `.pth` folders, then `after` (declared local packages, env.py's appends).
 */
interface SysPath {
  head: string[];
  venv: InstalledVenv | undefined;
  after: string[];
  /** Names the tail, so projects with the same one share its index. */
  tailKey: string;
}

interface ConfigFacts {
  alembic: boolean;
  settings?: AlembicSettings;
  /** prepend_sys_path's entries, split as Alembic splits them. */
  prepended?: string[];
}

type CachedFacts = ModuleStep[] | ConfigFacts;

/**
 * One Alembic project's walk, kept between runs: what it read, as it was (its config's hash, each
 * file it ran with its hash and owner, each folder it looked into with what it held, the sys.path
 * tails it used), and the edges it found. It is reused while all of that is still so.
 */
interface ProjectWalk {
  config: string;
  files: Array<[path: string, hash: string, owner: string]>;
  folders: Array<[path: string, contents: string]>;
  tails: string[];
  edges: Array<[source: string, target: string, sourceFile: string]>;
}

/** A sys.path tail's reads, and their hash when it was last used. */
interface TailRecord {
  folders: string[];
  fingerprint: string;
}

const NO_FINDERS: ReadonlyMap<string, string> = new Map();

/** The whole result of the last run, reused as it is while nothing the walks could read has changed. */
interface WorkspaceRecord {
  key: string;
  edges: Array<[source: string, target: string, sourceFile: string]>;
}

/** The file map indexed for lookups: made only when some project has to be walked again. */
interface FileIndex {
  owners: Map<string, string>;
  hashes: Map<string, string>;
  files: WorkspaceFiles;
  pyprojects: PyprojectFiles;
}

class ImportGraph {
  private index?: FileIndex;
  private readonly locator: WorkspaceLocator;
  private readonly venvs = new Map<string, InstalledVenv>();
  private readonly tails = new Map<string, SysPathTail>();
  private readonly venvFolders = new Map<string, string | null>();
  private readonly cacheFolder: string;
  /** The last run's result: one small file, so reusing it reads nothing else. */
  private readonly result: TargetsCache<WorkspaceRecord>;
  private kept?: {
    /** Facts read from files, by content hash: a Python file's steps, a config's settings. */
    facts: TargetsCache<CachedFacts>;
    /** Each project's walk and each sys.path tail's reads. */
    walks: TargetsCache<ProjectWalk | TailRecord>;
  };
  private readonly unchangedTails = new Map<string, boolean>();
  private readonly edges = new Map<string, StaticDependency>();
  /** Whether this run computed anything worth keeping. */
  private computed = false;

  constructor(private readonly context: DependenciesContext) {
    this.locator = new WorkspaceLocator(context.workspaceRoot);
    this.cacheFolder = workspaceDataDirectory(context.workspaceRoot);
    this.result = new TargetsCache(join(this.cacheFolder, `fastkit-imports-${codeFingerprint()}.hash`));
  }

  private get facts(): TargetsCache<CachedFacts> {
    return this.caches().facts;
  }

  private get walks(): TargetsCache<ProjectWalk | TailRecord> {
    return this.caches().walks;
  }

  private caches(): NonNullable<ImportGraph['kept']> {
    this.kept ??= {
      facts: new TargetsCache(join(this.cacheFolder, `fastkit-python-files-${codeFingerprint()}.hash`)),
      walks: new TargetsCache(join(this.cacheFolder, `fastkit-import-walks-${codeFingerprint()}.hash`)),
    };
    return this.kept;
  }

  private indexed(): FileIndex {
    if (!this.index) {
      const owners = new Map<string, string>();
      const hashes = new Map<string, string>();
      const all = new Set<string>();
      for (const [project, files] of Object.entries(this.context.fileMap.projectFileMap)) {
        for (const file of files) {
          all.add(file.file);
          owners.set(file.file, project);
          hashes.set(file.file, file.hash);
        }
      }
      for (const file of this.context.fileMap.nonProjectFiles) {
        all.add(file.file);
        hashes.set(file.file, file.hash);
      }
      const files = new WorkspaceFiles(all);
      this.index = { owners, hashes, files, pyprojects: new PyprojectFiles(this.context.workspaceRoot, files, () => all) };
    }
    return this.index;
  }

  private get owners(): Map<string, string> {
    return this.indexed().owners;
  }

  private get hashes(): Map<string, string> {
    return this.indexed().hashes;
  }

  private get files(): WorkspaceFiles {
    return this.indexed().files;
  }

  private get pyprojects(): PyprojectFiles {
    return this.indexed().pyprojects;
  }

  dependencies(): StaticDependency[] {
    const key = this.workspaceKey();
    const kept = this.result.peek('workspace');
    if (kept?.key === key) return kept.edges.map(([source, target, sourceFile]) => staticDependency(source, target, sourceFile));
    this.computed = true;
    for (const [name, configuration] of Object.entries(this.context.projects)) {
      const project = this.alembicProject(name, configuration);
      if (!project?.envPy) continue;
      const walk = this.keptWalk(project) ?? this.walk(project);
      for (const [source, target, sourceFile] of walk.edges) this.addEdge(source, target, sourceFile);
    }
    for (const [tailKey, tail] of this.tails) {
      // with the folders kept walks looked into through this tail in earlier runs
      const keptTail = this.walks.peek(`tail:${tailKey}`) as TailRecord | undefined;
      const folders = [...new Set([...(keptTail?.folders ?? []), ...tail.reads])];
      this.walks.set(`tail:${tailKey}`, { folders, fingerprint: this.tailFingerprint(tailKey, folders) });
    }
    const nxlv = nxlvPythonEdges(this.context, this.pyprojects);
    const edges = [...this.edges.values()].filter((edge) => !nxlv.has(`${edge.source}\0${edge.target}`));
    this.result.set('workspace', { key, edges: edges.map((edge) => [edge.source, edge.target, edge.sourceFile]) });
    return edges;
  }

  /** Nothing to write when the last run's result was reused whole (and writing would drop the walks it did not touch). */
  saveCache(): void {
    if (!this.computed) return;
    this.result.save();
    this.facts.save();
    this.walks.save();
  }

  /**
   * A hash of everything any walk could read: the projects, every file Nx tracks with its hash,
   * nx.json's plugins, and the venv each Alembic-config folder would run in with what it installs.
   */
  private workspaceKey(): string {
    const hash = createHash('sha1');
    hash.update(`${this.context.workspaceRoot}\0${JSON.stringify(this.context.nxJsonConfiguration?.plugins ?? [])}\n`);
    const venvs = new Set<string>();
    const projectFiles = this.context.fileMap.projectFileMap;
    for (const [name, project] of Object.entries(this.context.projects)) {
      const files = projectFiles[name] ?? [];
      const root = workspacePath(project.root) ?? project.root;
      const config = [childPath(root, 'alembic.ini'), childPath(root, 'pyproject.toml')];
      const venv = files.some((file) => config.includes(file.file)) ? findVirtualEnv(this.context.workspaceRoot, root, this.venvFolders) : undefined;
      if (venv) venvs.add(venv);
      hash.update(`${name}\0${project.root}\0${venv ?? ''}\n${files.map((file) => `${file.file}\0${file.hash}`).join('\n')}\n`);
    }
    hash.update(this.context.fileMap.nonProjectFiles.map((file) => `${file.file}\0${file.hash}`).join('\n'));
    for (const venv of [...venvs].sort()) hash.update(`\n${venv}\n${this.venvFingerprint(venv)}`);
    return hash.digest('base64');
  }

  private venvFingerprint(path: string): string {
    const venv = this.venvAt(path);
    if (!venv) return '';
    return [[...venv.siteNames].sort().join('\0'), venv.folders.join('\0'), [...venv.finders].map(([module, mapped]) => `${module}=${mapped}`).join('\0')].join('\n');
  }

  /** The project's walk of the last run, when nothing it read has changed since. */
  private keptWalk(project: AlembicProject): ProjectWalk | undefined {
    const kept = this.walks.peek(`project:${project.name}:${project.root}`) as ProjectWalk | undefined;
    if (!kept || kept.config !== this.fileState(project.configFile)) return undefined;
    if (kept.tails[0] !== this.sysPathOf(project).tailKey) return undefined;
    for (const [path, hash, owner] of kept.files) if (this.hashes.get(path) !== hash || (this.owners.get(path) ?? '') !== owner) return undefined;
    for (const [path, contents] of kept.folders) if (this.files.signature(path) !== contents) return undefined;
    return kept.tails.every((tail) => this.tailUnchanged(tail)) ? kept : undefined;
  }

  /** Runs env.py's imports on the project's sys.path, and keeps what it read and found. */
  private walk(project: AlembicProject): ProjectWalk {
    const walk = new ImportWalk(this, project, this.sysPathOf(project));
    const envOwner = this.owners.get(project.envPy!);
    if (envOwner && envOwner !== project.name) walk.edges.push([project.name, envOwner, project.configFile]);
    walk.visit(project.envPy!, project.configFile);
    const found: ProjectWalk = {
      config: this.fileState(project.configFile),
      files: [...walk.visited].map((path) => [path, this.hashes.get(path) ?? '', this.owners.get(path) ?? '']),
      folders: [...walk.reads].map((path) => [path, this.files.signature(path)]),
      tails: walk.tails,
      edges: walk.edges,
    };
    this.walks.set(`project:${project.name}:${project.root}`, found);
    return found;
  }

  private fileState(file: string): string {
    return this.hashes.get(file) ?? '';
  }

  /** Whether a tail reads as it did when it was last used. */
  private tailUnchanged(key: string): boolean {
    let unchanged = this.unchangedTails.get(key);
    if (unchanged === undefined) {
      const kept = this.walks.peek(`tail:${key}`) as TailRecord | undefined;
      unchanged = kept !== undefined && this.tailFingerprint(key, kept.folders) === kept.fingerprint;
      this.unchangedTails.set(key, unchanged);
    }
    return unchanged;
  }

  /** A hash of a tail's venv (site-packages names, .pth folders, finders) and of the folders it read. */
  private tailFingerprint(key: string, folders: string[]): string {
    const venvPath = key.slice(0, key.indexOf('\n'));
    const hash = createHash('sha1').update(venvPath ? this.venvFingerprint(venvPath) : '');
    hash.update(folders.map((folder) => `${folder}\0${this.files.signature(folder)}`).join('\n'));
    return hash.digest('base64');
  }

  /** The sys.path a project's Alembic starts with. */
  private sysPathOf(project: AlembicProject): SysPath {
    const venv = this.venvOf(project.root);
    const declared = declaredPackageFolders(project.root, this.pyprojects, this.files);
    return {
      head: [...new Set([...project.prepended, project.root])],
      venv,
      after: declared,
      tailKey: `${venv?.path ?? ''}\n${declared.join('\n')}`,
    };
  }

  /** The project's Alembic config, where it has one: alembic.ini, else pyproject.toml with [tool.alembic]. */
  private alembicProject(name: string, configuration: ProjectConfiguration): AlembicProject | undefined {
    const root = workspacePath(configuration.root);
    if (root === undefined) return undefined;
    let configFile = childPath(root, 'alembic.ini');
    let settings = this.files.has(configFile) ? this.settingsOf(configFile) : undefined;
    if (!settings) {
      configFile = childPath(root, 'pyproject.toml');
      settings = this.files.has(configFile) ? this.settingsOf(configFile) : undefined;
    }
    if (!settings) return undefined;
    const scriptFolder = this.configPath(root, settings.script_location ?? 'alembic');
    const envPy = scriptFolder === undefined ? undefined : childPath(scriptFolder, 'env.py');
    const prepended = settings.prepended
      .map((entry) => this.configPath(root, entry))
      .filter((folder): folder is string => folder !== undefined);
    return { name, root, configFile, prepended, envPy: envPy && this.files.has(envPy) ? envPy : undefined };
  }

  /** What fastkit reads of an Alembic config (none for a pyproject.toml without [tool.alembic]), kept by content hash. */
  private settingsOf(configFile: string): (AlembicSettings & { prepended: string[] }) | undefined {
    const compute = (): CachedFacts => {
      const text = this.read(configFile);
      if (text === undefined) return { alembic: false };
      const kind = posix.basename(configFile);
      try {
        if (kind === 'pyproject.toml' && !hasAlembicTable(text)) return { alembic: false };
      } catch {
        return { alembic: false }; // a broken [tool.alembic] header: createNodes reports it
      }
      return { alembic: true, settings: alembicSettings(text, kind), prepended: prependSysPathEntries(text, kind) };
    };
    const hash = this.hashes.get(configFile);
    const facts = (hash ? this.facts.get(`config:${hash}`, compute) : compute()) as ConfigFacts;
    return facts.alembic && facts.settings ? { ...facts.settings, prepended: facts.prepended ?? [] } : undefined;
  }

  /**
   * A path from the config (`%(here)s/alembic`, `.`, `../shared`) as a workspace path: relative
   * ones from the folder Alembic runs in, the config's folder. Undefined for a package resource
   * (`myapp:migrations`), another interpolation, or a place outside the workspace.
   */
  private configPath(root: string, location: string): string | undefined {
    const path = location.replace(/%\(here\)s/g, '\0').replace(/\\/g, '/');
    if (path.includes('%(') || path.lastIndexOf('\0') > 0) return undefined;
    if (path.startsWith('\0')) return workspacePath(posix.join(root || '.', path.slice(1) || '.'));
    if (isAbsolute(path) || /^[A-Za-z]:\//.test(path)) return this.locator.locate(location);
    if (/^[A-Za-z_][\w.]*:/.test(path)) return undefined;
    return workspacePath(posix.join(root || '.', path));
  }

  /** The index of a sys.path tail, shared by every project whose tail is the same. */
  tailOf(sysPath: SysPath): SysPathTail {
    let tail = this.tails.get(sysPath.tailKey);
    if (!tail) {
      const { venv, after } = sysPath;
      const entries: PathEntry[] = venv ? [{ site: venv.siteNames }, ...venv.folders.map((folder) => ({ folder }))] : [];
      entries.push(...after.map((folder) => ({ folder })));
      tail = new SysPathTail(this.files, entries, venv?.finders ?? NO_FINDERS);
      this.tails.set(sysPath.tailKey, tail);
    }
    return tail;
  }

  owner(file: string): string | undefined {
    return this.owners.get(file);
  }

  private addEdge(source: string, target: string, sourceFile: string): void {
    const key = `${source}\0${target}\0${sourceFile}`;
    if (!this.edges.has(key)) this.edges.set(key, staticDependency(source, target, sourceFile));
  }

  workspaceFiles(): WorkspaceFiles {
    return this.files;
  }

  locate(absolute: string): string | undefined {
    return this.locator.locate(absolute);
  }

  /** A file's imports and sys.path edits, kept between runs by the content hash Nx gives it. */
  stepsOf(file: string): ModuleStep[] {
    const hash = this.hashes.get(file);
    const compute = () => {
      const text = this.read(file);
      return text === undefined ? [] : readModuleSteps(text);
    };
    return (hash ? this.facts.get(hash, compute) : compute()) as ModuleStep[];
  }

  /** The project's venv, its `.pth` folders and finders as workspace paths (read once per venv). */
  private venvOf(root: string): InstalledVenv | undefined {
    const path = findVirtualEnv(this.context.workspaceRoot, root, this.venvFolders);
    return path ? this.venvAt(path) : undefined;
  }

  private venvAt(path: string): InstalledVenv | undefined {
    let venv = this.venvs.get(path);
    if (venv === undefined && !existsSync(join(path, 'pyvenv.cfg'))) return undefined;
    if (!venv) {
      const packages: VirtualEnvPackages = readVirtualEnv(path);
      const finders = new Map<string, string>();
      for (const [module, mapped] of packages.finders) {
        const inWorkspace = this.locator.locate(mapped);
        if (inWorkspace !== undefined) finders.set(module, inWorkspace);
      }
      const folders = packages.pthFolders.map((folder) => this.locator.locate(folder)).filter((folder): folder is string => folder !== undefined);
      venv = { path, siteNames: packages.siteNames, folders, finders };
      this.venvs.set(path, venv);
    }
    return venv;
  }

  private read(file: string): string | undefined {
    try {
      return readFileSync(join(this.context.workspaceRoot, file), 'utf8');
    } catch {
      return undefined;
    }
  }
}

/** One Alembic run of env.py: its sys.path (which its edits change) and the files already run. */
class ImportWalk {
  private finder: ModuleFinder;
  readonly visited = new Set<string>();
  /** The folders its lookups looked into. */
  readonly reads = new Set<string>();
  /** The sys.path tails it used, the first one first. */
  readonly tails: string[] = [];
  readonly edges: ProjectWalk['edges'] = [];

  constructor(
    private readonly graph: ImportGraph,
    private readonly project: AlembicProject,
    private readonly sysPath: SysPath,
  ) {
    this.finder = this.newFinder();
  }

  private newFinder(): ModuleFinder {
    if (!this.tails.includes(this.sysPath.tailKey)) this.tails.push(this.sysPath.tailKey);
    return new ModuleFinder(this.graph.workspaceFiles(), this.sysPath.head, this.graph.tailOf(this.sysPath), this.reads);
  }

  /**
   * Runs one file's steps in order (Python runs a module once, depth first). `anchor` is the
   * file of the Alembic project through which this one was reached: the sourceFile of an edge
   * found in a file that belongs to no project.
   */
  visit(file: string, anchor: string): void {
    if (this.visited.has(file)) return;
    this.visited.add(file);
    const owner = this.graph.owner(file);
    const here = owner === this.project.name ? file : anchor;
    for (const step of this.graph.stepsOf(file)) {
      if (step.kind === 'sys.path') {
        this.editSysPath(file, step.position, step.paths);
        continue;
      }
      for (const found of this.importedFiles(file, step)) {
        const target = this.graph.owner(found);
        // an import back into the project itself adds nothing; into another project, an edge
        // from the project of the importing file (Nx wants sourceFile inside its source)
        if (target && target !== this.project.name && target !== (owner ?? this.project.name)) {
          this.edges.push(owner ? [owner, target, file] : [this.project.name, target, here]);
        }
        this.visit(found, here);
      }
    }
  }

  /** The workspace files an import statement runs, in order. */
  private importedFiles(file: string, step: Extract<ModuleStep, { kind: 'import' }>): string[] {
    let base: FoundModule | null = null;
    if (step.level === 0) {
      // `import a.b.c` runs a and a.b even where a.b.c is missing (then it raises ImportError)
      const parts = step.module.split('.');
      for (let depth = parts.length; depth > 0 && !base; depth--) {
        base = this.finder.find(parts.slice(0, depth).join('.'));
        if (base && depth < parts.length) return base.files;
      }
    } else {
      // the package of the importing file, then up one folder per extra dot
      const folder = workspacePath(posix.join(posix.dirname(file), ...Array(step.level - 1).fill('..')));
      base = folder === undefined ? null : { files: [], folders: [folder] };
      for (const part of step.module ? step.module.split('.') : []) base = base && this.finder.submodule(base, part);
    }
    if (!base) return [];
    const files = [...base.files];
    for (const name of step.names) {
      const submodule = this.finder.submodule(base, name); // `from pkg import models` runs pkg/models.py
      if (submodule) files.push(...submodule.files.slice(base.files.length));
    }
    return files;
  }

  private editSysPath(file: string, position: 'start' | 'end', paths: PathValue[]): void {
    const folders: string[] = [];
    for (const path of paths) {
      const folder = this.anchor(file, path);
      if (folder !== undefined) folders.push(folder);
    }
    if (folders.length === 0) return;
    if (position === 'start') this.sysPath.head.unshift(...folders);
    else {
      this.sysPath.after = [...this.sysPath.after, ...folders];
      this.sysPath.tailKey += `\n${folders.join('\n')}`;
    }
    this.finder = this.newFinder();
  }

  /** A path value of `file` as a workspace folder: relative ones from the folder Alembic runs in. */
  private anchor(file: string, path: PathValue): string | undefined {
    switch (path.base) {
      case 'file':
        return workspacePath(posix.join(file, path.path));
      case 'cwd':
      case 'relative':
        return workspacePath(posix.join(this.project.root || '.', path.path));
      case 'absolute':
        return this.graph.locate(path.path);
    }
  }
}

/**
 * prepend_sys_path as Alembic reads it (path_separator, interpolation: src/alembic-settings.ts),
 * each `%(here)s` left as the NUL mark configPath reads as the config's folder; none where
 * Alembic's reading is not certain or the config is one Alembic refuses.
 */
function prependSysPathEntries(text: string, configFile: string): string[] {
  const here = '\0';
  try {
    const config = configFile === 'pyproject.toml' ? { toml: { text, here } } : { ini: { text, here } };
    const entries = alembicLocations(config).prependSysPath;
    return isUncertain(entries) ? [] : entries;
  } catch {
    return [];
  }
}

let fingerprint: string | undefined;

/** The code that reads files and walks imports, hashed: a fastkit upgrade never reuses what an older version kept. */
function codeFingerprint(): string {
  if (fingerprint === undefined) {
    const code = [
      './project-dependencies',
      './python-imports',
      './python-source',
      './module-finder',
      './installed-packages',
      './toml-reader',
      './alembic-settings',
      './pyproject',
    ];
    fingerprint = createHash('sha256')
      .update(code.map((module) => readFileSync(require.resolve(module), 'utf8')).join('\0'))
      .digest('hex')
      .slice(0, 16);
  }
  return fingerprint;
}
