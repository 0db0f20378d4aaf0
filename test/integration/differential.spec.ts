/**
 * fastkit against raw Alembic, where they must agree. One project, two twin databases: the
 * same random-ish sequence of steps goes through `fastkit migrate run / rollback` on one and
 * `python -m alembic upgrade head / downgrade -1` on the other, while new revisions arrive
 * (as after a `git pull`). After every step the twins must hold the same schema, data and
 * alembic_version; both tools must have run the same migrations (or both refused); and what
 * `fastkit migrate status --json` says is applied and pending must be what Alembic's own
 * `current`, `heads` and `history -r current:heads` say.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, createPostgresDatabase, exampleProject, PG_HOST, PYTHON, run, runAsync, sqliteDump, tempDir, VENV, type Ran } from '../support/workspace';
import { revision } from '../support/revisions';
import { seededRandom } from '../support/random';

/** The history that arrives one revision at a time: schema and data changes, each undoable. */
const POOL = [
  revision(
    'd1d1d1d1d1d1',
    null,
    'create notes',
    'op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True), sa.Column("title", sa.String(200), nullable=False))',
    'op.drop_table("notes")',
  ),
  revision('d2d2d2d2d2d2', 'd1d1d1d1d1d1', 'first notes', `op.execute("INSERT INTO notes (id, title) VALUES (1, 'first'), (2, 'second')")`, 'op.execute("DELETE FROM notes WHERE id IN (1, 2)")'),
  revision(
    'd3d3d3d3d3d3',
    'd2d2d2d2d2d2',
    'add body to notes',
    'op.add_column("notes", sa.Column("body", sa.Text))',
    'with op.batch_alter_table("notes") as batch:\n        batch.drop_column("body")',
  ),
  revision(
    'd4d4d4d4d4d4',
    'd3d3d3d3d3d3',
    'create tags',
    'op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True), sa.Column("note_id", sa.Integer, sa.ForeignKey("notes.id")), sa.Column("name", sa.String(50), index=True))',
    'op.drop_table("tags")',
  ),
  revision('d5d5d5d5d5d5', 'd4d4d4d4d4d4', 'fill first body', `op.execute("UPDATE notes SET body = 'hello' WHERE id = 1")`, 'op.execute("UPDATE notes SET body = NULL WHERE id = 1")'),
];

type Step = 'run' | 'rollback' | 'pull';

/** A fixed-seed sequence, so a failure replays exactly. */
function steps(seed: number, count: number): Step[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const x = random.next();
    return x < 0.4 ? 'run' : x < 0.72 ? 'rollback' : 'pull';
  });
}

/**
 * A step meets one case, and the pool's revisions arrive one pull at a time: eight steps are the
 * fewest whose sequence meets the six cases the last test asks for and applies the pool up to
 * its table with a foreign key and an index (d4: a created table, data, an added column, a
 * batch-mode drop on the way back). This seed's eight do both. Each step costs two real
 * migrations and two status reads; the ten of the seed before met nothing more.
 */
const SEED = 138;
const STEPS = 8;

interface Twins {
  fastkitUrl: string;
  alembicUrl: string;
  /** Schema, data and alembic_version of one twin, as text. */
  state(url: string): string;
  drop(): void;
}

const engines: Array<{ name: string; twins(): Twins }> = [
  {
    name: 'SQLite',
    twins() {
      const folder = tempDir('fastkit-twins-');
      const file = (url: string) => url.slice('sqlite:///'.length);
      return {
        fastkitUrl: `sqlite:///${join(folder, 'fastkit.db')}`,
        alembicUrl: `sqlite:///${join(folder, 'alembic.db')}`,
        // a file that does not exist yet is an empty database (fastkit does not create one to read it)
        state: (url) => (existsSync(file(url)) ? sqliteDump(file(url)) : ''),
        drop: () => undefined,
      };
    },
  },
  {
    name: 'PostgreSQL',
    twins() {
      const a = createPostgresDatabase('fk_twin');
      const b = createPostgresDatabase('fk_twin');
      const nameOf = (url: string) => (url === a.url ? a.name : b.name);
      return {
        fastkitUrl: a.url,
        alembicUrl: b.url,
        state(url) {
          const dump = run('pg_dump', ['-h', PG_HOST, '--no-owner', '--no-privileges', nameOf(url)]);
          if (dump.code !== 0) throw new Error(`pg_dump failed: ${dump.stderr}`);
          return dump.stdout.replace(/^\\(un)?restrict .*$/gm, ''); // pg_dump's random fence key
        },
        drop: () => {
          a.drop();
          b.drop();
        },
      };
    },
  },
];

/** The migrations a tool reported running, in fastkit's words: `upgrade base -> d1d1d1d1d1d1, create notes`. */
function migrationsIn(output: string): string[] {
  return [...output.matchAll(/Running (upgrade|downgrade) (\S*) ?-> (\S*?),? (.*)$/gm)].map(
    ([, direction, from, to, message]) => `${direction} ${from || 'base'} -> ${to.replace(/,$/, '') || 'base'}, ${message}`,
  );
}

