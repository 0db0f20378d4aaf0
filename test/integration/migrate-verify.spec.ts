/**
 * `fastkit migrate verify` and `fastkit migrate status --drift` with real Alembic on real
 * databases: SQLite (a temporary file as the shadow), PostgreSQL and MariaDB (a shadow database
 * made on the server of FASTKIT_SHADOW_URL). Every run is checked on the server afterwards: the
 * shadow it reported is gone, and the database of DATABASE_URL was never touched.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMariaDatabase, mariadb, MARIADB_SOCKET } from '../support/mariadb';
import { helpersRunningIn, startFastkit } from '../support/processes';
import { revision } from '../support/revisions';
import { MARIADB_PASSWORD, SENTINEL_PASSWORD } from '../support/secrets';
import { addColumn, createPostgresDatabase, exampleProject, fastkit, PG_HOST, PG_USER, psql, python, PYTHON, REPO, run, STACK, tempDir, type Ran } from '../support/workspace';

/** Where each kind of database keeps its shadows, and how to ask it about them. */
interface Server {
  name: 'SQLite' | 'PostgreSQL' | 'MariaDB';
  /** FASTKIT_SHADOW_URL for it (none for SQLite). */
  shadowUrl?: string;
  /** A fresh live database for DATABASE_URL, to prove it is never touched (none for SQLite: env.py's own file). */
  live?(): { name: string; url: string; drop(): void };
  /** The tables of a live database. */
  tables?(database: string): string[];
  /** Whether the shadow database of this name (or SQLite file) still exists. */
  exists(shadow: string): boolean;
}

const POSTGRES: Server = {
  name: 'PostgreSQL',
  shadowUrl: `postgresql+${STACK.postgresDriver}://${PG_USER}:${SENTINEL_PASSWORD}@/postgres?host=${PG_HOST}`,
  live: () => createPostgresDatabase('fk_verify_live'),
  tables: (database) => psql(database, "select tablename from pg_tables where schemaname = 'public' order by 1").split('\n').filter(Boolean),
  exists: (shadow) => psql('postgres', `select count(*) from pg_database where datname = '${shadow}'`) !== '0',
};

const MARIADB: Server = {
  name: 'MariaDB',
  shadowUrl: `mysql+pymysql://fastkit_test:${MARIADB_PASSWORD}@localhost/mysql?unix_socket=${MARIADB_SOCKET}`,
  live: () => createMariaDatabase('fk_verify_live'),
  tables: (database) => mariadb(database, 'SHOW TABLES').split('\n').filter(Boolean),
  exists: (shadow) => mariadb('mysql', `SHOW DATABASES LIKE '${shadow}'`) !== '',
};

const SQLITE: Server = { name: 'SQLite', exists: (shadow) => existsSync(shadow) };

/** The shadow a run reported making: `Made shadow database <name> (<dialect>)`. */
function shadowOf(ran: { stderr?: string; all?: string } | string): string {
  const text = typeof ran === 'string' ? ran : (ran.stderr ?? ran.all ?? '');
  const made = /^Made shadow database (\S+) \(\w+\)$/m.exec(text);
  if (!made) throw new Error(`no shadow database was reported:\n${text}`);
  return made[1];
}

const NOTES = revision(
  'c0ffee000001',
  'a719d4f7b98f',
  'add notes to invoices',
  'op.add_column("invoices", sa.Column("notes", sa.String(200)))\n    op.create_index("ix_invoices_notes", "invoices", ["notes"])',
  'op.drop_index("ix_invoices_notes", "invoices")\n    with op.batch_alter_table("invoices") as batch:\n        batch.drop_column("notes")',
);

/** The broken revisions, each on top of the healthy history, with what verify must say about it. */
const BROKEN = {
  'a downgrade that raises': revision(
    'bad000000001',
    'c0ffee000001',
    'add paid to invoices',
    'op.add_column("invoices", sa.Column("paid", sa.String(20)))',
    'op.drop_index("ix_invoices_paid", "invoices")',
  ),
  'a downgrade that forgets to drop a column': revision(
    'bad000000002',
    'c0ffee000001',
    'add paid to invoices',
    'op.add_column("invoices", sa.Column("paid", sa.String(20)))',
    'pass',
  ),
  'a downgrade that drops the wrong index': revision(
    'bad000000003',
    'c0ffee000001',
    'index created_at of invoices',
    'op.create_index("ix_invoices_created_at", "invoices", ["created_at"])',
    'op.drop_index("ix_invoices_notes", "invoices")',
  ),
};

