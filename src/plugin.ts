/**
 * `fastkit/plugin`: the Nx plugin that gives every project with an Alembic config the migrate
 * targets, with nothing written in project.json. Register it in nx.json (`nx add fastkit` does):
 *
 *   "plugins": [{ "plugin": "fastkit/plugin", "options": { "runTargetName": "migrate-run" } }]
 *
 * Nx calls it on every graph computation, so it reads files only: no process is started, and
 * only node built-ins and a few small modules of its own are loaded.
 *
 * The targets that touch a database (make, run, rollback, status) are never cached. The offline
 * ones (check, sql) are, with inputs that hold exactly what their result depends on and no
 * absolute path, so a cache shared between machines stays right; so is verify, which runs on a
 * shadow database of its own, with the shadow server's dialect and major version as an input.
 */
import type { NxJsonConfiguration, ProjectConfiguration, TargetConfiguration } from '@nx/devkit';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, join, posix, relative, resolve, sep } from 'node:path';
import { ACTIONS, describeAction, executorName, type ActionSpec, type ActionTable, type ExecutorActionName, type NxCache } from './actions';
import { ALEMBIC_INI, alembicConfigOf, alembicEnvironments, PYPROJECT, type AlembicConfigFile } from './alembic-settings';
import { dependencyPythonInputs } from './dependency-inputs';
import { ABOVE_PINS, alembicProjectFiles, followedByNx, offlineInputs, pythonPins, type OfflineInputs } from './offline-inputs';
import { PathLookup } from './path-lookup';
import { PyprojectSyntaxError } from './pyproject';
import { TargetsCache, workspaceDataDirectory } from './targets-cache';

/**
 * Options of `fastkit/plugin` in nx.json: what each inferred target is called, one option per
 * action with an executor (src/actions.ts): `makeTargetName` (default `migrate-make`),
 * `runTargetName`, `rollbackTargetName`, `statusTargetName`, `checkTargetName`, `sqlTargetName`, `verifyTargetName`…;
 * and `checksums`.
 */
export type FastkitPluginOptions = TargetNameOptions & {
  /** Gives every target whose action takes it (run, rollback, status) `checksums: true`: the database keeps what it ran. @default false */
  checksums?: boolean;
};

export type NormalizedPluginOptions = Required<FastkitPluginOptions>;

/** The context Nx 22, 23 and 24 pass to createNodes (`CreateNodesContext`, formerly `CreateNodesContextV2`). */
export interface PluginContext {
  readonly workspaceRoot: string;
  readonly nxJsonConfiguration: NxJsonConfiguration;
}

export interface AlembicProjectResult {
  projects?: Record<string, Omit<ProjectConfiguration, 'root'> & { root?: string }>;
}

export type CreateNodesResults = Array<readonly [configFile: string, result: AlembicProjectResult]>;

/**
 * The shape every supported Nx calls: a glob, and a function over all matching files at once.
 * Nx 22 reads it from `createNodesV2`, Nx 23 and 24 from `createNodes`; both are exported.
 */
export type AlembicCreateNodes = readonly [
  projectFilePattern: string,
  createNodesFunction: (
    configFiles: readonly string[],
    options: FastkitPluginOptions | undefined,
    context: PluginContext,
  ) => Promise<CreateNodesResults>,
];

/** The plugin options that name a target: `runTargetName`… */
type TargetNameOptions = { [A in ExecutorActionName as `${A}TargetName`]?: string };

/** One inferred target: the option that names it, the executor it runs, and what Nx shows about it. */
interface MigrateTarget {
  option: keyof TargetNameOptions;
  defaultName: string;
  executor: string;
  description: string;
  /**
   * Only for targets whose result depends on files alone: which of the offline inputs are its
   * own, and how Nx caches it. Without it, never cached.
   */
  cached?: {
    inputs: 'check' | 'sql';
    /** It runs env.py, so the Python files of the projects env.py imports count too (createDependencies). */
    dependencies?: true;
    /** It runs on a shadow database: the dialect and version it runs on (src/shadow-key.ts) stand in for DATABASE_URL. */
    shadowKey?: true;
  } & Pick<TargetConfiguration, 'outputs' | 'options'>;
  /** Sync generators Nx runs before the target (`nx sync` runs them too, `nx sync:check` verifies them). */
  syncGenerators?: string[];
  /** Its action takes the `checksums` option, which the plugin option of that name turns on. */
  checksums: boolean;
}

