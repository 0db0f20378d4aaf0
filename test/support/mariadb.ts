/** Fresh MariaDB databases for tests; the server and user are set up by scripts/setup.mjs. */
import { MARIADB_PASSWORD } from './secrets';
import { run } from './workspace';

export const MARIADB_SOCKET = process.env.FASTKIT_MARIADB_SOCKET ?? '/run/mysqld/mysqld.sock';
const USER = 'fastkit_test';
const PASSWORD = MARIADB_PASSWORD;

export function mariadb(database: string, sql: string): string {
  const result = run('mariadb', ['--socket', MARIADB_SOCKET, '-u', USER, `-p${PASSWORD}`, '-N', '-B', '-D', database, '-e', sql]);
  if (result.code !== 0) throw new Error(`mariadb failed: ${result.stderr}`);
  return result.stdout.trim();
}

export function createMariaDatabase(prefix = 'fk'): { name: string; url: string; drop(): void } {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  mariadb('mysql', `CREATE DATABASE \`${name}\``);
  return {
    name,
    url: `mysql+pymysql://${USER}:${PASSWORD}@localhost/${name}?unix_socket=${MARIADB_SOCKET}`,
    drop: () => {
      mariadb('mysql', `DROP DATABASE IF EXISTS \`${name}\``);
    },
  };
}
