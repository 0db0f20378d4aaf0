/**
 * Reading Alembic's config as Alembic 1.20 reads it (alembic/config.py, script/base.py), from
 * the text alone, where running Alembic is not an option (the plugin, generators): Python's
 * ConfigParser for the ini ([DEFAULT], `%(var)s` interpolation, continuation lines), tomllib's
 * reading of pyproject.toml's [tool.alembic], and Alembic's rules on top (`here`,
 * path_separator and the older version_path_separator, the legacy splitting, which file wins).
 *
 * Every answer is Alembic's own or says it is not certain: a reading this module cannot follow
 * is {@link Uncertain}, and a config Alembic itself refuses is {@link AlembicRefuses}.
 */
import { delimiter, posix } from 'node:path';
import { hasAlembicTable, toolAlembicTable } from './pyproject';
import { TomlUnreadable, type TomlTable, type TomlValue } from './toml-reader';

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
 * The few settings of the [alembic] section (or pyproject.toml's [tool.alembic] table) that the
 * generators read, as written (no interpolation; a TOML array as its items joined by spaces).
 * `configFile` is the file's name, `alembic.ini` or `pyproject.toml`.
 */
export function alembicSettings(text: string, configFile: string): AlembicSettings {
  const keys = ['script_location', 'version_locations', 'prepend_sys_path'] as const;
  const settings: AlembicSettings = {};
  try {
    if (configFile === PYPROJECT) {
      const table = toolAlembicTable(text) ?? {};
      for (const key of keys) {
        const value = table[key];
        if (typeof value === 'string') settings[key] = value;
        else if (Array.isArray(value)) settings[key] = value.filter((item) => typeof item === 'string').join(' ');
      }
    } else {
      const ini = readIni(text);
      for (const key of keys) {
        const value = ini.sections.get('alembic')?.get(key) ?? ini.defaults.get(key);
        if (value !== undefined) settings[key] = value;
      }
    }
  } catch (error) {
    if (!(error instanceof IniUnreadable || error instanceof TomlUnreadable)) throw error;
  }
  return settings;
}

// --- the ini, as Python's configparser.ConfigParser reads it -------------------------------

/** Text Python's ConfigParser refuses (no section header, a line without `=`, a duplicate): Alembic fails on it. */
export class IniUnreadable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IniUnreadable';
  }
}

export interface IniFile {
  /** Each section's options (names in lower case) with their raw values, continuation lines joined by `\n`. */
  sections: Map<string, Map<string, string>>;
  /** [DEFAULT], over the defaults the parser was made with (Alembic's `here`). */
  defaults: Map<string, string>;
}

// Python's str.isspace(): what strip() removes and what `\s` matches in its re module.
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');
const PY_NONSPACE = new RegExp(`[^${PY_SPACE}]`);
const pyStrip = (text: string) => text.replace(PY_STRIP, '');
// configparser's OPTCRE: the shortest name before `=` or `:`, the value after it
const OPTION = new RegExp(`^([^\\n]*?)[${PY_SPACE}]*(=|:)[${PY_SPACE}]*([^\\n]*)$`);

/**
 * `ConfigParser(defaults).read(file)` with Python 3's defaults: `=` and `:` delimiters, `#` and
 * `;` whole-line comments only, values continued on deeper-indented lines (blank lines kept
 * inside them), option names in lower case, duplicates refused (strict).
 */
export function readIni(text: string, defaults: Record<string, string> = {}): IniFile {
  if (lastRead?.text === text && Object.keys(defaults).length === 0) return lastRead.ini;
  const ini = parseIni(text, defaults);
  if (Object.keys(defaults).length === 0) lastRead = { text, ini };
  return ini;
}

/** The last text read without defaults: the plugin reads each project's ini for its sections, then for each of them. */
let lastRead: { text: string; ini: IniFile } | undefined;

