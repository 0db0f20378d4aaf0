/**
 * No database password leaks: not in what fastkit prints (its own lines, Alembic's, env.py's
 * prints and exceptions), not in the argv of the processes it starts. The suite-wide checks
 * live in test/support/secrets.ts (every captured output is scanned; a watcher reads the argv
 * of every process fastkit starts); this file proves they can fail, then looks at a run in
 * flight through /proc, then feeds the masker the leaks SQLAlchemy 1.4 and careless env.py
 * files produce.
 */
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { argvOf, childrenOf, processesMatching, startFastkit } from '../support/processes';
import { SENTINEL_PASSWORD, startArgvWatch, takeLeaks, type Leak } from '../support/secrets';
import { createPostgresDatabase, exampleProject, fastkit, PG_HOST, PG_USER, psql, run } from '../support/workspace';

const UNREACHABLE = `postgresql+psycopg://app:${SENTINEL_PASSWORD}@127.0.0.1:1/app`;

describe('the suite-wide leak checks can fail', () => {
  test('a captured output holding the sentinel is recorded as a leak, with the command that printed it', () => {
    const printed = run(process.execPath, ['-e', 'console.log("url is " + process.env.DATABASE_URL)'], {
      env: { ...process.env, DATABASE_URL: UNREACHABLE },
    });
    expect(printed.stdout).toContain(SENTINEL_PASSWORD);
    const leaks = takeLeaks(); // taken here, so this test itself passes
    expect(leaks).toEqual([{ where: expect.stringContaining(`output of ${process.execPath} -e`), line: `url is ${UNREACHABLE}` }]);
  });

  test('a process started by fastkit with the sentinel in its argv is reported by the watcher; other processes are not its business', async () => {
    const linger = async (args: string[]) => {
      const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', ...args]);
      await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
      return child;
    };
    startArgvWatch();
    // the other tool first: the sweep that sees the fastkit-like process sees it too
    const other = await linger(['some-other-tool', `--url=${UNREACHABLE}`]);
    const fastkitLike = await linger(['/opt/fastkit/python/fastkit_alembic.py', `--url=${UNREACHABLE}`]);
    try {
      const leaks = await leaksReported(1, 10_000);
      expect(leaks).toHaveLength(1);
      expect(leaks[0].where).toContain('fastkit_alembic.py');
      expect(leaks[0].line).toContain(SENTINEL_PASSWORD);
    } finally {
      other.kill();
      fastkitLike.kill();
    }
    expect(takeLeaks()).toEqual([]);
  });
});

/** The leaks recorded until `count` have been, or the time is up (then the test fails on what came). */
async function leaksReported(count: number, timeoutMs: number): Promise<Leak[]> {
  const found: Leak[] = [];
  for (const deadline = Date.now() + timeoutMs; found.length < count && Date.now() < deadline; ) {
    found.push(...takeLeaks());
    if (found.length < count) await new Promise((resolve) => setTimeout(resolve, 50)); // the watcher writes between polls
  }
  return found;
}

describe('a migration in flight on PostgreSQL, seen through /proc', () => {
  const database = createPostgresDatabase('fk_secrets');
  afterAll(() => database.drop());

  test('the URL is in no argv on the machine: the helper gets it by environment, which only its owner can read', async () => {
    const project = exampleProject({ revisions: false });
    writeFileSync(
      join(project, 'alembic', 'versions', '20260101_000000_slow.py'),
      [
        '"""slow"""',
        'from alembic import op',
        'revision = "slow0001"',
        'down_revision = None',
        'branch_labels = None',
        'depends_on = None',
        '',
        'def upgrade():',
        '    op.execute("SELECT pg_sleep(2)")',
        '    op.execute("CREATE TABLE done (id integer)")',
        '',
        'def downgrade():',
        '    op.execute("DROP TABLE done")',
        '',
      ].join('\n'),
    );
    expect(database.url).toContain(`:${SENTINEL_PASSWORD}@`);
    const started = startFastkit(['migrate', 'run'], { cwd: project, env: { DATABASE_URL: database.url } });
    await started.waitFor('Running upgrade base -> slow0001');

    const cli = started.child.pid!;
    const [helper] = childrenOf(cli);
    expect(argvOf(helper).join(' ')).toMatch(/python\S* \S+\/fastkit_alembic\.py$/);
    for (const pid of [cli, helper]) {
      expect(argvOf(pid).join(' ')).not.toContain(SENTINEL_PASSWORD);
      expect(argvOf(pid).join(' ')).not.toContain('postgresql');
    }
    expect(processesMatching(SENTINEL_PASSWORD)).toEqual([]);

    const environ = statSync(`/proc/${helper}/environ`);
    expect(environ.uid).toBe(process.getuid!());
    expect(environ.mode & 0o077).toBe(0); // not readable by group or others
    expect(readFileSync(`/proc/${helper}/environ`, 'utf8').split('\0')).toContain(`DATABASE_URL=${database.url}`);

    const finished = await started.exited;
    expect(finished.code).toBe(0);
    expect(finished.output).not.toContain(SENTINEL_PASSWORD);
    expect(psql(database.name, 'select version_num from alembic_version')).toBe('slow0001');
  });
});

