/**
 * Recognising the env.py fastkit's `alembic-setup` wrote, by the line it carries:
 *
 *     # fastkit:env-py 2 1f0c5e2a9b7d4c38
 *
 * The number is the version of the file's layout (what fastkit may read from it, and where);
 * the hash seals the file as it was written, apart from the model block, which generators
 * own. A file whose text no longer matches its seal was changed by a person, and is not
 * recognised: fastkit cannot know, without running it, which database it uses. Recognition
 * does not compare the file with the current template, so a newer fastkit still recognises
 * the env.py an older one wrote.
 */
import { createHash } from 'node:crypto';
import { BLOCK_BEGIN, BLOCK_END } from './model-imports';

/** The layout of env.py this fastkit writes, and the ones it can read. */
export const ENV_PY_VERSION = 2;
const READABLE_VERSIONS = [2];

const MARKER = /^# fastkit:env-py (\d+) ([0-9a-f]{16})$/m;
/** The embedded SQLite file, as every readable version spells it. */
const DATABASE_FILE = /^DATABASE_FILE = "([A-Za-z0-9_.-]+)"/m;
/** The version table (alembic-setup --versionTable), as every readable version spells it. */
const VERSION_TABLE = /^VERSION_TABLE = "([A-Za-z_][A-Za-z0-9_]*)"/m;
/** What the model block may hold: comments, and plain imports that run no code of their own. */
const MODEL_LINE = /^(?:#[^\n]*|from [\w.]+ import \w+(?:, \w+)*(?: +#[^\n]*)?|import [\w.]+(?: +#[^\n]*)?|)$/;

/** What fastkit may rely on in an env.py that it wrote and nobody changed. */
export interface FastkitEnvPy {
  version: number;
  /** The embedded SQLite file, relative to the project folder (e.g. `api.db`). */
  databaseFile: string;
  /** The table Alembic keeps the applied revision in. */
  versionTable: string;
}

/** The marker line of a new env.py, given its text with `# fastkit:env-py 2 <seal>` still to fill in. */
export function envPyMarker(unsealed: string): string {
  return `# fastkit:env-py ${ENV_PY_VERSION} ${seal(unsealed, ENV_PY_VERSION)}`;
}

/** The env.py fastkit wrote, if this is one that nobody changed outside its model block. */
export function readFastkitEnvPy(source: string): FastkitEnvPy | undefined {
  const text = source.replace(/\r\n/g, '\n');
  const marker = MARKER.exec(text);
  if (!marker) return undefined;
  const version = Number(marker[1]);
  if (!READABLE_VERSIONS.includes(version) || seal(text, version) !== marker[2]) return undefined;
  const block = splitAtModelBlock(text).inside;
  if (!block || !block.every((line) => MODEL_LINE.test(line))) return undefined;
  const databaseFile = DATABASE_FILE.exec(text)?.[1];
  const versionTable = VERSION_TABLE.exec(text)?.[1];
  return databaseFile && versionTable ? { version, databaseFile, versionTable } : undefined;
}

/** The hash of the file without its marker's hash and without the lines inside the model block. */
function seal(text: string, version: number): string {
  const { outside } = splitAtModelBlock(text.replace(/\r\n/g, '\n').replace(MARKER, `# fastkit:env-py ${version}`));
  return createHash('sha256').update(outside).digest('hex').slice(0, 16);
}

/** The text with the model block emptied, and the lines that were inside it (none: no block). */
function splitAtModelBlock(text: string): { outside: string; inside?: string[] } {
  const begin = text.indexOf(`\n${BLOCK_BEGIN}\n`);
  const end = text.indexOf(`\n${BLOCK_END}\n`, begin + 1);
  if (begin < 0 || end < begin) return { outside: text };
  const start = begin + BLOCK_BEGIN.length + 2;
  return { outside: text.slice(0, start) + text.slice(end + 1), inside: text.slice(start, end + 1).split('\n').slice(0, -1) };
}