/** The targets every Alembic project gets: one per action of the table that has an executor. */
const MIGRATE_TARGETS: readonly MigrateTarget[] = Object.entries(ACTIONS as ActionTable)
  .filter(([, spec]) => spec.executor)
  .map(([action, spec]) => ({
    option: `${action}TargetName` as keyof TargetNameOptions,
    defaultName: executorName(action),
    executor: `fastkit:${executorName(action)}`,
    description: targetDescription(spec),
    cached: spec.cache && cachedOn(spec, spec.cache),
    syncGenerators: spec.syncGenerators && [...spec.syncGenerators],
    checksums: 'checksums' in spec.options,
  }));

/** What `nx show project` says of a target: what it does, and whether Nx caches it. */
function targetDescription(spec: ActionSpec): string {
  const caching = spec.cache
    ? {
        history: 'Cached on the config and revision files.',
        project: "Cached on the project's Python files.",
        shadow: "Cached on the project's Python files and the shadow database's dialect and version.",
      }[spec.cache.inputs]
    : 'Never cached.';
  return `${describeAction(spec)}. ${caching}`;
}

/** How Nx caches an offline action: which of the offline inputs are its own, and the outputs an option's default names. */
function cachedOn(spec: ActionSpec, cache: NxCache): MigrateTarget['cached'] {
  const defaults = Object.fromEntries(
    Object.entries(spec.options)
      .filter(([name, option]) => option.default !== undefined && cache.outputs?.some((output) => output.includes(`{options.${name}}`)))
      .map(([name, option]) => [name, option.default]),
  );
  return {
    inputs: cache.inputs === 'history' ? 'check' : 'sql',
    ...(cache.inputs !== 'history' ? { dependencies: true as const } : {}),
    ...(cache.inputs === 'shadow' ? { shadowKey: true as const } : {}),
    ...(cache.outputs ? { outputs: [...cache.outputs] } : {}),
    ...(Object.keys(defaults).length ? { options: defaults } : {}),
  };
}


/** Files that can make a folder an Alembic project; a pyproject.toml counts only with [tool.alembic]. */
export const ALEMBIC_CONFIG_GLOB = `**/{${ALEMBIC_INI},${PYPROJECT}}`;

export const createNodes: AlembicCreateNodes = [ALEMBIC_CONFIG_GLOB, createAlembicProjects];

/** The same function under the name Nx 22 looks for first. */
export const createNodesV2: AlembicCreateNodes = createNodes;

/**
 * Edges to the projects whose Python modules each Alembic project's env.py imports. Its modules
 * load when Nx first asks for dependencies, so computing targets stays as light as it was.
 */
export const createDependencies: typeof import('./project-dependencies').createDependencies = (options, context) =>
  (require('./project-dependencies') as typeof import('./project-dependencies')).createDependencies(options, context);

/** Fills in the default target names and refuses options nx.json should not hold. */
export function normalizeOptions(options: FastkitPluginOptions | undefined): NormalizedPluginOptions {
  if (options != null && (typeof options !== 'object' || Array.isArray(options))) {
    throw new Error(`fastkit/plugin: options in nx.json must be an object, got ${JSON.stringify(options)}.`);
  }
  const given = (options ?? {}) as Record<string, unknown>;
  const known = [...MIGRATE_TARGETS.map((target) => target.option as string), 'checksums'];
  for (const key of Object.keys(given)) {
    if (!known.includes(key)) {
      throw new Error(
        `fastkit/plugin: unknown option "${key}" in nx.json. Use one of ${known.join(', ')}.`,
      );
    }
  }
  const normalized = {} as NormalizedPluginOptions;
  const owners = new Map<string, string>();
  for (const target of MIGRATE_TARGETS) {
    const name = given[target.option] ?? target.defaultName;
    if (typeof name !== 'string' || !/^[^\s:]+$/.test(name)) {
      throw new Error(
        `fastkit/plugin: option ${target.option} must be a target name without spaces or colons, got ${JSON.stringify(name)}. Fix it in nx.json, or remove it to use "${target.defaultName}".`,
      );
    }
    const other = owners.get(name);
    if (other) {
      throw new Error(
        `fastkit/plugin: options ${other} and ${target.option} both name the target "${name}". Give each target its own name in nx.json.`,
      );
    }
    owners.set(name, target.option);
    normalized[target.option] = name;
  }
  if (given.checksums !== undefined && typeof given.checksums !== 'boolean') {
    throw new Error(`fastkit/plugin: option checksums must be true or false, got ${JSON.stringify(given.checksums)}. Fix it in nx.json.`);
  }
  normalized.checksums = given.checksums === true;
  return normalized;
}

