import { isAbsolute } from 'node:path';
import { recordedPassword, type EnvPyRecord, type RecordedDatabase } from './env-py-record';
import { libpqPassword } from './pgpass';
import { PostgresError, PostgresSession } from './postgres-wire';
import { readSqliteTable } from './sqlite-file';

type Environment = Record<string, string | undefined>;

/**
 * The revisions in the version table of exactly the database Alembic last used, read without
 * Python: the SQLite file it opened, or the PostgreSQL server, database and user libpq connected
 * to. A string says why it cannot be certain to read the same table (an argument it cannot map,
 * a connection problem): then the caller asks Alembic, which also explains any error.
 */
export async function readVersionTable(record: EnvPyRecord, env: Environment): Promise<string[] | string> {
  const database = record.database;
  if (!database) return 'env.py connected to no database';
  if (database.dialect === 'sqlite') return readSqliteVersions(database);
  if (database.dialect === 'postgresql') return readPostgresVersions(record, database, env);
  return `fastkit does not read ${database.dialect} databases itself`;
}

export interface DatabaseUrl {
  dialect: string;
  driver?: string;
  user?: string;
  password?: string;
  host?: string;
  port?: number;
  database?: string;
  query: URLSearchParams;
}

/** SQLAlchemy's URL form (the shadow key's reading of DATABASE_URL; the fast path reads what Alembic used instead): dialect[+driver]://[user[:password]@][host][:port]/[database][?query]. */
export function parseUrl(url: string): DatabaseUrl | undefined {
  const match = /^([a-z0-9_]+)(?:\+([a-z0-9_]+))?:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?:]*)(?::(\d+))?(?:\/([^?]*))?(?:\?(.*))?$/i.exec(url);
  if (!match) return undefined;
  const [, dialect, driver, user, password, host, port, database, query] = match;
  try {
    return {
      dialect: dialect.toLowerCase(),
      driver: driver?.toLowerCase(),
      user: user ? decodeURIComponent(user) : undefined,
      password: password !== undefined ? decodeURIComponent(password) : undefined,
      host: host ? decodeURIComponent(host) : undefined,
      port: port ? Number(port) : undefined,
      database: database ? decodeURIComponent(database) : undefined,
      query: new URLSearchParams(query ?? ''),
    };
  } catch {
    return undefined;
  }
}

const SQLITE_DRIVERS = ['pysqlite', 'aiosqlite'];

function readSqliteVersions(database: RecordedDatabase): string[] | string {
  if (!SQLITE_DRIVERS.includes(database.driver)) return `the SQLite driver ${database.driver}`;
  const { args = [], kwargs = {} } = database.connect ?? {};
  const file = args[0];
  if (args.length !== 1 || typeof file !== 'string' || !isAbsolute(file)) return 'the SQLite database is not a plain file';
  if (kwargs.uri) return 'a SQLite URI filename';
  if (database.versionTableSchema !== null) return 'a version table in an attached SQLite database';
  const read = readSqliteTable(file, database.versionTable);
  if (!read) return 'the SQLite file is being written, or has a form fastkit does not read';
  return versions(read.rows);
}

/** The drivers that connect through libpq, whose arguments fastkit knows how to map. */
const LIBPQ_DRIVERS = ['psycopg', 'psycopg2', 'psycopg_async', 'psycopg2cffi'];
/** Connect arguments that fastkit's own session (src/postgres-wire.ts) takes the same way, or that do not change which database and session it reaches. */
const MAPPED_ARGUMENTS = ['host', 'port', 'user', 'password', 'dbname', 'database', 'application_name', 'connect_timeout'];
/** libpq's environment variables that do the same (src/pgpass.ts reads PGPASSFILE as libpq does); any other (PGSERVICE, PGOPTIONS, PGSSLMODE…) means asking Alembic. */
const MAPPED_VARIABLES = ['PGHOST', 'PGPORT', 'PGUSER', 'PGDATABASE', 'PGPASSWORD', 'PGPASSFILE', 'PGAPPNAME', 'PGCONNECT_TIMEOUT'];

/** SQLAlchemy's psycopg dialect passes its type adapters as `context`: how values convert, not where it connects. */
function typeAdapters(name: string, value: unknown): boolean {
  return name === 'context' && (value as { object?: string } | null)?.object === 'AdaptersMap';
}

async function readPostgresVersions(record: EnvPyRecord, database: RecordedDatabase, env: Environment): Promise<string[] | string> {
  if (!LIBPQ_DRIVERS.includes(database.driver)) return `the PostgreSQL driver ${database.driver}`;
  const { connect, server } = database;
  if (!connect || !server) return 'no record of how libpq connected';
  if (connect.args.length > 1 || (connect.args.length === 1 && connect.args[0] !== '')) return 'a connection string (DSN) argument';
  const unmapped = Object.keys(connect.kwargs).filter((name) => !MAPPED_ARGUMENTS.includes(name) && !typeAdapters(name, connect.kwargs[name]));
  if (unmapped.length) return `the connect argument${unmapped.length > 1 ? 's' : ''} ${unmapped.join(', ')}`;
  for (const name of ['host', 'port']) {
    if (String(connect.kwargs[name] ?? '').includes(',')) return 'several hosts';
  }
  const variables = Object.keys(env).filter((name) => name.startsWith('PG') && env[name] !== undefined && !MAPPED_VARIABLES.includes(name));
  if (variables.length) return `libpq reads ${variables.join(', ')}`;
  const given = connect.kwargs.password as { sha256: string } | string | undefined;
  // given to libpq: the one with its hash; else the one libpq takes itself
  const password =
    typeof given === 'object' && given !== null
      ? recordedPassword(record, given, env)
      : libpqPassword({ host: server.host, port: server.port, database: server.dbname, user: server.user }, env);
  let session: PostgresSession | undefined;
  try {
    // a server that asks for a password gets only the one Alembic used; else fastkit asks Alembic
    session = await PostgresSession.open({
      host: server.host,
      port: server.port,
      user: server.user,
      database: server.dbname,
      password,
      timeoutMs: 3000,
    });
    const [[searchPath, currentUser, currentDatabase]] = await session.query("SELECT current_setting('search_path'), current_user, current_database()");
    if (searchPath !== server.searchPath || currentUser !== server.currentUser || currentDatabase !== server.currentDatabase) {
      return 'the server describes the session differently than it did to Alembic';
    }
    const table = (database.versionTableSchema === null ? '' : `${quoteIdentifier(database.versionTableSchema)}.`) + quoteIdentifier(database.versionTable);
    return versions(await session.query(`SELECT version_num FROM ${table}`));
  } catch (error) {
    // no version table (or no schema for it) yet: at base, as Alembic says
    if (error instanceof PostgresError && ['42P01', '3F000'].includes(error.code)) return [];
    return `reading the version table failed (${(error as Error).message})`;
  } finally {
    session?.close();
  }
}

function versions(rows: unknown[][] | undefined): string[] | string {
  if (rows === undefined) return [];
  if (!rows.every((row) => typeof row[0] === 'string')) return 'the version table holds something other than revision ids';
  return rows.map((row) => row[0] as string);
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
