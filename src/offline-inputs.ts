/**
 * What the results of the offline targets depend on, as Nx `inputs`: tokens (`{projectRoot}`,
 * `{workspaceRoot}`) and relative globs only, never an absolute path, so a hash computed on one
 * machine is valid on every other (a shared or remote cache). Worked out from files alone, for
 * the plugin: no process is started. Where Alembic would read a folder that no Nx input can
 * stand for, the target is not cached at all (see {@link Uncached}) rather than cached stale.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import {
  alembicLocations,
  alembicSections,
  AlembicRefuses,
  isUncertain,
  type AlembicConfigTexts,
  type AlembicLocations,
  type Uncertain,
} from './alembic-settings';
import { PathLookup } from './path-lookup';

type Input = string | { env: string };

export interface AlembicProjectFiles {
  /** The workspace root, absolute: `%(here)s` and absolute locations are read against it. */
  workspaceRoot: string;
  /** The project folder, relative to the workspace root (`.` for the root). */
  root: string;
  /** `alembic.ini` or `pyproject.toml`: the file the project comes from. */
  configFile: string;
  configText: string;
  /**
   * Where that file is, relative to the project root, when it is not in it: `db/alembic.ini`
   * for a project.json that runs Alembic as `alembic -c db/alembic.ini`. Its folder is `%(here)s`.
   */
  configPath?: string;
  /**
   * The folder Alembic runs in, relative to the project root, when not the config's folder (the
   * `cwd` option): relative locations in the config are read from it.
   */
  cwd?: string;
  /** The other of the two, when the project folder has it: Alembic reads both. */
  companion?: { file: string; text: string };
  /** The Python pin files found for the project: see {@link pythonPins}. */
  pins: string[];
}

/** Why a target is not cached, said in its description. */
export interface Uncached {
  uncached: string;
}

export interface OfflineInputs {
  check: Input[] | Uncached;
  sql: Input[] | Uncached;
  /**
   * The folders each target's inputs stand for, as Alembic opens them (absolute, `..` not yet
   * resolved), which Nx must reach without a symbolic link.
   */
  folders: { check: string[]; sql: string[] };
}

/**
 * The project's Alembic files as Alembic reads them: the config the project comes from, and the
 * other one in the same folder (Alembic's CLI reads `pyproject.toml` in the folder it runs in
 * beside any ini, and `alembic.ini` there beside a pyproject.toml).
 */
export function alembicProjectFiles(
  workspaceRoot: string,
  root: string,
  config: { file: string; text: string },
  pins: string[],
  place: Pick<AlembicProjectFiles, 'configPath' | 'cwd'> = {},
): AlembicProjectFiles {
  const other = config.file === 'pyproject.toml' ? 'alembic.ini' : 'pyproject.toml';
  const runFolder = runFolderOf({ configFile: config.file, ...place });
  // the pins list a pyproject.toml that is there; an alembic.ini beside a pyproject.toml project is rare
  const there =
    other === 'pyproject.toml' && runFolder === '.'
      ? pins.includes('{projectRoot}/pyproject.toml')
      : existsSync(join(workspaceRoot, root, runFolder, other));
  let companion: AlembicProjectFiles['companion'];
  try {
    companion = there ? { file: other, text: readFileSync(join(workspaceRoot, root, runFolder, other), 'utf8') } : undefined;
  } catch {
    companion = undefined; // unreadable: Alembic skips such an ini, and the toml is a pin either way
  }
  return { workspaceRoot, root, configFile: config.file, configText: config.text, companion, pins, ...definedOnly(place) };
}

/** The folder Alembic runs in, relative to the project root: the cwd option, else the config's folder. */
function runFolderOf(project: Pick<AlembicProjectFiles, 'configFile' | 'configPath' | 'cwd'>): string {
  return posix.normalize(project.cwd ?? posix.dirname(project.configPath ?? project.configFile));
}

function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/**
 * The inputs of both offline targets.
 *
 * migrate-check reads the config (script_location, version_locations, file_template), the
 * revision files as text and each versions folder's checksum file (fastkit.sum); it imports
 * nothing and does not run env.py. Its revisions are read
 * from every ini section's version folders (a target may be given `name`), each folder alone
 * or with its subfolders as recursive_version_locations says. Alembic's version (the pins)
 * decides how the config is read.
 *
 * migrate-sql runs env.py in offline mode and every revision file: env.py imports the models and
 * database.py, and revisions may import project modules too, so every Python file of the project
 * counts (and those of the script, version and prepend_sys_path folders outside it).
 * DATABASE_URL gives the dialect when the target sets no `dialect`. Alembic's and SQLAlchemy's
 * versions (the pins) shape the SQL.
 */