/**
 * Turns the matching files into projects. A file that cannot be read is reported with what to
 * do, and every other project still gets its targets.
 */
async function createAlembicProjects(
  configFiles: readonly string[],
  options: FastkitPluginOptions | undefined,
  context: PluginContext,
): Promise<CreateNodesResults> {
  const normalized = normalizeOptions(options);
  const optionsKey = JSON.stringify(normalized);
  const cache = new TargetsCache<KeptProject | ProjectFacts>(
    join(workspaceDataDirectory(context.workspaceRoot), `fastkit-${hashOf(optionsKey)}.hash`),
  );
  const folderKeys = await nxFolderKeys(context.workspaceRoot, configFiles);
  const shadowKey = shadowKeyInput(context.workspaceRoot);
  const dependencyInputs = dependencyPythonInputs();
  const reader = new ProjectReader(context.workspaceRoot, new Set(configFiles), cache);
  const results: CreateNodesResults = [];
  const errors: Array<[file: string, error: Error]> = [];

  for (const file of configFiles) {
    try {
      const folderKey = folderKeys?.get(posix.dirname(file));
      // a fastkit upgrade never serves a project an older version read
      const key = folderKey === undefined ? undefined : `project:${pluginFingerprint().slice(0, 16)}:${file}\0${folderKey}`;
      const kept = key === undefined ? undefined : (cache.peek(key) as KeptProject | undefined);
      let project = kept && reader.fromKept(kept);
      if (!project) {
        project = reader.read(file);
        if (key !== undefined && isKeepable(project, file, context.workspaceRoot)) cache.set(key, project.kept);
      }
      if (!project.found) continue;
      const { root, name, place, config, inputs, environments } = project.found;
      const targets = migrateTargets(normalized, { config, place, inputs, environments, shadowKey, dependencyInputs });
      results.push([file, { projects: { [root]: { root, ...(name === undefined ? {} : { name }), targets, metadata: projectMetadata() } } }]);
    } catch (error) {
      errors.push([file, error instanceof Error ? error : new Error(String(error))]);
    }
  }
  cache.save();

  if (errors.length > 0) throw createNodesError(errors, results);
  return results;
}

/** A config's project as the plugin infers it: where it is, its name, config and offline inputs. */
interface FoundProject {
  root: string;
  /** Undefined when a project.json names the project (Nx reads it last). */
  name?: string;
  place: ProjectPlace;
  config: AlembicConfigFile['file'];
  /** The offline inputs as Nx can follow them (a target behind a symbolic link is not cached). */
  inputs: OfflineInputs;
  environments: string[];
}

/**
 * What is kept between runs for a config whose folder Nx hashed unchanged: nothing to infer
 * (`none`: a pyproject.toml without [tool.alembic]), or the project, its offline inputs by the
 * key of their kept facts, and those inputs that a symbolic link keeps out of Nx's cache.
 */
type KeptProject =
  | { none: true }
  | { root: string; name?: string; place: ProjectPlace; config: AlembicConfigFile['file']; facts: string; linked: Partial<Pick<OfflineInputs, 'check' | 'sql'>> };

/** A config read: the project it makes (if any), and how it is kept. */
interface ReadProject {
  found?: FoundProject;
  kept: KeptProject;
}

/**
 * Reads configs into projects, sharing across one run what many projects look at (folder
 * listings, the lock files above them, project.json files); the facts that take parsing are
 * kept between runs by the hash of what they are parsed from.
 */
class ProjectReader {
  private readonly pinsAbove = new Map<string, string[]>();
  private readonly paths = new PathLookup();
  private readonly projectJsons: ProjectJsonFiles;

  constructor(
    private readonly workspaceRoot: string,
    private readonly matched: ReadonlySet<string>,
    private readonly cache: TargetsCache<KeptProject | ProjectFacts>,
  ) {
    this.projectJsons = new ProjectJsonFiles(workspaceRoot, this.paths);
  }

