/**
 * The four actions' output, with the one process boundary (src/process.ts) replaced by a fake
 * helper that emits the events the real one does. Everything else is real: finding the config,
 * the project, the masking, the formatting, the errors.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HELPER } from '../../src/alembic';
import { ExitCode, FastkitError, UsageError } from '../../src/errors';
import { make, rollback, run, status } from '../../src/migrate';
import { CLI_COMMANDS, commandsInSection, type MigrateOptions } from '../../src/options';
import { runProcess } from '../../src/process';
import { helperRequest as request, helperWill } from '../support/fake-helper';
import { tempDir } from '../support/workspace';

jest.mock('../../src/process');
const runProcessMock = jest.mocked(runProcess);

const project = tempDir('fastkit-unit-');
writeFileSync(join(project, 'alembic.ini'), '[alembic]\n');
const PYTHON = '/opt/venv/bin/python';
let printed: { out: string; err: string };

function options<T extends object>(extra: T = {} as T): MigrateOptions & T {
  return {
    root: project,
    alembic: `${PYTHON} -m alembic`,
    streams: {
      stdout: { write: (chunk: string) => (printed.out += chunk) },
      stderr: { write: (chunk: string) => (printed.err += chunk) },
    },
    ...extra,
  };
}

async function failure(promise: Promise<unknown>): Promise<FastkitError> {
  const error = await promise.then(
    () => undefined,
    (rejected: unknown) => rejected,
  );
  expect(error).toBeInstanceOf(FastkitError);
  return error as FastkitError;
}

/** What the helper's step events say of the database these tests name (PostgreSQL). */
const onPostgres = { dialect: 'postgresql', transactionalDdl: true };

const revision = (id: string, message: string) => ({
  revision: id,
  message,
  path: join(project, 'alembic', 'versions', `20250101_000000_${message.replace(/\W+/g, '_')}.py`),
});

beforeEach(() => {
  printed = { out: '', err: '' };
  runProcessMock.mockReset();
});

describe('the process boundary', () => {
  test('the helper runs with the project’s Python, an argument array, in the config’s folder, with the request as JSON', async () => {
    helperWill({ events: [{ type: 'result', applied: [], heads: ['a1'] }] });
    await run(options({ args: ['-x', 'tenant=acme'], name: 'primary' }));
    expect(runProcessMock).toHaveBeenCalledTimes(1);
    const [argv, processOptions] = runProcessMock.mock.calls[0];
    expect(argv).toEqual([PYTHON, HELPER]);
    expect(processOptions.cwd).toBe(project);
    expect(processOptions.env).toMatchObject({ FASTKIT_EVENTS_FD: '3', PYTHONUNBUFFERED: '1' });
    expect(request()).toEqual({ action: 'run', config: join(project, 'alembic.ini'), name: 'primary', args: ['-x', 'tenant=acme'], checksums: false });
  });

  test('extra env reaches the helper', async () => {
    helperWill({ events: [{ type: 'result', applied: [], heads: [] }] });
    await run(options({ env: { DATABASE_URL: 'sqlite:///other.db' } }));
    expect(runProcessMock.mock.calls[0][1].env.DATABASE_URL).toBe('sqlite:///other.db');
  });
});

