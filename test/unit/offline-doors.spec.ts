/**
 * check and sql through their doors (CLI, Nx executors, gulp) as adapters over the core: what
 * reaches the helper, what is printed, exit codes and `{ success }`. The process boundary is
 * faked (the helper's events are scripted, the SQL file is written by the fake); the config,
 * the file system and the formatting are real.
 */
import type { ExecutorContext } from '@nx/devkit';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import migrateCheck from '../../executors/migrate-check/executor';
import migrateSql from '../../executors/migrate-sql/executor';
import { main } from '../../src/cli';
import { tasks } from '../../src/gulp';
import { runProcess } from '../../src/process';
import { capturePrinted, helperEnv, helperRequest, helperWill } from '../support/fake-helper';
import { tempDir } from '../support/workspace';

jest.mock('../../src/process');
const runProcessMock = jest.mocked(runProcess);



const workspace = tempDir('fastkit-offline-doors-');
const project = join(workspace, 'apps', 'api');
mkdirSync(project, { recursive: true });
writeFileSync(join(project, 'alembic.ini'), '[alembic]\n');
const ALEMBIC = '/opt/venv/bin/python -m alembic';
const versions = join(project, 'alembic', 'versions');

const HEALTHY = { type: 'result', revisions: 2, heads: ['b2'], findings: [] };
const WITH_WARNING = {
  type: 'result',
  revisions: 2,
  heads: ['b2'],
  findings: [{ level: 'warning', code: 'drop-column', file: join(versions, 'b.py'), line: 12, message: 'drops column invoices.notes: its data is lost', hint: null }],
};
const TWO_HEADS = {
  type: 'result',
  revisions: 3,
  heads: ['b2', 'c3'],
  findings: [
    {
      level: 'error',
      code: 'multiple-heads',
      file: join(versions, 'b.py'),
      line: 5,
      message: 'the history has 2 heads: b2 (b.py), c3 (c.py)',
      hint: "Put this branch's revisions after the other head with `{rebase}`, or merge them with `{rebase} --merge`.",
    },
  ],
};
const RENDERED = {
  type: 'result',
  dialect: 'postgresql',
  applied: [
    { revision: 'a1', message: 'create clients', path: '/x/a.py', from: [] },
    { revision: 'b2', message: 'create invoices', path: '/x/b.py', from: ['a1'] },
  ],
  heads: ['b2'],
  start: null,
};

const printed = capturePrinted();

/** The fake helper writes `sql` into the file it was asked for, as the real one does. */
const writesSql = (sql: string) => (asked: Record<string, unknown>) => writeFileSync(asked.output as string, sql);

describe('fastkit migrate check', () => {
  beforeEach(() => process.chdir(project));
  const cli = (...args: string[]) => main(['migrate', 'check', ...args, '--alembic', ALEMBIC]);

  test('a healthy history: exit 0 and one summary line', async () => {
    helperWill([HEALTHY]);
    await expect(cli()).resolves.toBe(0);
    expect(helperRequest()).toMatchObject({ action: 'check', config: join(project, 'alembic.ini') });
    expect(printed.stdout).toBe('Checked 2 revisions (head b2): no errors, no warnings\n');
    expect(printed.stderr).toBe('');
  });

  test('a warning is printed with file:line and the check still passes', async () => {
    helperWill([WITH_WARNING]);
    await expect(cli()).resolves.toBe(0);
    expect(printed.stdout).toBe(
      `${join('alembic', 'versions', 'b.py')}:12: warning: drops column invoices.notes: its data is lost\n` +
        'Checked 2 revisions (head b2): no errors, 1 warning\n',
    );
  });

  test('an error: printed with file:line and the rebase and merge commands, one line on stderr, exit 1', async () => {
    helperWill([TWO_HEADS]);
    await expect(cli()).resolves.toBe(1);
    expect(printed.stdout).toBe(
      `${join('alembic', 'versions', 'b.py')}:5: error: the history has 2 heads: b2 (b.py), c3 (c.py). ` +
        "Put this branch's revisions after the other head with `fastkit migrate rebase`, or merge them with `fastkit migrate rebase --merge`.\n" +
        'Checked 3 revisions: 1 error, no warnings\n',
    );
    expect(printed.stderr).toBe('fastkit: Migration check failed: 1 error. Each is listed above with its file and line.\n');
  });

  test('--json prints only the machine result on stdout, and still fails on an error', async () => {
    helperWill([TWO_HEADS]);
    await expect(cli('--json')).resolves.toBe(1);
    expect(JSON.parse(printed.stdout)).toEqual({
      ok: false,
      revisions: 3,
      heads: ['b2', 'c3'],
      errors: [
        {
          code: 'multiple-heads',
          file: join('alembic', 'versions', 'b.py'),
          line: 5,
          message: 'the history has 2 heads: b2 (b.py), c3 (c.py)',
          hint: "Put this branch's revisions after the other head with `fastkit migrate rebase`, or merge them with `fastkit migrate rebase --merge`.",
        },
      ],
      warnings: [],
    });
    expect(printed.stdout.trim().split('\n')).toHaveLength(1);
  });
});