  read(file: string): ReadProject {
    const config = readAlembicConfig(file, this.matched, this.workspaceRoot);
    if (!config) return { kept: { none: true } };
    this.paths.reachedWithoutLink(join(this.workspaceRoot, posix.dirname(file)), this.workspaceRoot);
    const place = projectPlace(file, this.projectJsons);
    const root = place.root;
    // a project.json names its project (Nx reads it last, and names one without a name itself)
    const name = this.projectJsons.has(root) ? undefined : projectName(root, this.workspaceRoot);
    const pins = pythonPins(this.workspaceRoot, root, this.pinsAbove, this.paths);
    const files = alembicProjectFiles(this.workspaceRoot, root, config, pins, place);
    const factsKey = `facts:${hashOf(pluginFingerprint(), file, JSON.stringify(files))}`;
    // only what takes parsing is kept between runs; the targets around it are plain data
    const facts = this.cache.get(factsKey, () => ({
      ...offlineInputs(files),
      environments: config.file === ALEMBIC_INI ? alembicEnvironments(config.text) : [],
    })) as ProjectFacts;
    const inputs = followedByNx(this.workspaceRoot, facts, this.paths);
    const linked = { ...(inputs.check !== facts.check ? { check: inputs.check } : {}), ...(inputs.sql !== facts.sql ? { sql: inputs.sql } : {}) };
    const project = { root, ...(name === undefined ? {} : { name }), place, config: config.file };
    return { found: { ...project, inputs, environments: facts.environments }, kept: { ...project, facts: factsKey, linked } };
  }

  /** The project kept for an unchanged folder; undefined when its facts are no longer kept. */
  fromKept(kept: KeptProject): ReadProject | undefined {
    if ('none' in kept) return { kept };
    const facts = this.cache.peek(kept.facts) as ProjectFacts | undefined;
    if (!facts) return undefined;
    this.paths.reachedWithoutLink(join(this.workspaceRoot, kept.root), this.workspaceRoot);
    const { facts: _, linked, ...project } = kept;
    return { kept, found: { ...project, inputs: { ...facts, ...linked }, environments: facts.environments } };
  }
}

/**
 * Whether a read project can be kept by its folder's hash alone: everything it was read from is
 * in that folder or is a file the hash takes from the folders above. A config that another
 * folder's project claims, or whose Alembic folders lie outside its own, is read every run.
 */
function isKeepable(project: ReadProject, file: string, workspaceRoot: string): boolean {
  const found = project.found;
  if (!found) return true;
  if (found.root !== posix.dirname(file) || found.place.configPath !== undefined || found.place.cwd !== undefined) return false;
  const folder = resolve(workspaceRoot, found.root);
  return [...found.inputs.folders.check, ...found.inputs.folders.sql].every(
    (path) => !path.split(/[\\/]/).includes('..') && (resolve(path) === folder || resolve(path).startsWith(folder + sep)),
  );
}

/** The files of the folders above a config that its project is read from: a project.json that may claim it, and the lock files that pin its Python. */
const ABOVE_FILES = ['project.json', ...ABOVE_PINS];

/**
 * For each config's folder, a key that changes whenever anything the plugin reads for it could:
 * Nx's own hash of every file in the folder and below it, and of the files of the folders above
 * it in {@link ABOVE_FILES}, from the file map Nx already holds (one native call for all
 * folders, no file read), plus the folder's modification time, which a file Nx does not track
 * (one git ignores) changes when it is made or removed. Undefined where this Nx does not offer
 * the hashes: every config is then read, as it always was.
 */
async function nxFolderKeys(workspaceRoot: string, configFiles: readonly string[]): Promise<Map<string, string> | undefined> {
  const nx = loadedWorkspaceContext(workspaceRoot);
  if (!nx) return undefined;
  const folders = [...new Set(configFiles.map((file) => posix.dirname(file)))];
  const above = [...new Set(folders.flatMap(foldersAbove))];
  const groups = [
    ...folders.map((folder) => [folder === '.' ? '**/*' : `${folder}/**/*`]),
    ...above.map((folder) => ABOVE_FILES.map((name) => (folder === '.' ? name : `${folder}/${name}`))),
  ];
  let hashes: unknown;
  try {
    hashes = await nx.hashMultiGlobWithWorkspaceContext(workspaceRoot, groups);
  } catch {
    return undefined;
  }
  if (!Array.isArray(hashes) || hashes.length !== groups.length) return undefined;
  const aboveHashes = new Map(above.map((folder, index) => [folder, String(hashes[folders.length + index])]));
  return new Map(
    folders.map((folder, index) => {
      const modified = statSync(join(workspaceRoot, folder), { throwIfNoEntry: false })?.mtimeMs ?? 'missing';
      return [folder, [String(hashes[index]), String(modified), ...foldersAbove(folder).map((up) => aboveHashes.get(up))].join(' ')];
    }),
  );
}

