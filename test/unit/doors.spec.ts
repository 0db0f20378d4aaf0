/**
 * The three doors as adapters over the core: the CLI's exit codes, the Nx executor's
 * `{ success }`, the gulp tasks' names and rejections. The process boundary is faked; the
 * config, the project and the formatting are real.
 */
import type { ExecutorContext } from '@nx/devkit';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli';
import { tasks } from '../../src/gulp';
import { runProcess } from '../../src/process';
import migrateMake from '../../executors/migrate-make/executor';
import migrateRollback from '../../executors/migrate-rollback/executor';
import migrateRun from '../../executors/migrate-run/executor';
import migrateStatus from '../../executors/migrate-status/executor';
import { capturePrinted, helperRequest, helperWill } from '../support/fake-helper';
import { tempDir } from '../support/workspace';

jest.mock('../../src/process');
const runProcessMock = jest.mocked(runProcess);


const BEHIND = { type: 'result', current: ['a1'], heads: ['b2'], pending: [{ revision: 'b2', message: 'add notes', path: '/x.py' }], upToDate: false };
const AT_HEAD = { type: 'result', current: ['b2'], heads: ['b2'], pending: [], upToDate: true };
const AT_BASE = { type: 'error', code: 'nothing-to-roll-back', message: 'Nothing to roll back', hint: 'The database is at base: no migration is applied.', traceback: 'Traceback (most recent call last): ...' };

const workspace = tempDir('fastkit-doors-');
const project = join(workspace, 'apps', 'api');
mkdirSync(project, { recursive: true });
writeFileSync(join(project, 'alembic.ini'), '[alembic]\n');
const ALEMBIC = '/opt/venv/bin/python -m alembic';

const printed = capturePrinted();

describe('the fastkit CLI: exit codes', () => {
  beforeEach(() => process.chdir(project));
  const cli = (...args: string[]) => main(['migrate', ...args, '--alembic', ALEMBIC]);

  test('0 when the action succeeds', async () => {
    helperWill([AT_HEAD]);
    await expect(cli('status')).resolves.toBe(0);
    expect(printed.stdout).toBe('b2 (head)\n');
  });

  test('3 for status --check behind head, with the status printed and one line on stderr', async () => {
    helperWill([BEHIND]);
    await expect(cli('status', '--check')).resolves.toBe(3);
    expect(printed.stdout).toContain('1 pending migration:');
    expect(printed.stderr).toBe('fastkit: The database is behind head: 1 pending migration. Apply it with `fastkit migrate run`.\n');
  });

  test('1 for a failure, one line, the traceback only with --verbose', async () => {
    helperWill([AT_BASE]);
    await expect(cli('rollback')).resolves.toBe(1);
    expect(printed.stderr).toBe('fastkit: Nothing to roll back. The database is at base: no migration is applied.\n');
    printed.stderr = '';
    helperWill([AT_BASE]);
    await expect(cli('rollback', '--verbose')).resolves.toBe(1);
    expect(printed.stderr).toBe('Traceback (most recent call last): ...\nfastkit: Nothing to roll back. The database is at base: no migration is applied.\n');
  });

  test('2 for a usage error, and Python is never started', async () => {
    await expect(cli('make')).resolves.toBe(2);
    await expect(main(['migrate', 'undo'])).resolves.toBe(2);
    expect(runProcessMock).not.toHaveBeenCalled();
  });

  test('130 when interrupted', async () => {
    helperWill({ exit: { exitCode: 130, forwarded: 'SIGINT' } });
    await expect(cli('run')).resolves.toBe(130);
    expect(printed.stderr).toBe('fastkit: Interrupted\n');
  });

  test('-x pairs, --name and --no-autogenerate reach the helper', async () => {
    helperWill([{ type: 'result', noChanges: true }]);
    await expect(cli('make', '-m', 'data fix', '--no-autogenerate', '-n', 'reports', '-x', 'tenant=acme', '-x', 'dry=1')).resolves.toBe(0);
    expect(helperRequest()).toMatchObject({ message: 'data fix', autogenerate: false, name: 'reports', args: ['-x', 'tenant=acme', '-x', 'dry=1'] });
  });

  test('--message=-fix takes -fix as the message; -m -fix says how to write it', async () => {
    helperWill([{ type: 'result', noChanges: true }]);
    await expect(cli('make', '--message=-fix')).resolves.toBe(0);
    expect(helperRequest()).toMatchObject({ action: 'make', message: '-fix' });
    await expect(cli('make', '-m', '-fix')).resolves.toBe(2);
    expect(printed.stderr).toBe("fastkit: Option '-m' argument is ambiguous. For a value that starts with a dash, write --message=-XYZ.\n");
  });

  test('--help prints the commands and exits 0', async () => {
    await expect(main(['migrate', '--help'])).resolves.toBe(0);
    expect(printed.stdout).toContain('fastkit migrate make -m "message"');
  });
});

