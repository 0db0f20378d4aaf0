import { userInfo } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { readSqliteTable } from './sqlite-file';

/**
 * The revisions in a database's alembic_version table, read without Python. Undefined when
 * fastkit cannot be sure it reads the same table Alembic would (an unusual URL, a busy file,
 * a connection problem): then the caller asks Alembic, which also explains any error.
 */
export async function readVersionTable(url: string, cwd: string, table = 'alembic_version'): Promise<string[] | undefined> {
  const parsed = parseUrl(url);
  if (!parsed) return undefined;
  if (parsed.dialect === 'sqlite') return readSqliteVersions(parsed, cwd, table);
  if (parsed.dialect === 'postgresql') return readPostgresVersions(parsed, table);
  return undefined;
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

/** SQLAlchemy's URL form: dialect[+driver]://[user[:password]@][host][:port]/[database][?query]. */
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

function readSqliteVersions(url: DatabaseUrl, cwd: string, table: string): string[] | undefined {
  if ((url.driver && url.driver !== 'pysqlite') || url.host || url.user || [...url.query].length > 0) return undefined;
  if (!url.database || url.database === ':memory:') return undefined;
  const file = isAbsolute(url.database) ? url.database : resolve(cwd, url.database);
  const read = readSqliteTable(file, table);
  if (!read) return undefined;
  return versions(read.rows);
}

const POSTGRES_DRIVERS = [undefined, 'psycopg', 'psycopg2', 'pg8000'];

async function readPostgresVersions(url: DatabaseUrl, table: string): Promise<string[] | undefined> {
  if (!POSTGRES_DRIVERS.includes(url.driver)) return undefined;
  const query = new Map(url.query);
  const socketHost = query.get('host');
  query.delete('host');
  // anything else in the query (sslmode, options, service…) changes how libpq connects: ask Alembic
  if (query.size > 0 || !url.database) return undefined;
  const host = socketHost ?? url.host;
  if (!host) return undefined; // libpq's compiled-in default socket folder is not knowable from here
  // loaded here, not at the top: only a PostgreSQL status pays for it (pg takes ~90 ms to load)
  const { Client } = require('pg') as typeof import('pg');
  const client = new Client({
    host,
    port: url.port,
    user: url.user ?? process.env.PGUSER ?? userInfo().username,
    password: url.password,
    database: url.database,
    connectionTimeoutMillis: 3000,
    query_timeout: 5000,
  });
  try {
    await client.connect();
    const result = await client.query({ text: `SELECT version_num FROM ${quoteIdentifier(table)}`, rowMode: 'array' });
    return versions(result.rows);
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return []; // no version table yet: at base
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function versions(rows: unknown[][] | undefined): string[] | undefined {
  if (rows === undefined) return [];
  if (!rows.every((row) => typeof row[0] === 'string')) return undefined;
  return rows.map((row) => row[0] as string);
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
