import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNxWorkspace, taskOutput, type NxWorkspace } from '../support/nx-workspace';
import { addColumn, revisionFiles, sqliteTables, type Ran } from '../support/workspace';
import { revision, revisionIdIn } from '../support/revisions';

/**
 * The same make → run → status → rollback flow through each door, in a fresh Nx 24 workspace
 * outside the repository with fastkit installed from its packed tarball: the Nx executors via
 * the real `nx` CLI, the `fastkit` binary, and a real gulp run of a two-line gulpfile.
 */
describe('each door, from the packed tarball (Nx 24, gulp 5, real Alembic on SQLite)', () => {
  let ws: NxWorkspace;
  const db = () => join(ws.project, 'api.db');
  const revisionId = (file: string) => revisionIdIn(join(ws.project, 'alembic', 'versions', file));
  const TIMESTAMPED = /^\d{8}_\d{6}_/;

  beforeAll(() => {
    ws = createNxWorkspace({ nxVersion: '24', packages: ['gulp@5'] });
  }, 600_000);

  afterAll(() => ws?.remove());

  /** No Python traceback and no JavaScript stack trace reached the user. */
  function expectNoTrace(ran: Ran): void {
    expect(ran.all).not.toContain('Traceback');
    expect(ran.all).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  }

  describe('the Nx executors, through the real nx CLI', () => {
    const task = (target: string, ...args: string[]) => ws.nx(['run', `api:${target}`, ...args]);
    let first: string;

    beforeAll(() => ws.resetProject());

    test('nx run api:migrate-make -m "create_invoices" writes the timestamped revision (alias m)', () => {
      const made = task('migrate-make', '-m', 'create_invoices');
      expect(made.code).toBe(0);
      const files = revisionFiles(ws.project);
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/^\d{8}_\d{6}_create_invoices\.py$/);
      expect(readFileSync(join(ws.project, 'alembic', 'versions', files[0]), 'utf8')).toContain("op.create_table('invoices'");
      expect(taskOutput(made.stdout)).toBe(
        `Created ${join('apps', 'api', 'alembic', 'versions', files[0])}\nReview it, then apply it with \`nx run api:migrate-run\``,
      );
      first = revisionId(files[0]);
    });

    test('nx run api:migrate-run applies it and reports it', () => {
      const ran = task('migrate-run');
      expect(ran.code).toBe(0);
      expect(taskOutput(ran.stdout)).toBe(`Running upgrade base -> ${first}, create_invoices\nNow at ${first} (head)`);
      expect(sqliteTables(db())).toEqual(expect.arrayContaining(['clients', 'invoices']));
    });

    test('nx run api:migrate-run again: the task prints nothing (and is not replayed from a cache)', () => {
      const again = task('migrate-run');
      expect(again.code).toBe(0);
      expect(taskOutput(again.stdout)).toBe('');
      expect(taskOutput(again.stderr)).toBe('');
    });

    test('nx run api:migrate-status shows (head)', () => {
      const status = task('migrate-status');
      expect(status.code).toBe(0);
      expect(taskOutput(status.stdout)).toBe(`${first} (head)`);
    });

    test('nx run api:migrate-rollback undoes it; status lists it as pending with the Nx command; --check fails', () => {
      const rolled = task('migrate-rollback');
      expect(rolled.code).toBe(0);
      expect(taskOutput(rolled.stdout)).toBe(`Running downgrade ${first} -> base, create_invoices\nNow at base (no migration applied)`);
      expect(sqliteTables(db())).not.toContain('invoices');

      // --check prints the same status and adds the exit code: one nx call for both
      const check = task('migrate-status', '--check');
      expect(taskOutput(check.stdout)).toBe(
        `No migration applied (base)\n1 pending migration:\n  ${first}  create_invoices\nApply it with \`nx run api:migrate-run\``,
      );
      expect(check.code).not.toBe(0);
      expect(check.stderr).toContain('fastkit: The database is behind head: 1 pending migration. Apply it with `nx run api:migrate-run`.');
    });

    test('a failing target (rollback at base) exits non-zero with the one-line message', () => {
      const failed = task('migrate-rollback');
      expect(failed.code).not.toBe(0);
      expect(taskOutput(failed.stdout)).toBe('');
      expect(failed.stderr.split('\n').filter((line) => line.startsWith('fastkit:'))).toEqual([
        'fastkit: Nothing to roll back. The database is at base: no migration is applied.',
      ]);
      expect(failed.stderr).toContain('Running target migrate-rollback for project api failed');
      expectNoTrace(failed);
    });
  });

  describe('the fastkit binary installed from the tarball', () => {
    const fastkit = (...args: string[]) => ws.bin('fastkit', args, { cwd: ws.project });
    let first: string;

    beforeAll(() => ws.resetProject());

    test('fastkit --version is the packed version', () => {
      const version = fastkit('--version');
      expect(version.code).toBe(0);
      expect(version.stdout).toBe(`${JSON.parse(readFileSync(join(ws.root, 'node_modules', 'fastkit', 'package.json'), 'utf8')).version}\n`);
    });

    test('make writes the timestamped revision and prints its path', () => {
      const made = fastkit('migrate', 'make', '-m', 'create_invoices');
      expect(made.code).toBe(0);
      const [file] = revisionFiles(ws.project);
      expect(file).toMatch(/^\d{8}_\d{6}_create_invoices\.py$/);
      expect(made.stdout).toBe(`Created ${join('alembic', 'versions', file)}\nReview it, then apply it with \`fastkit migrate run\`\n`);
      first = revisionId(file);
    });

    test('run applies it; run again prints nothing at all', () => {
      const ran = fastkit('migrate', 'run');
      expect(ran.code).toBe(0);
      expect(ran.stdout).toBe(`Running upgrade base -> ${first}, create_invoices\nNow at ${first} (head)\n`);
      expect(sqliteTables(db())).toEqual(expect.arrayContaining(['clients', 'invoices']));
      const again = fastkit('migrate', 'run');
      expect(again).toMatchObject({ code: 0, stdout: '', stderr: '' });
    });

    test('status shows (head)', () => {
      expect(fastkit('migrate', 'status')).toMatchObject({ code: 0, stdout: `${first} (head)\n` });
    });

    test('rollback undoes it and status lists it as pending', () => {
      const rolled = fastkit('migrate', 'rollback');
      expect(rolled.code).toBe(0);
      expect(rolled.stdout).toBe(`Running downgrade ${first} -> base, create_invoices\nNow at base (no migration applied)\n`);
      expect(fastkit('migrate', 'status').stdout).toContain(`1 pending migration:\n  ${first}  create_invoices\n`);
    });

    test('rollback at base: exit 1, one line, no traceback', () => {
      const failed = fastkit('migrate', 'rollback');
      expect(failed).toMatchObject({
        code: 1,
        stdout: '',
        stderr: 'fastkit: Nothing to roll back. The database is at base: no migration is applied.\n',
      });
    });
  });

  describe('gulp 5 with the two-line gulpfile', () => {
    const gulp = (...args: string[]) => ws.bin('gulp', args);
    const files: string[] = [];

    beforeAll(() => {
      ws.resetProject();
      writeFileSync(
        join(ws.root, 'gulpfile.js'),
        "const { tasks } = require('fastkit/gulp');\nmodule.exports = tasks({ cwd: 'apps/api' });\n",
      );
    });

    test('gulp --tasks lists the eight tasks with their descriptions and flags', () => {
      const listed = gulp('--tasks');
      expect(listed.code).toBe(0);
      for (const [name, description] of [
        ['migrate:make', 'Writes an Alembic revision from the model changes (alembic revision --autogenerate -m MESSAGE)'],
        ['migrate:run', 'Applies every pending migration (alembic upgrade head)'],
        ['migrate:rollback', 'Undoes exactly one applied migration (alembic downgrade -1)'],
        ['migrate:status', 'Shows the applied revision and what is pending (alembic current)'],
        ['migrate:check', 'Checks the Alembic revision history without a database'],
        ['migrate:sql', 'Writes the upgrade SQL into a file without a database (alembic upgrade head --sql)'],
        ['migrate:rebase', "Re-parents this branch's Alembic revisions onto the other head"],
        ['migrate:verify', 'Proves every migration on a shadow database: upgrade, downgrade, upgrade again; then the models against head'],
      ]) {
        expect(listed.stdout).toMatch(new RegExp(`${name}\\s+${description.replace(/[()]/g, '\\$&')}`));
      }
      expect(listed.stdout).toMatch(/-m, --message TEXT\s+…?the revision message/);
      expect(listed.stdout).toMatch(/--check\s+…?exit 3 unless the database is at head/);
    });

    test('gulp migrate:make --message "create invoices" writes the revision', () => {
      const made = gulp('migrate:make', '--message', 'create invoices');
      expect(made.code).toBe(0);
      files.push(...revisionFiles(ws.project));
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/^\d{8}_\d{6}_create_invoices\.py$/);
      expect(made.stdout).toContain(`Created ${join('apps', 'api', 'alembic', 'versions', files[0])}`);
      expect(made.stdout).toContain('Review it, then apply it with `gulp migrate:run`');
      expect(made.stdout).toContain("Finished 'migrate:make'");
    });

    test('gulp migrate:run applies it, then prints nothing of its own; migrate:status shows (head)', () => {
      const ran = gulp('migrate:run');
      expect(ran.code).toBe(0);
      expect(ran.stdout).toContain(`Running upgrade base -> ${revisionId(files[0])}, create invoices`);
      expect(sqliteTables(db())).toEqual(expect.arrayContaining(['clients', 'invoices']));

      const again = gulp('migrate:run');
      expect(again.code).toBe(0);
      const gulpOwn = /^\[\d\d:\d\d:\d\d\] (Using gulpfile|Starting|Finished) /;
      expect(again.all.split('\n').filter((line) => line && !gulpOwn.test(line))).toEqual([]);

      const status = gulp('migrate:status');
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(new RegExp(`^${revisionId(files[0])} \\(head\\)$`, 'm'));
    });

    test('gulp migrate:make -m "add notes" after a model change; migrate:run applies it', () => {
      addColumn(ws.project, 'invoices', 'notes: Mapped[str | None] = mapped_column(String(500))');
      const made = gulp('migrate:make', '-m', 'add notes');
      expect(made.code).toBe(0);
      const now = revisionFiles(ws.project);
      expect(now).toHaveLength(2);
      files.push(now.find((file) => !files.includes(file))!);
      expect(files[1]).toMatch(TIMESTAMPED);
      expect(files[1]).toMatch(/_add_notes\.py$/);
      expect(gulp('migrate:run').stdout).toContain(`Running upgrade ${revisionId(files[0])} -> ${revisionId(files[1])}, add notes`);
    });

    test('gulp migrate:rollback undoes only the last migration', () => {
      const rolled = gulp('migrate:rollback');
      expect(rolled.code).toBe(0);
      expect(rolled.stdout).toContain(`Running downgrade ${revisionId(files[1])} -> ${revisionId(files[0])}, add notes`);
      expect(rolled.stdout).toContain(`Now at ${revisionId(files[0])}`);
      expect(sqliteTables(db())).toEqual(expect.arrayContaining(['clients', 'invoices']));
      expect(gulp('migrate:status').stdout).toContain(`1 pending migration:\n  ${revisionId(files[1])}  add notes\n`);
    });

    test('a failing task exits non-zero with the core’s message and no stack trace', () => {
      expect(gulp('migrate:rollback').code).toBe(0);
      const failed = gulp('migrate:rollback');
      expect(failed.code).not.toBe(0);
      expect(failed.stderr).toMatch(
        /^\[\d\d:\d\d:\d\d\] migrate:rollback: Nothing to roll back\. The database is at base: no migration is applied\.$/m,
      );
      expect(failed.stderr).toContain("'migrate:rollback' errored");
      expectNoTrace(failed);
    });

    test('gulp keeps the exit code: migrate:status --check exits 0 at head, 3 while a migration is pending', () => {
      expect(gulp('migrate:run').code).toBe(0);
      expect(gulp('migrate:status', '--check').code).toBe(0);
      // a teammate's revision, pulled and not applied yet (gulp's make is the next test's)
      const pulled = join(ws.project, 'alembic', 'versions', '20991231_000000_add_due.py');
      writeFileSync(pulled, revision('d0e0d0e0d0e0', revisionId(files[1]), 'add due'));
      try {
        const behind = gulp('migrate:status', '--check');
        expect(behind.code).toBe(3);
        expect(behind.stderr).toMatch(/migrate:status: The database is behind head: 1 pending migration\. Apply it with `gulp migrate:run`\.$/m);
        expectNoTrace(behind);
      } finally {
        rmSync(pulled);
      }
    });

    test('gulp migrate:verify: the stairway holds on a temporary SQLite file; a model column without a migration fails the task, naming `gulp migrate:make`', () => {
      // the models are ahead of the migrations: invoices.due, which no revision has
      addColumn(ws.project, 'invoices', 'due: Mapped[str | None] = mapped_column(String(20))');
      const failed = gulp('migrate:verify');
      expect(failed.code).not.toBe(0);
      expect(failed.stdout).toMatch(
        /^apps\/api\/modules\/invoices\/models\.py: column invoices\.due VARCHAR\(20\) is in the models; no migration has it \(add_column\)\. Make a migration for it: `gulp migrate:make -m "message"`\.$/m,
      );
      expect(failed.stdout).toMatch(/^Stairway: 2 revisions upgraded, downgraded and upgraded again on sqlite, each downgrade undoing its upgrade$/m);
      expect(failed.stderr).toMatch(/migrate:verify: Verify found 1 problem\. Each is listed above with its file and what to do\.$/m);
      expect(failed.stderr).toMatch(/^Dropped shadow database \S+\.sqlite$/m);
      expectNoTrace(failed);
      expect(gulp('migrate:make', '-m', 'add due').code).toBe(0);
      const made = revisionFiles(ws.project).filter((file) => !files.includes(file));
      try {
        const passed = gulp('migrate:verify');
        expect(passed.code).toBe(0);
        expect(passed.stdout).toMatch(/^Models: match head \w+$/m);
      } finally {
        for (const file of made) rmSync(join(ws.project, 'alembic', 'versions', file));
      }
    });

    test('migrate:make without a message fails with the core’s usage message', () => {
      const failed = gulp('migrate:make');
      expect(failed.code).not.toBe(0);
      expect(failed.stderr).toMatch(/migrate:make: A message is required\. Describe the change with -m/);
      expectNoTrace(failed);
      expect(revisionFiles(ws.project)).toEqual([...files].sort());
    });
  });
});
