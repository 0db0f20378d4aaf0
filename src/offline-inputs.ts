/**
 * What the results of the offline targets depend on, as Nx `inputs`: tokens (`{projectRoot}`,
 * `{workspaceRoot}`) and relative globs only, never an absolute path, so a hash computed on one
 * machine is valid on every other (a shared or remote cache). Worked out from files alone, for
 * the plugin: no process is started.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { alembicSettings, projectRelativeFolder } from './alembic-settings';

type Input = string | { env: string };

export interface AlembicProjectFiles {
  /** The project folder, relative to the workspace root (`.` for the root). */
  root: string;
  /** `alembic.ini` or `pyproject.toml`. */
  configFile: string;
  configText: string;
  /** The Python pin files found for the project: see {@link pythonPins}. */
  pins: string[];
}

/**
 * migrate-check reads the config (script_location, version_locations, file_template) and the
 * revision files as text; it imports nothing and does not run env.py. Alembic's version (the
 * pins) decides how the config is read.
 */
export function checkInputs(project: AlembicProjectFiles): Input[] {
  const versions = versionFolders(project);
  return unique([
    `{projectRoot}/${project.configFile}`,
    ...(versions ? versions.map((folder) => `${folder}/**/*.py`) : ['{projectRoot}/**/*.py']),
    ...project.pins,
  ]);
}

/**
 * migrate-sql runs env.py in offline mode and every revision file: env.py imports the models and
 * database.py, and revisions may import project modules too, so every Python file of the project
 * counts (and those of folders prepend_sys_path adds). DATABASE_URL gives the dialect when the
 * target sets no `dialect`. Alembic's and SQLAlchemy's versions (the pins) shape the SQL.
 */
export function sqlInputs(project: AlembicProjectFiles): Input[] {
  const outside = [...(versionFolders(project) ?? []), ...importedFolders(project)].filter(
    (folder) => !folder.startsWith('{projectRoot}'),
  );
  return unique([
    `{projectRoot}/${project.configFile}`,
    '{projectRoot}/**/*.py',
    ...outside.map((folder) => `${folder}/**/*.py`),
    ...project.pins,
    { env: 'DATABASE_URL' },
  ]);
}

const PROJECT_PINS = /^(requirements.*\.txt|pyproject\.toml|uv\.lock|poetry\.lock|Pipfile\.lock)$/;
const ABOVE_PINS = ['uv.lock', 'poetry.lock', 'Pipfile.lock'];

/**
 * The files that pin the project's Alembic and SQLAlchemy: its requirements*.txt, pyproject.toml
 * and lock files, and the lock files of the folders above it up to the workspace root (where
 * uv and poetry workspaces keep theirs). The installed venv itself cannot be hashed; these are
 * what decide what gets installed.
 */
export function pythonPins(workspaceRoot: string, root: string, aboveCache = new Map<string, string[]>()): string[] {
  const pins: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(join(workspaceRoot, root));
  } catch {
    // an unreadable folder has no pins to find
  }
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

/**
 * The folders Alembic reads revisions from, as input tokens: version_locations, else
 * `<script_location>/versions`. Undefined when a location cannot be mapped into the workspace
 * (an absolute path, a package resource, another interpolation), so the caller falls back.
 */
export function versionFolders(project: AlembicProjectFiles): string[] | undefined {
  const settings = alembicSettings(project.configText, project.configFile);
  const locations = settings.version_locations
    ? splitPaths(settings.version_locations)
    : [posix.join(settings.script_location ?? 'alembic', 'versions')];
  const folders = locations.map((location) => workspaceFolder(project.root, location));
  return folders.every((folder): folder is string => folder !== undefined) ? folders : undefined;
}

/** The folders prepend_sys_path puts on sys.path besides the project itself. */
function importedFolders(project: AlembicProjectFiles): string[] {
  const value = alembicSettings(project.configText, project.configFile).prepend_sys_path;
  if (!value) return [];
  return splitPaths(value)
    .map((location) => workspaceFolder(project.root, location))
    .filter((folder): folder is string => folder !== undefined && folder !== '{projectRoot}');
}

/** A location from the config, relative to the project (`%(here)s/x` or `x`), as an input token. */
function workspaceFolder(root: string, location: string): string | undefined {
  const inProject = projectRelativeFolder(location);
  if (inProject === undefined) return undefined;
  if (inProject === '.') return '{projectRoot}';
  if (!inProject.startsWith('..')) return `{projectRoot}/${inProject}`;
  const inWorkspace = posix.normalize(posix.join(root, inProject));
  if (inWorkspace === '..' || inWorkspace.startsWith('../')) return undefined;
  return inWorkspace === '.' ? '{workspaceRoot}' : `{workspaceRoot}/${inWorkspace}`;
}

function splitPaths(value: string): string[] {
  return value.split(/[\s,;]+/).filter(Boolean);
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