describe('make', () => {
  test('prints the path of the new file, relative to where the user is, and what to do next', async () => {
    const made = revision('1a2b3c4d5e6f', 'create_invoices');
    helperWill({ stderr: ["INFO  [alembic.autogenerate.compare] Detected added table 'invoices'"], events: [{ type: 'result', noChanges: false, ...made }] });
    const cwd = process.cwd();
    process.chdir(project);
    try {
      await expect(make(options({ message: '  create_invoices ' }))).resolves.toEqual({ path: made.path, revision: '1a2b3c4d5e6f' });
    } finally {
      process.chdir(cwd);
    }
    expect(printed.out).toBe(
      `Created ${join('alembic', 'versions', '20250101_000000_create_invoices.py')}\nReview it, then apply it with \`fastkit migrate run\`\n`,
    );
    expect(printed.err).toBe("INFO  [alembic.autogenerate.compare] Detected added table 'invoices'\n");
    expect(request()).toMatchObject({ action: 'make', message: 'create_invoices', autogenerate: true });
  });

  test('the hint names the door’s own command', async () => {
    helperWill({ events: [{ type: 'result', noChanges: false, ...revision('1a2b3c4d5e6f', 'create_invoices') }] });
    await make(options({ message: 'create_invoices', commands: { run: 'nx run api:migrate-run' } }));
    expect(printed.out).toMatch(/\nReview it, then apply it with `nx run api:migrate-run`\n$/);
  });

  test('no model change: says No changes detected and nothing else', async () => {
    helperWill({ events: [{ type: 'result', noChanges: true }] });
    await expect(make(options({ message: 'nothing' }))).resolves.toEqual({ path: null, revision: null });
    expect(printed).toEqual({ out: 'No changes detected\n', err: '' });
  });

  test('autogenerate: false is passed on', async () => {
    helperWill({ events: [{ type: 'result', noChanges: false, ...revision('1a2b3c4d5e6f', 'data fix') }] });
    await make(options({ message: 'data fix', autogenerate: false }));
    expect(request()).toMatchObject({ autogenerate: false });
  });

  test.each([
    ['no message', undefined, 'A message is required'],
    ['an empty message', '', 'A message is required'],
    ['a message of white space', ' \t', 'A message is required'],
    ['a multi-line message', 'one\ntwo', 'The message must be one line'],
    ['a message with a carriage return', 'one\rtwo', 'The message must be one line'],
  ])('%s is a usage error (exit 2) and Python is never started', async (_kind, message, text) => {
    const error = await failure(make(options({ message })));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toBe(text);
    expect(error.exitCode).toBe(ExitCode.usage);
    expect(runProcessMock).not.toHaveBeenCalled();
  });
});

describe('run', () => {
  test('reports each migration as it starts, then where the database is', async () => {
    const first = revision('a1', 'create invoices');
    const second = revision('b2', 'add notes');
    helperWill({
      events: [
        { type: 'step', direction: 'upgrade', ...onPostgres, ...first, from: [] },
        { type: 'step', direction: 'upgrade', ...onPostgres, ...second, from: ['a1'] },
        { type: 'result', applied: [{ ...first, from: [] }, { ...second, from: ['a1'] }], heads: ['b2'] },
      ],
    });
    await expect(run(options())).resolves.toEqual({ applied: [{ ...first, from: [] }, { ...second, from: ['a1'] }] });
    expect(printed.out).toBe('Running upgrade base -> a1, create invoices\nRunning upgrade a1 -> b2, add notes\nNow at b2 (head)\n');
    expect(printed.err).toBe('');
  });

  test('a merge revision names both revisions it starts from', async () => {
    const merge = revision('m3', 'merge heads');
    helperWill({ events: [{ type: 'step', direction: 'upgrade', ...onPostgres, ...merge, from: ['a1', 'b2'] }, { type: 'result', applied: [{ ...merge, from: ['a1', 'b2'] }], heads: ['m3'] }] });
    await run(options());
    expect(printed.out).toBe('Running upgrade a1, b2 -> m3, merge heads\nNow at m3 (head)\n');
  });

  test('nothing pending: prints nothing at all', async () => {
    helperWill({ events: [{ type: 'result', applied: [], heads: ['b2'] }] });
    await expect(run(options())).resolves.toEqual({ applied: [] });
    expect(printed).toEqual({ out: '', err: '' });
  });
});

describe('rollback', () => {
  test('reports the one migration undone and where the database is now', async () => {
    const second = revision('b2', 'add notes');
    helperWill({ events: [{ type: 'step', direction: 'downgrade', ...onPostgres, ...second, to: ['a1'] }, { type: 'result', reverted: [{ ...second, to: ['a1'] }] }] });
    await rollback(options());
    expect(printed.out).toBe('Running downgrade b2 -> a1, add notes\nNow at a1\n');
  });

  test('back to base says so', async () => {
    const first = revision('a1', 'create invoices');
    helperWill({ events: [{ type: 'step', direction: 'downgrade', ...onPostgres, ...first, to: [] }, { type: 'result', reverted: [{ ...first, to: [] }] }] });
    await rollback(options());
    expect(printed.out).toBe('Running downgrade a1 -> base, create invoices\nNow at base (no migration applied)\n');
  });

  test('at base: Nothing to roll back, exit 1, the traceback kept only as detail', async () => {
    helperWill({
      events: [
        {
          type: 'error',
          code: 'nothing-to-roll-back',
          message: 'Nothing to roll back',
          hint: 'The database is at base: no migration is applied.',
          traceback: 'Traceback (most recent call last):\n  ...\nFailure: Nothing to roll back\n',
        },
      ],
      exit: { exitCode: 1 },
    });
    const error = await failure(rollback(options()));
    expect(error.message).toBe('Nothing to roll back');
    expect(error.hint).toBe('The database is at base: no migration is applied.');
    expect(error.exitCode).toBe(ExitCode.failure);
    expect(error.code).toBe('nothing-to-roll-back');
    expect(error.detail).toContain('Traceback');
    expect(printed).toEqual({ out: '', err: '' });
  });
});

