/**
 * MariaDB commits DDL as it runs: a migration that fails or is interrupted halfway stays partly
 * applied while alembic_version still names the revision before it. fastkit says which
 * revision that is and how to look at it, on a real MariaDB server.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMariaDatabase, mariadb } from '../support/mariadb';
import { startFastkit } from '../support/processes';
import { revision } from '../support/revisions';
import { exampleProject, fastkit } from '../support/workspace';

const CREATE_NOTES = revision('a1a1a1a1a1a1', null, 'create notes', 'op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True))', 'op.drop_table("notes")');

/** A project with `create notes`, then `second` as revision b2b2b2b2b2b2. */
function projectWith(second: string): string {
  const project = exampleProject({ revisions: false });
  const versions = join(project, 'alembic', 'versions');
  writeFileSync(join(versions, '20260101_000001_create_notes.py'), CREATE_NOTES);
  writeFileSync(join(versions, '20260101_000002_add_tags.py'), second);
  return project;
}

const inspect =
  'Compare the database with alembic/versions/20260101_000002_add_tags.py (SHOW CREATE TABLE for each table it changes) ' +
  'and finish or undo its changes by hand; `fastkit migrate status` names the last revision applied in full.';

describe('a migration cut short on MariaDB names the revision that may be partly applied', () => {
  const database = createMariaDatabase('fk_partial');
  afterAll(() => database.drop());
  afterEach(() => mariadb(database.name, 'DROP TABLE IF EXISTS tags, notes, alembic_version'));

  test('a migration that fails after its CREATE TABLE: the table stays, the version does not move, the line says so', () => {
    const project = projectWith(
      revision(
        'b2b2b2b2b2b2',
        'a1a1a1a1a1a1',
        'add tags',
        'op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True))\n    op.execute("INSERT INTO no_such_table VALUES (1)")',
        'op.drop_table("tags")',
      ),
    );
    const ran = fastkit(['migrate', 'run'], { cwd: project, env: { DATABASE_URL: database.url } });
    expect(ran.code).toBe(1);
    expect(ran.stdout).toBe('Running upgrade base -> a1a1a1a1a1a1, create notes\nRunning upgrade a1a1a1a1a1a1 -> b2b2b2b2b2b2, add tags\n');
    const line = ran.stderr.trim();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toMatch(/^fastkit: ProgrammingError: \(pymysql\.err\.ProgrammingError\) \(1146, .*no_such_table.*\) \(alembic\/versions\/20260101_000002_add_tags\.py, line \d+\)\. /);
    expect(line).toContain('. MySQL/MariaDB commits DDL as it runs: revision b2b2b2b2b2b2 (add tags) may be partly applied. ' + inspect);
    expect(mariadb(database.name, 'SELECT version_num FROM alembic_version')).toBe('a1a1a1a1a1a1');
    expect(mariadb(database.name, "SHOW TABLES LIKE 'tags'")).toBe('tags'); // the part that was applied
  });

  test('Ctrl-C during a migration: exit 130, and the same advice', async () => {
    const project = projectWith(
      revision(
        'b2b2b2b2b2b2',
        'a1a1a1a1a1a1',
        'add tags',
        'op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True))\n    print("tags created", flush=True)\n    op.execute("SELECT SLEEP(120)")',
        'op.drop_table("tags")',
      ),
    );
    const started = startFastkit(['migrate', 'run'], { cwd: project, env: { DATABASE_URL: database.url } });
    await started.waitFor('tags created');
    started.child.kill('SIGINT');
    const finished = await started.exited;
    expect(finished.code).toBe(130);
    expect(finished.output.trim().split('\n').at(-1)).toBe(
      'fastkit: Interrupted. MySQL/MariaDB commits DDL as it runs: revision b2b2b2b2b2b2 (add tags) may be partly applied. ' + inspect,
    );
    expect(mariadb(database.name, 'SELECT version_num FROM alembic_version')).toBe('a1a1a1a1a1a1');
    expect(mariadb(database.name, "SHOW TABLES LIKE 'tags'")).toBe('tags');
  });

  test('a failure on a database that rolls back whole (SQLite here) gets no such note', () => {
    const project = projectWith(
      revision('b2b2b2b2b2b2', 'a1a1a1a1a1a1', 'add tags', 'op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True))\n    op.execute("INSERT INTO no_such_table VALUES (1)")'),
    );
    const ran = fastkit(['migrate', 'run'], { cwd: project });
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/^fastkit: OperationalError: .*no such table: no_such_table.*Run it again with --verbose for the full traceback\.\n$/);
    expect(ran.stderr).not.toContain('partly applied');
  });
});