/**
 * SQLAlchemy 2.0 hides passwords in its own messages; SQLAlchemy 1.4 printed them (str(url),
 * "Could not parse rfc1738 URL from string '…'"), and an env.py may print the URL or put it in
 * an exception. Whatever reaches fastkit's output is masked.
 */
describe('passwords that env.py lets out are masked', () => {
  const project = exampleProject();
  const envPy = join(project, 'alembic', 'env.py');
  const stock = readFileSync(envPy, 'utf8');
  const withLines = (lines: string[]) =>
    writeFileSync(envPy, stock.replace('\nconfig = context.config\n', `\n${lines.join('\n')}\nconfig = context.config\n`));
  const cli = (args: string[], url = UNREACHABLE) => fastkit(['migrate', ...args], { cwd: project, env: { DATABASE_URL: url } });

  afterEach(() => writeFileSync(envPy, stock));

  test('env.py printing the URL, its password alone, and the URL rendered in clear: each shows ***', () => {
    withLines([
      'import os as _os, sys as _sys',
      'from sqlalchemy.engine import make_url as _make_url',
      '_url = _os.environ["DATABASE_URL"]',
      'print("connecting to", _url)',
      'print("password=%s" % _make_url(_url).password, file=_sys.stderr)',
      'print("rendered: " + _make_url(_url).render_as_string(hide_password=False))',
      'print("conninfo: password=\'%s\' host=127.0.0.1" % _make_url(_url).password)',
    ]);
    const ran = cli(['status']);
    expect(ran.code).toBe(1); // the server is unreachable
    expect(ran.stdout).toContain('connecting to postgresql+psycopg://app:***@127.0.0.1:1/app');
    expect(ran.stderr).toContain('password=***');
    expect(ran.stdout).toContain('rendered: postgresql+psycopg://app:***@127.0.0.1:1/app');
    expect(ran.stdout).toContain("conninfo: password='***' host=127.0.0.1");
    expect(ran.all).not.toContain(SENTINEL_PASSWORD);
  });

  test("an exception carrying the URL, as SQLAlchemy 1.4's 'Could not parse rfc1738 URL' did: masked in the line and in --verbose", () => {
    withLines([
      'import os as _os',
      'from sqlalchemy.exc import ArgumentError as _ArgumentError',
      `raise _ArgumentError("Could not parse rfc1738 URL from string '%s'" % _os.environ["DATABASE_URL"])`,
    ]);
    const ran = cli(['run']);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toBe(
      "fastkit: The database URL is not valid: Could not parse rfc1738 URL from string 'postgresql+psycopg://app:***@127.0.0.1:1/app'. " +
        'Fix DATABASE_URL, e.g. postgresql+psycopg://user@host:5432/dbname or sqlite:///app.db.\n',
    );
    const verbose = cli(['run', '--verbose']);
    expect(verbose.stderr).toContain('Traceback');
    expect(verbose.stderr).toContain("from string 'postgresql+psycopg://app:***@127.0.0.1:1/app'");
    expect(verbose.all).not.toContain(SENTINEL_PASSWORD);
  });

  test('a plain exception with the URL in its message, and a warning with it: masked', () => {
    withLines([
      'import os as _os, warnings as _warnings',
      '_warnings.warn("deprecated URL form: " + _os.environ["DATABASE_URL"])',
      'raise RuntimeError("cannot use " + _os.environ["DATABASE_URL"])',
    ]);
    const ran = cli(['run', '--verbose']);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain('deprecated URL form: postgresql+psycopg://app:***@127.0.0.1:1/app');
    expect(ran.stderr).toMatch(/^fastkit: RuntimeError: cannot use postgresql\+psycopg:\/\/app:\*\*\*@127\.0\.0\.1:1\/app \(alembic\/env\.py, line \d+\)$/m);
    expect(ran.all).not.toContain(SENTINEL_PASSWORD);
  });

  test('a password with an unencoded @, and PGPASSWORD: each hidden whole, not cut at the @', () => {
    withLines(['import os as _os', 'print("url", _os.environ["DATABASE_URL"])', 'print("pg", _os.environ["PGPASSWORD"])']);
    const ran = fastkit(['migrate', 'status', '--verbose'], {
      cwd: project,
      env: { DATABASE_URL: `postgresql+psycopg://app:x@${SENTINEL_PASSWORD}@127.0.0.1:1/app`, PGPASSWORD: `${SENTINEL_PASSWORD}-pg` },
    });
    expect(ran.code).toBe(1);
    expect(ran.stdout).toBe('url postgresql+psycopg://app:***@127.0.0.1:1/app\npg ***\n');
    expect(ran.all).not.toContain(SENTINEL_PASSWORD);
  });

  test('a percent-encoded password is hidden in both of its forms', () => {
    withLines([
      'import os as _os',
      'from sqlalchemy.engine import make_url as _make_url',
      'print("raw", _os.environ["DATABASE_URL"], "decoded", _make_url(_os.environ["DATABASE_URL"]).password)',
    ]);
    const encoded = `postgresql+psycopg://app:${SENTINEL_PASSWORD}%40x@127.0.0.1:1/app`;
    const ran = cli(['status', '--verbose'], encoded);
    expect(ran.code).toBe(1);
    expect(ran.stdout).toBe('raw postgresql+psycopg://app:***@127.0.0.1:1/app decoded ***\n');
    expect(ran.all).not.toContain(SENTINEL_PASSWORD);
  });
});

