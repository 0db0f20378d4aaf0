import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import {
  bareVenv,
  exampleProject,
  fastkit,
  foundUpward,
  removeTempDirs,
  revisionSnapshot,
  tempDir,
  type Ran,
} from '../support/workspace';

afterAll(removeTempDirs);

/**
 * Each mistake a user can make gets one clear line on stderr naming the problem and the fix,
 * a non-zero exit, no Python traceback, and nothing written.
 */
describe('bad input: one clear line, the right exit code, nothing written', () => {
  const project = exampleProject();
  const db = join(project, 'api.db');
  const before = revisionSnapshot(project);
  const cli = (args: string[], env: Record<string, string | undefined> = {}) => fastkit(args, { cwd: project, env });

  /** The line a person reads: the only line, on stderr, after `fastkit: `. */
  function expectOneClearLine(ran: Ran, code: number, problem: string | RegExp, fix: string | RegExp): string {
    expect(ran.code).toBe(code);
    expect(ran.stdout).toBe('');
    const lines = ran.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line).toMatch(/^fastkit: /);
    expect(line).toMatch(problem);
    expect(line).toMatch(fix);
    expect(ran.all).not.toContain('Traceback');
    return line;
  }

  afterEach(() => {
    expect(revisionSnapshot(project)).toEqual(before);
    expect(existsSync(db)).toBe(false);
  });

  test('make without a message: exit 2, says a message is required and how to give one', () => {
    expectOneClearLine(cli(['migrate', 'make']), 2, 'A message is required', '-m "create_invoices"');
  });

  test('make with -m but no value: exit 2', () => {
    expectOneClearLine(cli(['migrate', 'make', '-m']), 2, "Option '-m, --message <value>' argument missing", 'fastkit --help');
  });

  test('make with an empty message: exit 2', () => {
    expectOneClearLine(cli(['migrate', 'make', '-m', '']), 2, 'A message is required', '-m "create_invoices"');
  });

  test('make with a message of white space only: exit 2', () => {
    expectOneClearLine(cli(['migrate', 'make', '-m', ' \t ']), 2, 'A message is required', '-m "create_invoices"');
  });

  test('make with a multi-line message: exit 2, says it must be one line', () => {
    expectOneClearLine(
      cli(['migrate', 'make', '-m', 'create invoices\n\nand clients']),
      2,
      'The message must be one line',
      'Put details in the revision file',
    );
  });

  test('an unknown subcommand: exit 2, lists the four that exist', () => {
    expectOneClearLine(
      cli(['migrate', 'upgrade']),
      2,
      'Unknown subcommand `migrate upgrade`',
      'migrate make, migrate run, migrate rollback, migrate status',
    );
  });

  test('an unknown command: exit 2, points at fastkit --help', () => {
    expectOneClearLine(cli(['migrations', 'run']), 2, 'Unknown command `migrations`', 'fastkit --help');
  });

  test('an unknown option: exit 2, names the option and points at fastkit --help', () => {
    const line = expectOneClearLine(cli(['migrate', 'run', '--sql']), 2, "Unknown option '--sql'", 'See `fastkit --help`.');
    expect(line).toBe("fastkit: Unknown option '--sql'. See `fastkit --help`.");
  });

  test('no alembic.ini in this folder or above: exit 1, says where it looked and what to do', () => {
    const empty = tempDir('fastkit-empty-');
    expect(foundUpward(empty, 'alembic.ini')).toEqual([]);
    const ran = fastkit(['migrate', 'status'], { cwd: empty });
    expectOneClearLine(ran, 1, `No alembic.ini in ${empty} or any folder above it`, /pass --config|alembic-setup/);
  });

  test('--config pointing nowhere: exit 1, names the path and the fix', () => {
    expectOneClearLine(
      cli(['migrate', 'run', '--config', 'conf/alembic.ini']),
      1,
      `No Alembic config at ${join('conf', 'alembic.ini')}`,
      'Check the --config path',
    );
  });

  test('Alembic not installed: exit 1, lists the places tried and the install command', () => {
    const venv = bareVenv();
    // the project lives in a temporary folder: no .venv, uv.lock or poetry.lock above it
    for (const name of ['.venv', 'uv.lock', 'poetry.lock']) expect(foundUpward(project, name)).toEqual([]);
    const ran = cli(['migrate', 'run'], {
      VIRTUAL_ENV: venv,
      // python3 on PATH is the bare venv's too, as after `source venv/bin/activate`
      PATH: [join(venv, 'bin'), process.env.PATH].join(delimiter),
    });
    const line = expectOneClearLine(ran, 1, 'Alembic not found: alembic is not installed for', 'pip install alembic');
    expect(line).toContain(`${venv} (no alembic in it)`);
    expect(line).toContain(`.venv in ${project} or a folder above (none)`);
    expect(line).toContain('uv.lock (none)');
    expect(line).toContain('poetry.lock (none)');
  });

  describe('an unreachable database with a password in DATABASE_URL', () => {
    const DATABASE_URL = 'postgresql+psycopg://app:S3cretSentinel@127.0.0.1:1/app';

    test.each([['run'], ['status'], ['rollback']])('%s: exit 1, one clear line, the password never printed', (action) => {
      const ran = cli(['migrate', action], { DATABASE_URL });
      const line = expectOneClearLine(
        ran,
        1,
        'Cannot connect to the database at postgresql+psycopg://app:***@127.0.0.1:1/app: the server is not reachable',
        'Start the database server or fix the host and port in DATABASE_URL',
      );
      expect(line).not.toContain('S3cretSentinel');
    });

    test('make: exit 1, no revision file, the password never printed', () => {
      const ran = cli(['migrate', 'make', '-m', 'add notes'], { DATABASE_URL });
      const line = expectOneClearLine(ran, 1, 'Cannot connect to the database', 'DATABASE_URL');
      expect(line).not.toContain('S3cretSentinel');
    });

    test('--verbose shows the traceback, still without the password', () => {
      const ran = cli(['migrate', 'run', '--verbose'], { DATABASE_URL });
      expect(ran.code).toBe(1);
      expect(ran.stderr).toContain('Traceback');
      expect(ran.stderr).toContain('app:***@127.0.0.1');
      expect(ran.all).not.toContain('S3cretSentinel');
    });

    test('a percent-encoded password is hidden in both of its forms', () => {
      const ran = cli(['migrate', 'run', '--verbose'], { DATABASE_URL: 'postgresql+psycopg://app:S3cret%40Sentinel@127.0.0.1:1/app' });
      expect(ran.code).toBe(1);
      expect(ran.all).not.toMatch(/S3cret(%40|@)Sentinel/);
    });
  });

  test('rollback at base: exit 1, Nothing to roll back, no traceback', () => {
    const fresh = exampleProject({ revisions: false });
    const ran = fastkit(['migrate', 'rollback'], { cwd: fresh });
    expectOneClearLine(ran, 1, 'Nothing to roll back', 'The database is at base');
    expect(revisionSnapshot(fresh)).toEqual({});
  });
});
