import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The server, database and user a password is looked up for, as libpq resolved them. */
export interface PasswordFileKey {
  /** A host name or address; a path (starting with `/`) is the folder of a Unix socket. */
  host: string;
  port: number;
  database: string;
  user: string;
}

/**
 * The password libpq sends when it was given none: PGPASSWORD (unless empty), else the
 * password file's. Undefined when it has none.
 */
export function libpqPassword(key: PasswordFileKey, env: Record<string, string | undefined>): string | undefined {
  return env.PGPASSWORD || passwordFromFile(key, env);
}

/** The socket folders libpq builds use as their default (Debian's, and PostgreSQL's own). */
const DEFAULT_SOCKET_FOLDERS = ['/var/run/postgresql', '/run/postgresql', '/tmp'];

/**
 * The password libpq would take from its password file when no password was given: the file
 * PGPASSFILE names, else ~/.pgpass; ignored, as libpq ignores it, when it is not a plain file
 * or others than its owner may read it. The first line whose `host:port:database:user` fields
 * match (`*` matches anything, `\` escapes `:` and `\`) gives the password. A socket folder is
 * looked up as itself, and a default one also as `localhost`, which libpq uses for it.
 * Undefined when there is no such file or line.
 */
export function passwordFromFile(key: PasswordFileKey, env: Record<string, string | undefined>): string | undefined {
  const file = env.PGPASSFILE || join(env.HOME || homedir(), '.pgpass');
  let text: string;
  try {
    const stats = statSync(file);
    if (!stats.isFile() || (stats.mode & 0o077) !== 0) return undefined;
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const socket = key.host.startsWith('/');
  const hosts = socket ? [key.host, ...(DEFAULT_SOCKET_FOLDERS.includes(key.host.replace(/\/+$/, '')) ? ['localhost'] : [])] : [key.host];
  for (const host of hosts) {
    const wanted = [host, String(key.port), key.database, key.user];
    for (const line of text.split('\n')) {
      const fields = splitLine(line.replace(/\r$/, ''));
      if (fields && wanted.every((value, index) => fields[index] === WILDCARD || fields[index] === value)) return fields[4] as string;
    }
  }
  return undefined;
}

/** A field that is `*` as written (an escaped `\\*` is the character itself). */
const WILDCARD = Symbol('any');

/** A line's five fields, unescaped; undefined for a comment, or a line with fewer fields. */
function splitLine(line: string): Array<string | typeof WILDCARD> | undefined {
  if (line === '' || line.startsWith('#')) return undefined;
  const fields: string[] = [''];
  const raw: string[] = [''];
  for (let index = 0; index < line.length; index++) {
    const char = line[index];
    if (char === ':' && fields.length === 5) break; // libpq's password ends at the next unescaped colon
    if (char === ':') {
      fields.push('');
      raw.push('');
      continue;
    }
    raw[raw.length - 1] += char;
    if (char === '\\' && index + 1 < line.length) {
      raw[raw.length - 1] += line[index + 1];
      fields[fields.length - 1] += line[++index];
    } else fields[fields.length - 1] += char;
  }
  if (fields.length !== 5) return undefined;
  return fields.map((field, index) => (index < 4 && raw[index] === '*' ? WILDCARD : field));
}