/**
 * Real runs on PostgreSQL (its socket takes the user's own login, so any password goes): a
 * password in the URL's query is hidden, and a password that is an ordinary word is hidden
 * where a credential stands and nowhere else.
 */
describe('passwords in the query, and passwords that are ordinary words, on real runs', () => {
  const database = createPostgresDatabase('fk_words');
  afterAll(() => database.drop());
  const url = (password: string) => `postgresql+psycopg://${PG_USER}:${password}@/${database.name}?host=${PG_HOST}`;

  test('?password= in the URL: hidden in the one-line error, and in what env.py prints', () => {
    const project = exampleProject();
    const envPy = join(project, 'alembic', 'env.py');
    writeFileSync(envPy, readFileSync(envPy, 'utf8').replace('\nconfig = context.config\n', '\nimport os as _os\nprint("url:", _os.environ["DATABASE_URL"])\nconfig = context.config\n'));
    const down = fastkit(['migrate', 'run'], { cwd: project, env: { DATABASE_URL: `postgresql+psycopg://app@127.0.0.1:1/app?password=${SENTINEL_PASSWORD}` } });
    expect(down.code).toBe(1);
    expect(down.stdout).toBe('url: postgresql+psycopg://app@127.0.0.1:1/app?password=***\n');
    expect(down.stderr).toBe(
      'fastkit: Cannot connect to the database at postgresql+psycopg://app@127.0.0.1:1/app?password=***: the server is not reachable (Connection refused). ' +
        'Start the database server or fix the host and port in DATABASE_URL.\n',
    );
    const applied = fastkit(['migrate', 'run'], {
      cwd: project,
      env: { DATABASE_URL: `postgresql+psycopg:///${database.name}?host=${PG_HOST}&user=${PG_USER}&password=${SENTINEL_PASSWORD}` },
    });
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain(`url: postgresql+psycopg:///${database.name}?host=${PG_HOST}&user=${PG_USER}&password=***\n`);
    expect(applied.all).not.toContain(SENTINEL_PASSWORD);
    psql(database.name, 'DROP TABLE invoices; DROP TABLE clients; DROP TABLE alembic_version');
  });

  test('password "invoices": the migration still reads "create invoices"; the URL env.py prints is masked', () => {
    const project = exampleProject();
    const envPy = join(project, 'alembic', 'env.py');
    writeFileSync(envPy, readFileSync(envPy, 'utf8').replace('\nconfig = context.config\n', '\nimport os as _os\nprint("url:", _os.environ["DATABASE_URL"])\nconfig = context.config\n'));
    const ran = fastkit(['migrate', 'run'], { cwd: project, env: { DATABASE_URL: url('invoices') } });
    expect(ran.code).toBe(0);
    expect(ran.stdout.split('\n')).toEqual([
      `url: postgresql+psycopg://${PG_USER}:***@/${database.name}?host=${PG_HOST}`,
      'Running upgrade base -> 3e51a29c4cf9, create clients',
      'Running upgrade 3e51a29c4cf9 -> a719d4f7b98f, create invoices',
      'Now at a719d4f7b98f (head)',
      '',
    ]);
    expect(psql(database.name, "SELECT to_regclass('invoices') IS NOT NULL")).toBe('t');
    psql(database.name, 'DROP TABLE invoices; DROP TABLE clients; DROP TABLE alembic_version');
  });

  test('password "true" (in the URL and PGPASSWORD): status --json is the same valid JSON', () => {
    const project = exampleProject();
    const env = { DATABASE_URL: url('true'), PGPASSWORD: 'true' };
    expect(fastkit(['migrate', 'run'], { cwd: project, env }).code).toBe(0);
    for (const fast of [[], ['--no-fast']]) {
      const ran = fastkit(['migrate', 'status', '--json', ...fast], { cwd: project, env });
      expect(ran.code).toBe(0);
      expect(JSON.parse(ran.stdout)).toEqual({ current: ['a719d4f7b98f'], heads: ['a719d4f7b98f'], pending: [], upToDate: true });
    }
    psql(database.name, 'DROP TABLE invoices; DROP TABLE clients; DROP TABLE alembic_version');
  });
});