export function offlineInputs(project: AlembicProjectFiles): OfflineInputs {
  const runFolder = runFolderOf(project);
  const inProject = (path: string) => `{projectRoot}/${posix.normalize(path)}`;
  const configs = [
    inProject(project.configPath ?? project.configFile),
    // Alembic reads the other file in the folder it runs in; a pyproject.toml in the project root is a pin already
    ...(project.companion && !(project.companion.file === 'pyproject.toml' && runFolder === '.')
      ? [inProject(posix.join(runFolder, project.companion.file))]
      : []),
  ];
  const readings = sectionReadings(project);
  const folders = { check: new Set<string>(), sql: new Set<string>() };
  const revisions = revisionGlobs(project, readings, folders.check);
  const outside = foldersOutsideProject(project, readings, folders.sql);
  return {
    check: isUncached(revisions) ? revisions : unique([...configs, ...revisions, ...project.pins]),
    sql: isUncached(outside)
      ? outside
      : unique([...configs, '{projectRoot}/**/*.py', ...outside, ...project.pins, { env: 'DATABASE_URL' }]),
    folders: { check: [...folders.check].sort(), sql: [...folders.sql].sort() },
  };
}

/** The checksum file of a versions folder (python/fastkit_helper/checksum_file.py), which migrate-check compares with the revisions. */
const CHECKSUM_FILE = 'fastkit.sum';

/** The revision files of every section, as globs, with each folder's checksum file; or why Nx cannot hash them. */
function revisionGlobs(project: AlembicProjectFiles, readings: AlembicLocations[], folders: Set<string>): string[] | Uncached {
  const globs: string[] = [];
  const checksumFiles: string[] = [];
  for (const reading of readings) {
    const uncertain = firstUncertain(reading.versionLocations, reading.recursive);
    if (uncertain) return { uncached: uncertain.uncertain };
    for (const location of reading.versionLocations as string[]) {
      const folder = workspaceFolder(project, location);
      if (isUncertain(folder)) return { uncached: `version_locations ${folder.uncertain}` };
      if (folder.path) folders.add(folder.path);
      globs.push(`${folder.token}/${reading.recursive ? '**/' : ''}*.py`);
      checksumFiles.push(`${folder.token}/${CHECKSUM_FILE}`);
    }
  }
  return [...withoutCovered(globs), ...new Set(checksumFiles)];
}

/** The Python of the script, version and prepend_sys_path folders outside the project, as globs, or why Nx cannot hash it. */
function foldersOutsideProject(project: AlembicProjectFiles, readings: AlembicLocations[], folders: Set<string>): string[] | Uncached {
  const globs: string[] = [];
  for (const reading of readings) {
    const uncertain = firstUncertain(reading.scriptLocation, reading.versionLocations, reading.prependSysPath);
    if (uncertain) return { uncached: uncertain.uncertain };
    const named: Array<[setting: string, location: string]> = [
      ['script_location', reading.scriptLocation as string],
      ...(reading.versionLocations as string[]).map((location): [string, string] => ['version_locations', location]),
      ...(reading.prependSysPath as string[]).map((location): [string, string] => ['prepend_sys_path', location]),
    ];
    for (const [setting, location] of named) {
      const folder = workspaceFolder(project, location);
      if (isUncertain(folder)) return { uncached: `${setting} ${folder.uncertain}` };
      if (folder.path) folders.add(folder.path);
      if (!folder.token.startsWith('{projectRoot}')) globs.push(`${folder.token}/**/*.py`);
    }
  }
  return globs;
}

function isUncached(value: unknown): value is Uncached {
  return typeof value === 'object' && value !== null && 'uncached' in value;
}

/**
 * The inputs, or uncached where a folder they stand for is reached through a symbolic link:
 * Nx does not follow linked folders, so their files would never change the hash. Checked on
 * every graph computation (a link can appear without the config changing).
 */