function parseIni(text: string, defaults: Record<string, string>): IniFile {
  const sections = new Map<string, Map<string, string[]>>();
  const defaultOptions = new Map<string, string[]>();
  const added = new Set<string>();
  let current: Map<string, string[]> | undefined;
  let sectionName: string | undefined;
  let option: string | undefined;
  let indentLevel = 0;
  let badLine: number | undefined;
  // universal newlines, as Python's text mode reads the file
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const [index, line] of lines.entries()) {
    const comment = /^[#;]/.test(pyStrip(line));
    const value = comment ? '' : pyStrip(line);
    if (!value) {
      if (!comment && current && option && current.get(option)) current.get(option)!.push('');
      continue;
    }
    const indent = PY_NONSPACE.exec(line)?.index ?? 0;
    if (current && option && indent > indentLevel) {
      current.get(option)!.push(value);
      continue;
    }
    indentLevel = indent;
    const header = /^\[([^\n]+)\]/.exec(value); // Python's `.` is anything but a newline
    if (header) {
      sectionName = header[1];
      if (sections.has(sectionName)) {
        if (added.has(sectionName)) throw new IniUnreadable(`section [${sectionName}] appears twice`);
        current = sections.get(sectionName);
      } else if (sectionName === 'DEFAULT') {
        current = defaultOptions;
      } else {
        current = new Map();
        sections.set(sectionName, current);
      }
      added.add(sectionName);
      option = undefined;
      continue;
    }
    if (!current) throw new IniUnreadable(`line ${index + 1} comes before any [section] header`);
    const pair = OPTION.exec(value);
    if (!pair) {
      badLine ??= index + 1; // Python reports every bad line at the end of the file
      continue;
    }
    if (!pair[1]) badLine ??= index + 1;
    option = pyStripEnd(pair[1]).toLowerCase();
    const key = `${sectionName}\0${option}`;
    if (added.has(key)) throw new IniUnreadable(`option ${option} appears twice in [${sectionName}]`);
    added.add(key);
    current.set(option, [pyStrip(pair[3])]);
  }
  if (badLine !== undefined) throw new IniUnreadable(`line ${badLine} is neither a [section], an option nor a comment`);
  const joined = (options: Map<string, string[]>) =>
    new Map([...options].map(([name, parts]) => [name, pyStripEnd(parts.join('\n'))] as const));
  return {
    sections: new Map([...sections].map(([name, options]) => [name, joined(options)] as const)),
    // the parser's own defaults are set as they are; [DEFAULT] in the file overrides them
    defaults: new Map([...Object.entries(defaults).map(([key, value]) => [key.toLowerCase(), value] as const), ...joined(defaultOptions)]),
  };
}

const PY_TRAILING_SPACE = new RegExp(`[${PY_SPACE}]+$`);

function pyStripEnd(text: string): string {
  return text.replace(PY_TRAILING_SPACE, '');
}

/** ConfigParser.has_option: a section of the file (not [DEFAULT]) holding the option, itself or through [DEFAULT]. */
function iniHas(ini: IniFile, section: string, option: string): boolean {
  const options = ini.sections.get(section);
  return options !== undefined && (options.has(option) || ini.defaults.has(option));
}

/** ConfigParser.get with BasicInterpolation: undefined where the section or option is missing. */
function iniGet(ini: IniFile, section: string, option: string): string | undefined {
  const options = ini.sections.get(section);
  if (!options) return undefined;
  const lookup = (name: string) => options.get(name) ?? ini.defaults.get(name);
  const raw = lookup(option);
  return raw === undefined ? undefined : interpolated(raw, lookup, option, section, 1);
}

function interpolated(value: string, lookup: (name: string) => string | undefined, option: string, section: string, depth: number): string {
  if (depth > 10) throw new AlembicRefuses(`${option} in [${section}] refers to itself (interpolation deeper than 10)`);
  let result = '';
  let rest = value;
  while (rest) {
    const at = rest.indexOf('%');
    if (at < 0) return result + rest;
    result += rest.slice(0, at);
    rest = rest.slice(at);
    if (rest[1] === '%') {
      result += '%';
      rest = rest.slice(2);
      continue;
    }
    const reference = rest[1] === '(' ? /^%\(([^)]+)\)s/.exec(rest) : null;
    if (!reference) throw new AlembicRefuses(`${option} in [${section}] has a % that is neither %% nor %(name)s`);
    const name = reference[1].toLowerCase();
    const referenced = lookup(name);
    if (referenced === undefined) throw new AlembicRefuses(`${option} in [${section}] refers to %(${reference[1]})s, which is not set`);
    result += referenced.includes('%') ? interpolated(referenced, lookup, option, section, depth + 1) : referenced;
    rest = rest.slice(reference[0].length);
  }
  return result;
}

// --- Alembic's reading ----------------------------------------------------------------------

/** Alembic fails on this config (the offline targets then fail too, and Nx caches no failure). */
export class AlembicRefuses extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AlembicRefuses';
  }
}

/** What fastkit cannot tell from the text alone; the reason is said to the user. */
export interface Uncertain {
  uncertain: string;
}

export function isUncertain(value: unknown): value is Uncertain {
  return typeof value === 'object' && value !== null && 'uncertain' in value;
}

/** The files Alembic reads for one project, as text, each with its `%(here)s` (its absolute folder). */
export interface AlembicConfigTexts {
  /** The ini (`-c alembic.ini`); absent for a pyproject.toml-only project. */
  ini?: { text: string; here: string };
  /** The pyproject.toml in the folder Alembic runs in, which Alembic reads for what the ini does not set. */
  toml?: { text: string; here: string };
}

