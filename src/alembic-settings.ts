/** Reading Alembic's config as text, where running Alembic is not an option (the plugin, generators). */

export type AlembicSettings = Partial<Record<'script_location' | 'version_locations' | 'prepend_sys_path', string>>;

/**
 * The few settings of the [alembic] section (or pyproject.toml's [tool.alembic] table) that
 * fastkit reads from the file itself, without Alembic: where env.py and the revisions are, and
 * what goes on sys.path. `configFile` is the file's name, `alembic.ini` or `pyproject.toml`.
 */
export function alembicSettings(text: string, configFile: string): AlembicSettings {
  const section = configFile === 'pyproject.toml' ? 'tool.alembic' : 'alembic';
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
