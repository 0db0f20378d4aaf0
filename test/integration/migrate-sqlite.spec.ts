import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { addColumn, exampleProject, fastkit, revisionFiles, sqliteTables } from '../support/workspace';

describe('fastkit migrate on SQLite (real Alembic)', () => {
  const project = exampleProject({ revisions: false });
  const db = join(project, 'api.db');
  const cli = (...args: string[]) => fastkit(['migrate', ...args], { cwd: project });

  test('make writes YYYYMMDD_HHMMSS_create_invoices.py with the create_table and prints its path', () => {
    const made = cli('make', '-m', 'create_invoices');
    expect(made.code).toBe(0);
    const [file] = revisionFiles(project);
    expect(file).toMatch(/^\d{8}_\d{6}_create_invoices\.py$/);
    expect(made.stdout).toContain(join('alembic', 'versions', file));
    const source = readFileSync(join(project, 'alembic', 'versions', file), 'utf8');
    expect(source).toContain("op.create_table('invoices'");
    expect(source).toContain("op.create_table('clients'");
  });

  test('run applies it: the tables exist and each migration is reported', () => {
    const ran = cli('run');
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/Running upgrade base -> \w+, create_invoices/);
    expect(sqliteTables(db)).toEqual(expect.arrayContaining(['alembic_version', 'clients', 'invoices']));
  });

  test('run again prints nothing at all and exits 0', () => {
    expect(cli('run')).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  test('status shows the revision with (head)', () => {
    const status = cli('status');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^\w{12} \(head\)$/m);
  });

  test('make with no model change writes no file and says No changes detected', () => {
    const before = revisionFiles(project);
    const made = cli('make', '-m', 'nothing_changed');
    expect(made.code).toBe(0);
    expect(made.stdout).toContain('No changes detected');
    expect(revisionFiles(project)).toEqual(before);
  });

  test('a second model change makes and runs a second revision', () => {
    addColumn(project, 'invoices', 'notes: Mapped[str | None] = mapped_column(String(500))');
    const made = cli('make', '-m', 'add notes to invoices');
    expect(made.code).toBe(0);
    expect(revisionFiles(project)).toHaveLength(2);
    expect(revisionFiles(project)[1]).toMatch(/_add_notes_to_invoices\.py$/);
    expect(cli('run').code).toBe(0);
  });

  test('rollback undoes only the last migration, and status then lists it as pending', () => {
    const rolled = cli('rollback');
    expect(rolled.code).toBe(0);
    expect(rolled.stdout).toMatch(/Running downgrade \w+ -> \w+, add notes to invoices/);
    expect(sqliteTables(db)).toEqual(expect.arrayContaining(['clients', 'invoices']));

    const status = cli('status');
    expect(status.stdout).not.toContain('(head)');
    expect(status.stdout).toMatch(/1 pending migration:\n\s+\w+\s+add notes to invoices/);
    expect(status.stdout).toContain('fastkit migrate run');
    expect(cli('status', '--check').code).toBe(3);
  });

  test('status --json prints only {current, heads, pending, upToDate}', () => {
    const status = cli('status', '--json');
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout);
    expect(Object.keys(report).sort()).toEqual(['current', 'heads', 'pending', 'upToDate']);
    expect(report.upToDate).toBe(false);
    expect(report.pending).toEqual([{ revision: expect.any(String), message: 'add notes to invoices' }]);
  });

  test('rollback at base says Nothing to roll back, exit 1, no traceback', () => {
    expect(cli('rollback').code).toBe(0);
    const atBase = cli('rollback');
    expect(atBase.code).toBe(1);
    expect(atBase.stderr).toContain('Nothing to roll back');
    expect(atBase.all).not.toContain('Traceback');
    expect(existsSync(db)).toBe(true);
  });
});