describe('status', () => {
  const AT_HEAD = { type: 'result', current: ['b2'], heads: ['b2'], pending: [], upToDate: true };

  test.each(['0', 'false', 'off', ''])('FASTKIT_NO_FAST=%j leaves the fast path on (--verbose says why it did not answer)', async (value) => {
    helperWill([AT_HEAD]);
    await status(options({ verbose: true, env: { FASTKIT_NO_FAST: value } }));
    expect(printed.err).toMatch(/^fast path: asking Alembic \(/);
    expect(printed.err).not.toContain('fast path turned off');
  });

  test.each(['1', 'true', 'yes'])('FASTKIT_NO_FAST=%j turns the fast path off', async (value) => {
    helperWill([AT_HEAD]);
    await status(options({ verbose: true, env: { FASTKIT_NO_FAST: value } }));
    expect(printed.err).toBe('fast path: asking Alembic (fast path turned off)\n');
  });

  test('up to date: the revision with (head)', async () => {
    helperWill([AT_HEAD]);
    await expect(status(options())).resolves.toEqual({ current: ['b2'], heads: ['b2'], pending: [], upToDate: true });
    expect(printed.out).toBe('b2 (head)\n');
  });

  test('behind: the current revision, the pending ones aligned with their messages, and how to apply them', async () => {
    helperWill({
      events: [
        {
          type: 'result',
          current: ['a1'],
          heads: ['c3d4e5'],
          pending: [revision('b2', 'add notes'), revision('c3d4e5', 'add status')],
          upToDate: false,
        },
      ],
    });
    await status(options({ commands: { run: 'gulp migrate:run' } }));
    expect(printed.out).toBe(
      ['a1', '2 pending migrations:', '  b2      add notes', '  c3d4e5  add status', 'Apply them with `gulp migrate:run`', ''].join('\n'),
    );
  });

  test('at base, with and without migrations', async () => {
    helperWill({ events: [{ type: 'result', current: [], heads: [], pending: [], upToDate: true }] });
    await status(options());
    expect(printed.out).toBe('No migrations yet (base)\n');
    printed.out = '';
    helperWill({ events: [{ type: 'result', current: [], heads: ['a1'], pending: [revision('a1', 'create invoices')], upToDate: false }] });
    await status(options());
    expect(printed.out).toBe('No migration applied (base)\n1 pending migration:\n  a1  create invoices\nApply it with `fastkit migrate run`\n');
  });

  test('multiple heads: reported with the command that merges them and records the merge in fastkit.sum', async () => {
    helperWill({ events: [{ type: 'result', current: ['a1'], heads: ['b2', 'c3'], pending: [], upToDate: false }] });
    await status(options());
    expect(printed.out).toMatch(/^Multiple heads: b2, c3\nMerge them with `fastkit migrate rebase --merge`, then `fastkit migrate run`\n/);
  });

  test('--check with multiple heads: exit 3, the merge and run commands of the door the user came through', async () => {
    helperWill({ events: [{ type: 'result', current: ['a1'], heads: ['b2', 'c3'], pending: [], upToDate: false }] });
    const commands = { rebase: 'nx run api:migrate-rebase', run: 'nx run api:migrate-run' };
    const error = await failure(status(options({ check: true, commands })));
    expect(error.exitCode).toBe(ExitCode.behindHead);
    expect(error.message).toBe('The history has 2 heads');
    expect(error.hint).toBe('Merge them with `nx run api:migrate-rebase --merge`, then `nx run api:migrate-run`.');
    expect(printed.out).toMatch(/^Multiple heads: b2, c3\nMerge them with `nx run api:migrate-rebase --merge`, then `nx run api:migrate-run`\n/);
  });

  test('--all-sections --check with multiple heads in one section: both commands name that section', async () => {
    const sections = tempDir('fastkit-unit-sections-');
    writeFileSync(join(sections, 'alembic.ini'), '[alembic]\nscript_location = alembic\n\n[analytics]\nscript_location = analytics\n');
    helperWill({ events: [{ type: 'result', current: ['a1'], heads: ['a1'], pending: [], upToDate: true }] });
    helperWill({ events: [{ type: 'result', current: ['d4'], heads: ['e5', 'f6'], pending: [], upToDate: false }] });
    const error = await failure(status(options({ root: sections, check: true, allSections: true })));
    expect(request(1)).toMatchObject({ action: 'status', name: 'analytics' });
    expect(error.message).toBe('The history [analytics] has 2 heads');
    expect(error.hint).toBe('Merge them with `fastkit migrate rebase --name analytics --merge`, then `fastkit migrate run --name analytics`.');
  });

  test('all sections and one section at once: a usage error in words every door shares', async () => {
    const error = await failure(status(options({ allSections: true, name: 'analytics' })));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toBe('All sections and one section (by its name) were both asked for');
    expect(error.hint).toBe('Ask for one of them: every section, or one by its name.');
  });

  test('--json prints only {current, heads, pending, upToDate}; anything else the helper prints goes to stderr', async () => {
    helperWill({
      stdout: ['print() from env.py'],
      events: [{ type: 'result', current: ['a1'], heads: ['b2'], pending: [revision('b2', 'add notes')], upToDate: false }],
    });
    await status(options({ json: true }));
    expect(JSON.parse(printed.out)).toEqual({
      current: ['a1'],
      heads: ['b2'],
      pending: [{ revision: 'b2', message: 'add notes' }],
      upToDate: false,
    });
    expect(printed.out.trim().split('\n')).toHaveLength(1);
    expect(printed.err).toBe('print() from env.py\n');
  });

  test('--check when behind: prints the status, then fails with exit 3 and the command that applies it', async () => {
    helperWill({ events: [{ type: 'result', current: ['a1'], heads: ['b2'], pending: [revision('b2', 'add notes')], upToDate: false }] });
    const error = await failure(status(options({ check: true })));
    expect(error.exitCode).toBe(ExitCode.behindHead);
    expect(error.message).toBe('The database is behind head: 1 pending migration');
    expect(error.hint).toBe('Apply it with `fastkit migrate run`.');
    expect(printed.out).toContain('1 pending migration:');
  });

  test('--check when up to date passes', async () => {
    helperWill({ events: [{ type: 'result', current: ['b2'], heads: ['b2'], pending: [], upToDate: true }] });
    await expect(status(options({ check: true }))).resolves.toMatchObject({ upToDate: true });
  });
});

describe('failures', () => {
  test('Alembic missing: lists the places tried and the install command', async () => {
    helperWill({ events: [{ type: 'error', code: 'alembic-missing', message: 'alembic is not installed for /usr/bin/python3', hint: null, traceback: null }], exit: { exitCode: 1 } });
    const error = await failure(run({ ...options(), alembic: undefined, env: { VIRTUAL_ENV: '', PATH: '/usr/bin' } }));
    expect(error.code).toBe('alembic-missing');
    expect(error.message).toMatch(/^Alembic not found: alembic is not installed for \/usr\/bin\/python3; tried VIRTUAL_ENV \(not set\), .*uv\.lock \(none\), poetry\.lock \(none\)$/);
    expect(error.hint).toContain('pip install alembic');
  });

  test('the Python to run is missing (ENOENT): the same clear error', async () => {
    runProcessMock.mockRejectedValueOnce(Object.assign(new Error('spawn /opt/venv/bin/python ENOENT'), { code: 'ENOENT' }));
    const error = await failure(run(options()));
    expect(error.message).toBe('Alembic not found: /opt/venv/bin/python was not found');
    expect(error.hint).toContain('pip install alembic');
  });

  test('hints name the command of the door the user came through', async () => {
    helperWill({
      events: [{ type: 'error', code: 'behind-head', message: 'The database is behind head', hint: 'Run `{run}` first, then `{alembic} heads`.', traceback: null }],
      exit: { exitCode: 1 },
    });
    const error = await failure(make(options({ message: 'x', commands: { run: 'nx run api:migrate-run' } })));
    expect(error.hint).toBe(`Run \`nx run api:migrate-run\` first, then \`${PYTHON} -m alembic heads\`.`);
  });

  test('a usage error from the helper keeps exit 2', async () => {
    helperWill({ events: [{ type: 'error', code: 'usage', message: 'Alembic did not accept the extra arguments --bogus', hint: null, traceback: null }], exit: { exitCode: 1 } });
    expect((await failure(run(options({ args: ['--bogus'] })))).exitCode).toBe(ExitCode.usage);
  });

  test('the helper exits without a result or an error: says so instead of claiming success', async () => {
    helperWill({ stderr: ['Segmentation fault'], exit: { exitCode: 139 } });
    const error = await failure(run(options()));
    expect(error.message).toBe('Alembic exited with code 139 without a result');
    expect(error.hint).toContain('--verbose');
  });

  test('exit 0 without a result is a failure too', async () => {
    helperWill({});
    expect((await failure(status(options()))).message).toBe('Alembic exited with code 0 without a result');
  });

  test('Ctrl-C forwarded: Interrupted, exit 130; SIGTERM: Terminated, exit 143', async () => {
    helperWill({ events: [{ type: 'step', direction: 'upgrade', ...onPostgres, ...revision('a1', 'slow'), from: [] }], exit: { exitCode: 130, forwarded: 'SIGINT' } });
    const interrupted = await failure(run(options()));
    expect([interrupted.message, interrupted.exitCode]).toEqual(['Interrupted', 130]);
    helperWill({ exit: { exitCode: 143, signal: 'SIGTERM', forwarded: 'SIGTERM' } });
    const terminated = await failure(run(options()));
    expect([terminated.message, terminated.exitCode]).toEqual(['Terminated', 143]);
  });

  test('a line on the event channel that is not JSON is shown, not lost', async () => {
    helperWill({ events: ['warning: something odd', { type: 'result', applied: [], heads: [] }] });
    await run(options());
    expect(printed.err).toBe('warning: something odd\n');
  });
});

describe('passwords', () => {
  const env = { DATABASE_URL: 'postgresql+psycopg://app:S3cretSentinel@db.internal/app' };

  test('are masked in everything the helper prints', async () => {
    helperWill({
      stdout: ['connecting to postgresql+psycopg://app:S3cretSentinel@db.internal/app'],
      stderr: ['password S3cretSentinel rejected'],
      events: ['raw S3cretSentinel on fd 3', { type: 'result', applied: [], heads: [] }],
    });
    await run(options({ env }));
    expect(printed.out + printed.err).not.toContain('S3cretSentinel');
    expect(printed.out).toBe('connecting to postgresql+psycopg://app:***@db.internal/app\n');
  });

  test('are masked in the error message, hint and detail', async () => {
    helperWill({
      events: [
        {
          type: 'error',
          code: 'connect',
          message: 'Cannot connect to the database at postgresql+psycopg://app:S3cretSentinel@db.internal/app',
          hint: 'Check S3cretSentinel',
          traceback: 'Traceback ... S3cretSentinel',
        },
      ],
      exit: { exitCode: 1 },
    });
    const error = await failure(status(options({ env })));
    expect(error.message).toBe('Cannot connect to the database at postgresql+psycopg://app:***@db.internal/app');
    expect(`${error.hint} ${error.detail}`).not.toContain('S3cretSentinel');
  });
});

describe('commands named for a section', () => {
  test('each command names the section with --name, quoted where a shell would split it; [alembic] needs none', () => {
    expect(commandsInSection(CLI_COMMANDS, 'analytics').run).toBe('fastkit migrate run --name analytics');
    expect(commandsInSection(CLI_COMMANDS, 'analytics').make).toBe('fastkit migrate make -m "message" --name analytics');
    expect(commandsInSection(CLI_COMMANDS, 'my db').run).toBe("fastkit migrate run --name 'my db'");
    expect(commandsInSection(CLI_COMMANDS, "it's").run).toBe("fastkit migrate run --name 'it'\\''s'");
    expect(commandsInSection(CLI_COMMANDS, 'alembic')).toBe(CLI_COMMANDS);
    expect(commandsInSection(CLI_COMMANDS, undefined)).toBe(CLI_COMMANDS);
  });
});
