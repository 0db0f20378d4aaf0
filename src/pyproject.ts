/**
 * What fastkit reads of a pyproject.toml's Alembic config (Alembic 1.16+ reads a
 * `[tool.alembic]` table): whether it has one, from its table headers alone (the plugin asks
 * that of every pyproject.toml in the workspace), and the table itself (src/toml-reader.ts).
 */
import { isTomlTable, readToml, TomlUnreadable, type TomlTable } from './toml-reader';

/** A `[tool.alembic…]` table header that TOML (and so Alembic) would refuse. */
export class PyprojectSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
    this.name = 'PyprojectSyntaxError';
  }
}

const KEY = String.raw`(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')`;
const DOTTED_KEY = String.raw`${KEY}(?:\s*\.\s*${KEY})*`;
const HEADER = new RegExp(String.raw`^(\[\[?)\s*(${DOTTED_KEY})\s*(\]\]?)\s*(?:#.*)?$`);
const KEY_VALUE = new RegExp(String.raw`^(${DOTTED_KEY})\s*=(.*)$`);
const KEY_PART = new RegExp(KEY, 'g');
const ALEMBIC_HEADER_START = /^\[\[?\s*(?:tool|"tool"|'tool')\s*\.\s*(?:alembic|"alembic"|'alembic')(?=\s*[.\]]|\s*$)/;

/**
 * True when the TOML text defines the `tool.alembic` table in any of TOML's spellings:
 * `[tool.alembic]`, `[ tool . "alembic" ]`, a sub-table such as
 * `[[tool.alembic.post_write_hooks]]`, or dotted keys (`alembic.script_location = …` under
 * `[tool]`). Text inside multi-line strings and comments does not count.
 * Throws {@link PyprojectSyntaxError} for a `[tool.alembic…` header that is not valid TOML.
 */
export function hasAlembicTable(toml: string): boolean {
  let table: string[] = [];
  let openString: '"""' | "'''" | undefined;
  const lines = toml.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index].trim();
    if (openString) {
      if (closesString(line, openString)) openString = undefined;
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      const header = HEADER.exec(line);
      if (header && header[1].length === header[3].length) {
        table = keyParts(header[2]);
        if (isAlembic(table)) return true;
        continue;
      }
      if (ALEMBIC_HEADER_START.test(line)) {
        throw new PyprojectSyntaxError(`line ${index + 1}: "${line}" is not a valid TOML table header`, index + 1);
      }
      continue; // a line of a multi-line array
    }
    const pair = KEY_VALUE.exec(line);
    if (pair) {
      if (isAlembic([...table, ...keyParts(pair[1])])) return true;
      openString = opensString(pair[2]);
    }
  }
  return false;
}

function isAlembic(path: string[]): boolean {
  return path[0] === 'tool' && path[1] === 'alembic';
}

function keyParts(dottedKey: string): string[] {
  return (dottedKey.match(KEY_PART) ?? []).map((part) =>
    part.startsWith('"') || part.startsWith("'") ? part.slice(1, -1) : part,
  );
}

/** The multi-line string delimiter a value leaves open at the end of its line, if any. */
function opensString(value: string): '"""' | "'''" | undefined {
  for (const delimiter of ['"""', "'''"] as const) {
    const start = value.indexOf(delimiter);
    if (start !== -1 && value.trimStart().startsWith(delimiter)) {
      return closesString(value.slice(start + 3), delimiter) ? undefined : delimiter;
    }
  }
  return undefined;
}

function closesString(text: string, delimiter: string): boolean {
  return text.includes(delimiter);
}

/**
 * The `[tool.alembic]` table as Alembic reads it with tomllib, or undefined when the file has
 * none. Throws {@link TomlUnreadable} where the text is beyond this reader (or not TOML).
 */
export function toolAlembicTable(toml: string): TomlTable | undefined {
  const tool = readToml(toml).tool;
  const alembic = isTomlTable(tool) ? tool.alembic : undefined;
  if (alembic !== undefined && !isTomlTable(alembic)) throw new TomlUnreadable('tool.alembic is not a table', 0);
  return alembic;
}
