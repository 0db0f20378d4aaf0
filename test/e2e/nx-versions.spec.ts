/**
 * Issue 3's acceptance, as a new user on each Nx major fastkit supports: a fresh workspace
 * with nx alone and a FastAPI service `api` that has no Alembic yet; `nx add fastkit`, the two
 * generators and the inferred targets against SQLite (the embedded default: make and run on
 * every major, status and rollback too on the newest); on the newest major also against
 * PostgreSQL, and the generated env.py rendering SQL offline with real Alembic.
 *
 * One workspace per Nx version, installed side by side before the first test. On the newest
 * major the plugin runs the way Nx runs it by default, isolated in a plugin worker; on the older
 * ones it loads in the nx process, as the other Nx tests load it (NX_ENV, which halves an nx
 * call): the plugin, executor and generator APIs each major has are what they check, and
 * isolation is the same worker around the same plugin on every major.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createNxWorkspaces, packFastkit, taskOutput, type NxWorkspace } from '../support/nx-workspace';
import { createPostgresDatabase, psql, PYTHON, revisionFiles, run, sqliteTables, type Ran } from '../support/workspace';
import { revisionIdOf } from '../support/revisions';
import { PLUGIN_ENTRY } from '../support/plugin-entry';

/**
 * The newest release of each major, pinned so every run installs the same thing
 * (`npm view nx@22 version` and so on, 2026-11-26). Bump them as Nx releases.
 */
const NX_VERSIONS = ['22.7.12', '23.3.2', '24.0.6'];
/**
 * What does not change with the Nx major runs on the newest only: `nx add` a second time (the
 * init generator's own check), the generated env.py rendering SQL (Alembic alone), the
 * targets on PostgreSQL (the same executors, with another DATABASE_URL), and migrate-status and
 * migrate-rollback on SQLite: Nx reaches them by the same executor code as a target every major
 * runs (status with a batch implementation, as migrate-run; rollback without one, as migrate-make).
 */
const NEWEST = NX_VERSIONS[NX_VERSIONS.length - 1];

/** The targets that touch a database: never cached. */
const DATABASE_TARGETS = ['migrate-make', 'migrate-rebase', 'migrate-rollback', 'migrate-run', 'migrate-status'];
/** The offline ones (issue 5): cached. */
const OFFLINE_TARGETS = ['migrate-check', 'migrate-sql'];
/** Cached too: it runs on a shadow database of its own. */
const SHADOW_TARGETS = ['migrate-verify'];

const workspaces = new Map<string, NxWorkspace>();

beforeAll(async () => {
  // nx alone (no @nx/devkit of the workspace's own), and apps/api a FastAPI app with a project.json.
  const made = await createNxWorkspaces(NX_VERSIONS.map((nxVersion) => ({ nxVersion, devkitVersion: false, fastkit: false, api: 'fastapi', isolatePlugins: nxVersion === NEWEST })));
  NX_VERSIONS.forEach((nxVersion, index) => workspaces.set(nxVersion, made[index]));
}, 600_000);