describe('fastkit migrate sql', () => {
  beforeEach(() => process.chdir(project));
  const cli = (...args: string[]) => main(['migrate', 'sql', ...args, '--alembic', ALEMBIC]);
  const defaultOutput = join(project, 'dist', 'migrations', 'upgrade.sql');

  test('writes dist/migrations/upgrade.sql in the project and prints its path', async () => {
    helperWill({ events: [RENDERED], act: writesSql('BEGIN;\nCOMMIT;\n') });
    await expect(cli()).resolves.toBe(0);
    expect(readFileSync(defaultOutput, 'utf8')).toBe('BEGIN;\nCOMMIT;\n');
    expect(printed.stdout).toBe(`Wrote ${join('dist', 'migrations', 'upgrade.sql')} (postgresql, base -> b2, 2 migrations)\n`);
    expect(readdirSync(join(project, 'dist', 'migrations'))).toEqual(['upgrade.sql']); // no temporary file left
  });

  test('--dialect gives env.py a URL of that dialect without host, over any DATABASE_URL (whose password never shows)', async () => {
    process.env.DATABASE_URL_SAVED = process.env.DATABASE_URL;
    process.env.DATABASE_URL = 'postgresql://app:s3cret@db.internal/app';
    try {
      helperWill({ events: [RENDERED], act: writesSql('-- sql\n') });
      await expect(cli('--dialect', 'postgresql', '--from', 'a1', '-o', 'out/up.sql')).resolves.toBe(0);
      expect(helperRequest()).toMatchObject({ action: 'sql', url: 'postgresql://', dialect: 'postgresql', from: 'a1' });
      expect(helperEnv().DATABASE_URL).toBe('postgresql://');
      expect(readFileSync(join(project, 'out', 'up.sql'), 'utf8')).toBe('-- sql\n');
      expect(printed.stdout + printed.stderr).not.toContain('s3cret');
    } finally {
      process.env.DATABASE_URL = process.env.DATABASE_URL_SAVED;
      if (process.env.DATABASE_URL === undefined) delete process.env.DATABASE_URL;
      delete process.env.DATABASE_URL_SAVED;
    }
  });

  test('a failure leaves the previous file as it was and no temporary file', async () => {
    mkdirSync(join(project, 'keep'), { recursive: true });
    writeFileSync(join(project, 'keep', 'up.sql'), 'previous\n');
    helperWill({ events: [{ type: 'error', code: 'multiple-heads', message: 'The revision history has 2 heads: b2, c3', hint: 'Merge them.', traceback: null }], act: writesSql('half') });
    await expect(cli('-o', 'keep/up.sql')).resolves.toBe(1);
    expect(readFileSync(join(project, 'keep', 'up.sql'), 'utf8')).toBe('previous\n');
    expect(readdirSync(join(project, 'keep'))).toEqual(['up.sql']);
    expect(printed.stderr).toBe('fastkit: The revision history has 2 heads: b2, c3. Merge them.\n');
  });

  test.each([
    [['--dialect', 'postgresql://app:s3cret@db/app'], 'fastkit: The dialect option holds a URL, not a dialect name.'],
    [['--dialect', 'post gres'], 'fastkit: "post gres" is not a dialect name.'],
    [['--from', 'a1; drop'], 'fastkit: "a1; drop" is not a revision.'],
  ])('%j is a usage error (exit 2), Python never starts, no password shown', async (args, message) => {
    await expect(cli(...args)).resolves.toBe(2);
    expect(printed.stderr.startsWith(message)).toBe(true);
    expect(printed.stderr).not.toContain('s3cret');
    expect(runProcessMock).not.toHaveBeenCalled();
  });

  test('an output path that is a folder: one clear line, exit 1', async () => {
    mkdirSync(join(project, 'taken.sql'), { recursive: true });
    helperWill({ events: [RENDERED], act: writesSql('x') });
    await expect(cli('-o', 'taken.sql')).resolves.toBe(1);
    expect(printed.stderr).toMatch(/^fastkit: Cannot write taken\.sql \(E[A-Z]+\)\. Choose another output file/);
    expect(readdirSync(project).filter((name) => name.includes('.tmp'))).toEqual([]);
  });
});

