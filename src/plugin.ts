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
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, posix, relative, sep } from 'node:path';
import { ACTIONS, describeAction, executorName, type ActionSpec, type ActionTable, type ExecutorActionName, type NxCache } from './actions';
import { ALEMBIC_INI, alembicConfigOf, alembicEnvironments, PYPROJECT, type AlembicConfigFile } from './alembic-settings';
import { dependencyPythonInputs } from './dependency-inputs';
import { alembicProjectFiles, followedByNx, offlineInputs, pythonPins, type OfflineInputs } from './offline-inputs';
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
  /** How to set its options, shown by `nx show project --web` beside the `--help` command. */
  example: { options?: Record<string, unknown>; args?: string[] };
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
    example: spec.example as MigrateTarget['example'],
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
  const cache = new TargetsCache<ProjectFacts>(
    join(workspaceDataDirectory(context.workspaceRoot), `fastkit-${hashOf(optionsKey)}.hash`),
  );
  const exec = packageManagerExec(context);
  const pinsAbove = new Map<string, string[]>();
  const projectJsons = new ProjectJsonFiles(context.workspaceRoot);
  const matched = new Set(configFiles);
  const results: CreateNodesResults = [];
  const errors: Array<[file: string, error: Error]> = [];

  for (const file of configFiles) {
    try {
      const config = readAlembicConfig(file, matched, context.workspaceRoot);
      if (!config) continue;
      const place = projectPlace(file, projectJsons);
      const root = place.root;
      const name = projectName(root, context.workspaceRoot, projectJsons);
      const pins = pythonPins(context.workspaceRoot, root, pinsAbove);
      const files = alembicProjectFiles(context.workspaceRoot, root, config, pins, place);
      const hash = hashOf(pluginFingerprint(), optionsKey, file, JSON.stringify(files));
      // only what takes parsing is kept between runs; the targets around it are plain data
      const facts = cache.get(hash, () => ({
        ...offlineInputs(files),
        environments: config.file === ALEMBIC_INI ? alembicEnvironments(config.text) : [],
      }));
      const inputs = followedByNx(context.workspaceRoot, facts);
      const targets = migrateTargets(normalized, { name, config: config.file, place, exec, inputs, environments: facts.environments, shadowKey: shadowKeyInput(context.workspaceRoot) });
      results.push([file, { projects: { [root]: { root, name, targets } } }]);
    } catch (error) {
      errors.push([file, error instanceof Error ? error : new Error(String(error))]);
    }
  }
  cache.save();

  if (errors.length > 0) throw createNodesError(errors, results);
  return results;
}

type TargetsByName = Record<string, TargetConfiguration>;

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
  if (projectJsons.read(folder) !== null) return { root: folder };
  for (let above = folder; above !== '.'; ) {
    above = posix.dirname(above);
    const json = projectJsons.read(above);
    if (json === null) continue;
    return claimedBy(json, above, file) ?? { root: folder };
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

/** The project.json files of the folders one run looks at, each read once: null where there is none. */
class ProjectJsonFiles {
  private readonly seen = new Map<string, unknown>();

  constructor(private readonly workspaceRoot: string) {}

  /** The parsed project.json of a folder, null where there is none, undefined where it is not JSON (Nx reports that). */
  read(folder: string): unknown {
    if (!this.seen.has(folder)) {
      const file = join(this.workspaceRoot, folder, 'project.json');
      let json: unknown = null;
      if (existsSync(file)) {
        try {
          json = JSON.parse(readFileSync(file, 'utf8'));
        } catch {
          json = undefined;
        }
      }
      this.seen.set(folder, json);
    }
    return this.seen.get(folder);
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
    return readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(
      `Cannot read this file (${reason}). Make it a readable file, or keep fastkit/plugin away from it with "exclude" in its nx.json entry.`,
    );
  }
}

/**
 * The targets of one project, as Nx shows them: those that read or change a database are never
 * cached; the offline ones are, on inputs computed from the project's files.
 */
function migrateTargets(
  options: NormalizedPluginOptions,
  project: {
    name: string;
    config: AlembicConfigFile['file'];
    place: ProjectPlace;
    exec: string;
    inputs: OfflineInputs;
    /** The ini sections that are Alembic environments: each but [alembic] is an Nx configuration. */
    environments: string[];
    /** The runtime input that stands for the shadow database (migrate-verify). */
    shadowKey: { runtime: string };
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
    const inputs = Array.isArray(mine) && dependencies ? [...mine, ...dependencyPythonInputs()] : mine;
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
        technologies: ['alembic'],
        // a target that cannot be cached says why, in place of how it is cached
        description: uncached ? target.description.replace(/ Cached[^.]*\.$/, ` Not cached: ${uncached}.`) : target.description,
        help: {
          command: `${project.exec} nx run ${project.name}:${targetName} --help`,
          example: target.example,
        },
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
 * The project's name: the one its project.json or package.json gives (those win in Nx's merge
 * anyway), else its folder's name the way Nx names a project.json without one (lower case).
 */
function projectName(root: string, workspaceRoot: string, projectJsons: ProjectJsonFiles): string {
  const folder = join(workspaceRoot, root);
  return (
    nameOf(projectJsons.read(root)) ??
    nameIn(join(folder, 'package.json')) ??
    basename(root === '.' ? workspaceRoot : folder).toLowerCase()
  );
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

/** How this workspace runs a local binary (`npx`, `pnpm exec`, …), judged the way Nx does: nx.json, then the lock file. */
function packageManagerExec(context: PluginContext): string {
  const exec = { npm: 'npx', pnpm: 'pnpm exec', yarn: 'yarn', bun: 'bun' } as const;
  const chosen = context.nxJsonConfiguration?.cli?.packageManager;
  if (chosen && chosen in exec) return exec[chosen];
  const has = (file: string) => existsSync(join(context.workspaceRoot, file));
  if (has('bun.lockb') || has('bun.lock')) return exec.bun;
  if (has('yarn.lock')) return exec.yarn;
  if (has('pnpm-lock.yaml')) return exec.pnpm;
  return exec.npm;
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
    ...[__filename, ...['./offline-inputs', './alembic-settings', './pyproject', './toml-reader', './actions'].map((name) => require.resolve(name))].map(
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