interface Facts {
  current: string[];
  heads: string[];
  pending: Array<{ revision: string; message: string }>;
  upToDate: boolean;
}

/** What raw Alembic says: `current`, `heads`, `history -r current:heads`, in one Python process. */
function alembicFacts(ran: Ran): Facts {
  const sections = Object.fromEntries(
    ran.stdout
      .split(/^@@ /m)
      .filter(Boolean)
      .map((section) => {
        const [title, ...lines] = section.split('\n');
        return [title, lines.filter(Boolean)];
      }),
  ) as Record<string, string[]>;
  const current = sections.current.map((line) => line.split(' ')[0]);
  const heads = sections.heads.map((line) => line.split(' ')[0]);
  const history = sections['history -r current:heads'].map((line) => {
    const [, revision, message] = /-> (\w+)(?: \([^)]*\))*, (.*)$/.exec(line)!;
    return { revision, message };
  });
  return {
    current,
    heads,
    pending: history.reverse().filter(({ revision }) => !current.includes(revision)),
    upToDate: current.length === heads.length && current.every((revision) => heads.includes(revision)),
  };
}

describe.each(engines)('fastkit agrees with raw Alembic on $name', (engine) => {
  const project = exampleProject({ revisions: false });
  const twins = engine.twins();
  const envOf = (url: string) => ({ ...process.env, VIRTUAL_ENV: VENV, DATABASE_URL: url });
  const fastkit = (...args: string[]) => runAsync(process.execPath, [CLI, 'migrate', ...args], { cwd: project, env: envOf(twins.fastkitUrl) });
  const alembic = (...args: string[]) => runAsync(PYTHON, ['-m', 'alembic', ...args], { cwd: project, env: envOf(twins.alembicUrl) });
  const alembicCommands = (...commands: string[]) =>
    runAsync(
      PYTHON,
      ['-c', 'import sys\nfrom alembic.config import main\nfor c in sys.argv[1:]:\n    print("@@ " + c, flush=True)\n    main(argv=c.split())\n', ...commands],
      { cwd: project, env: envOf(twins.alembicUrl) },
    );
  let pulled = 0;
  const pull = () => {
    writeFileSync(join(project, 'alembic', 'versions', `2026010${pulled + 1}_000000_step.py`), POOL[pulled]);
    pulled += 1;
  };
  const seen = new Set<string>();
  /** The revisions the sequence applied at least once. */
  const applied = new Set<string>();

  beforeAll(pull); // the project starts with its first revision
  afterAll(() => twins.drop());

  test.each(steps(SEED, STEPS).map((step, index) => [index + 1, step] as const))('step %i: %s', async (_index, step) => {
    if (step === 'pull' && pulled === POOL.length) step = 'run';
    if (step === 'pull') {
      pull();
      seen.add('a new revision arrived');
    } else {
      const [ours, theirs] = await Promise.all(
        step === 'run' ? [fastkit('run'), alembic('upgrade', 'head')] : [fastkit('rollback'), alembic('downgrade', '-1')],
      );
      // both did it, or both refused (rollback at base: fastkit exits 1, Alembic 255)
      expect({ ok: ours.code === 0, migrations: migrationsIn(ours.stdout) }).toEqual({
        ok: theirs.code === 0,
        migrations: migrationsIn(theirs.stderr),
      });
      const count = migrationsIn(ours.stdout).length;
      for (const migration of migrationsIn(ours.stdout)) if (migration.startsWith('upgrade ')) applied.add(migration.split(', ')[0].split(' -> ')[1]);
      seen.add(`${step}: ${ours.code !== 0 ? 'refused' : count === 0 ? 'nothing to do' : count === 1 ? 'one migration' : 'several migrations'}`);
      if (step === 'run' && count === 0) expect(ours.all).toBe(''); // run prints nothing when nothing is pending
    }

    expect(twins.state(twins.fastkitUrl)).toEqual(twins.state(twins.alembicUrl));
    const [status, facts] = await Promise.all([fastkit('status', '--json'), alembicCommands('current', 'heads', 'history -r current:heads')]);
    expect(status.code).toBe(0);
    expect(facts.code).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual(alembicFacts(facts));
  });

  test('the sequence met every case: several, one or no migration to run, a rollback and one refused at base, a new revision; and applied the pool through its table with a foreign key', () => {
    expect([...applied].sort()).toEqual(expect.arrayContaining(['d1d1d1d1d1d1', 'd2d2d2d2d2d2', 'd3d3d3d3d3d3', 'd4d4d4d4d4d4']));
    expect([...seen].sort()).toEqual(
      expect.arrayContaining([
        'a new revision arrived',
        'rollback: one migration',
        'rollback: refused',
        'run: nothing to do',
        'run: one migration',
        'run: several migrations',
      ]),
    );
  });
});
