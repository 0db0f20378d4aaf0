/**
 * `fastkit migrate check` on real revision histories written by real Alembic (`alembic
 * revision`, autogenerate through `fastkit migrate make` on SQLite), with no database reachable
 * for the check itself.
 */
import { copyFileSync, cpSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { revision as revisionSource, revisionIdOf } from '../support/revisions';
import { exampleProject, fastkit, modelColumn, PYTHON, revisionFiles, run, STACK, tempDir, type Ran } from '../support/workspace';

/** A server that is not there, with a password that must never be printed. */
const NO_DATABASE = { DATABASE_URL: `postgresql+${STACK.postgresDriver}://app:n0t-pr1nted@127.0.0.1:9/nowhere` };

const check = (project: string, ...args: string[]) => fastkit(['migrate', 'check', ...args], { cwd: project, env: NO_DATABASE });
const alembic = (project: string, ...args: string[]) => run(PYTHON, ['-m', 'alembic', ...args], { cwd: project });
const versions = (project: string) => join(project, 'alembic', 'versions');
const source = (project: string, file: string) => readFileSync(join(versions(project), file), 'utf8');
const revisionId = (project: string, file: string) => revisionIdOf(source(project, file));

/** `alembic revision -m MESSAGE` (no autogenerate); returns the new file's name. */
function revision(project: string, message: string, ...args: string[]): string {
  const before = new Set(revisionFiles(project));
  const made = alembic(project, 'revision', '-m', message, ...args);
  if (made.code !== 0) throw new Error(`alembic revision failed: ${made.stderr}`);
  return revisionFiles(project).find((file) => !before.has(file))!;
}

/** The check's lines on stdout, `file:line: level: message` first, the summary last. */
function lines(ran: Ran): string[] {
  return ran.stdout.trim().split('\n');
}

function expectClean(ran: Ran): void {
  expect(ran.all).not.toContain('Traceback');
  expect(ran.all).not.toContain('n0t-pr1nted');
}

describe('fastkit migrate check: errors fail the check (exit 1)', () => {
  test('a healthy history (the example, plus a revision made by Alembic) passes, without any database', () => {
    const project = exampleProject();
    const added = revision(project, 'add index');
    const ran = check(project);
    expectClean(ran);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toBe(`Checked 3 revisions (head ${revisionId(project, added)}): no errors, no warnings\n`);
    expect(ran.stderr).toBe('');
  });

  test('two branches each adding a revision: two heads, the same ones Alembic reports, and the rebase and merge commands', () => {
    const main = exampleProject();
    const branch = join(tempDir('fastkit-branch-'), 'api');
    cpSync(main, branch, { recursive: true });
    const ours = revision(main, 'add notes');
    const theirs = revision(branch, 'add status');
    copyFileSync(join(versions(branch), theirs), join(versions(main), theirs)); // git merges both branches

    const ran = check(main);
    expectClean(ran);
    expect(ran.code).toBe(1);
    const alembicHeads = alembic(main, 'heads').stdout.match(/^\w+/gm)!.sort();
    const heads = [revisionId(main, ours), revisionId(main, theirs)].sort();
    expect(alembicHeads).toEqual(heads);
    expect(lines(ran)[0]).toMatch(
      new RegExp(
        `^alembic/versions/\\S+\\.py:\\d+: error: the history has 2 heads: \\w+ \\(\\S+\\), \\w+ \\(\\S+\\)\\. ` +
          `Put this branch's revisions after the other head with \`fastkit migrate rebase\`, or merge them with \`fastkit migrate rebase --merge\`\\.$`,
      ),
    );
    expect(ran.stderr).toBe('fastkit: Migration check failed: 1 error. Each is listed above with its file and line.\n');
    const json = JSON.parse(check(main, '--json').stdout);
    expect(json).toMatchObject({ ok: false, revisions: 4, errors: [{ code: 'multiple-heads' }], warnings: [] });
    expect([...json.heads].sort()).toEqual(heads);

    // the merge the hint names (Alembic's merge revision: upgrade and downgrade both `pass`) mends it, with no warning
    expect(fastkit(['migrate', 'rebase', '--merge'], { cwd: main }).code).toBe(0);
    const mended = check(main);
    expect(mended.code).toBe(0);
    expect(mended.stdout).toMatch(/^Checked 5 revisions \(head \w+\): no errors, no warnings\n$/);
  });

  test('a down_revision that no file defines (a revision file lost in a merge)', () => {
    const project = exampleProject();
    const middle = revision(project, 'add notes');
    const last = revision(project, 'add status');
    const lost = revisionId(project, middle);
    rmSync(join(versions(project), middle));
    const line = source(project, last).split('\n').findIndex((text) => text.startsWith('down_revision')) + 1;
    const ran = check(project);
    expectClean(ran);
    expect(ran.code).toBe(1);
    expect(lines(ran)[0]).toBe(
      `alembic/versions/${last}:${line}: error: down_revision '${lost}' names no revision of this history. ` +
        'Restore the missing revision file, or point down_revision at an existing revision.',
    );
    expect(lines(ran)).toHaveLength(2); // not also "2 heads": the missing link is the one error
  });

  test('two files with the same revision id', () => {
    const project = exampleProject();
    const [, invoices] = revisionFiles(project);
    const copy = invoices.replace('create_invoices', 'create_invoices_again');
    copyFileSync(join(versions(project), invoices), join(versions(project), copy));
    const ran = check(project);
    expectClean(ran);
    expect(ran.code).toBe(1);
    expect(lines(ran)).toContain(
      `alembic/versions/${copy}:15: error: revision ${revisionId(project, invoices)} is also defined in ${invoices}. ` +
        "Give one of them a new id (and point its children's down_revision at it).",
    );
  });

  test('a revision file that does not compile: its file and line', () => {
    const project = exampleProject();
    const broken = revision(project, 'add notes');
    const text = source(project, broken).replace('def upgrade() -> None:', 'def upgrade() -> None\n');
    writeFileSync(join(versions(project), broken), text);
    const line = text.split('\n').findIndex((row) => row === 'def upgrade() -> None') + 1;
    const ran = check(project);
    expectClean(ran);
    expect(ran.code).toBe(1);
    expect(lines(ran)[0]).toBe(
      `alembic/versions/${broken}:${line}: error: does not compile: expected ':'. Fix the file; Alembic cannot load the history until it compiles.`,
    );
  });

  test('a version_locations folder that does not exist: an error naming it and the fix, not "No revisions yet"', () => {
    const project = exampleProject({ revisions: false });
    const ini = join(project, 'alembic.ini');
    // version_path_separator too: Alembic before 1.16 knows only that one, and would read one folder named "…versions:shared/versions"
    const separators = 'path_separator = os\nversion_path_separator = os\n';
    writeFileSync(ini, readFileSync(ini, 'utf8').replace('path_separator = os\n', `${separators}version_locations = %(here)s/alembic/versions:shared/versions\n`));
    const line = readFileSync(ini, 'utf8').split('\n').findIndex((text) => text.startsWith('version_locations')) + 1;
    const ran = check(project);
    expectClean(ran);
    expect(ran.code).toBe(1);
    expect(lines(ran)).toEqual([
      `alembic.ini:${line}: error: version_locations names shared/versions, which is not a folder. Create it, or fix version_locations in alembic.ini.`,
      'Checked 0 revisions: 1 error, no warnings',
    ]);
    expect(ran.stderr).toBe('fastkit: Migration check failed: 1 error. Each is listed above with its file and line.\n');
  });
});

describe('fastkit migrate check: histories Alembic runs are valid, however they are named and branched', () => {
  test("a file name off the project's file_template (YYYYMMDD_HHMMSS_slug) is a warning: Alembic never reads names", () => {
    const project = exampleProject();
    const made = revision(project, 'add notes');
    renameSync(join(versions(project), made), join(versions(project), 'add_notes.py'));
    const ran = check(project);
    expectClean(ran);
    expect(ran.code).toBe(0);
    expect(lines(ran)).toEqual([
      "alembic/versions/add_notes.py:1: warning: the file name does not follow the project's file_template (YYYYMMDD_HHMMSS_<slug>.py). " +
        'Alembic does not mind; rename it to match if the project keeps to its template.',
      `Checked 3 revisions (head ${revisionId(project, 'add_notes.py')}): no errors, 1 warning`,
    ]);
  });

  test("the names follow whatever template the project has: Alembic's default <rev>_<slug>", () => {
    const project = exampleProject({ revisions: false });
    const ini = join(project, 'alembic.ini');
    writeFileSync(ini, readFileSync(ini, 'utf8').replace(/^file_template = .*$/m, ''));
    const first = revision(project, 'create tables');
    expect(first).toMatch(/^[0-9a-f]{12}_create_tables\.py$/);
    expect(check(project).code).toBe(0);
    renameSync(join(versions(project), first), join(versions(project), `20260101_000000_${first}`));
    const ran = check(project);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain("warning: the file name does not follow the project's file_template (<rev>_<slug>.py)");
  });

  test('revision ids chosen by hand (0001_initial_schema in 0001_initial_schema.py), and a file named after another revision, check clean, as Alembic runs them', () => {
    const project = exampleProject({ revisions: false });
    const write = (file: string, text: string) => writeFileSync(join(versions(project), file), text);
    write('0001_initial_schema.py', revisionSource('0001_initial_schema', null, 'initial schema', 'op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True))', 'op.drop_table("notes")'));
    write('0002_add_title.py', revisionSource('0002', '0001_initial_schema', 'add title', 'op.add_column("notes", sa.Column("title", sa.Text))', 'op.drop_column("notes", "title")'));
    write('0002_add_title_index.py', revisionSource('0003', '0002', 'index the title', 'op.create_index("ix_title", "notes", ["title"])', 'op.drop_index("ix_title", "notes")'));
    const ran = check(project);
    expectClean(ran);
    expect({ code: ran.code, stdout: ran.stdout }).toEqual({ code: 0, stdout: 'Checked 3 revisions (head 0003): no errors, no warnings\n' });
    const alembicHeads = alembic(project, 'heads');
    expect(alembicHeads.stdout.trim()).toBe('0003 (head)');
  });

  test('a branch point and the merge revision Alembic makes check clean, with the one head Alembic reports', () => {
    const project = exampleProject();
    const base = revisionId(project, revisionFiles(project)[1]);
    const ours = revisionId(project, revision(project, 'add notes'));
    const theirs = revisionId(project, revision(project, 'add tags', '--head', base, '--splice')); // a second branch from the same parent
    expect(check(project).stdout).toContain(`error: the history has 2 heads: `); // before the merge
    const merged = alembic(project, 'merge', '-m', 'merge notes and tags', ours, theirs);
    expect(merged.code).toBe(0);
    const ran = check(project);
    expectClean(ran);
    const head = alembic(project, 'heads').stdout.trim().replace(/ \(head\)$/, '');
    expect({ code: ran.code, stdout: ran.stdout }).toEqual({ code: 0, stdout: `Checked 5 revisions (head ${head}): no errors, no warnings\n` });
  });
});

describe('fastkit migrate check: what can lose data is a warning (exit 0), with file:line', () => {
  const project = exampleProject();
  const make = (message: string) => {
    const made = fastkit(['migrate', 'make', '-m', message], { cwd: project });
    if (made.code !== 0) throw new Error(`make failed: ${made.all}`);
    expect(fastkit(['migrate', 'run'], { cwd: project }).code).toBe(0);
    return revisionFiles(project).slice(-1)[0];
  };
  const editModels = (module: string, edit: (text: string) => string) => {
    const file = join(project, 'modules', module, 'models.py');
    writeFileSync(file, edit(readFileSync(file, 'utf8')));
  };
  const lineOf = (file: string, text: string) => source(project, file).split('\n').findIndex((row) => row.includes(text)) + 1;
  let reshaped: string;
  let ran: Ran;

  beforeAll(() => {
    expect(fastkit(['migrate', 'run'], { cwd: project }).code).toBe(0);
    editModels('invoices', (text) =>
      'from sqlalchemy import Boolean, Numeric, String, Text\n' +
      text +
      [
        modelColumn('notes: Mapped[str | None] = mapped_column(Text)'),
        modelColumn('number: Mapped[str | None] = mapped_column(String(100))'),
        modelColumn('total: Mapped[float | None] = mapped_column(Numeric(10, 2))'),
        modelColumn('paid: Mapped[int | None] = mapped_column(Integer)'),
        modelColumn('body: Mapped[str | None] = mapped_column(Text)'),
        '',
      ]
        .map((line) => (line ? `    ${line}` : line))
        .join('\n'),
    );
    make('add invoice fields');
    // the models change the way people change them; autogenerate (real Alembic, SQLite) writes the revision
    const change = (text: string, from: string, to: string) => text.replace(modelColumn(from), modelColumn(to));
    editModels('invoices', (text) =>
      [
        ['notes: Mapped[str | None] = mapped_column(Text)', 'memo: Mapped[str | None] = mapped_column(Text)'],
        ['number: Mapped[str | None] = mapped_column(String(100))', 'number: Mapped[str | None] = mapped_column(String(50))'],
        ['total: Mapped[float | None] = mapped_column(Numeric(10, 2))', 'total: Mapped[int | None] = mapped_column(Integer)'],
        ['paid: Mapped[int | None] = mapped_column(Integer)', 'paid: Mapped[bool | None] = mapped_column(Boolean)'],
        ['body: Mapped[str | None] = mapped_column(Text)', 'body: Mapped[str | None] = mapped_column(String(20))'],
      ].reduce((edited, [from, to]) => change(edited, from, to), text),
    );
    editModels('clients', (text) => text.replace('__tablename__ = "clients"', '__tablename__ = "customers"'));
    reshaped = make('reshape invoices');
    // these tests are about warnings on revisions edited by hand, not about checksums: without a
    // fastkit.sum (make wrote one) the folder is not checked for them
    rmSync(join(versions(project), 'fastkit.sum'));
    ran = check(project);
  });

  test('the autogenerated revision has the operations the warnings are about', () => {
    const text = source(project, reshaped);
    expect(text).toContain("op.drop_table('clients')");
    expect(text).toContain("batch_op.drop_column('notes')");
    expect(text).toContain("batch_op.add_column(sa.Column('memo', sa.Text(), nullable=True))");
  });

  test('the check passes and says how many warnings', () => {
    expectClean(ran);
    expect(ran.code).toBe(0);
    expect(ran.stderr).toBe('');
    expect(lines(ran).slice(-1)[0]).toMatch(/^Checked 4 revisions \(head \w+\): no errors, 8 warnings$/);
  });

  test.each([
    ["op.drop_table('clients')", 'drops table clients: its rows are lost'],
    [
      "op.drop_table('clients')",
      "drops table clients and creates customers with the same columns: possibly a rename — Alembic cannot detect renames. To keep the rows, rename it instead: op.rename_table('clients', 'customers').",
    ],
    ["batch_op.drop_column('notes')", 'drops column invoices.notes: its data is lost'],
    [
      "batch_op.drop_column('notes')",
      "drops invoices.notes and adds invoices.memo of the same type (TEXT): possibly a rename — Alembic cannot detect renames. To keep the data, rename it instead: op.alter_column('invoices', 'notes', new_column_name='memo').",
    ],
    ["alter_column('number'", 'changes invoices.number from VARCHAR(length=100) to String(length=50): values longer than 50 characters are cut or rejected'],
    ["alter_column('total'", 'changes invoices.total from NUMERIC(precision=10, scale=2) to Integer: the fractional part is dropped'],
    ["alter_column('paid'", 'changes invoices.paid from INTEGER to Boolean: only true/false survive'],
    ["alter_column('body'", 'changes invoices.body from TEXT to String(length=20): values longer than 20 characters are cut or rejected'],
  ])('at %s: %s', (operation, message) => {
    expect(lines(ran)).toContain(`alembic/versions/${reshaped}:${lineOf(reshaped, operation)}: warning: ${message}`);
  });

  test('the revision before it (only additions) has no warning', () => {
    expect(ran.stdout).not.toMatch(/add_invoice_fields\.py:\d+: warning/);
  });

  test('a downgrade() that does nothing while upgrade() does something; an empty revision is fine', () => {
    const backfill = revision(project, 'backfill totals');
    const file = join(versions(project), backfill);
    expect(check(project).stdout).not.toContain(backfill); // as Alembic writes it: both pass
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        /def upgrade\(\) -> None:\n    """Upgrade schema."""\n    pass/,
        'def upgrade() -> None:\n    """Upgrade schema."""\n    op.execute("UPDATE invoices SET total = 0 WHERE total IS NULL")',
      ),
    );
    const warned = check(project);
    expect(warned.code).toBe(0);
    expect(lines(warned)).toContain(
      `alembic/versions/${backfill}:${lineOf(backfill, 'def downgrade')}: warning: downgrade() does nothing, so rolling this revision back does not undo upgrade()`,
    );
  });

  test('--json prints only the machine result, warnings with file and line', () => {
    const json = check(project, '--json');
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ ok: true, revisions: 5, errors: [] });
    expect(report.warnings).toHaveLength(9);
    expect(report.warnings[0]).toEqual({
      code: expect.any(String),
      file: expect.stringMatching(/^alembic\/versions\/\d{8}_\d{6}_\w+\.py$/),
      line: expect.any(Number),
      message: expect.any(String),
    });
    expect(report.warnings.map((warning: { code: string }) => warning.code).sort()).toEqual([
      'drop-column',
      'drop-table',
      'noop-downgrade',
      'possible-rename',
      'possible-rename',
      'type-change',
      'type-change',
      'type-change',
      'type-change',
    ]);
  });
});