/** The folders above a workspace-relative folder, nearest first, up to the workspace root ('.'). */
function foldersAbove(folder: string): string[] {
  const found: string[] = [];
  for (let up = folder; up !== '.' && up !== '/' && up !== ''; ) {
    up = posix.dirname(up);
    found.push(up);
  }
  return found;
}

/**
 * Nx's workspace context, only when the process already loaded it for this Nx (the nx process,
 * or a plugin worker Nx started): loading it here would load half of Nx, and a copy of its own
 * would walk the whole workspace again.
 */
function loadedWorkspaceContext(workspaceRoot: string): NxWorkspaceContext | undefined {
  let path: string;
  try {
    path = require.resolve('nx/src/utils/workspace-context', { paths: [workspaceRoot] });
  } catch {
    return undefined;
  }
  const loaded = require.cache[path]?.exports as Partial<NxWorkspaceContext> | undefined;
  return typeof loaded?.hashMultiGlobWithWorkspaceContext === 'function' ? (loaded as NxWorkspaceContext) : undefined;
}

/** The one function of Nx's workspace context the plugin calls (nx/src/utils/workspace-context). */
interface NxWorkspaceContext {
  hashMultiGlobWithWorkspaceContext(workspaceRoot: string, globGroups: string[][]): Promise<unknown>;
}

type TargetsByName = Record<string, TargetConfiguration>;

/**
 * What Nx shows of every Alembic project: the technology, once for the project (its targets
 * each carry only their description; metadata Nx merges per target is much of the graph's cost
 * at a thousand projects, docs/performance.md). A new object each: Nx merges into it in place.
 */
function projectMetadata(): { technologies: string[] } {
  return { technologies: ['alembic'] };
}

/** What the plugin keeps between runs for a project: its offline inputs and its ini's Alembic environments. */
type ProjectFacts = OfflineInputs & { environments: string[] };

/** Where a config's project is, and how its targets reach the config when it is not in the project root. */
interface ProjectPlace {
  root: string;
  /** The config relative to the root, when it is not in it (`db/alembic.ini`). */
  configPath?: string;
  /** The folder Alembic runs in, relative to the root, as the project.json declares it. */
  cwd?: string;
}

/**
 * The project a config belongs to. Usually its own folder. A config in a folder without a
 * project.json belongs to the nearest project above when that project's project.json names it
 * as the `config` option of a target (`"options": { "config": "db/alembic.ini", "cwd": "." }`,
 * for a service run as `alembic -c db/alembic.ini` from its root): its targets then all get
 * that config and cwd.
 */
function projectPlace(file: string, projectJsons: ProjectJsonFiles): ProjectPlace {
  const folder = posix.dirname(file);
  if (projectJsons.has(folder)) return { root: folder };
  for (let above = folder; above !== '.'; ) {
    above = posix.dirname(above);
    if (!projectJsons.has(above)) continue;
    return claimedBy(projectJsons.read(above), above, file) ?? { root: folder };
  }
  return { root: folder };
}