describe.each(NX_VERSIONS)('a new user on Nx %s', (nxVersion) => {
  let ws: NxWorkspace;
  let revision: string;
  const tarball = packFastkit();
  const read = (path: string) => readFileSync(join(ws.root, path), 'utf8');
  const db = () => join(ws.project, 'api.db');
  const task = (target: string, args: string[] = [], env: Record<string, string> = {}) => ws.nx(['run', `api:${target}`, ...args], env);
  /** `<venv python> -m alembic …` in the project, as a user runs Alembic itself. */
  const alembic = (args: string[], env: Record<string, string | undefined>) => {
    const { DATABASE_URL: _, ...rest } = ws.env;
    return run(PYTHON, ['-m', 'alembic', ...args], { cwd: ws.project, env: { ...rest, ...env } });
  };
  /** No Python traceback and no JavaScript stack trace reached the user. */
  const expectNoTrace = (ran: Ran) => {
    expect(ran.all).not.toContain('Traceback');
    expect(ran.all).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  };

  beforeAll(() => {
    ws = workspaces.get(nxVersion)!;
  });

  afterAll(() => ws?.remove());

  // `nx add fastkit` downloads fastkit from the npm registry, where it is not published yet.
  // `nx add fastkit@file:<tarball>` takes the same path through Nx: `npm install -D
  // fastkit@<spec>`, then the package's `init` generator (`nx g fastkit:init`).
  test('nx add fastkit installs it with a clean dependency tree and registers fastkit/plugin', () => {
    const added = ws.nx(['add', `fastkit@file:${tarball}`]);
    expect(added.code).toBe(0);
    expect(added.stdout).toContain('Generating fastkit:init');
    expect(added.stdout).toContain('UPDATE nx.json');
    expect(added.stdout).toContain('Package fastkit added successfully.');
    expectNoTrace(added);

    expect(JSON.parse(read('package.json')).devDependencies).toEqual({
      fastkit: `file:${relative(ws.root, tarball)}`,
      nx: `^${nxVersion}`,
    });
    expect(JSON.parse(read('nx.json')).plugins).toEqual([PLUGIN_ENTRY]);
    // npm's own check of the tree: every peer dependency met, e.g. @nx/devkit's on this nx.
    const tree = run('npm', ['ls', '--all'], { cwd: ws.root, env: ws.env });
    expect({ code: tree.code, stderr: tree.stderr }).toEqual({ code: 0, stderr: '' });
  });

  if (nxVersion === NEWEST) {
    test('nx add fastkit again changes nothing', () => {
      const before = { nx: read('nx.json'), packageJson: read('package.json') };
      const again = ws.nx(['add', `fastkit@file:${tarball}`]);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('fastkit/plugin is already in nx.json; nothing changed.');
      expect(again.stdout).not.toMatch(/^(CREATE|UPDATE) /m);
      expect({ nx: read('nx.json'), packageJson: read('package.json') }).toEqual(before);
    });
  }

  test('nx g fastkit:alembic-setup --project=api writes the Alembic files and a Base, then says what is next', () => {
    const setup = ws.nx(['g', 'fastkit:alembic-setup', '--project=api']);
    expect(setup.code).toBe(0);
    expect(setup.stdout.match(/^CREATE .+$/gm)?.sort()).toEqual([
      'CREATE apps/api/alembic.ini',
      'CREATE apps/api/alembic/env.py',
      'CREATE apps/api/alembic/script.py.mako',
      'CREATE apps/api/alembic/versions/.gitkeep',
      'CREATE apps/api/database.py',
    ]);
    expect(setup.stdout).toContain(
      'Alembic is set up in apps/api; models inherit Base from apps/api/database.py.\n' +
        'Next: nx g fastkit:module invoices --project api\n' +
        '      nx run api:migrate-make -m "create invoices"\n',
    );
    expect(read('apps/api/main.py')).toContain('app = FastAPI()');
  });

  test('nx g fastkit:module invoices --project=api writes the model and registers it in env.py', () => {
    const added = ws.nx(['g', 'fastkit:module', 'invoices', '--project=api']);
    expect(added.code).toBe(0);
    expect(added.stdout.match(/^(CREATE|UPDATE) .+$/gm)?.sort()).toEqual([
      'CREATE apps/api/modules/__init__.py',
      'CREATE apps/api/modules/invoices/__init__.py',
      'CREATE apps/api/modules/invoices/models.py',
      'UPDATE apps/api/alembic/env.py',
    ]);
    expect(read('apps/api/modules/invoices/models.py')).toContain('class Invoice(Base):\n    __tablename__ = "invoices"\n');
    expect(read('apps/api/alembic/env.py')).toContain(
      '# fastkit:models begin\nfrom modules.invoices.models import Invoice  # noqa: F401\n# fastkit:models end\n',
    );
  });

  test('nx show project api --json lists the five database targets, none cached, and the two offline ones and migrate-verify, cached', () => {
    const shown = ws.nx(['show', 'project', 'api', '--json']);
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    const { targets, metadata } = JSON.parse(shown.stdout) as { targets: Record<string, Record<string, unknown>>; metadata?: { technologies?: string[] } };
    expect(Object.keys(targets).sort()).toEqual([...DATABASE_TARGETS, ...OFFLINE_TARGETS, ...SHADOW_TARGETS].sort());
    expect(metadata?.technologies).toEqual(['alembic']);
    for (const name of [...DATABASE_TARGETS, ...OFFLINE_TARGETS, ...SHADOW_TARGETS]) {
      expect(targets[name]).toMatchObject({
        executor: `fastkit:${name}`,
        cache: !DATABASE_TARGETS.includes(name),
        metadata: { description: expect.stringMatching(/alembic|shadow database/i) },
      });
    }
  });

  test('nx run api:migrate-make -m "create_invoices" writes the revision that creates the table', () => {
    const made = task('migrate-make', ['-m', 'create_invoices']);
    expect(made.code).toBe(0);
    const files = revisionFiles(ws.project);
    expect(files).toEqual([expect.stringMatching(/^\d{8}_\d{6}_create_invoices\.py$/)]);
    expect(taskOutput(made.stdout)).toBe(
      `Created apps/api/alembic/versions/${files[0]}\nReview it, then apply it with \`nx run api:migrate-run\``,
    );
    const source = read(`apps/api/alembic/versions/${files[0]}`);
    expect(source).toContain("op.create_table('invoices'");
    revision = revisionIdOf(source);
  });

  if (nxVersion === NEWEST) {
    test('the generated env.py renders the upgrade as SQL offline (alembic upgrade head --sql), SQLite by default', () => {
      const offline = alembic(['upgrade', 'head', '--sql'], {});
      expect(offline.code).toBe(0);
      expect(offline.stdout).toMatch(/^CREATE TABLE invoices \(\n\s+id INTEGER NOT NULL,/m);
      expect(offline.stdout).toContain(`INSERT INTO alembic_version (version_num) VALUES ('${revision}')`);
      expect(sqliteTables(db())).not.toContain('invoices');
    });

    test('offline with a PostgreSQL DATABASE_URL: PostgreSQL SQL, and no database is contacted', () => {
      // Nothing listens on port 1: any connection attempt would fail the command.
      const offline = alembic(['upgrade', 'head', '--sql'], { DATABASE_URL: 'postgresql+psycopg://app@127.0.0.1:1/nowhere' });
      expect(offline.code).toBe(0);
      expect(offline.stdout).toMatch(/^CREATE TABLE invoices \(\n\s+id SERIAL NOT NULL,/m);
      expect(offline.stdout).toMatch(/^BEGIN;$/m);
      expect(offline.stdout).toMatch(/^COMMIT;$/m);
    });
  }

  describe('on SQLite, the embedded default (apps/api/api.db)', () => {
    test('nx run api:migrate-run applies it', () => {
      const ran = task('migrate-run');
      expect(ran.code).toBe(0);
      expect(taskOutput(ran.stdout)).toBe(`Running upgrade base -> ${revision}, create_invoices\nNow at ${revision} (head)`);
      expect(sqliteTables(db())).toEqual(expect.arrayContaining(['alembic_version', 'invoices']));
      expectNoTrace(ran);
    });

    if (nxVersion === NEWEST) {
      test('nx run api:migrate-status shows (head)', () => {
        const status = task('migrate-status');
        expect(status.code).toBe(0);
        expect(taskOutput(status.stdout)).toBe(`${revision} (head)`);
      });

      test('nx run api:migrate-rollback undoes it', () => {
        const rolled = task('migrate-rollback');
        expect(rolled.code).toBe(0);
        expect(taskOutput(rolled.stdout)).toBe(`Running downgrade ${revision} -> base, create_invoices\nNow at base (no migration applied)`);
        expect(sqliteTables(db())).not.toContain('invoices');
        expectNoTrace(rolled);
      });
    }
  });

  if (nxVersion === NEWEST) {
    describe('on PostgreSQL (DATABASE_URL)', () => {
      let pg: ReturnType<typeof createPostgresDatabase>;
      const onPostgres = (target: string) => task(target, [], { DATABASE_URL: pg.url });
      const tables = () => psql(pg.name, "select string_agg(tablename, ',' order by tablename) from pg_tables where schemaname = 'public'");

      beforeAll(() => {
        pg = createPostgresDatabase('fk_nxv');
      });
      afterAll(() => pg?.drop());

      test('nx run api:migrate-run applies it to the database DATABASE_URL names, not to api.db', () => {
        const ran = onPostgres('migrate-run');
        expect(ran.code).toBe(0);
        expect(taskOutput(ran.stdout)).toBe(`Running upgrade base -> ${revision}, create_invoices\nNow at ${revision} (head)`);
        expect(tables()).toBe('alembic_version,invoices');
        expect(psql(pg.name, 'select version_num from alembic_version')).toBe(revision);
        expect(sqliteTables(db())).not.toContain('invoices');
      });

      test('nx run api:migrate-status shows (head)', () => {
        const status = onPostgres('migrate-status');
        expect(status.code).toBe(0);
        expect(taskOutput(status.stdout)).toBe(`${revision} (head)`);
      });

      test('nx run api:migrate-rollback undoes it', () => {
        const rolled = onPostgres('migrate-rollback');
        expect(rolled.code).toBe(0);
        expect(taskOutput(rolled.stdout)).toBe(`Running downgrade ${revision} -> base, create_invoices\nNow at base (no migration applied)`);
        expect(tables()).toBe('alembic_version');
        expect(psql(pg.name, 'select count(*) from alembic_version')).toBe('0');
        expectNoTrace(rolled);
      });
    });
  }
});