export function followedByNx(workspaceRoot: string, inputs: OfflineInputs, paths = new PathLookup()): OfflineInputs {
  const physicalRoot = physicalPath(workspaceRoot);
  if (physicalRoot === undefined) return inputs;
  const checked = new Map<string, { there: boolean; linked?: string }>();
  // deepest first: a folder that is there without a link vouches for the folders it is in
  for (const folder of [...new Set([...inputs.folders.check, ...inputs.folders.sql])].sort((a, b) => b.length - a.length)) {
    const vouched = [...checked].some(
      ([other, seen]) => seen.there && !seen.linked && other.startsWith(`${folder}/`) && !other.slice(folder.length).includes('/..'),
    );
    checked.set(folder, vouched ? { there: true } : seenBySystem(folder, workspaceRoot, physicalRoot, paths));
  }
  const linked = (folders: string[]): Uncached | undefined => {
    const reason = folders.map((folder) => checked.get(folder)?.linked).find(Boolean);
    return reason ? { uncached: reason } : undefined;
  };
  return {
    check: (Array.isArray(inputs.check) && linked(inputs.folders.check)) || inputs.check,
    sql: (Array.isArray(inputs.sql) && linked(inputs.folders.sql)) || inputs.sql,
    folders: inputs.folders,
  };
}

/** Whether a folder Alembic opens is there, and why Nx would not hash it (a symbolic link on its way). */
function seenBySystem(folder: string, workspaceRoot: string, physicalRoot: string, paths: PathLookup): { there: boolean; linked?: string } {
  const inWorkspace = relative(workspaceRoot, resolve(folder));
  // a `..` after a link climbs from the link's target, which only the system resolves
  if (folder.split(/[\\/]/).includes('..') || inWorkspace.startsWith('..') || isAbsolute(inWorkspace)) {
    return seenByRealpath(folder, workspaceRoot, physicalRoot);
  }
  // each folder on the way from the workspace root, as it is without following a link
  let path = workspaceRoot;
  for (const part of inWorkspace.split(sep).filter(Boolean)) {
    path = join(path, part);
    if (paths.isReachedWithoutLink(path)) continue;
    const kind = paths.kind(path);
    if (kind === 'link') return seenByRealpath(folder, workspaceRoot, physicalRoot);
    if (kind !== 'dir') return { there: kind === 'other' && path === resolve(folder) };
  }
  return { there: true };
}

/** {@link seenBySystem}, asking the system to resolve the whole path: for a link on the way, or a `..`. */
function seenByRealpath(folder: string, workspaceRoot: string, physicalRoot: string): { there: boolean; linked?: string } {
  // not there: Alembic reads nothing from it, Nx hashes nothing (asked without an exception, which costs)
  if (!statSync(folder, { throwIfNoEntry: false })) return { there: false };
  let physical: string;
  try {
    physical = realpathSync.native(folder); // as the system resolves it: a link before `..` counts
  } catch {
    return { there: false };
  }
  const inWorkspace = relative(workspaceRoot, resolve(folder));
  if (physical === resolve(physicalRoot, inWorkspace)) return { there: true };
  return { there: true, linked: `${inWorkspace.split(sep).join('/') || 'the workspace root'} is reached through a symbolic link, which Nx does not follow` };
}

const physicalPaths = new Map<string, string | undefined>();

/** The workspace root as the system resolves it, looked up once per process. */
function physicalPath(folder: string): string | undefined {
  if (!physicalPaths.has(folder)) {
    try {
      physicalPaths.set(folder, realpathSync(folder));
    } catch {
      physicalPaths.set(folder, undefined);
    }
  }
  return physicalPaths.get(folder);
}

/** What each ini section (`-n`) makes Alembic read; sections on which Alembic fails read nothing. */
function sectionReadings(project: AlembicProjectFiles): AlembicLocations[] {
  const folder = (relative: string) => join(project.workspaceRoot, project.root, relative).split(sep).join('/');
  const configHere = folder(posix.dirname(project.configPath ?? project.configFile));
  const runHere = folder(runFolderOf(project));
  const texts: AlembicConfigTexts = {};
  const files: Array<[string | undefined, string | undefined, string]> = [
    [project.configFile, project.configText, configHere],
    [project.companion?.file, project.companion?.text, runHere],
  ];
  for (const [file, text, here] of files) {
    if (file === 'alembic.ini' && text !== undefined) texts.ini = { text, here };
    if (file === 'pyproject.toml' && text !== undefined) texts.toml = { text, here };
  }
  const readings: AlembicLocations[] = [];
  for (const section of alembicSections(texts)) {
    try {
      readings.push(alembicLocations(texts, section, delimiter));
    } catch (error) {
      if (!(error instanceof AlembicRefuses)) throw error;
      // Alembic fails with this section: the target fails, and Nx caches no failure
    }
  }
  return readings;
}

function firstUncertain(...values: unknown[]): Uncertain | undefined {
  return values.find(isUncertain);
}

