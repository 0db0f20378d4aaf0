/**
 * Every row of the bad-input table (bad-input.table.ts), run for real: the CLI as a user runs
 * it, the generators and targets through the real `nx` CLI, real Alembic, real SQLite files and
 * PostgreSQL databases. Each row must give its exit code and exactly its one line (naming the
 * problem and the fix), no traceback, no password, and leave the files and the database as they
 * were. docs/bad-input.md is the same table, rendered; the last test keeps it up to date.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { API_TARGETS, taskOutput } from '../support/nx-workspace';
import { SENTINEL_PASSWORD } from '../support/secrets';
import { CLI, EXAMPLE, exampleProject, fastkit, NX_ENV, PG_HOST, type Ran, REPO, run, tempDir, VENV } from '../support/workspace';
import { BAD_INPUTS, commonValues, fill, renderBadInputDoc, WILDCARDS, type BadInput, type Context } from './bad-input.table';

const NX = join(REPO, 'node_modules', 'nx', 'dist', 'bin', 'nx.js');
const DOC = join(REPO, 'docs', 'bad-input.md');

/**
 * A real Nx workspace using this build of fastkit (its node_modules are the repository's, where
 * fastkit links to the repository): apps/shop has no Alembic, apps/api is the example service
 * with the four fastkit targets.
 */
function nxWorkspace(): { root: string; reset(): void } {
  const root = tempDir('fastkit-bad-nx-');
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'ws', private: true }) + '\n');
  writeFileSync(join(root, 'nx.json'), '{}\n');
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'), 'dir');
  const reset = () => {
    rmSync(join(root, 'apps'), { recursive: true, force: true });
    mkdirSync(join(root, 'apps', 'shop'), { recursive: true });
    writeFileSync(join(root, 'apps', 'shop', 'project.json'), JSON.stringify({ name: 'shop', root: 'apps/shop' }) + '\n');
    const api = join(root, 'apps', 'api');
    cpSync(EXAMPLE, api, { recursive: true, filter: (source) => !/\.db$|__pycache__|project\.json$/.test(source) });
    const versions = join(api, 'alembic', 'versions');
    for (const file of readdirSync(versions)) if (file.endsWith('.py')) rmSync(join(versions, file));
    writeFileSync(join(api, 'project.json'), JSON.stringify({ name: 'api', root: 'apps/api', targets: API_TARGETS }) + '\n');
  };
  reset();
  return { root, reset };
}

function nx(root: string, args: string[], env: Record<string, string> = {}): Ran {
  return run(process.execPath, [NX, ...args, '--no-interactive'], {
    cwd: root,
    env: { ...process.env, ...NX_ENV, NX_SKIP_NX_CACHE: 'true', ...env },
  });
}

/** Every file under a folder (its SQLite databases too) with a hash of its bytes. */
function files(folder: string, into: Record<string, string> = {}, top = folder): Record<string, string> {
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (['node_modules', '.nx', '__pycache__'].includes(entry.name)) continue;
    const path = join(folder, entry.name);
    if (entry.isDirectory()) files(path, into, top);
    else into[relative(top, path)] = createHash('sha1').update(readFileSync(path)).digest('hex');
  }
  return into;
}

const VERSIONS_SQL =
  "SELECT CASE WHEN to_regclass('alembic_version') IS NULL THEN '(no version table)' " +
  "ELSE (SELECT coalesce(string_agg(version_num, ',' ORDER BY version_num), '(empty)') FROM alembic_version) END";

/** A PostgreSQL database's schema and applied revisions. */
function postgresState(name: string): { schema: string; versions: string } {
  const dump = run('pg_dump', ['-h', PG_HOST, '--schema-only', '--no-owner', '--no-privileges', name]);
  if (dump.code !== 0) throw new Error(`pg_dump ${name} failed: ${dump.stderr}`);
  const versions = run('psql', ['-h', PG_HOST, '-d', name, '-Atc', VERSIONS_SQL]);
  // pg_dump 15.14+ fences its output with a random \restrict key: not part of the schema
  return { schema: dump.stdout.replace(/^\\(un)?restrict .*$/gm, ''), versions: versions.stdout.trim() };
}

