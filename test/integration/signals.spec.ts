import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { helpersRunningIn, startFastkit } from '../support/processes';
import { revision, revisionIdIn, revisionIdOf } from '../support/revisions';
import { createPostgresDatabase, exampleProject, fastkit, psql, PYTHON, REPO, revisionFiles, run, sqliteColumns, VENV } from '../support/workspace';

/**
 * Ctrl-C (SIGINT) or a SIGTERM sent to fastkit while a migration runs: fastkit passes it on
 * once, Python rolls the migration back, and fastkit exits 130 or 143 with nothing left running.
 */
describe('signals during a long migration (real Alembic, SQLite)', () => {
  const project = exampleProject({ revisions: false });
  const env = { ...process.env, VIRTUAL_ENV: VENV };
  const cli = (...args: string[]) => fastkit(['migrate', ...args], { cwd: project });
  let first: string;
  let slow: string;

  beforeAll(() => {
    expect(cli('make', '-m', 'create_invoices').code).toBe(0);
    expect(cli('run').code).toBe(0);
    expect(cli('make', '-m', 'slow data fix', '--no-autogenerate').code).toBe(0);
    const [firstFile, slowFile] = revisionFiles(project).map((file) => join(project, 'alembic', 'versions', file));
    first = revisionIdIn(firstFile);
    const source = readFileSync(slowFile, 'utf8');
    slow = revisionIdOf(source);
    // a slow data fix, in one migration with a schema change that must not outlive it
    writeFileSync(
      slowFile,
      source.slice(0, source.indexOf('def upgrade')) +
        [
          'def upgrade() -> None:',
          '    op.add_column("invoices", sa.Column("paid", sa.Boolean()))',
          '    print("added paid", flush=True)',
          '    import time',
          '    time.sleep(20)',
          '',
          '',
          'def downgrade() -> None:',
          '    with op.batch_alter_table("invoices") as batch:',
          '        batch.drop_column("paid")',
          '',
        ].join('\n'),
    );
  });

  /**
   * Starts `fastkit migrate run`, waits until the migration has added its column (uncommitted),
   * sends the signal to fastkit alone.
   */
  async function interruptRun(signal: NodeJS.Signals): Promise<{ code: number | null; seconds: number; output: string }> {
    const started = startFastkit(['migrate', 'run'], { cwd: project });
    await started.waitFor(`Running upgrade ${first} -> ${slow}, slow data fix`, 30_000);
    await started.waitFor('added paid', 30_000);
    expect(helpersRunningIn(project)).toHaveLength(1);
    const sent = Date.now();
    started.child.kill(signal);
    let deadline: NodeJS.Timeout | undefined;
    const exited = await Promise.race([
      started.exited,
      new Promise<undefined>((resolve) => (deadline = setTimeout(() => resolve(undefined), 15_000))),
    ]);
    clearTimeout(deadline);
    if (!exited) started.child.kill('SIGKILL');
    return { code: exited ? exited.code : null, seconds: (Date.now() - sent) / 1000, output: started.output() };
  }

  /** The interrupted migration left nothing behind: not its version, not its column. */
  function expectStillAtFirstRevision(): void {
    const status = cli('status', '--json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ current: [first], heads: [slow], upToDate: false });
    expect(sqliteColumns(join(project, 'api.db'), 'invoices')).not.toContain('paid');
  }

  test('SIGINT (Ctrl-C): fastkit exits 130 within seconds, no Python left, the database still at the previous revision', async () => {
    const { code, seconds, output } = await interruptRun('SIGINT');
    expect(code).toBe(130);
    expect(seconds).toBeLessThan(5);
    expect(output).not.toContain('Traceback');
    expect(output).toContain('fastkit: Interrupted');
    expect(helpersRunningIn(project)).toEqual([]);
    expectStillAtFirstRevision();
  });

  test('after an interrupted run, the next run applies the migration cleanly', () => {
    // (not waiting 20 s: the slow part is made quick, the column change stays)
    const file = join(project, 'alembic', 'versions', revisionFiles(project)[1]);
    const slowSource = readFileSync(file, 'utf8');
    writeFileSync(file, slowSource.replace('time.sleep(20)', 'time.sleep(0)'));
    try {
      const ran = cli('run');
      expect(ran.stderr).toBe('');
      expect(ran.code).toBe(0);
      expect(sqliteColumns(join(project, 'api.db'), 'invoices')).toContain('paid');
    } finally {
      expect(cli('rollback').code).toBe(0);
      writeFileSync(file, slowSource);
    }
  });

  test('SIGTERM: fastkit exits 143 within seconds, no Python left, the database still at the previous revision', async () => {
    const { code, seconds, output } = await interruptRun('SIGTERM');
    expect(code).toBe(143);
    expect(seconds).toBeLessThan(5);
    expect(output).not.toContain('Traceback');
    expect(helpersRunningIn(project)).toEqual([]);
    expectStillAtFirstRevision();
  });

  // A signal can land at any moment; the one that lands while the helper is still reporting
  // a failure (a tight race, seen once in this file) must not print a Python traceback either.
  test.each([
    ['Ctrl-C', 130, 'KeyboardInterrupt'],
    ['SIGTERM', 143, 'helper.process.Terminated'],
  ])('%s while the helper reports a failure: exit %i, no traceback', (_name, code, raised) => {
    const script = [
      'import os, sys',
      `sys.path.insert(0, ${JSON.stringify(join(REPO, 'python'))})`,
      'import fastkit_alembic',
      'helper = fastkit_alembic.load_helper()',
      'def broken(request, events): raise RuntimeError("broken migration")',
      `def signal_lands(events, request, error, tb): raise ${raised}()`,
      'helper.actions.action = lambda name: broken',
      'helper.report_failure = signal_lands',
      'sys.exit(helper.run_once(os.environ))',
    ].join('\n');
    const ran = run(PYTHON, ['-c', script], {
      cwd: project,
      env: { ...env, FASTKIT_REQUEST: JSON.stringify({ action: 'status', config: join(project, 'alembic.ini') }) },
    });
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(code);
  });
});

/**
 * The same on PostgreSQL, where DDL is transactional: a migration interrupted half-way (its
 * column added, its data fix still running) rolls back as a whole, version and column.
 */
describe('signals during a long migration (real Alembic, PostgreSQL)', () => {
  const db = createPostgresDatabase('fksignal');
  const project = exampleProject({ revisions: false });
  const env = { DATABASE_URL: db.url };
  const cli = (...args: string[]) => fastkit(['migrate', ...args], { cwd: project, env });
  afterAll(() => db.drop());

  beforeAll(() => {
    const versions = join(project, 'alembic', 'versions');
    const create = revision('a1a1a1a1a1a1', null, 'create notes', 'op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True))', 'op.drop_table("notes")');
    writeFileSync(join(versions, '20260101_000001_create_notes.py'), create);
    expect(cli('run').code).toBe(0);
    // then a migration that adds a column and goes on with a long data fix
    const slowFix = revision(
      'b2b2b2b2b2b2',
      'a1a1a1a1a1a1',
      'slow data fix',
      'op.add_column("notes", sa.Column("paid", sa.Boolean())); print("added paid", flush=True); __import__("time").sleep(30)',
      'op.drop_column("notes", "paid")',
    );
    writeFileSync(join(versions, '20260101_000002_slow_data_fix.py'), slowFix);
  });

  test.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s: exit %i, no Python left, the version and the new column both rolled back', async (signal, code) => {
    const started = startFastkit(['migrate', 'run'], { cwd: project, env });
    await started.waitFor('Running upgrade a1a1a1a1a1a1 -> b2b2b2b2b2b2, slow data fix', 30_000);
    // the column is added, inside the migration's transaction, before the signal comes
    await started.waitFor('added paid', 30_000);
    started.child.kill(signal);
    const exited = await started.exited;
    expect(exited.code).toBe(code);
    expect(exited.output).not.toContain('Traceback');
    expect(helpersRunningIn(project)).toEqual([]);
    expect(psql(db.name, 'SELECT version_num FROM alembic_version')).toBe('a1a1a1a1a1a1');
    expect(psql(db.name, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'notes' AND column_name = 'paid'")).toBe('0');
  });
});
