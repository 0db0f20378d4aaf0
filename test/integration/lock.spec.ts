import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMariaDatabase, mariadb } from '../support/mariadb';
import { childrenOf, runsAtOnce, startFastkit } from '../support/processes';
import { SLOW_REVISION } from '../support/revisions';
import { createPostgresDatabase, exampleProject, fastkit, psql, sqliteText } from '../support/workspace';


interface Engine {
  name: string;
  create(): { url: string; query(sql: string): string; drop(): void };
}

const engines: Engine[] = [
  {
    name: 'PostgreSQL',
    create() {
      const db = createPostgresDatabase('fklock');
      return { url: db.url, query: (sql) => psql(db.name, sql), drop: db.drop };
    },
  },
  {
    name: 'MariaDB',
    create() {
      const db = createMariaDatabase('fklock');
      return { url: db.url, query: (sql) => mariadb(db.name, sql), drop: db.drop };
    },
  },
  {
    name: 'SQLite',
    create() {
      const file = join(exampleProject(), 'lock.db');
      const query = (sql: string) => sqliteText(file, sql);
      return { url: `sqlite:///${file}`, query, drop: () => undefined };
    },
  },
];

describe.each(engines)('the migration lock on $name', (engine) => {
  let project: string;
  let db: ReturnType<Engine['create']>;
  const env = (extra: Record<string, string> = {}) => ({ DATABASE_URL: db.url, ...extra });

  beforeEach(() => {
    project = exampleProject({ revisions: false });
    writeFileSync(join(project, 'alembic', 'versions', '20260101_000000_slow_migration.py'), SLOW_REVISION);
    db = engine.create();
  });
  afterEach(() => db.drop());

  test('8 simultaneous runs all exit 0, the migration runs once, one row in the version table', async () => {
    const results = await runsAtOnce(8, project, env());

    for (const result of results) expect(result).toMatchObject({ code: 0 });
    expect(results.filter((result) => result.output.includes('Running upgrade'))).toHaveLength(1);
    expect(results.some((result) => result.output.includes('Waiting for'))).toBe(true);
    expect(db.query('SELECT version_num FROM alembic_version')).toBe('slow0001');
    expect(db.query('SELECT COUNT(*) FROM ran_once')).toBe('1');
    for (const result of results) expect(result.output).not.toContain('Traceback');
  });

  // one holder for both: a run that comes while it holds the lock, then a run once it is killed
  test('a run that cannot get the lock in time fails with one clear line and applies nothing; a lock holder killed with SIGKILL releases the lock, and the next run applies the migration', async () => {
    const holder = startFastkit(['migrate', 'run'], { cwd: project, env: env({ SLOW_SECONDS: '120' }) });
    await holder.waitFor('Running upgrade');

    const late = fastkit(['migrate', 'run'], { cwd: project, env: env({ FASTKIT_LOCK_TIMEOUT: '1' }) });
    const [helper] = childrenOf(holder.child.pid!);
    expect(helper).toBeDefined();
    process.kill(helper, 'SIGKILL');
    const killed = await holder.exited;
    expect(killed.code).not.toBe(0);

    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/Timed out after 1 s waiting for the migration lock/);
    expect(late.all).not.toContain('Traceback');
    expect(late.stdout).not.toContain('Running upgrade');

    const next = fastkit(['migrate', 'run'], { cwd: project, env: env({ SLOW_SECONDS: '0', FASTKIT_LOCK_TIMEOUT: '30' }) });
    expect(next.code).toBe(0);
    expect(next.stdout).toContain('Running upgrade base -> slow0001');
    expect(db.query('SELECT version_num FROM alembic_version')).toBe('slow0001');
  });
});