/**
 * The ini sections that are Alembic environments of their own, for `alembic -n NAME`: [alembic]
 * and every other section that sets script_location itself (a [DEFAULT] value would make every
 * section, [loggers] included, look like one). Each is its own history, usually its own
 * database. A text Python's ConfigParser refuses has none.
 */
export function alembicEnvironments(iniText: string): string[] {
  let ini: IniFile;
  try {
    ini = readIni(iniText);
  } catch (error) {
    if (error instanceof IniUnreadable) return [];
    throw error;
  }
  return [...ini.sections]
    .filter(([name, options]) => options.has('script_location') || (name === 'alembic' && ini.defaults.has('script_location')))
    .map(([name]) => name);
}

/** Where one ini section (`alembic -n NAME`) makes Alembic look, each path as Alembic hands it to `Path()`. */
export interface AlembicLocations {
  /** script_location: env.py and script.py.mako. */
  scriptLocation: string | Uncertain;
  /** The folders revisions are read from (version_locations, else `<script_location>/versions`). */
  versionLocations: string[] | Uncertain;
  /** recursive_version_locations: subfolders of those are read too. */
  recursive: boolean | Uncertain;
  /** prepend_sys_path: folders put first on sys.path. */
  prependSysPath: string[] | Uncertain;
}

const NOT_A_SECTION = '\0';

/**
 * The ini sections `alembic -n NAME` can use: [alembic], every section of the ini, and (with a
 * pyproject.toml) a name the ini does not have, which reads pyproject.toml alone.
 */
export function alembicSections(config: AlembicConfigTexts): string[] {
  let sections: string[] = [];
  try {
    sections = config.ini ? [...readIni(config.ini.text).sections.keys()] : [];
  } catch (error) {
    if (!(error instanceof IniUnreadable)) throw error;
  }
  return [...new Set(['alembic', ...sections, ...(config.toml ? [NOT_A_SECTION] : [])])];
}

/**
 * Where Alembic looks for the section `section` (ScriptDirectory.from_config). Throws
 * {@link AlembicRefuses} where Alembic fails on the config, for this section. `pathSeparator`
 * is what `path_separator = os` means (os.pathsep).
 */
export function alembicLocations(config: AlembicConfigTexts, section = 'alembic', pathSeparator = delimiter): AlembicLocations {
  const reader = new AlembicConfigReader(config, section, pathSeparator);
  const scriptLocation = reader.scriptLocation();
  const prependSysPath = reader.prependSysPath();
  const recursive = reader.recursive();
  const given = reader.versionLocations();
  let versionLocations: string[] | Uncertain;
  if (isUncertain(given)) versionLocations = given;
  else if (given.length > 0) versionLocations = given;
  else if (isUncertain(scriptLocation)) versionLocations = scriptLocation;
  else versionLocations = [pathJoin(scriptLocation, 'versions')];
  return { scriptLocation, versionLocations, recursive, prependSysPath };
}

/** `Path(a, b)` for the plain paths this module hands on. */
function pathJoin(folder: string, name: string): string {
  if (folder === '' || folder === '.') return name;
  return folder.endsWith('/') ? folder + name : `${folder}/${name}`;
}

/** Alembic's Config for one section: `get_alembic_option` and friends over the two files. */
class AlembicConfigReader {
  private iniFile?: IniFile;
  private tomlTable?: TomlTable | Uncertain;

  constructor(
    private readonly config: AlembicConfigTexts,
    private readonly section: string,
    private readonly pathSeparator: string,
  ) {}

  private ini(): IniFile {
    if (!this.iniFile) {
      if (!this.config.ini) {
        this.iniFile = { sections: new Map(), defaults: new Map() };
      } else {
        if (this.config.ini.text.includes('\ufffd')) throw new Uncertainty('the ini is not plain UTF-8');
        try {
          const ini = readIni(this.config.ini.text);
          // Alembic's `here` is a default of the parser: [DEFAULT] in the file overrides it
          this.iniFile = { sections: ini.sections, defaults: new Map([['here', this.config.ini.here], ...ini.defaults]) };
        } catch (error) {
          if (error instanceof IniUnreadable) throw new AlembicRefuses(error.message);
          throw error;
        }
      }
    }
    return this.iniFile;
  }