describe('the Nx executors', () => {
  const context = (): ExecutorContext =>
    ({
      root: workspace,
      cwd: workspace,
      isVerbose: false,
      projectName: 'api',
      targetName: 'migrate-status',
      projectsConfigurations: {
        version: 2,
        projects: {
          api: {
            root: 'apps/api',
            targets: {
              'db-status': { executor: 'fastkit:migrate-status' },
              'migrate-run': { executor: 'fastkit:migrate-run' },
            },
          },
        },
      },
      nxJsonConfiguration: {},
      projectGraph: { nodes: {}, dependencies: {} },
    }) as ExecutorContext;

  test('find alembic.ini in the project root and succeed', async () => {
    helperWill([AT_HEAD]);
    await expect(migrateStatus({ alembic: ALEMBIC }, context())).resolves.toEqual({ success: true });
    expect(helperRequest().config).toBe(join(project, 'alembic.ini'));
    expect(printed.stdout).toBe('b2 (head)\n');
  });

  test('a failure is one line on stderr and { success: false }; hints name the project’s own targets', async () => {
    helperWill([BEHIND]);
    await expect(migrateStatus({ alembic: ALEMBIC, check: true }, context())).resolves.toEqual({ success: false });
    expect(printed.stdout).toContain('Apply it with `nx run api:migrate-run`');
    expect(printed.stderr).toBe('fastkit: The database is behind head: 1 pending migration. Apply it with `nx run api:migrate-run`.\n');
  });

  test('rollback at base: { success: false } and the core’s message', async () => {
    helperWill([AT_BASE]);
    await expect(migrateRollback({ alembic: ALEMBIC }, context())).resolves.toEqual({ success: false });
    expect(printed.stderr).toBe('fastkit: Nothing to roll back. The database is at base: no migration is applied.\n');
  });

  test('an option the executor does not know is refused before anything runs, in one line, like the CLI', async () => {
    const run = (options: Record<string, unknown>) => migrateRun({ alembic: ALEMBIC, ...options }, { ...context(), targetName: 'migrate-run' });
    await expect(run({ 'dry-run': true })).resolves.toEqual({ success: false });
    expect(printed.stderr).toBe("fastkit: Unknown option '--dry-run' for migrate-run. See `nx run api:migrate-run --help` for its options.\n");
    printed.stderr = '';
    await expect(run({ check: true })).resolves.toEqual({ success: false });
    expect(printed.stderr).toBe('fastkit: --check does not apply to migrate-run. It is an option of migrate-status.\n');
    printed.stderr = '';
    await expect(run({ _: ['head'] })).resolves.toEqual({ success: false });
    expect(printed.stderr).toBe('fastkit: Unexpected argument `head` for migrate-run. See `nx run api:migrate-run --help` for its options.\n');
    printed.stderr = '';
    await expect(run({ env: { DATABASE_URL: true } })).resolves.toEqual({ success: false });
    expect(printed.stderr).toBe("fastkit: Option '--env' needs an object of text values. Got {\"DATABASE_URL\":true}.\n");
    expect(runProcessMock).not.toHaveBeenCalled();
  });

  test('a number where text is expected is the text: -m 123 (which Nx parses as a number) is the message "123"', async () => {
    helperWill([{ type: 'result', noChanges: true }]);
    await expect(migrateMake({ alembic: ALEMBIC, message: 123 as unknown as string }, context())).resolves.toEqual({ success: true });
    expect(helperRequest()).toMatchObject({ action: 'make', message: '123' });
  });

  test('make without a message: { success: false } and Python never started', async () => {
    await expect(migrateMake({ alembic: ALEMBIC }, context())).resolves.toEqual({ success: false });
    expect(printed.stderr).toMatch(/^fastkit: A message is required/);
    expect(runProcessMock).not.toHaveBeenCalled();
  });
});