/** The line of a revision's source that holds `text`, counted from 1. */
function lineOf(source: string, text: string): number {
  return source.split('\n').findIndex((line) => line.includes(text)) + 1;
}

describe.each([SQLITE, POSTGRES, MARIADB])('fastkit migrate verify on $name', (server) => {
  const project = exampleProject();
  const live = server.live?.();
  const env = { FASTKIT_SHADOW_URL: server.shadowUrl, ...(live ? { DATABASE_URL: live.url } : {}) };
  const verify = (...args: string[]) => fastkit(['migrate', 'verify', ...args], { cwd: project, env });
  const versions = join(project, 'alembic', 'versions');

  beforeAll(() => {
    writeFileSync(join(versions, '20261127_000001_add_notes_to_invoices.py'), NOTES);
    addColumn(project, 'invoices', 'notes: Mapped[str | None] = mapped_column(String(200), index=True)');
  });
  afterAll(() => live?.drop());

  /** A run's shadow is gone, and the live database still has no table at all. */
  function expectCleanedUp(ran: Ran): void {
    expect(server.exists(shadowOf(ran))).toBe(false);
    expect(ran.stderr).toMatch(/^Dropped shadow database \S+$/m);
    if (live) expect(server.tables!(live.name)).toEqual([]);
    if (!live) expect(existsSync(join(project, 'api.db'))).toBe(false);
  }

  test('a healthy history passes: every revision up, down and up again, the models match head; exit 0', () => {
    const ran = verify();
    expect(ran.stdout).toMatch(/^Stairway: 3 revisions upgraded, downgraded and upgraded again on (sqlite|postgresql \d+\.\d+|mariadb \d+\.\d+), each downgrade undoing its upgrade\nModels: match head c0ffee000001\n$/);
    expect(ran.code).toBe(0);
    expectCleanedUp(ran);
  });

  // the report renders the same on every database, and the run above matched all of stdout on each: once
  if (server.name === 'SQLite') {
    test('--json prints only the report', () => {
      const ran = verify('--json');
      expect(ran.code).toBe(0);
      expect(JSON.parse(ran.stdout)).toMatchObject({ ok: true, revisions: 3, verified: 3, head: 'c0ffee000001', modelsChecked: true, findings: [] });
      expectCleanedUp(ran);
    });
  }

  describe.each(Object.entries(BROKEN))('%s', (name, source) => {
    const file = `20261128_000001_${name.replace(/\W+/g, '_')}.py`;
    beforeAll(() => writeFileSync(join(versions, file), source));
    afterAll(() => rmSync(join(versions, file)));

    test('is named at its revision, with its file and what to do; exit 1; the models are not compared', () => {
      const ran = verify();
      const at = join('alembic', 'versions', file);
      const findings = ran.stdout.split('\n').filter((line) => line.startsWith(at));
      if (name === 'a downgrade that raises') {
        const line = lineOf(source, 'op.drop_index("ix_invoices_paid"');
        expect(findings).toEqual([
          expect.stringMatching(
            new RegExp(
              `^${at.replace(/\./g, '\\.')}:${line}: downgrade\\(\\) raises: .*ix_invoices_paid.*\\. Fix downgrade\\(\\) so that it undoes upgrade\\(\\): a rollback of this revision fails the same way\\.$`,
            ),
          ),
        ]);
      } else if (name === 'a downgrade that forgets to drop a column') {
        expect(findings).toEqual([expect.stringMatching(/: downgrade\(\) leaves column invoices\.paid \S.* NULL behind\. Remove it in downgrade\(\)\.$/)]);
      } else {
        expect(findings).toEqual([
          expect.stringMatching(/: downgrade\(\) leaves index ix_invoices_created_at on invoices .*created_at.* behind\. Remove it in downgrade\(\)\.$/),
          expect.stringMatching(/: downgrade\(\) removes index ix_invoices_notes on invoices .*notes.*, which was there before upgrade\(\)\. downgrade\(\) must undo only what upgrade\(\) did: leave it in place\.$/),
        ]);
      }
      expect(ran.stdout).toMatch(/^Stairway: stopped at revision 4 of 4 on /m);
      expect(ran.stdout).toContain('Models: not compared (the stairway stopped first)\n');
      expect(ran.stderr).toMatch(/^fastkit: Verify found \d problems?\. Each is listed above with its file and what to do\.$/m);
      expect(ran.code).toBe(1);
      expectCleanedUp(ran);
    });
  });

  if (server.name !== 'MariaDB') {
    test('a model column added without a migration is reported with its op, its model file and the make command', () => {
      const models = join(project, 'modules', 'clients', 'models.py');
      const before = readFileSync(models, 'utf8');
      addColumn(project, 'clients', 'phone: Mapped[str | None] = mapped_column(String(30))');
      try {
        const ran = verify();
        expect(ran.stdout.split('\n')[0]).toMatch(
          /^modules\/clients\/models\.py: column clients\.phone VARCHAR\(30\) is in the models; no migration has it \(add_column\)\. Make a migration for it: `fastkit migrate make -m "message"`\.$/,
        );
        expect(ran.stdout).toContain('Models: 1 difference from head c0ffee000001\n');
        expect(ran.code).toBe(1);
        expectCleanedUp(ran);
      } finally {
        writeFileSync(models, before);
      }
    });
  }
});