  private toml(): TomlTable | Uncertain {
    if (this.tomlTable === undefined) {
      if (!this.config.toml) this.tomlTable = {};
      else {
        try {
          this.tomlTable = toolAlembicTable(this.config.toml.text) ?? {};
        } catch (error) {
          if (!(error instanceof TomlUnreadable)) throw error;
          this.tomlTable = { uncertain: `fastkit cannot follow pyproject.toml (${error.message})` };
        }
      }
    }
    return this.tomlTable;
  }

  /** `_get_toml_config_value`: strings (and lists of them) with `%(here)s` filled in. */
  private tomlValue(name: string): TomlValue | undefined {
    const table = this.toml();
    if (isUncertain(table)) throw new Uncertainty(table.uncertain);
    const value = table[name];
    if (typeof value === 'string') return this.tomlInterpolated(value, name);
    if (Array.isArray(value)) {
      return value.map((item) => {
        if (typeof item !== 'string') throw new Uncertainty(`${name} in [tool.alembic] holds something other than strings`);
        return this.tomlInterpolated(item, name);
      });
    }
    return value;
  }

  private tomlInterpolated(value: string, name: string): string {
    return value.replace(/%\(here\)s|%%|%/g, (token) => {
      if (token === '%%') return '%';
      if (token === '%') throw new Uncertainty(`${name} in [tool.alembic] has a % other than %(here)s and %%`);
      return this.config.toml!.here;
    });
  }

  /** `get_alembic_option`: the ini section first, then [tool.alembic]. */
  private option(name: string): TomlValue | undefined {
    if (iniHas(this.ini(), this.section, name)) return iniGet(this.ini(), this.section, name);
    return this.tomlValue(name);
  }

  scriptLocation(): string | Uncertain {
    return certainly(() => {
      const value = this.option('script_location');
      if (value === undefined) throw new AlembicRefuses("No 'script_location' key found in configuration");
      if (typeof value !== 'string') throw new Uncertainty('script_location is not a string');
      return resourceOrPath(value, 'script_location');
    });
  }

  recursive(): boolean | Uncertain {
    return certainly(() => {
      const name = 'recursive_version_locations';
      if (iniHas(this.ini(), this.section, name)) return iniGet(this.ini(), this.section, name) === 'true';
      const value = this.tomlValue(name) ?? false;
      if (typeof value !== 'boolean') throw new AlembicRefuses(`boolean value expected for TOML parameter '${name}'`);
      return value;
    });
  }

  versionLocations(): string[] | Uncertain {
    return certainly(() => this.pathList('version_locations', ['path_separator', 'version_path_separator'], /, *| +/)
      .map((location) => resourceOrPath(location, 'version_locations')));
  }

  prependSysPath(): string[] | Uncertain {
    return certainly(() => this.pathList('prepend_sys_path', ['path_separator'], /, *| +|:/));
  }

  /** `get_version_locations_list` / `get_prepend_sys_paths_list`. */
  private pathList(name: string, separators: string[], legacy: RegExp): string[] {
    const text = iniGet(this.ini(), this.section, name);
    if (text) {
      const separator = this.separator(separators);
      if (separator === undefined) return text.split(legacy); // no path_separator: Alembic's legacy splitting
      return text
        .split(separator)
        .filter((part) => part !== '')
        .map(pyStrip);
    }
    const value = this.tomlValue(name);
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw new Uncertainty(`${name} in [tool.alembic] is not a list`);
    return value as string[];
  }

  /** `_get_file_separator_char`: the first of `names` the section sets, as the character it stands for. */
  private separator(names: string[]): string | undefined {
    if (!this.ini().sections.has(this.section)) {
      throw new AlembicRefuses(`No config file found, or file has no '[${this.section}]' section`);
    }
    for (const name of names) {
      if (!iniHas(this.ini(), this.section, name)) continue;
      const value = iniGet(this.ini(), this.section, name)!;
      const separators: Record<string, string> = { space: ' ', newline: '\n', os: this.pathSeparator, ':': ':', ';': ';' };
      if (!Object.hasOwn(separators, value)) throw new AlembicRefuses(`'${value}' is not a valid value for ${name}`);
      return separators[value];
    }
    return undefined;
  }
}

/** Thrown inside the reader for what it cannot tell; turned into an {@link Uncertain} answer. */
class Uncertainty extends Error {}

function certainly<T>(read: () => T): T | Uncertain {
  try {
    return read();
  } catch (error) {
    if (error instanceof Uncertainty) return { uncertain: error.message };
    throw error;
  }
}

/** `coerce_resource_to_filename`: a relative name with a colon is a package resource, found only by importing it. */
function resourceOrPath(location: string, name: string): string {
  if (!location.startsWith('/') && location.includes(':')) {
    throw new Uncertainty(`${name} names ${location}, a package resource`);
  }
  return location;
}
