import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, statSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import type { RecordEvent } from './helper-protocol';

/**
 * What env.py used and what it read to get there, as the helper recorded it while Alembic ran
 * env.py (python/fastkit_helper/recording.py); src/fast-path.ts answers only while every input
 * in it is unchanged.
 */
export type EnvPyRecord = RecordEvent;
export type RecordedDatabase = NonNullable<EnvPyRecord['database']>;

/**
 * The environment a record is keyed on, as hashes of the values fastkit passed to the helper
 * (Node knows them; the helper reports only which names were read).
 */
export interface EnvironmentKey {
  /** Each variable env.py read: the hash of its value, null when it was not set. */
  read: Record<string, string | null>;
  /** The whole environment, when env.py went through all of it. */
  whole: string | null;
  /**
   * The variables read before env.py or below Python, which the helper cannot see being read:
   * the interpreter's (PYTHONPATH, PYTHONHOME, VIRTUAL_ENV, HOME for the user site, the locale)
   * and libpq's (PGSERVICE, PGOPTIONS, PGSSLMODE, PGPASSFILE…).
   */
  pinned: string;
}

type Environment = Record<string, string | undefined>;

/**
 * fastkit's request to the one-shot helper and its event channel: the request differs on every
 * call, neither is there in a server's fork, and neither is an input of env.py (code that reads
 * every variable reads them too).
 */
const HELPER_OWN = new Set(['FASTKIT_REQUEST', 'FASTKIT_EVENTS_FD']);

const PINNED = /^(PYTHON|PG|LC_)|^(VIRTUAL_ENV|HOME|LANG)$/;

/** The key of a record made with `env`, the helper's whole environment. */
export function environmentKey(record: EnvPyRecord, env: Environment): EnvironmentKey {
  const hash = (value: string | undefined) => (value === undefined ? null : saltedHash(record.salt, value));
  return {
    read: Object.fromEntries(record.env.filter((name) => !HELPER_OWN.has(name)).map((name) => [name, hash(env[name])])),
    whole: record.wholeEnv ? saltedHash(record.salt, canonical(env, () => true)) : null,
    pinned: saltedHash(record.salt, canonical(env, (name) => PINNED.test(name))),
  };
}

/** Why the answer might differ from the recorded one now, or undefined when no input changed. */
export function changedInput(record: EnvPyRecord, key: EnvironmentKey, env: Environment): string | undefined {
  if (!record.usable) return `env.py ${record.why ?? 'cannot be replayed'}`;
  const now = environmentKey(record, env);
  if (now.pinned !== key.pinned) return "a PYTHON*, PG*, VIRTUAL_ENV, HOME or locale variable changed since Alembic's last run";
  if (now.whole !== key.whole) return "the environment changed since Alembic's last run, and env.py reads all of it";
  for (const [name, hash] of Object.entries(key.read)) {
    if (now.read[name] !== hash) return `${name} changed since Alembic's last run`;
  }
  for (const [path, print] of Object.entries(record.files)) {
    if (!sameFile(record.salt, path, print)) return `${path} changed since Alembic's last run`;
  }
  for (const [path, follow, kind] of record.paths) {
    if (pathKind(path, follow) !== kind) return `${path} is ${describeKind(pathKind(path, follow))} now, ${describeKind(kind)} when Alembic last ran`;
  }
  const ignored = databaseFiles(record);
  for (const [folder, names] of Object.entries(record.listings)) {
    const now = listing(folder, ignored);
    if (now === null || names === null) {
      if (now !== names) return `${folder} is ${now === null ? 'missing' : 'there'} now, ${names === null ? 'missing' : 'there'} when Alembic last ran`;
      continue;
    }
    const appeared = now.find((name) => !names.includes(name));
    if (appeared !== undefined) return `${join(folder, appeared)} appeared since Alembic's last run`;
    const gone = names.find((name) => !now.includes(name));
    if (gone !== undefined) return `${join(folder, gone)} is gone since Alembic's last run`;
  }
  return undefined;
}

/**
 * The password of a recorded connection, if fastkit can find one with its hash: in the
 * environment (a variable env.py read, or PGPASSWORD), or in a file env.py read and that is
 * unchanged since (a `.env` that python-dotenv or pydantic-settings loaded, a settings file, a
 * URL written in database.py). The hash decides, so a candidate that is not the password is
 * never used: the files are searched loosely, for `NAME=value` lines and URLs.
 */