/** The files the row could touch (the project, the folder it ran in, or the Nx workspace's apps) and its database. */
function snapshot(context: Context, row: BadInput) {
  const folders = row.door === 'nx' ? [join(context.nxRoot, 'apps')] : [...new Set([context.project, context.cwd])];
  return {
    files: folders.map((folder) => files(folder)),
    database: context.database ? postgresState(context.database.name) : null,
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A template line as a pattern: placeholders become their real value, or their wildcard. */
function pattern(template: string, values: Record<string, string>): RegExp {
  const parts = template.split(/\{(\w+)\}/);
  const source = parts
    .map((part, index) => {
      if (index % 2 === 0) return escapeRegExp(part);
      if (values[part] !== undefined) return escapeRegExp(values[part]);
      if (WILDCARDS[part]) return WILDCARDS[part];
      throw new Error(`the row uses {${part}}, which has no value`);
    })
    .join('');
  return new RegExp(`^${source}$`);
}

const lines = (text: string) => text.split('\n').map((line) => line.trimEnd()).filter((line) => line.trim() !== '');

/** What the person saw, in the shape the row describes: the line of the failure and what came before it. */
function seen(row: BadInput, ran: Ran): { exit: number | null; printed: string[]; failure: string[] } {
  if (row.door === 'fastkit') return { exit: ran.code, printed: lines(ran.stdout), failure: lines(ran.stderr) };
  if (row.args[0] === 'g') {
    // `nx g` prints its header, then the generator's error as ` NX   <line>`
    const all = lines(ran.all).map((line) => line.trim());
    const header = (line: string) => /^NX {2}Generating /.test(line);
    return { exit: ran.code, printed: all.filter(header), failure: all.filter((line) => !header(line)) };
  }
  // `nx run`: the task's output on stdout sits between Nx's header and its summary; fastkit's failure goes to stderr
  const failure = lines(ran.all).filter((line) => line.startsWith('fastkit: '));
  return { exit: ran.code, printed: lines(taskOutput(ran.stdout)).filter((line) => !failure.includes(line)), failure };
}

/** What the row says the person sees, in the same shape. */
function expected(row: BadInput, values: Record<string, string>) {
  const generator = row.door === 'nx' && row.args[0] === 'g';
  const matching = (lines: string[]) => lines.map((line) => expect.stringMatching(pattern(line, values)));
  return {
    exit: row.exit,
    printed: generator ? [`NX  Generating ${row.args[1]}`] : matching(row.prints ?? []),
    failure: matching([...(row.progress ?? []), (generator ? 'NX   ' : 'fastkit: ') + row.says]),
  };
}

describe('bad input: each mistake gives its exit code and one clear line, and changes nothing', () => {
  let workspace: ReturnType<typeof nxWorkspace>;
  beforeAll(() => {
    workspace = nxWorkspace();
  });

  test('the table covers make, run, rollback and status, the generators, the Nx targets and the CLI: at least 25 rows', () => {
    expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(25);
    for (const action of ['make', 'run', 'rollback', 'status']) {
      expect(BAD_INPUTS.some((row) => row.door === 'fastkit' && row.args[1] === action)).toBe(true);
    }
    expect(BAD_INPUTS.some((row) => row.door === 'nx' && row.args[0] === 'g')).toBe(true);
    expect(BAD_INPUTS.some((row) => row.door === 'nx' && row.args[0] === 'run')).toBe(true);
    expect(new Set(BAD_INPUTS.map((row) => row.mistake)).size).toBe(BAD_INPUTS.length);
    for (const row of BAD_INPUTS) {
      expect(row.says).toMatch(/\S[.;] \S/); // the problem, then the fix
      expect(row.exit).not.toBe(0);
    }
  });

  test.each(BAD_INPUTS.map((row) => [row.mistake, row] as const))('%s', async (_mistake, row) => {
    const project = row.door === 'nx' ? join(workspace.root, 'apps', 'api') : exampleProject({ revisions: false });
    const context: Context = { project, cwd: project, env: {}, vars: {}, nxRoot: workspace.root, background: [] };
    try {
      row.given?.prepare?.(context);
      const values = { ...commonValues(), ...context.vars };
      const before = snapshot(context, row);
      await row.given?.start?.(context);

      const typed = Object.entries(row.env ?? {}).map(([key, value]) => [key, fill(value, values)]);
      const env = { ...context.env, ...Object.fromEntries(typed) };
      const ran = row.door === 'fastkit' ? fastkit(row.args, { cwd: context.cwd, env }) : nx(workspace.root, row.args, env);
      for (const holder of context.background) {
        holder.child.kill('SIGTERM');
        await holder.exited;
      }

      expect(seen(row, ran)).toEqual(expected(row, values));
      expect(ran.all).not.toContain('Traceback');
      expect(ran.all).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m); // nor a JavaScript stack
      expect(ran.all).not.toContain(SENTINEL_PASSWORD);
      expect(snapshot(context, row)).toEqual(before);
    } finally {
      for (const holder of context.background) holder.child.kill('SIGKILL');
      context.database?.drop();
      if (row.door === 'nx') workspace.reset();
    }
  });

  describe('--verbose shows the full traceback, still without the password', () => {
    const url = `postgresql+psycopg://app:${SENTINEL_PASSWORD}@127.0.0.1:1/app`;
    const line = BAD_INPUTS.find((row) => row.mistake === 'The server is down (run)')!.says;

    test('fastkit migrate run --verbose', () => {
      const ran = fastkit(['migrate', 'run', '--verbose'], { cwd: exampleProject(), env: { DATABASE_URL: url } });
      expect(ran.code).toBe(1);
      expect(ran.stderr).toContain('Traceback (most recent call last):');
      expect(ran.stderr).toContain('sqlalchemy.exc.OperationalError: (psycopg.OperationalError) connection failed');
      expect(lines(ran.stderr).at(-1)).toBe(`fastkit: ${line}`);
      expect(ran.all).not.toContain(SENTINEL_PASSWORD);
    });

    test('nx run api:migrate-run --verbose (the executor option)', () => {
      const ran = nx(workspace.root, ['run', 'api:migrate-run', '--verbose'], { DATABASE_URL: url });
      expect(ran.code).toBe(1);
      expect(ran.all).toContain('Traceback (most recent call last):');
      expect(ran.all).toContain('sqlalchemy.exc.OperationalError: (psycopg.OperationalError) connection failed');
      expect(lines(ran.all).filter((text) => text.startsWith('fastkit: '))).toEqual([`fastkit: ${line}`]);
      expect(ran.all).not.toContain(SENTINEL_PASSWORD);
    });
  });

  test('a reader that stops early (`fastkit migrate run | head -1`) is no failure: exit 0, no stack, the migrations all applied', async () => {
    const project = exampleProject();
    const child = spawn(process.execPath, [CLI, 'migrate', 'run'], {
      cwd: project,
      env: { ...process.env, VIRTUAL_ENV: VENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.destroy(); // the reader is gone before fastkit prints a line
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(fastkit(['migrate', 'status', '--json'], { cwd: project }).stdout).upToDate).toBe(true);
  });

  test('docs/bad-input.md is this table, rendered', () => {
    const rendered = renderBadInputDoc();
    if (process.env.UPDATE_DOCS) {
      mkdirSync(join(REPO, 'docs'), { recursive: true });
      writeFileSync(DOC, rendered);
    }
    const current = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '';
    if (current !== rendered) {
      throw new Error(
        'docs/bad-input.md is out of date with test/integration/bad-input.table.ts. ' +
          'Render it again: UPDATE_DOCS=1 npm test -- test/integration/bad-input.spec.ts',
      );
    }
  });
});