describe.each([SQLITE, POSTGRES])('fastkit migrate status --drift on $name', (server) => {
  const project = exampleProject();
  const live = server.live?.();
  const env = { FASTKIT_SHADOW_URL: server.shadowUrl, ...(live ? { DATABASE_URL: live.url } : {}) };
  const cli = (...args: string[]) => fastkit(['migrate', ...args], { cwd: project, env });
  const sqliteFile = join(project, 'api.db');
  const execute = (sql: string) =>
    live
      ? psql(live.name, sql)
      : python(`import sqlite3; c = sqlite3.connect(${JSON.stringify(sqliteFile)}); c.executescript(${JSON.stringify(sql)}); c.commit()`);
  /** What the live database holds, to prove --drift only read it. */
  const liveState = () =>
    live
      ? psql(live.name, "select string_agg(table_name || '.' || column_name, ',' order by 1) from information_schema.columns where table_schema = 'public'") +
        psql(live.name, 'select version_num from alembic_version')
      : readFileSync(sqliteFile).toString('base64');

  beforeAll(() => expect(cli('run').code).toBe(0));
  afterAll(() => live?.drop());

  test('no drift: the schema is the one its revision makes; exit 0', () => {
    const ran = cli('status', '--drift');
    expect(ran.stdout).toBe('a719d4f7b98f (head)\nNo drift: the schema is the one the migrations make up to revision a719d4f7b98f\n');
    expect(ran.code).toBe(0);
    expect(server.exists(shadowOf(ran))).toBe(false);
  });

  test('a column and an index added by hand are listed; exit 1; the live database is only read', () => {
    execute('ALTER TABLE invoices ADD COLUMN hand_note VARCHAR(40); CREATE INDEX ix_hand ON clients (id, created_at);');
    const before = liveState();
    const ran = cli('status', '--drift');
    expect(ran.stdout.split('\n')).toEqual([
      'a719d4f7b98f (head)',
      'Drift: 2 differences from the schema the migrations make up to revision a719d4f7b98f:',
      expect.stringMatching(/^ {2}index ix_hand on clients .*id, created_at.* is in the database, not in the migrations: added by hand\?$/),
      expect.stringMatching(/^ {2}column invoices\.hand_note .*NULL is in the database, not in the migrations: added by hand\?$/),
      '',
    ]);
    expect(ran.stderr).toMatch(/^fastkit: The database's schema differs from its revision's: 2 differences\. Each is listed above: undo the change by hand, or make a migration that does it\.$/m);
    expect(ran.code).toBe(1);
    expect(liveState()).toBe(before);
    expect(server.exists(shadowOf(ran))).toBe(false);
    if (server.name === 'SQLite') {
      // the same findings as JSON: rendered alike on every database, so checked once
      const json = cli('status', '--drift', '--json');
      expect(JSON.parse(json.stdout)).toMatchObject({
        current: ['a719d4f7b98f'],
        upToDate: true,
        drift: [
          { change: 'extra', kind: 'index', name: 'ix_hand on clients' },
          { change: 'extra', kind: 'column', name: 'invoices.hand_note' },
        ],
      });
    }
  });
});

