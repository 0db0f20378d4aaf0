/**
 * Real parts for tests: temporary copies of the example project, the built `fastkit` CLI run
 * as a user runs it, the repository's Python venv, and fresh PostgreSQL databases.
 */
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { hugePageAllocation } from '../../src/python-allocator';
import { noteOutput, SENTINEL_PASSWORD, startArgvWatch } from './secrets';

export const REPO = join(__dirname, '..', '..');
export const CLI = join(REPO, 'dist', 'src', 'cli.js');

/** A Python environment the tests run fastkit with (test/python-stacks.json). */
export interface PythonStack {
  name: string;
  /** The venv, relative to the repository. */
  venv: string;
  /** The SQLAlchemy series it has: "1.4" projects need model code without `DeclarativeBase`. */
  sqlalchemy: string;
  /** The PostgreSQL driver its SQLAlchemy and packages offer (psycopg 3 needs SQLAlchemy 2). */
  postgresDriver: string;
}

/** The stack of this Jest project (jest.config.js sets the global), else the repository's .venv. */
export const STACK: PythonStack = pythonStack(
  (globalThis as { FASTKIT_TEST_STACK?: string }).FASTKIT_TEST_STACK ?? process.env.FASTKIT_TEST_STACK,
);
export const VENV = join(REPO, STACK.venv);
export const PYTHON = join(VENV, 'bin', 'python');
export const EXAMPLE = join(REPO, 'examples', 'api');
/**
 * How the tests run the real nx CLI: no daemon, no Nx Cloud, no TUI, this stack's venv, and
 * the plugins loaded in the nx process itself (NX_ISOLATE_PLUGINS=false), which halves the time
 * of an nx call on this 2-core machine. test/e2e/nx-versions.spec.ts runs nx as users do by
 * default, each plugin isolated in a worker, on every Nx major fastkit supports.
 */
export const NX_ENV = {
  NX_DAEMON: 'false',
  NX_NO_CLOUD: 'true',
  NX_TUI: 'false',
  NX_ISOLATE_PLUGINS: 'false',
  VIRTUAL_ENV: VENV,
};
/** The example's model code for SQLAlchemy 1.4, copied over it on that stack. */
const SQLALCHEMY_14_MODELS = join(REPO, 'test', 'fixtures', 'sqlalchemy-1.4');

function pythonStack(name: string | undefined): PythonStack {
  const { stacks } = JSON.parse(readFileSync(join(REPO, 'test', 'python-stacks.json'), 'utf8')) as { stacks: PythonStack[] };
  const stack = name === undefined ? stacks[0] : stacks.find((candidate) => candidate.name === name);
  if (!stack) throw new Error(`No Python stack named ${name} in test/python-stacks.json`);
  return stack;
}
export const PG_HOST = process.env.PGHOST ?? '/var/run/postgresql';
export const PG_USER = process.env.PGUSER ?? userInfo().username;

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for "never printed" checks. */
  all: string;
}

export function run(file: string, args: string[], options: SpawnSyncOptions = {}): Ran {
  startArgvWatch();
  const env = isPython(file) ? pythonEnvironment(options.env) : options.env;
  const result = spawnSync(file, args, { encoding: 'utf8', timeout: 240_000, maxBuffer: 256 * 1024 * 1024, ...options, env });
  const stdout = String(result.stdout ?? '');
  const stderr = String(result.stderr ?? '');
  noteOutput([file, ...args], stdout + stderr);
  return { code: result.status, stdout, stderr, all: stdout + stderr };
}

/**
 * `run`, without blocking: for commands that go side by side (twin databases, concurrency,
 * several npm installs). A command that cannot start at all rejects.
 */
export function runAsync(
  file: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv | Record<string, string | undefined>; timeout?: number } = {},
): Promise<Ran> {
  startArgvWatch();
  return new Promise((resolve, reject) => {
    const env = isPython(file) ? pythonEnvironment(options.env) : options.env;
    const child = spawn(file, args, { cwd: options.cwd, env, timeout: options.timeout, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      noteOutput([file, ...args], stdout + stderr);
      resolve({ code, stdout, stderr, all: stdout + stderr });
    });
  });
}

