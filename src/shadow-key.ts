/**
 * The part of migrate-verify's cache key that no file holds: the database its migrations run
 * on, as a dialect and a major version (`postgresql 15`, `mariadb 10`, `sqlite`), never a host,
 * user or password. fastkit/plugin gives the target a `runtime` input that runs this file: Nx
 * runs it once per `nx` command that hashes such a task (in the workspace root, with the task's
 * environment) and hashes what it prints.
 *
 * The same choice the helper makes (python/fastkit_helper/shadow.py): a project whose
 * DATABASE_URL is SQLite, or that has neither DATABASE_URL nor a shadow server, runs on a
 * temporary SQLite file; otherwise on the server of FASTKIT_SHADOW_URL. A server's version is
 * asked in one short connection: PostgreSQL's through fastkit's own session (with the password libpq
 * would use: the URL's, PGPASSWORD, or the password file), MySQL's and MariaDB's from the
 * greeting the server sends before anyone logs in.
 */
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { userInfo } from 'node:os';
import { libpqPassword } from './pgpass';
import { PostgresSession } from './postgres-wire';
import { SHADOW_URL_VARIABLE } from './shadow-database';
import { parseUrl, type DatabaseUrl } from './version-table';

const FAMILIES: Record<string, string> = { sqlite: 'sqlite', postgresql: 'postgresql', postgres: 'postgresql', mysql: 'mysql', mariadb: 'mysql' };
const TIMEOUT_MS = 3000;

/** The key for this environment: `sqlite`, `postgresql 15`, `mariadb 10`, or what stands in the way (`postgresql no shadow server`). */
export async function shadowKey(env: Record<string, string | undefined> = process.env): Promise<string> {
  const live = env.DATABASE_URL ? parseUrl(env.DATABASE_URL) : undefined;
  const liveFamily = live ? (FAMILIES[live.dialect] ?? live.dialect) : undefined;
  const shadowText = env[SHADOW_URL_VARIABLE];
  const shadow = shadowText ? parseUrl(shadowText) : undefined;
  if (liveFamily === 'sqlite' || (!liveFamily && !shadowText)) return 'sqlite';
  if (!shadow) return `${liveFamily ?? 'unknown'} ${shadowText ? 'unreadable shadow URL' : 'no shadow server'}`;
  const family = FAMILIES[shadow.dialect] ?? shadow.dialect;
  if (liveFamily && liveFamily !== family) return `${liveFamily} on a ${family} shadow server`;
  try {
    if (family === 'postgresql') return `postgresql ${await postgresMajor(shadow, env)}`;
    if (family === 'mysql') return await mysqlServer(shadow);
  } catch {
    return `${family} unreachable`;
  }
  return family;
}

/** PostgreSQL's major version (`server_version_num` 150004 → 15), over one connection as libpq would make it. */
async function postgresMajor(url: DatabaseUrl, env: Record<string, string | undefined>): Promise<string> {
  const host = url.query.get('host') ?? url.host ?? env.PGHOST ?? ['/var/run/postgresql', '/tmp'].find((folder) => existsSync(folder)) ?? 'localhost';
  const port = url.port ?? (url.query.get('port') ? Number(url.query.get('port')) : undefined) ?? (env.PGPORT ? Number(env.PGPORT) : 5432);
  const user = url.user ?? env.PGUSER ?? userInfo().username;
  const database = url.database ?? 'postgres';
  const session = await PostgresSession.open({
    host,
    port,
    user,
    password: url.password ?? libpqPassword({ host, port, database, user }, env),
    database,
    timeoutMs: TIMEOUT_MS,
  });
  try {
    const [[text]] = await session.query('SHOW server_version_num');
    const number = Number(text);
    return number >= 100000 ? String(Math.floor(number / 10000)) : `${Math.floor(number / 10000)}.${Math.floor((number % 10000) / 100)}`;
  } finally {
    session.close();
  }
}

/** `mysql 8` or `mariadb 10`, from the version in the handshake packet a MySQL server sends first. */
function mysqlServer(url: DatabaseUrl): Promise<string> {
  const socketPath = url.query.get('unix_socket') ?? undefined;
  return new Promise((resolve, reject) => {
    const socket = socketPath
      ? createConnection({ path: socketPath })
      : createConnection({ host: url.host ?? 'localhost', port: url.port ?? 3306 });
    const timer = setTimeout(() => socket.destroy(new Error('timeout')), TIMEOUT_MS);
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      // 3 bytes of length, 1 of sequence, then protocol version 10 and the NUL-terminated version
      const end = received.indexOf(0, 5);
      if (received.length < 5 || end === -1) return;
      clearTimeout(timer);
      socket.destroy();
      const version = received.subarray(5, end).toString('latin1');
      const maria = /MariaDB/i.test(version);
      const major = /^(?:5\.5\.5-)?(\d+)/.exec(version)?.[1] ?? '?';
      resolve(`${maria ? 'mariadb' : 'mysql'} ${major}`);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => reject(new Error('closed before its greeting')));
  });
}

if (require.main === module) {
  shadowKey().then(
    (key) => process.stdout.write(`${key}\n`),
    () => process.stdout.write('unknown\n'),
  );
}