describe('the shadow database is gone after every ending (PostgreSQL, checked on the server)', () => {
  const project = exampleProject();
  const env = { FASTKIT_SHADOW_URL: POSTGRES.shadowUrl };
  const versions = join(project, 'alembic', 'versions');
  const slowFile = join(versions, '20261129_000001_slow.py');

  beforeAll(() => {
    // a migration that says when it runs and then takes its time, for a signal to land in
    writeFileSync(
      slowFile,
      revision(
        '51035105105a',
        'a719d4f7b98f',
        'slow data fix',
        'print("slow data fix running", flush=True)\n    import time\n    time.sleep(60)',
      ),
    );
  });

  async function interrupted(signal: NodeJS.Signals, whom: 'fastkit' | 'helper' = 'fastkit') {
    const started = startFastkit(['migrate', 'verify'], { cwd: project, env });
    await started.waitFor(/^Made shadow database \S+ \(postgresql\)$/m);
    await started.waitFor('slow data fix running');
    const shadow = shadowOf(started.output());
    expect(POSTGRES.exists(shadow)).toBe(true);
    if (whom === 'fastkit') started.child.kill(signal);
    else for (const pid of helpersRunningIn(project)) process.kill(pid, signal);
    const exited = await started.exited;
    return { ...exited, shadow };
  }

  test('Ctrl-C (SIGINT): exit 130, no traceback, the shadow dropped', async () => {
    const { code, output, shadow } = await interrupted('SIGINT');
    expect(code).toBe(130);
    expect(output).not.toContain('Traceback');
    expect(output).toContain(`Dropped shadow database ${shadow}`);
    expect(POSTGRES.exists(shadow)).toBe(false);
  });

  test('SIGTERM: exit 143, the shadow dropped', async () => {
    const { code, shadow } = await interrupted('SIGTERM');
    expect(code).toBe(143);
    expect(POSTGRES.exists(shadow)).toBe(false);
  });

  test('a helper killed outright (SIGKILL) leaves its shadow, and the next run drops it', async () => {
    const { code, shadow } = await interrupted('SIGKILL', 'helper');
    expect(code).toBe(1);
    expect(POSTGRES.exists(shadow)).toBe(true);
    rmSync(slowFile);
    const next = fastkit(['migrate', 'verify'], { cwd: project, env });
    expect(next.stderr).toContain(`Dropped shadow database ${shadow}, left behind by a run that was killed\n`);
    expect(next.code).toBe(0);
    expect(POSTGRES.exists(shadow)).toBe(false);
    expect(POSTGRES.exists(shadowOf(next))).toBe(false);
  });
});