export function recordedPassword(record: EnvPyRecord, secret: { sha256: string }, env: Environment): string | undefined {
  const matches = (candidate: string | undefined) => candidate !== undefined && saltedHash(record.salt, candidate) === secret.sha256;
  for (const name of [...record.env, 'PGPASSWORD']) {
    const value = env[name];
    if (value === undefined) continue;
    const found = [value, urlPassword(value)].find(matches);
    if (found !== undefined) return found;
  }
  for (const [path, print] of Object.entries(record.files)) {
    if (!('sha256' in print)) continue;
    const text = readSmallText(path);
    if (text === undefined || saltedHash(record.salt, text) !== print.sha256) continue;
    const found = passwordsIn(text.toString('utf8')).find(matches);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The password of a SQLAlchemy URL (`dialect+driver://user:password@…`), decoded as SQLAlchemy decodes it. */
function urlPassword(value: string): string | undefined {
  const match = /^[\w+]+:\/\/[^:/@]*:([^@]*)@/.exec(value);
  return match ? percentDecoded(match[1]) : undefined;
}

/** A URL's password as SQLAlchemy decodes it; undefined when it is not percent-encoded text. */
function percentDecoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** The largest file searched for a password: a `.env` or settings file, never a data file. */
const MAX_SEARCHED_FILE = 1 << 20;

function readSmallText(path: string): Buffer | undefined {
  try {
    return statSync(path).size <= MAX_SEARCHED_FILE ? readFileSync(path) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What in a file could be a password: each `NAME=value` (or `NAME: value`) line's value, as
 * written and as python-dotenv reads it (dotenv/parser.py: quotes removed and their escapes
 * undone, an unquoted value without its comment), and the password of every URL in the file.
 */
export function passwordsIn(text: string): string[] {
  const candidates = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const assigned = /^\s*(?:export\s+)?[^=#\s:]+\s*[=:]\s*(.*?)\s*$/.exec(line)?.[1];
    if (assigned === undefined) continue;
    candidates.add(assigned);
    candidates.add(dotenvValue(assigned));
  }
  for (const match of text.matchAll(/[\w+]+:\/\/[^:/@\s'"]*:([^@\s'"]*)@/g)) {
    candidates.add(match[1]);
    candidates.add(percentDecoded(match[1]) ?? match[1]);
  }
  return [...candidates];
}

const DOUBLE_QUOTE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** A value as python-dotenv reads what follows `NAME=` on one line. */
function dotenvValue(written: string): string {
  const single = /^'((?:\\'|[^'])*)'/.exec(written);
  if (single) return single[1].replace(/\\([\\'])/g, '$1');
  const double = /^"((?:\\"|[^"])*)"/.exec(written);
  if (double) return double[1].replace(/\\([\\'"abfnrtv])/g, (_, char: string) => DOUBLE_QUOTE_ESCAPES[char] ?? char);
  return written.replace(/\s+#.*/, '').trimEnd();
}

/** The hash every part of a record uses: sha256 of the salt, a NUL, then the content. */
export function saltedHash(salt: string, content: string | Buffer): string {
  return createHash('sha256').update(salt).update('\0').update(content).digest('hex');
}

/** The variables for which `keep` holds, as `name=value` lines in a fixed order. */
function canonical(env: Environment, keep: (name: string) => boolean): string {
  return Object.keys(env)
    .filter((name) => env[name] !== undefined && !HELPER_OWN.has(name) && keep(name))
    .sort()
    .map((name) => `${name}=${env[name]}\0`)
    .join('');
}

type Fingerprint = EnvPyRecord['files'][string];

function sameFile(salt: string, path: string, print: Fingerprint): boolean {
  if ('kind' in print) return pathKind(path, true) === print.kind;
  if ('mtime' in print) {
    const stats = statSync(path, { bigint: true, throwIfNoEntry: false });
    return stats !== undefined && stats.isFile() && stats.mtimeNs.toString() === print.mtime && Number(stats.size) === print.size;
  }
  try {
    return saltedHash(salt, readFileSync(path)) === print.sha256;
  } catch {
    return false;
  }
}

/** What a path is, as the helper names it (python/fastkit_helper/recording.py, _kind). */
function pathKind(path: string, follow: boolean): string {
  let stats: BigIntStats | undefined;
  try {
    stats = follow ? statSync(path, { bigint: true, throwIfNoEntry: false }) : lstatSync(path, { bigint: true, throwIfNoEntry: false });
  } catch (error) {
    return (error as { code?: string }).code === 'ENOTDIR' ? 'missing' : 'unreadable';
  }
  if (!stats) return 'missing';
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'dir';
  if (stats.isSymbolicLink()) return 'link';
  return 'other';
}

function describeKind(kind: string): string {
  return { missing: 'missing', file: 'a file', dir: 'a folder', link: 'a symbolic link', other: 'a special file', unreadable: 'unreadable' }[kind] ?? kind;
}

/** The names in a folder but Python's own __pycache__ and the recorded SQLite file's; null when it cannot be listed. */
function listing(folder: string, ignored: Set<string>): string[] | null {
  try {
    return readdirSync(folder).filter((name) => name !== '__pycache__' && !ignored.has(join(folder, name)));
  } catch {
    return null;
  }
}

/** The recorded SQLite database and its journals: they come and go with the database, and are not inputs of env.py. */
function databaseFiles(record: EnvPyRecord): Set<string> {
  const file = record.database?.dialect === 'sqlite' ? record.database.connect?.args[0] : undefined;
  return new Set(typeof file === 'string' ? ['', '-journal', '-wal', '-shm'].map((suffix) => file + suffix) : []);
}