/** The place a project.json in `root` gives `file`, when one of its targets names it as `config`. */
function claimedBy(json: unknown, root: string, file: string): ProjectPlace | undefined {
  const targets = isRecord(json) && isRecord(json.targets) ? Object.values(json.targets) : [];
  for (const target of targets) {
    const options = isRecord(target) && isRecord(target.options) ? target.options : undefined;
    const config = options?.config;
    if (typeof config !== 'string' || posix.normalize(posix.join(root, config)) !== file) continue;
    const cwd = typeof options?.cwd === 'string' ? options.cwd : undefined;
    return { root, configPath: posix.normalize(config), ...(cwd !== undefined ? { cwd } : {}) };
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The project.json files of the folders one run looks at, each looked up and read at most once.
 * Most are only looked up: a project's own project.json is Nx's to read.
 */
class ProjectJsonFiles {
  private readonly parsed = new Map<string, unknown>();

  constructor(
    private readonly workspaceRoot: string,
    private readonly paths: PathLookup,
  ) {}

  /** Whether the folder has a project.json, from its listing (a config's own folder is listed for its pins anyway). */
  has(folder: string): boolean {
    return this.paths.listing(join(this.workspaceRoot, folder))?.has('project.json') === true;
  }

  /** The parsed project.json of a folder that has one; undefined where it is not JSON (Nx reports that). */
  read(folder: string): unknown {
    if (!this.parsed.has(folder)) {
      let json: unknown;
      try {
        json = JSON.parse(readFileSync(join(this.workspaceRoot, folder, 'project.json'), 'utf8'));
      } catch {
        json = undefined;
      }
      this.parsed.set(folder, json);
    }
    return this.parsed.get(folder);
  }
}

/**
 * The Alembic config `file` stands for, or undefined when it makes no project: a
 * pyproject.toml without [tool.alembic], or one beside an alembic.ini (the ini is what
 * fastkit and Alembic read first, so that folder's project comes from the ini).
 */
function readAlembicConfig(file: string, matched: ReadonlySet<string>, workspaceRoot: string): AlembicConfigFile | undefined {
  const folder = posix.dirname(file);
  const read = (name: string) => {
    const path = posix.join(folder, name);
    return matched.has(path) ? readProjectFile(join(workspaceRoot, path)) : undefined;
  };
  let config: AlembicConfigFile | undefined;
  try {
    config = alembicConfigOf(read);
  } catch (error) {
    if (!(error instanceof PyprojectSyntaxError)) throw error;
    throw new Error(`${capitalized(error.message)}, so Alembic cannot read this file either. Fix that line.`);
  }
  return config?.file === posix.basename(file) ? config : undefined;
}

function readProjectFile(path: string): string {
  try {
    return readSmallFile(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(
      `Cannot read this file (${reason}). Make it a readable file, or keep fastkit/plugin away from it with "exclude" in its nx.json entry.`,
    );
  }
}

/** One buffer for every config the plugin reads: most are a few hundred bytes. */
const READ_BUFFER = Buffer.alloc(64 * 1024);

/**
 * A file as UTF-8 in three system calls (open, read, close) where readFileSync makes five: a
 * thousand configs are read on every graph computation. A file that fills the buffer is read whole.
 */
function readSmallFile(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const length = readSync(fd, READ_BUFFER, 0, READ_BUFFER.length, 0);
    // a regular file reads short only at its end
    return length < READ_BUFFER.length ? READ_BUFFER.toString('utf8', 0, length) : readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * The targets of one project, as Nx shows them: those that read or change a database are never
 * cached; the offline ones are, on inputs computed from the project's files.
 */
function migrateTargets(
  options: NormalizedPluginOptions,
  project: {
    config: AlembicConfigFile['file'];
    place: ProjectPlace;
    inputs: OfflineInputs;
    /** The ini sections that are Alembic environments: each but [alembic] is an Nx configuration. */
    environments: string[];
    /** The runtime input that stands for the shadow database (migrate-verify). */
    shadowKey: { runtime: string };
    /** The inputs that stand for the Python files of the projects env.py imports. */
    dependencyInputs: string[];
  },
): TargetsByName {
  const targets: TargetsByName = {};
  const configOption = project.place.configPath ?? (project.config === PYPROJECT ? PYPROJECT : undefined);
  const placeOptions = {
    ...(configOption ? { config: configOption } : {}),
    ...(project.place.cwd !== undefined ? { cwd: project.place.cwd } : {}),
  };
  const configurations = sectionConfigurations(project.environments);
  for (const target of MIGRATE_TARGETS) {
    const targetName = options[target.option];
    const { inputs: which, dependencies, shadowKey, options: cachedOptions, ...caching } = target.cached ?? {};
    const own = which && project.inputs[which];
    const onShadow = (inputs: Array<string | { env: string }>) => [
      ...inputs.filter((input) => !(typeof input === 'object' && input.env === 'DATABASE_URL')),
      project.shadowKey,
    ];
    const mine = Array.isArray(own) && shadowKey ? onShadow(own) : own;
    const inputs = Array.isArray(mine) && dependencies ? [...mine, ...project.dependencyInputs] : mine;
    const uncached = inputs && !Array.isArray(inputs) ? inputs.uncached : undefined;
    const targetOptions = {
      ...placeOptions,
      ...cachedOptions,
      ...(options.checksums && target.checksums ? { checksums: true } : {}),
    };
    targets[targetName] = {
      executor: target.executor,
      cache: Array.isArray(inputs),
      ...(Array.isArray(inputs) ? { inputs, ...caching } : {}),
      ...(Object.keys(targetOptions).length ? { options: targetOptions } : {}),
      ...(configurations ? { configurations } : {}),
      ...(target.syncGenerators ? { syncGenerators: target.syncGenerators } : {}),
      metadata: {
        // a target that cannot be cached says why, in place of how it is cached
        description: uncached ? target.description.replace(/ Cached[^.]*\.$/, ` Not cached: ${uncached}.`) : target.description,
      },
    };
  }
  return targets;
}

/**
 * One Nx configuration per other Alembic environment of the ini (`nx run api:migrate-run:analytics`
 * runs `alembic -n analytics`); [alembic] stays the target's default. A section whose name Nx
 * could not take as a configuration (a colon, a space) is left to the `name` option.
 */
function sectionConfigurations(environments: string[]): Record<string, { name: string }> | undefined {
  const others = environments.filter((section) => section !== 'alembic' && /^[\w.-]+$/.test(section));
  return others.length ? Object.fromEntries(others.map((section) => [section, { name: section }])) : undefined;
}

/**
 * The runtime input that stands for the database migrate-verify runs on: Nx runs it once per
 * run in the workspace root and hashes what it prints (src/shadow-key.ts: a dialect and a major
 * version, never a host or password). The script is named relative to the workspace root.
 */
function shadowKeyInput(workspaceRoot: string): { runtime: string } {
  const script = relative(workspaceRoot, join(__dirname, 'shadow-key.js')).split(sep).join('/');
  return { runtime: `node ${/^[\w@%+=:,./-]+$/.test(script) ? script : JSON.stringify(script)}` };
}

/**
 * The name of a project without a project.json: the one its package.json gives (which wins in
 * Nx's merge anyway), else its folder's name the way Nx names a project.json without one (lower case).
 */
function projectName(root: string, workspaceRoot: string): string {
  const folder = join(workspaceRoot, root);
  return nameIn(join(folder, 'package.json')) ?? basename(root === '.' ? workspaceRoot : folder).toLowerCase();
}

function nameOf(json: unknown): string | undefined {
  const name = isRecord(json) ? json.name : undefined;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

function nameIn(jsonFile: string): string | undefined {
  if (!existsSync(jsonFile)) return undefined;
  try {
    return nameOf(JSON.parse(readFileSync(jsonFile, 'utf8')));
  } catch {
    return undefined; // Nx's own project.json / package.json plugins report a broken file
  }
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function hashOf(...parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex');
}

let fingerprint: string | undefined;

/**
 * The code that computes the targets (this module, the config readers and the action table), hashed: a fastkit
 * upgrade never serves targets an older version computed.
 */
function pluginFingerprint(): string {
  fingerprint ??= hashOf(
    ...[__filename, ...['./offline-inputs', './path-lookup', './alembic-settings', './pyproject', './toml-reader', './actions'].map((name) => require.resolve(name))].map(
      (file) => readFileSync(file, 'utf8'),
    ),
  );
  return fingerprint;
}

/**
 * Nx's AggregateCreateNodesError: the errors per file plus the projects that did work, so Nx
 * reports every broken file and keeps the rest. Taken from Nx's small error module on this
 * error path only (the devkit's index loads half of Nx and runs git); where it is missing, an
 * error of the same name and shape, which Nx 22–24 recognise by name.
 */
function createNodesError(errors: Array<[string, Error]>, partialResults: CreateNodesResults): Error {
  let NxError: (new (errors: Array<[string, Error]>, partialResults: CreateNodesResults) => Error) | undefined;
  try {
    NxError = require('nx/src/project-graph/error-types').AggregateCreateNodesError;
  } catch {
    NxError = undefined;
  }
  return new (NxError ?? AggregateCreateNodesError)(errors, partialResults);
}

/** Stand-in for Nx's class of the same name, for an Nx or devkit without it. */
class AggregateCreateNodesError extends Error {
  constructor(
    readonly errors: Array<[string, Error]>,
    readonly partialResults: CreateNodesResults,
  ) {
    super(`fastkit/plugin: ${errors.map(([file, error]) => `${file}: ${error.message}`).join(' ')}`);
    this.name = 'AggregateCreateNodesError';
  }
}