describe('the shadow server: never the database of DATABASE_URL, always the dialect env.py connects with', () => {
  const project = exampleProject();

  test('env.py that computes its URL itself (a settings module) still runs on the shadow, and its own database is never reached', () => {
    const live = createPostgresDatabase('fk_verify_settings');
    try {
      // the URL comes from a settings module read at import, not from DATABASE_URL or sqlalchemy.url
      writeFileSync(join(project, 'settings.py'), `DB_URL = ${JSON.stringify(live.url)}\n`);
      const envPy = join(project, 'alembic', 'env.py');
      writeFileSync(envPy, readFileSync(envPy, 'utf8').replace('def database_url() -> str:\n', 'def database_url() -> str:\n    import settings\n    return settings.DB_URL\n'));
      const ran = fastkit(['migrate', 'verify'], { cwd: project, env: { FASTKIT_SHADOW_URL: POSTGRES.shadowUrl } });
      expect(ran.stdout).toMatch(/^Stairway: 2 revisions upgraded, downgraded and upgraded again on postgresql /m);
      expect(ran.code).toBe(0);
      expect(POSTGRES.tables!(live.name)).toEqual([]);
      expect(POSTGRES.exists(shadowOf(ran))).toBe(false);
    } finally {
      live.drop();
    }
  });

  test('the shadow key of the cache: dialect and major version, never a host or password', () => {
    const key = (extra: Record<string, string>) =>
      run(process.execPath, [join(REPO, 'dist', 'src', 'shadow-key.js')], {
        cwd: project,
        env: { ...process.env, DATABASE_URL: undefined, FASTKIT_SHADOW_URL: undefined, ...extra },
      }).stdout.trim();
    expect(key({})).toBe('sqlite');
    expect(key({ FASTKIT_SHADOW_URL: POSTGRES.shadowUrl! })).toMatch(/^postgresql \d+$/);
    expect(key({ FASTKIT_SHADOW_URL: MARIADB.shadowUrl! })).toMatch(/^mariadb \d+$/);
    expect(key({ DATABASE_URL: `postgresql://app:${SENTINEL_PASSWORD}@db.internal/app` })).toBe('postgresql no shadow server');
    expect(key({ DATABASE_URL: "sqlite:///app.db", FASTKIT_SHADOW_URL: POSTGRES.shadowUrl! })).toBe('sqlite');
  });
});

describe('the one-query snapshot of a PostgreSQL schema against SQLAlchemy\'s Inspector', () => {
  test('both give the same facts of every kind, and see the same difference for each kind of change', () => {
    const database = createPostgresDatabase('fk_snapshot');
    try {
      const ran = run(PYTHON, [join(REPO, 'test', 'support', 'schema_snapshot_differential.py'), database.url], { cwd: REPO });
      expect(ran.code).toBe(0);
      const { keys, changes } = JSON.parse(ran.stdout) as { keys: [unknown, unknown]; changes: Record<string, [string[], string[]]> };
      expect(keys[0]).toEqual(keys[1]);
      expect(Object.keys(changes)).toHaveLength(9);
      for (const [change, [catalog, inspector]] of Object.entries(changes)) {
        expect({ change, seen: catalog }).toEqual({ change, seen: inspector });
        expect(catalog).toHaveLength(1);
      }
    } finally {
      database.drop();
    }
  });
});

describe("fastkit migrate verify on a project Alembic's async template made (the URL in alembic.ini)", () => {
  test('the shadow keeps the project\'s async driver (aiosqlite): the stairway holds and the models match', () => {
    const dir = tempDir('fastkit-verify-async-');
    expect(run(PYTHON, ['-m', 'alembic', 'init', '-t', 'async', 'alembic'], { cwd: dir }).code).toBe(0);
    writeFileSync(
      join(dir, 'models.py'),
      'import sqlalchemy as sa\n\nmetadata = sa.MetaData()\nnotes = sa.Table("notes", metadata, sa.Column("id", sa.Integer, primary_key=True))\n',
    );
    const envPy = join(dir, 'alembic', 'env.py');
    writeFileSync(envPy, readFileSync(envPy, 'utf8').replace('target_metadata = None', 'from models import metadata\ntarget_metadata = metadata'));
    const ini = join(dir, 'alembic.ini');
    writeFileSync(ini, readFileSync(ini, 'utf8').replace(/^sqlalchemy\.url = .*$/m, 'sqlalchemy.url = sqlite+aiosqlite:///%(here)s/app.db'));
    const env = { VIRTUAL_ENV: join(PYTHON, '..', '..'), DATABASE_URL: undefined };
    expect(fastkit(['migrate', 'make', '-m', 'create notes'], { cwd: dir, env }).code).toBe(0);
    const verified = fastkit(['migrate', 'verify'], { cwd: dir, env });
    expect(verified.stderr).not.toContain('async driver');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/^Models: match head \w+$/m);
    expect(existsSync(join(dir, 'app.db'))).toBe(false); // the live database was never touched
  });
});
