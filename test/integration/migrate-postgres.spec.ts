import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { addColumn, createPostgresDatabase, exampleProject, fastkit, psql, revisionFiles } from '../support/workspace';
import { revisionIdOf } from '../support/revisions';

describe('fastkit migrate on PostgreSQL (real Alembic, real server)', () => {
  const database = createPostgresDatabase('fk_migrate');
  const project = exampleProject({ revisions: false });
  const cli = (...args: string[]) => fastkit(['migrate', ...args], { cwd: project, env: { DATABASE_URL: database.url } });
  const tables = () => psql(database.name, "select tablename from pg_tables where schemaname = 'public' order by 1").split('\n');
  const columns = (table: string) =>
    psql(database.name, `select column_name from information_schema.columns where table_name = '${table}' order by 1`).split('\n');
  const applied = () => psql(database.name, 'select version_num from alembic_version');
  const revisions: string[] = [];

  afterAll(() => database.drop());

  test('make writes YYYYMMDD_HHMMSS_create_invoices.py with the create_table and prints its path', () => {
    const made = cli('make', '-m', 'create_invoices');
    expect(made.code).toBe(0);
    const [file] = revisionFiles(project);
    expect(revisionFiles(project)).toHaveLength(1);
    expect(file).toMatch(/^\d{8}_\d{6}_create_invoices\.py$/);
    expect(made.stdout).toContain(`Created ${join('alembic', 'versions', file)}`);
    const source = readFileSync(join(project, 'alembic', 'versions', file), 'utf8');
    expect(source).toContain("op.create_table('invoices'");
    expect(source).toContain("op.create_table('clients'");
    revisions.push(revisionIdOf(source));
  });

  test('make only compared the models with the database: no table of the models exists yet', () => {
    expect(tables()).not.toContain('invoices');
    expect(tables()).not.toContain('clients');
  });

  test('run applies it: the tables exist in PostgreSQL and the migration is reported', () => {
    const ran = cli('run');
    expect(ran.code).toBe(0);
    expect(ran.stdout).toBe(`Running upgrade base -> ${revisions[0]}, create_invoices\nNow at ${revisions[0]} (head)\n`);
    expect(tables()).toEqual(['alembic_version', 'clients', 'invoices']);
    expect(applied()).toBe(revisions[0]);
  });

  test('run again prints nothing at all and exits 0', () => {
    expect(cli('run')).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  test('status shows the revision with (head)', () => {
    const status = cli('status');
    expect(status.code).toBe(0);
    expect(status.stdout).toBe(`${revisions[0]} (head)\n`);
    expect(cli('status', '--check').code).toBe(0);
  });

  test('a second model change makes and runs a second revision', () => {
    addColumn(project, 'invoices', 'notes: Mapped[str | None] = mapped_column(String(500))');
    const made = cli('make', '-m', 'add notes to invoices');
    expect(made.code).toBe(0);
    const files = revisionFiles(project);
    expect(files).toHaveLength(2);
    expect(files[1]).toMatch(/^\d{8}_\d{6}_add_notes_to_invoices\.py$/);
    const source = readFileSync(join(project, 'alembic', 'versions', files[1]), 'utf8');
    expect(source).toContain("op.add_column('invoices', sa.Column('notes'");
    revisions.push(revisionIdOf(source));

    const ran = cli('run');
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain(`Running upgrade ${revisions[0]} -> ${revisions[1]}, add notes to invoices`);
    expect(columns('invoices')).toContain('notes');
    expect(applied()).toBe(revisions[1]);
  });

  test('rollback undoes only the last migration', () => {
    const rolled = cli('rollback');
    expect(rolled.code).toBe(0);
    expect(rolled.stdout).toBe(
      `Running downgrade ${revisions[1]} -> ${revisions[0]}, add notes to invoices\nNow at ${revisions[0]}\n`,
    );
    expect(columns('invoices')).not.toContain('notes');
    expect(tables()).toEqual(['alembic_version', 'clients', 'invoices']);
    expect(applied()).toBe(revisions[0]);
  });

  test('status then lists the pending migration and how to apply it; --check exits 3', () => {
    const status = cli('status');
    expect(status.code).toBe(0);
    expect(status.stdout).toBe(
      [revisions[0], '1 pending migration:', `  ${revisions[1]}  add notes to invoices`, 'Apply it with `fastkit migrate run`', ''].join(
        '\n',
      ),
    );
    const check = cli('status', '--check');
    expect(check.code).toBe(3);
    expect(check.stderr).toContain('behind head');
  });

  test('status --json prints only {current, heads, pending, upToDate}', () => {
    const status = cli('status', '--json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual({
      current: [revisions[0]],
      heads: [revisions[1]],
      pending: [{ revision: revisions[1], message: 'add notes to invoices' }],
      upToDate: false,
    });
  });

  test('rollback at base says Nothing to roll back, exit 1, no traceback', () => {
    expect(cli('rollback').code).toBe(0);
    expect(tables()).toEqual(['alembic_version']);
    const atBase = cli('rollback');
    expect(atBase.code).toBe(1);
    expect(atBase.stdout).toBe('');
    expect(atBase.stderr).toBe('fastkit: Nothing to roll back. The database is at base: no migration is applied.\n');
    expect(atBase.all).not.toContain('Traceback');
  });
});
