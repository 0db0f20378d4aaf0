/** Reading Alembic's config as text, where running Alembic is not an option (the plugin, generators). */
import { posix } from 'node:path';
import { hasAlembicTable } from './pyproject';

export const ALEMBIC_INI = 'alembic.ini';
export const PYPROJECT = 'pyproject.toml';

/** A folder's Alembic config file and its text. */
export interface AlembicConfigFile {
  file: typeof ALEMBIC_INI | typeof PYPROJECT;
  text: string;
}

/**
 * The config that makes a folder an Alembic project, as Alembic and fastkit look for it: its
 * alembic.ini, else its pyproject.toml when that has a [tool.alembic] table. `read` gives the
 * text of a file of the folder, or undefined where there is none (the disk, or an Nx Tree).
 * Throws PyprojectSyntaxError for a [tool.alembic] header Alembic could not parse either.
 */
export function alembicConfigOf(read: (file: string) => string | undefined): AlembicConfigFile | undefined {
  const ini = read(ALEMBIC_INI);
  if (ini !== undefined) return { file: ALEMBIC_INI, text: ini };
  const pyproject = read(PYPROJECT);
  return pyproject !== undefined && hasAlembicTable(pyproject) ? { file: PYPROJECT, text: pyproject } : undefined;
}

/**
 * A location from the config (`%(here)s/x`, `x`, `../shared/x`) as a POSIX path relative to
 * the project folder; undefined when it is not a plain folder of the file system there (an
 * absolute path, a package resource `pkg:folder`, another interpolation).
 */
export function projectRelativeFolder(location: string): string | undefined {
  const relative = location.replace(/^%\(here\)s(?=[\\/]|$)/, '.').replace(/\\/g, '/');
  if (!relative || relative.includes('%(') || relative.includes(':') || relative.startsWith('/')) return undefined;
  return posix.normalize(relative).replace(/\/+$/, '') || '.';
}

export type AlembicSettings = Partial<Record<'script_location' | 'version_locations' | 'prepend_sys_path', string>>;

/**
 * The few settings of the [alembic] section (or pyproject.toml's [tool.alembic] table) that
 * fastkit reads from the file itself, without Alembic: where env.py and the revisions are, and
 * what goes on sys.path. `configFile` is the file's name, `alembic.ini` or `pyproject.toml`.
 */
export function alembicSettings(text: string, configFile: string): AlembicSettings {
  const section = configFile === PYPROJECT ? 'tool.alembic' : 'alembic';
  const settings: AlembicSettings = {};
  let inSection = false;
  let lastKey: keyof AlembicSettings | undefined;
  for (const line of text.split(/\r?\n/)) {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (header) {
      inSection = header[1].trim() === section;
      lastKey = undefined;
      continue;
    }
    if (!inSection || /^\s*[#;]/.test(line)) continue;
    const setting = /^(script_location|version_locations|prepend_sys_path)\s*[=:]\s*(.*)$/.exec(line);
    if (setting) {
      lastKey = setting[1] as keyof AlembicSettings;
      settings[lastKey] = unquoted(setting[2]);
    } else if (lastKey && /^\s+\S/.test(line)) {
      settings[lastKey] = `${settings[lastKey]} ${unquoted(line.trim())}`.trim(); // an ini continuation line
    } else {
      lastKey = undefined;
    }
  }
  return settings;
}

/** TOML strings and arrays of strings, as the plain space-separated value an ini would hold. */
function unquoted(value: string): string {
  const strings = value.match(/"([^"]*)"|'([^']*)'/g);
  if (!strings) return value.replace(/^[\s[\]]+$/, '').trim(); // a TOML array's own bracket line
  return strings.map((quoted) => quoted.slice(1, -1)).join(' ');
}