const GLOB_SYNTAX = /[*?[\]{}()!\\]/;
const NOT_HASHED = new Set(['node_modules', '.git']);

/**
 * A location Alembic reads (absolute, or relative to the project folder where Alembic runs) as
 * an input token: `{projectRoot}/…` inside the project, `{workspaceRoot}/…` elsewhere in the
 * workspace. Uncertain outside the workspace, in folders Nx never hashes, or where the name
 * would read as glob syntax.
 */
function workspaceFolder(project: AlembicProjectFiles, location: string): { token: string; path: string } | Uncertain {
  const runFolder = runFolderOf(project);
  // as Alembic opens it, from the folder it runs in: `..` kept
  const opened = isAbsolute(location) ? location : `${project.workspaceRoot}/${project.root}/${runFolder === '.' ? '' : `${runFolder}/`}${location}`;
  if (/[\0-\x1f]/.test(location)) return { uncertain: `names ${JSON.stringify(location)}, a name with a line break or control character` };
  const absolute = resolve(opened);
  const inWorkspace = relative(project.workspaceRoot, absolute).split(sep).join('/') || '.';
  if (inWorkspace === '..' || inWorkspace.startsWith('../') || isAbsolute(inWorkspace)) {
    return { uncertain: `names ${location}, outside the workspace` };
  }
  if (GLOB_SYNTAX.test(inWorkspace)) return { uncertain: `names ${location}, which Nx would read as a glob pattern` };
  if (inWorkspace.split('/').some((part) => NOT_HASHED.has(part))) {
    return { uncertain: `names ${location}, in a folder Nx does not hash` };
  }
  const inProject = project.root === '.' ? inWorkspace : posix.relative(project.root, inWorkspace);
  if (inProject === '' || inProject === '.') return { token: '{projectRoot}', path: location.includes('..') ? opened : '' }; // Nx found the project folder itself
  if (!inProject.startsWith('../') && inProject !== '..') return { token: `{projectRoot}/${inProject}`, path: opened };
  return { token: inWorkspace === '.' ? '{workspaceRoot}' : `{workspaceRoot}/${inWorkspace}`, path: opened };
}

/** Globs without those another one covers (`x/*.py` beside `x/**\/*.py`). */
function withoutCovered(globs: string[]): string[] {
  const recursive = new Set(globs.filter((glob) => glob.endsWith('/**/*.py')).map((glob) => glob.slice(0, -'/**/*.py'.length)));
  return globs.filter((glob) => glob.endsWith('/**/*.py') || !recursive.has(glob.slice(0, -'/*.py'.length)));
}

const PROJECT_PINS = /^(requirements.*\.txt|pyproject\.toml|uv\.lock|poetry\.lock|Pipfile\.lock)$/;
export const ABOVE_PINS = ['uv.lock', 'poetry.lock', 'Pipfile.lock'];

/**
 * The files that pin the project's Alembic and SQLAlchemy: its requirements*.txt, pyproject.toml
 * and lock files, and the lock files of the folders above it up to the workspace root (where
 * uv and poetry workspaces keep theirs). The installed venv itself cannot be hashed; these are
 * what decide what gets installed.
 */
export function pythonPins(workspaceRoot: string, root: string, aboveCache = new Map<string, string[]>(), paths = new PathLookup()): string[] {
  const pins: string[] = [];
  // an unreadable folder has no pins to find
  const names = [...(paths.listing(join(workspaceRoot, root))?.keys() ?? [])];
  for (const name of names.filter((candidate) => PROJECT_PINS.test(candidate)).sort()) pins.push(`{projectRoot}/${name}`);
  const parts = root === '.' ? [] : root.split('/');
  for (let depth = parts.length - 1; depth >= 0; depth--) {
    pins.push(...pinsIn(workspaceRoot, parts.slice(0, depth).join('/'), aboveCache));
  }
  return pins;
}

/** The lock files in one folder above projects; many projects share these folders, so each is looked at once. */
function pinsIn(workspaceRoot: string, folder: string, cache: Map<string, string[]>): string[] {
  let found = cache.get(folder);
  if (!found) {
    found = ABOVE_PINS.filter((name) => existsSync(join(workspaceRoot, folder, name))).map(
      (name) => `{workspaceRoot}/${folder ? `${folder}/` : ''}${name}`,
    );
    cache.set(folder, found);
  }
  return found;
}

function unique(inputs: Input[]): Input[] {
  const seen = new Set<string>();
  return inputs.filter((input) => {
    const key = JSON.stringify(input);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