/**
 * The environment of a Python the suite starts itself (raw Alembic, the oracles): the allocator
 * fastkit gives its helper's Python on this machine (src/python-allocator.ts). The allocator
 * changes none of Alembic's answers, only the CPU each of the suite's Python processes costs.
 */
export function pythonEnvironment(env: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env): Record<string, string | undefined> {
  return { ...env, ...hugePageAllocation(env) };
}

const isPython = (file: string) => /^python[\d.]*$/.test(basename(file));

/** The `fastkit` binary as a user runs it, in `cwd`, with the repo's venv active. */
export function fastkit(args: string[], options: { cwd: string; env?: Record<string, string | undefined> }): Ran {
  return run(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: { ...process.env, VIRTUAL_ENV: VENV, ...options.env },
  });
}

const madeHere: string[] = [];

/** A new temporary folder, removed by `removeTempDirs()`. */
export function tempDir(prefix = 'fastkit-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  madeHere.push(dir);
  return dir;
}

/** Removes the temporary folders this test file made: the global after-all in test/support/cleanup.ts. */
export function removeTempDirs(): void {
  for (const dir of madeHere.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * A copy of examples/api in a temporary folder. With `revisions: false` its versions folder
 * starts empty, so a test makes its own history.
 */
export function exampleProject(options: { revisions?: boolean } = {}): string {
  const dir = join(tempDir('fastkit-api-'), 'api');
  cpSync(EXAMPLE, dir, {
    recursive: true,
    filter: (source) => !/\.db$|__pycache__|project\.json$/.test(source),
  });
  if (STACK.sqlalchemy === '1.4') {
    cpSync(SQLALCHEMY_14_MODELS, dir, { recursive: true, filter: (source) => !source.endsWith('README.md') });
  }
  if (options.revisions === false) {
    for (const file of readdirSync(join(dir, 'alembic', 'versions'))) {
      if (file.endsWith('.py')) rmSync(join(dir, 'alembic', 'versions', file));
    }
  }
  return dir;
}

export function revisionFiles(project: string): string[] {
  return readdirSync(join(project, 'alembic', 'versions'))
    .filter((file) => file.endsWith('.py'))
    .sort();
}

/** Runs Python code with the venv's interpreter; returns stdout trimmed. */
export function python(code: string, options: { cwd?: string; env?: Record<string, string | undefined> } = {}): string {
  const result = run(PYTHON, ['-c', code], { cwd: options.cwd, env: { ...process.env, ...options.env } });
  if (result.code !== 0) throw new Error(`python failed: ${result.stderr}`);
  return result.stdout.trim();
}

/**
 * The rows a query on a SQLite file returns, each its columns as text (NULL as ''). Read with
 * the sqlite3 shell, which starts in a tenth of the time Python does: the suite reads SQLite
 * files hundreds of times. It waits up to 5 s for a lock, as Python's sqlite3 module does.
 */
export function sqliteRows(file: string, sql: string): string[][] {
  const ran = run('sqlite3', ['-batch', '-cmd', '.timeout 5000', '-json', file, sql]);
  if (ran.code !== 0) throw new Error(`sqlite3 ${file} ${JSON.stringify(sql)} failed: ${ran.stderr}`);
  const rows = ran.stdout.trim() === '' ? [] : (JSON.parse(ran.stdout) as Array<Record<string, unknown>>);
  return rows.map((row) => Object.values(row).map((value) => (value === null ? '' : String(value))));
}

/** The rows of a query on a SQLite file as `psql -At` prints them: a line each, columns joined by `|`. */
export function sqliteText(file: string, sql: string): string {
  return sqliteRows(file, sql)
    .map((row) => row.join('|'))
    .join('\n');
}

/** Table names in a SQLite file. */
export function sqliteTables(file: string): string[] {
  return sqliteRows(file, "select name from sqlite_master where type='table' order by name").map(([name]) => name);
}

/** Column names of a table in a SQLite file. */
export function sqliteColumns(file: string, table: string): string[] {
  return sqliteRows(file, `pragma table_info(${table})`).map(([, name]) => name);
}

/** A SQLite file's schema and rows as SQL (the shell's .dump, without its transaction lines). */
export function sqliteDump(file: string): string {
  const ran = run('sqlite3', ['-batch', file, '.dump']);
  if (ran.code !== 0) throw new Error(`sqlite3 ${file} .dump failed: ${ran.stderr}`);
  return ran.stdout
    .split('\n')
    .filter((line) => line !== '' && line !== 'BEGIN TRANSACTION;' && line !== 'COMMIT;')
    .join('\n');
}

/**
 * A fresh, empty PostgreSQL database; returns its name and a SQLAlchemy URL over the socket.
 * The URL carries the sentinel password (the socket's peer authentication ignores it), so
 * every test on PostgreSQL also checks that fastkit never prints it (test/support/secrets.ts).
 */
export function createPostgresDatabase(prefix = 'fk'): { name: string; url: string; drop(): void } {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const created = run('createdb', ['-h', PG_HOST, name]);
  if (created.code !== 0) throw new Error(`createdb ${name} failed: ${created.stderr}`);
  return {
    name,
    url: `postgresql+${STACK.postgresDriver}://${PG_USER}:${SENTINEL_PASSWORD}@/${name}?host=${PG_HOST}`,
    drop: () => {
      run('dropdb', ['-h', PG_HOST, '--if-exists', '--force', name]);
    },
  };
}

/** Runs SQL with psql and returns the unaligned, tuples-only output. */
export function psql(database: string, sql: string): string {
  const result = run('psql', ['-h', PG_HOST, '-d', database, '-Atc', sql]);
  if (result.code !== 0) throw new Error(`psql failed: ${result.stderr}`);
  return result.stdout.trim();
}

/**
 * Appends a column to a model file, as a developer changing a model would: the column at the
 * end of the class, and the SQLAlchemy types it uses that the generated models.py does not
 * import yet (it imports DateTime, Integer and func).
 */
export function addColumn(project: string, module: string, line: string): void {
  const file = join(project, 'modules', module, 'models.py');
  const source = readFileSync(file, 'utf8');
  const types = [...new Set(line.match(/\b(String|Text|Float|Numeric|Boolean|Date|ForeignKey|JSON)\b/g) ?? [])];
  const imports = types.length ? `from sqlalchemy import ${types.join(', ')}\n` : '';
  writeFileSync(file, `${imports}${source}    ${modelColumn(line)}\n`);
}

/**
 * A model column written `name: Mapped[T] = mapped_column(args)`, as this stack's SQLAlchemy
 * takes it: unchanged on 2.x, `name = Column(args)` on 1.4.
 */
export function modelColumn(line: string): string {
  if (STACK.sqlalchemy !== '1.4') return line;
  const match = /^(\w+): Mapped\[(.+)\] = mapped_column\((.*)\)$/.exec(line);
  if (!match) throw new Error(`addColumn: cannot write ${line} for SQLAlchemy 1.4`);
  const [, name, type, args] = match;
  const optional = /\| None\b|\bOptional\[/.test(type);
  return `${name} = Column(${args}${optional ? '' : ', nullable=False'})`;
}

/** The revision files of a project with their contents, to prove a failed command wrote nothing. */
export function revisionSnapshot(project: string): Record<string, string> {
  const versions = join(project, 'alembic', 'versions');
  return Object.fromEntries(revisionFiles(project).map((file) => [file, readFileSync(join(versions, file), 'utf8')]));
}

/** Files named `name` in `from` or any folder above it, e.g. a stray .venv or alembic.ini. */
export function foundUpward(from: string, name: string): string[] {
  const found: string[] = [];
  for (let folder = resolve(from); ; folder = dirname(folder)) {
    if (existsSync(join(folder, name))) found.push(join(folder, name));
    if (dirname(folder) === folder) return found;
  }
}

/**
 * A Python venv without Alembic (nor pip), in its own temporary folder: the interpreter of a
 * user who has not installed Alembic yet.
 */
export function bareVenv(): string {
  const venv = join(tempDir('fastkit-bare-'), 'venv');
  const made = run(PYTHON, ['-m', 'venv', '--without-pip', venv]);
  if (made.code !== 0) throw new Error(`python -m venv failed: ${made.stderr}`);
  return venv;
}