describe('the gulp tasks', () => {
  beforeEach(() => process.chdir(workspace));

  test('eight named async functions with displayName and description', () => {
    const all = tasks({ cwd: 'apps/api' });
    expect(Object.keys(all)).toEqual(['migrate:make', 'migrate:run', 'migrate:rollback', 'migrate:status', 'migrate:check', 'migrate:sql', 'migrate:rebase', 'migrate:verify']);
    for (const [name, task] of Object.entries(all)) {
      expect(task.displayName).toBe(name);
      expect(task.name).toBe(name);
      expect(task.description).toMatch(/\(alembic [a-z]+|without a database|onto the other head|on a shadow database/);
      expect(task.constructor.name).toBe('AsyncFunction');
    }
  });

  test.each([['--message'], ['-m']])('migrate:make takes the message from %s on gulp’s command line', async (flag) => {
    process.argv = ['node', 'gulp', 'migrate:make', flag, 'create invoices'];
    helperWill([{ type: 'result', noChanges: true }]);
    await tasks({ cwd: 'apps/api', alembic: ALEMBIC })['migrate:make']();
    expect(helperRequest()).toMatchObject({ action: 'make', message: 'create invoices', config: join(project, 'alembic.ini') });
    expect(printed.stdout).toBe('No changes detected\n');
  });

  test('a failing task rejects with the core’s message, which gulp prints without a stack', async () => {
    helperWill([AT_BASE]);
    const rejected = await tasks({ cwd: 'apps/api', alembic: ALEMBIC })['migrate:rollback']().catch((error: unknown) => error);
    expect(rejected).toMatchObject({
      message: 'Nothing to roll back. The database is at base: no migration is applied.',
      showStack: false,
    });
    expect(String(rejected)).toBe('migrate:rollback: Nothing to roll back. The database is at base: no migration is applied.');
  });

  test('a failing task keeps its exit code: status --check behind head rejects with 3, and gulp exits 3', async () => {
    process.argv = ['node', 'gulp', 'migrate:status', '--check'];
    helperWill([BEHIND]);
    const before = process.listenerCount('exit');
    const rejected = await tasks({ cwd: 'apps/api', alembic: ALEMBIC })['migrate:status']().catch((error: unknown) => error);
    expect(rejected).toMatchObject({ exitCode: 3, message: 'The database is behind head: 1 pending migration. Apply it with `gulp migrate:run`.' });
    const keep = process.listeners('exit').slice(before);
    expect(keep).toHaveLength(1);
    const exitCode = process.exitCode;
    try {
      process.exitCode = 1; // what gulp's process.exit(1) sets before the exit listeners run
      (keep[0] as () => void)();
      expect(process.exitCode).toBe(3);
    } finally {
      process.exitCode = exitCode;
      process.off('exit', keep[0] as () => void);
    }
  });

  test('hints name the gulp tasks', async () => {
    helperWill([BEHIND]);
    await tasks({ cwd: 'apps/api', alembic: ALEMBIC })['migrate:status']();
    expect(printed.stdout).toContain('Apply it with `gulp migrate:run`');
  });
});
