/**
 * A stdout that cannot be written never stops a migration midway: `fastkit migrate run >
 * /dev/full` (a real /dev/full, where every write fails with ENOSPC) applies every pending
 * migration, then exits 1 with one line on stderr and no Node stack, on SQLite and PostgreSQL.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, createPostgresDatabase, exampleProject, fastkit, psql, sqliteTables, VENV } from '../support/workspace';

const LOST_OUTPUT =
  'fastkit: Could not write the output (ENOSPC: no space left on device); the command itself ran to the end. ' +
  'Send the output where it can be written, and see the database with `fastkit migrate status`.\n';

/** `fastkit <args> > /dev/full`, stderr captured. */
function toDevFull(args: string[], cwd: string, env: Record<string, string> = {}) {
  const full = openSync('/dev/full', 'w');
  try {
    const ran = spawnSync(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, VIRTUAL_ENV: VENV, ...env },
      stdio: ['ignore', full, 'pipe'],
      encoding: 'utf8',
    });
    return { code: ran.status, stderr: ran.stderr };
  } finally {
    closeSync(full);
  }
}

describe('fastkit migrate run > /dev/full', () => {
  beforeAll(() => expect(existsSync('/dev/full')).toBe(true));

  test('on SQLite: both migrations applied, exit 1, one line and no stack', () => {
    const project = exampleProject();
    const ran = toDevFull(['migrate', 'run'], project);
    expect(ran).toEqual({ code: 1, stderr: LOST_OUTPUT });
    expect(sqliteTables(join(project, 'api.db'))).toEqual(['alembic_version', 'clients', 'invoices']);
    expect(JSON.parse(fastkit(['migrate', 'status', '--json', '--no-fast'], { cwd: project }).stdout)).toMatchObject({
      current: ['a719d4f7b98f'],
      upToDate: true,
    });
  });

  test('on PostgreSQL: both migrations applied, exit 1, one line and no stack', () => {
    const project = exampleProject();
    const database = createPostgresDatabase('fk_full');
    try {
      const ran = toDevFull(['migrate', 'run'], project, { DATABASE_URL: database.url });
      expect(ran).toEqual({ code: 1, stderr: LOST_OUTPUT });
      expect(psql(database.name, 'SELECT version_num FROM alembic_version')).toBe('a719d4f7b98f');
      expect(psql(database.name, "SELECT to_regclass('clients') IS NOT NULL AND to_regclass('invoices') IS NOT NULL")).toBe('t');
    } finally {
      database.drop();
    }
  });

  test('with nothing to write (nothing pending), nothing is lost: exit 0', () => {
    const project = exampleProject();
    expect(fastkit(['migrate', 'run'], { cwd: project }).code).toBe(0);
    expect(toDevFull(['migrate', 'run', '--no-fast'], project)).toEqual({ code: 0, stderr: '' });
  });

  test('status > /dev/full: the report is lost, so exit 1 with the same line', () => {
    const project = exampleProject();
    expect(toDevFull(['migrate', 'status'], project)).toEqual({ code: 1, stderr: LOST_OUTPUT });
  });
});