describe('the migrate-check and migrate-sql executors', () => {
  const context = (): ExecutorContext =>
    ({
      root: workspace,
      cwd: workspace,
      isVerbose: false,
      projectName: 'api',
      targetName: 'migrate-sql',
      projectsConfigurations: { version: 2, projects: { api: { root: 'apps/api', targets: {} } } },
      nxJsonConfiguration: {},
      projectGraph: { nodes: {}, dependencies: {} },
    }) as ExecutorContext;

  test('migrate-check: { success: true } on a healthy history, { success: false } on an error', async () => {
    process.chdir(workspace);
    helperWill([HEALTHY]);
    await expect(migrateCheck({ alembic: ALEMBIC }, context())).resolves.toEqual({ success: true });
    helperWill([TWO_HEADS]);
    await expect(migrateCheck({ alembic: ALEMBIC }, context())).resolves.toEqual({ success: false });
    expect(printed.stdout).toContain(`${join('apps', 'api', 'alembic', 'versions', 'b.py')}:5: error: the history has 2 heads`);
    expect(printed.stdout).toContain(
      "Put this branch's revisions after the other head with `nx run api:migrate-rebase`, or merge them with `nx run api:migrate-rebase --merge`.\n",
    );
  });

  test('migrate-sql: output is relative to the project root', async () => {
    process.chdir(workspace);
    helperWill({ events: [RENDERED], act: writesSql('-- from nx\n') });
    await expect(migrateSql({ alembic: ALEMBIC, output: 'dist/migrations/upgrade.sql', dialect: 'sqlite' }, context())).resolves.toEqual({
      success: true,
    });
    expect(readFileSync(join(project, 'dist', 'migrations', 'upgrade.sql'), 'utf8')).toBe('-- from nx\n');
    expect(printed.stdout).toBe(`Wrote ${join('apps', 'api', 'dist', 'migrations', 'upgrade.sql')} (postgresql, base -> b2, 2 migrations)\n`);
  });
});

describe('the gulp tasks migrate:check and migrate:sql', () => {
  beforeEach(() => process.chdir(workspace));

  test('migrate:sql takes --dialect and --output from gulp’s command line, over the options', async () => {
    process.argv = ['node', 'gulp', 'migrate:sql', '--dialect', 'mysql', '--output', 'apps/api/gulp.sql'];
    helperWill({ events: [{ ...RENDERED, dialect: 'mysql' }], act: writesSql('-- mysql\n') });
    await tasks({ cwd: 'apps/api', alembic: ALEMBIC, dialect: 'sqlite' })['migrate:sql']();
    expect(helperRequest()).toMatchObject({ action: 'sql', dialect: 'mysql', url: 'mysql://' });
    expect(existsSync(join(project, 'gulp.sql'))).toBe(true);
  });

  test('migrate:check rejects with the one-line failure', async () => {
    process.argv = ['node', 'gulp', 'migrate:check'];
    helperWill([TWO_HEADS]);
    const rejected = await tasks({ cwd: 'apps/api', alembic: ALEMBIC })['migrate:check']().catch((error: unknown) => error);
    expect(String(rejected)).toBe('migrate:check: Migration check failed: 1 error. Each is listed above with its file and line.');
    expect(printed.stdout).toContain('or merge them with `gulp migrate:rebase --merge`.\n');
  });
});
