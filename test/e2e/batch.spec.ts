import { spawn, spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNxWorkspace, type NxWorkspace } from '../support/nx-workspace';
import { processesMatching } from '../support/processes';
import { revision, revisionIdsIn } from '../support/revisions';
import { noteOutput } from '../support/secrets';
import { addColumn, createPostgresDatabase, EXAMPLE, psql, sqliteColumns, sqliteTables, tempDir } from '../support/workspace';

/**
 * `nx run-many` over many Alembic services in a real Nx 24 workspace (fastkit from its packed
 * tarball): Nx hands every task of a batched target (executors.json's preferBatch) to one
 * process, where Python imports Alembic once and forks per task. Each task must print and end
 * exactly as it does alone (`--batch=false`: a process per task), a broken service must fail
 * alone, services with same-named modules must each see their own, and Ctrl-C must end every
 * Python process with nothing half-applied. 20 services on SQLite and 5 on PostgreSQL (pg1 with
 * its URL in the project's .env file, which Nx loads per task, the others in the target's
 * options), compared with a process per task on a sample of each kind; bench/run.mjs has the
 * same at 25, 50 and 200 services.
 */
describe('nx run-many in batch mode (Nx 24, real Alembic on SQLite and PostgreSQL)', () => {
  let ws: NxWorkspace;
  const databases: Array<ReturnType<typeof createPostgresDatabase>> = [];
  // the workspace: 20 services on SQLite and 5 on PostgreSQL, and one that cannot connect
  const SQLITE = Array.from({ length: 20 }, (_, index) => `svc${index}`);
  const POSTGRES = Array.from({ length: 5 }, (_, index) => `pg${index}`);
  const HEALTHY = [...SQLITE, ...POSTGRES];
  /**
   * Run without the batch too, one process per task, for the comparison: one service of every
   * kind (SQLite; PostgreSQL from the target's options; from a .env file, pg1's; unreachable).
   */
  const SAMPLE = ['svc0', 'pg0', 'pg1', 'broken'];
  const dir = (name: string) => join(ws.root, 'services', name);
  /** The example's two revisions, copied into every service. */
  const [clients, invoices] = revisionIdsIn(join(EXAMPLE, 'alembic', 'versions'));

  /** A copy of the example service as an Nx project with fastkit's targets, `env` in their options. */
  function addService(name: string, env: Record<string, string> = {}): void {
    cpSync(EXAMPLE, dir(name), { recursive: true, filter: (source) => !/\.db$|__pycache__|project\.json$/.test(source) });
    const options = Object.keys(env).length ? { env } : {};
    const targets = Object.fromEntries(
      ['make', 'run', 'rollback', 'status', 'check', 'sql'].map((action) => [`migrate-${action}`, { executor: `fastkit:migrate-${action}`, options }]),
    );
    writeFileSync(join(dir(name), 'project.json'), JSON.stringify({ name, root: `services/${name}`, targets }, null, 2) + '\n');
  }

  beforeAll(() => {
    ws = createNxWorkspace({ nxVersion: '24' });
    rmSync(ws.project, { recursive: true, force: true }); // apps/api: not one of these services
    for (const name of SQLITE) addService(name);
    for (const name of POSTGRES) {
      const database = createPostgresDatabase('fkbatch');
      databases.push(database);
      // pg1 finds its URL in a .env file, as many services do; the others in the target's options
      addService(name, name === 'pg1' ? {} : { DATABASE_URL: database.url });
      if (name === 'pg1') writeFileSync(join(dir(name), '.env'), `DATABASE_URL=${database.url}\n`);
    }
    // a database nobody listens for: this service fails, the others must not notice
    addService('broken', { DATABASE_URL: 'postgresql+psycopg://app@127.0.0.1:1/app' });
  }, 600_000);

  afterAll(() => {
    for (const database of databases) database.drop();
    ws?.remove();
  });

  interface RunMany {
    code: number | null;
    output: string;
    /** What each task of the (first) target printed, stdout and stderr as they came, by project. */
    tasks: Record<string, string>;
    /** The same for each target of the run. */
    byTarget: Record<string, Record<string, string>>;
    /** The projects whose task Nx lists as failed. */
    failed: string[];
    /** Whether Nx handed the tasks to one batch process of fastkit's. */
    batched: boolean;
  }

  const NX = () => join(ws.root, 'node_modules', '.bin', 'nx');

  /** `nx run-many -t <targets>` with stdout and stderr on one pipe, as a terminal shows them; each task's output cut out. */
  function runMany(targets: string | string[], args: string[] = [], projects: string[] = [...HEALTHY, 'broken']): RunMany {
    const file = join(tempDir('fastkit-batch-out-'), 'output');
    const fd = openSync(file, 'w');
    const names = [targets].flat();
    const argv = ['run-many', '-t', ...names, '-p', projects.join(','), '--output-style=static', ...args];
    let code: number | null;
    try {
      code = spawnSync(NX(), argv, { cwd: ws.root, env: ws.env, stdio: ['ignore', fd, fd], timeout: 300_000 }).status;
    } finally {
      closeSync(fd);
    }
    const output = readFileSync(file, 'utf8');
    noteOutput(['nx', ...argv], output);
    const byTarget = Object.fromEntries(names.map((target) => [target, taskSections(output, target)]));
    return { code, output, tasks: byTarget[names[0]], byTarget, failed: failedTasks(output), batched: /Running \d+ tasks with fastkit:/.test(output) };
  }

  /** Puts the databases of these services back at nothing applied. */
  function resetDatabases(names: string[] = HEALTHY): void {
    for (const name of SQLITE.filter((service) => names.includes(service))) rmSync(join(dir(name), 'api.db'), { force: true });
    POSTGRES.forEach((name, index) => names.includes(name) && psql(databases[index].name, 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;'));
  }

  /** The tasks of the sample only. */
  const sampled = (tasks: Record<string, string>) => Object.fromEntries(SAMPLE.map((name) => [name, tasks[name]]));

  const EVERY = [...HEALTHY, 'broken'].sort();

  test('run-many migrate-run in one batch: each task prints and ends as it does alone; the broken service fails alone', () => {
    resetDatabases();
    const batched = runMany('migrate-run');
    expect(batched.batched).toBe(true);
    expect(batched.output).toContain(`Running ${EVERY.length} tasks with fastkit:migrate-run`);
    expect(Object.keys(batched.tasks).sort()).toEqual(EVERY);
    expect(batched.failed).toEqual(['broken']);
    expect(batched.code).not.toBe(0);
    for (const name of HEALTHY) {
      expect(batched.tasks[name]).toBe(`Running upgrade base -> ${clients}, create clients\nRunning upgrade ${clients} -> ${invoices}, create invoices\nNow at ${invoices} (head)`);
    }
    expect(batched.tasks.broken).toMatch(/^fastkit: Cannot connect to the database at postgresql\+psycopg:\/\/app@127\.0\.0\.1:1\/app/);
    expect(batched.output).not.toContain('Traceback');
    for (const name of SQLITE) expect(sqliteTables(join(dir(name), 'api.db'))).toEqual(expect.arrayContaining(['alembic_version', 'clients', 'invoices']));
    for (const database of databases) expect(psql(database.name, 'SELECT version_num FROM alembic_version')).toBe(invoices);

    resetDatabases(SAMPLE);
    const alone = runMany('migrate-run', ['--batch=false'], SAMPLE);
    expect(alone.batched).toBe(false);
    expect(alone.tasks).toEqual(sampled(batched.tasks));
    expect(alone.failed).toEqual(batched.failed);
    expect(alone.code).toBe(batched.code);
  });

  test('run-many migrate-status in a batch: (head) for each healthy service, through the fast path and through Alembic (--no-fast) the same per task as alone', () => {
    // Alembic in the batch's server forks: each records what its env.py read, for the fast path
    const batched = runMany('migrate-status', ['--no-fast']);
    expect(batched.batched).toBe(true);
    for (const name of HEALTHY) expect(batched.tasks[name]).toBe(`${invoices} (head)`);
    expect(batched.failed).toEqual(['broken']);

    // then every healthy service is answered without Python, in the batch too: --verbose says so on
    // a line of its own, and the rest is what Alembic printed (one run for both: --verbose adds that line only)
    const fast = runMany('migrate-status', ['--verbose']);
    expect(fast.batched).toBe(true);
    for (const name of HEALTHY) {
      expect(fast.tasks[name]).toContain('fast path: answered without Python');
      expect(withoutFastPathLines(fast.tasks[name])).toBe(batched.tasks[name]);
    }
    expect(fast.failed).toEqual(['broken']);

    const alone = runMany('migrate-status', ['--no-fast', '--batch=false'], SAMPLE);
    expect(alone.batched).toBe(false);
    expect(alone.tasks).toEqual(sampled(batched.tasks));
    expect(alone.failed).toEqual(['broken']);
  });

  test('run-many migrate-status --check in a batch: a service behind head fails alone, with the Nx command that applies', () => {
    rmSync(join(dir('svc3'), 'api.db'));
    const batched = runMany('migrate-status', ['--check'], HEALTHY);
    expect(batched.batched).toBe(true);
    expect(batched.failed).toEqual(['svc3']);
    expect(batched.tasks.svc3).toBe(
      [
        'No migration applied (base)',
        '2 pending migrations:',
        `  ${clients}  create clients`,
        `  ${invoices}  create invoices`,
        'Apply them with `nx run svc3:migrate-run`',
        'fastkit: The database is behind head: 2 pending migrations. Apply them with `nx run svc3:migrate-run`.',
      ].join('\n'),
    );
    for (const name of HEALTHY.filter((project) => project !== 'svc3')) expect(batched.tasks[name]).toBe(`${invoices} (head)`);

    // one task (`nx run`), which Nx 24 hands to the batch implementation too: streamed as the executor alone streams it
    const one = ws.nx(['run', 'svc3:migrate-status', '--check']);
    expect(one.code).not.toBe(0);
    expect(one.stdout).toContain(`  ${invoices}  create invoices\nApply them with \`nx run svc3:migrate-run\``);
    expect(one.stdout).not.toContain('fastkit: The database is behind head');
    expect(one.stderr).toContain('fastkit: The database is behind head: 2 pending migrations. Apply them with `nx run svc3:migrate-run`.');
  });

  test('run-many migrate-check and migrate-sql (no database) in a batch: per task as alone, each SQL file its own', () => {
    // one service whose SQL is SQLite's, one whose is PostgreSQL's; both targets in one run-many, a batch each
    const OFFLINE = ['svc0', 'pg0'];
    const TARGETS = ['migrate-check', 'migrate-sql'];
    const batched = runMany(TARGETS, ['--skip-nx-cache'], OFFLINE);
    const written = Object.fromEntries(OFFLINE.map((name) => [name, readFileSync(join(dir(name), 'dist', 'migrations', 'upgrade.sql'), 'utf8')]));
    for (const name of OFFLINE) rmSync(join(dir(name), 'dist'), { recursive: true });
    const alone = runMany(TARGETS, ['--skip-nx-cache', '--batch=false'], OFFLINE);
    for (const target of TARGETS) expect(batched.output).toContain(`Running ${OFFLINE.length} tasks with fastkit:${target}`);
    expect(batched.failed).toEqual([]);
    expect(alone.batched).toBe(false);
    for (const target of TARGETS) {
      expect(Object.keys(batched.byTarget[target]).sort()).toEqual([...OFFLINE].sort());
      expect(batched.byTarget[target]).toEqual(alone.byTarget[target]);
    }
    for (const name of OFFLINE) {
      expect(readFileSync(join(dir(name), 'dist', 'migrations', 'upgrade.sql'), 'utf8')).toBe(written[name]);
      expect(written[name]).toContain('CREATE TABLE invoices');
    }
  });

  test('two services whose modules/invoices differ: each autogenerates its own columns, and its env.py sees its own models in the batch', () => {
    addService('ina');
    addService('inb');
    addColumn(dir('ina'), 'invoices', 'reference_a: Mapped[str | None] = mapped_column(String(20))');
    addColumn(dir('inb'), 'invoices', 'note_b: Mapped[str | None] = mapped_column(Text)');
    // env.py says which invoices model it imported (the same module name in both services)
    for (const name of ['ina', 'inb']) {
      const envPy = join(dir(name), 'alembic', 'env.py');
      writeFileSync(envPy, readFileSync(envPy, 'utf8') + '\nprint("invoices:", ", ".join(sorted(Base.metadata.tables["invoices"].columns.keys())))\n');
    }
    const pair = ['ina', 'inb'];
    expect(runMany('migrate-run', [], pair).failed).toEqual([]);
    const made = runMany('migrate-make', ['-m', 'invoice fields'], pair);
    expect(made.failed).toEqual([]);
    const newRevision = (name: string) => {
      const versions = join(dir(name), 'alembic', 'versions');
      const file = readdirSync(versions).find((entry) => entry.endsWith('_invoice_fields.py'));
      return readFileSync(join(versions, file!), 'utf8');
    };
    expect(newRevision('ina')).toContain("'reference_a'");
    expect(newRevision('ina')).not.toContain('note_b');
    expect(newRevision('inb')).toContain("'note_b'");
    expect(newRevision('inb')).not.toContain('reference_a');

    const ran = runMany('migrate-run', [], pair);
    expect(ran.batched).toBe(true);
    expect(ran.failed).toEqual([]);
    expect(ran.tasks.ina).toContain('invoices: created_at, id, reference_a, updated_at');
    expect(ran.tasks.inb).toContain('invoices: created_at, id, note_b, updated_at');
    expect(sqliteColumns(join(dir('ina'), 'api.db'), 'invoices')).toEqual(['id', 'created_at', 'updated_at', 'reference_a']);
    expect(sqliteColumns(join(dir('inb'), 'api.db'), 'invoices')).toEqual(['id', 'created_at', 'updated_at', 'note_b']);
    // (no status run besides: every request of the batch, whatever its action, runs env.py in a fork of the same server)
  });

  test('Ctrl-C during a batched migrate-run: no Python process is left and neither database is half-migrated', async () => {
    const pg = createPostgresDatabase('fkbatch');
    databases.push(pg);
    const started = tempDir('fastkit-batch-started-');
    const slow = (name: string) =>
      revision(
        'slow00000001',
        invoices,
        'slow data fix',
        [
          'op.add_column("invoices", sa.Column("paid", sa.Boolean()))',
          'import time',
          `open(${JSON.stringify(join(started, name))}, "w").close()`,
          'time.sleep(120)',
        ].join('\n    '),
        'op.drop_column("invoices", "paid")',
      );
    addService('slowlite');
    addService('slowpg', { DATABASE_URL: pg.url });
    const slowProjects = ['slowlite', 'slowpg'];
    expect(runMany('migrate-run', [], slowProjects).failed).toEqual([]);
    for (const name of slowProjects) writeFileSync(join(dir(name), 'alembic', 'versions', 'slow.py'), slow(name));

    const both = new Promise<void>((resolve) => {
      const watcher = watch(started, () => {
        if (slowProjects.every((name) => existsSync(join(started, name)))) {
          watcher.close();
          resolve();
        }
      });
    });
    // its own process group, as a shell runs a command; Ctrl-C is a SIGINT to that group
    const nx = spawn(NX(), ['run-many', '-t', 'migrate-run', '-p', slowProjects.join(','), '--output-style=static'], {
      cwd: ws.root,
      env: ws.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    nx.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    nx.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => nx.on('close', (code) => resolve(code)));
    await both;
    expect(helpersUnder(ws.root).length).toBeGreaterThanOrEqual(3); // the server and a fork per task
    process.kill(-nx.pid!, 'SIGINT');
    const code = await exited;
    noteOutput(['nx', 'run-many'], output);
    expect(code).not.toBe(0);
    expect(output).toContain('Running 2 tasks with fastkit:migrate-run');
    expect(helpersUnder(ws.root)).toEqual([]);
    expect(sqliteColumns(join(dir('slowlite'), 'api.db'), 'invoices')).not.toContain('paid');
    expect(psql(pg.name, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'invoices' AND column_name = 'paid'")).toBe('0');
    const status = runMany('migrate-status', ['--json'], slowProjects);
    for (const name of slowProjects) expect(JSON.parse(status.tasks[name])).toMatchObject({ current: [invoices], pending: [expect.objectContaining({ revision: 'slow00000001' })] });
  });
});

/** fastkit's Python processes (the server and its forks) whose folder is inside `root`. */
function helpersUnder(root: string): number[] {
  return processesMatching('fastkit_alembic.py').filter((pid) => {
    try {
      return readlinkSync(`/proc/${pid}/cwd`).startsWith(root + '/');
    } catch {
      return false; // gone meanwhile
    }
  });
}

/** Each task's lines between Nx's `> nx run <project>:<target>` header and the next header or Nx's summary, blank lines dropped. */
function taskSections(output: string, target: string): Record<string, string> {
  const sections: Record<string, string[]> = {};
  let current: string[] | undefined;
  for (const line of output.split('\n')) {
    const header = /^> nx run ([^:\s]+):(\S+)/.exec(line.trim());
    if (header) {
      current = header[2] === target ? (sections[header[1]] = []) : undefined; // another target's task: not this one's
    } else if (/^\s*(NX\s{2,}|Run duration:)/.test(line) || /^>\s+NX\s/.test(line)) {
      current = undefined;
    } else if (current && line.trim() !== '') {
      current.push(line.trimEnd());
    }
  }
  return Object.fromEntries(Object.entries(sections).map(([project, lines]) => [project, lines.join('\n')]));
}

/** A task's output less the line --verbose adds about the fast path. */
function withoutFastPathLines(output: string): string {
  return output
    .split('\n')
    .filter((line) => !line.startsWith('fast path: '))
    .join('\n');
}

/** The projects Nx lists under `Failed tasks:`. */
function failedTasks(output: string): string[] {
  const at = output.indexOf('Failed tasks:');
  if (at === -1) return [];
  const failed: string[] = [];
  for (const line of output.slice(at).split('\n').slice(1)) {
    const task = /^\s*- ([^:\s]+):/.exec(line);
    if (task) failed.push(task[1]);
    else if (line.trim() !== '') break;
  }
  return failed.sort();
}
