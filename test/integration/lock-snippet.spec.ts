/**
 * docs/lock-snippet.md, pasted as its reader would: into the env.py of a fresh `alembic init`,
 * then 8 simultaneous `fastkit migrate run` against a slow migration. The code under test is
 * the document's own code blocks, read from the file.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMariaDatabase, mariadb } from '../support/mariadb';
import { runsAtOnce, startFastkit } from '../support/processes';
import { SLOW_REVISION } from '../support/revisions';
import { createPostgresDatabase, psql, PYTHON, REPO, run, sqliteText, tempDir } from '../support/workspace';

const SNIPPET = readFileSync(join(REPO, 'docs', 'lock-snippet.md'), 'utf8');

/** The code block that follows `<!-- lock-snippet:NAME -->` in the document. */
function block(name: string): string {
  const found = new RegExp(`<!-- lock-snippet:${name} -->\\s*\`\`\`python\\n([\\s\\S]*?)\`\`\``).exec(SNIPPET);
  if (!found) throw new Error(`docs/lock-snippet.md has no block lock-snippet:${name}`);
  return found[1];
}

/** The transaction of run_migrations_online in the `alembic init` template. */
const STOCK_TRANSACTION = '        with context.begin_transaction():\n            context.run_migrations()\n';

/** Both pastes of the document, done to a stock env.py; each place must be found exactly once. */
function withLock(envPy: string): string {
  const online = envPy.indexOf('def run_migrations_online');
  const transaction = envPy.indexOf(STOCK_TRANSACTION, online);
  expect(online).toBeGreaterThan(0);
  expect(transaction).toBeGreaterThan(online);
  expect(envPy.indexOf(STOCK_TRANSACTION, transaction + 1)).toBe(-1);
  return (
    envPy.slice(0, online) +
    block('definitions') +
    '\n\n' +
    envPy.slice(online, transaction) +
    block('transaction') +
    envPy.slice(transaction + STOCK_TRANSACTION.length)
  );
}


/** What `alembic init alembic` writes (no path of its folder in it): run once, each project gets a copy. */
let stockInit: string | undefined;
function stockAlembicInit(): string {
  if (!stockInit) {
    stockInit = tempDir('fastkit-stock-init-');
    const init = run(PYTHON, ['-m', 'alembic', 'init', 'alembic'], { cwd: stockInit });
    expect(init.code).toBe(0);
  }
  return stockInit;
}

/** A project exactly as `alembic init alembic` leaves it, pointed at `url`, with the slow revision. */
function alembicInitProject(url: string, lock: boolean): string {
  const project = tempDir('fastkit-stock-');
  cpSync(stockAlembicInit(), project, { recursive: true });
  const ini = join(project, 'alembic.ini');
  writeFileSync(ini, readFileSync(ini, 'utf8').replace(/^sqlalchemy\.url = .*$/m, `sqlalchemy.url = ${url}`));
  const envPy = join(project, 'alembic', 'env.py');
  if (lock) writeFileSync(envPy, withLock(readFileSync(envPy, 'utf8')));
  writeFileSync(join(project, 'alembic', 'versions', 'slow0001_slow_migration.py'), SLOW_REVISION);
  return project;
}


const engines = [
  {
    name: 'PostgreSQL',
    create() {
      const db = createPostgresDatabase('fksnippet');
      return { url: db.url, query: (sql: string) => psql(db.name, sql), drop: db.drop };
    },
  },
  {
    name: 'MariaDB',
    create() {
      const db = createMariaDatabase('fksnippet');
      return { url: db.url, query: (sql: string) => mariadb(db.name, sql), drop: db.drop };
    },
  },
  {
    name: 'SQLite',
    create() {
      const file = join(tempDir('fastkit-snippet-db-'), 'app.db');
      const query = (sql: string) => sqliteText(file, sql);
      return { url: `sqlite:///${file}`, query, drop: () => undefined };
    },
  },
];

describe.each(engines)('the lock snippet in a stock `alembic init` env.py, on $name', (engine) => {
  const db = engine.create();
  afterAll(() => db.drop());

  test('8 simultaneous runs all exit 0, the migration runs once, one row in the version table', async () => {
    const results = await runsAtOnce(8, alembicInitProject(db.url, true));
    for (const result of results) expect(result).toMatchObject({ code: 0 });
    expect(results.filter((result) => result.output.includes('Running upgrade'))).toHaveLength(1);
    expect(results.some((result) => result.output.includes('Waiting for another migration to finish'))).toBe(true);
    for (const result of results) expect(result.output).not.toContain('Traceback');
    expect(db.query('SELECT version_num FROM alembic_version')).toBe('slow0001');
    expect(db.query('SELECT COUNT(*) FROM ran_once')).toBe('1');
  });
});

describe('without the snippet, the same stock env.py on PostgreSQL', () => {
  const db = createPostgresDatabase('fksnippet');
  afterAll(() => db.drop());

  test('8 simultaneous runs collide: all but one fail (what the snippet is for)', async () => {
    // nobody waits for a lock here: all eight are inside the migration at once (the version
    // table is there already, or creating it would line them up before the migration)
    const project = alembicInitProject(db.url, false);
    psql(db.name, 'CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)');
    const env = { ALL_RUNS: '8', ENTERED_DIR: tempDir('fastkit-entered-') };
    const runs = Array.from({ length: 8 }, () => startFastkit(['migrate', 'run'], { cwd: project, env }));
    const results = await Promise.all(runs.map((started) => started.exited));
    expect(results.filter((result) => result.code !== 0).length).toBe(7);
    expect(psql(db.name, 'SELECT COUNT(*) FROM ran_once')).toBe('1'); // PostgreSQL's transactional DDL saved the data
  });
});
