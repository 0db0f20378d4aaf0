// Makes a fresh clone ready: node modules, the build, a Python venv with Alembic, (with --stacks)
// the venvs of the other Python stacks the tests run on and the sqlite3 shell they read SQLite
// files with, and (with --postgres, --mariadb) running database servers the tests can use. Safe
// to run again: it does only what is missing. Run by `npm test` (pretest), `npm run quickstart`
// and `npm run bench`.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const venv = join(root, '.venv');
const python = join(venv, 'bin', 'python');
const requirements = join(root, 'examples', 'api', 'requirements.txt');
/** Debian's own Python: the one its python3-* packages are for. */
const SYSTEM_PYTHON = '/usr/bin/python3';

function step(title, file, args, options = {}) {
  console.log(`fastkit setup: ${title}`);
  const result = spawnSync(file, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.status !== 0) {
    console.error(`fastkit setup: "${[file, ...args].join(' ')}" failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
}

function quiet(file, args, options = {}) {
  return spawnSync(file, args, { cwd: root, encoding: 'utf8', ...options });
}

export function ensureNodeModules() {
  const installed = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
    step('installing node modules (npm ci)', 'npm', ['ci', '--no-audit', '--no-fund']);
  }
}

export function build() {
  step('building (tsc)', join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json']);
  step('bundling execa', process.execPath, [join(root, 'scripts', 'bundle-execa.mjs')]);
  // npm links a package's bin only when it exists at install time; the repo's own `fastkit`
  // (node_modules/fastkit -> ..) is built after, so link it here: `npx fastkit` works in the repo.
  const cli = join(root, 'dist', 'src', 'cli.js');
  chmodSync(cli, 0o755);
  const bin = join(root, 'node_modules', '.bin', 'fastkit');
  try {
    lstatSync(bin);
  } catch {
    symlinkSync(join('..', 'fastkit', 'dist', 'src', 'cli.js'), bin);
  }
}

/**
 * The Python the venvs are made with: Debian's own /usr/bin/python3 where it is Python 3.11 or
 * newer and can make a venv with pip, else python3 on PATH. Debian builds its Python with PGO and
 * LTO, pyenv by default without: importing Alembic and SQLAlchemy takes 19 % fewer instructions
 * (callgrind: 1.22 G against 1.51 G), and the tests start Python ~1,000 times.
 */
function basePython() {
  const usable = quiet(SYSTEM_PYTHON, ['-c', 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))']).status === 0;
  return usable ? SYSTEM_PYTHON : 'python3';
}

export function ensureVenv() {
  const stamp = join(venv, '.fastkit-requirements');
  const wanted = createHash('sha1').update(readFileSync(requirements)).digest('hex');
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return;
  if (!existsSync(python)) step('creating the Python venv (.venv)', basePython(), ['-m', 'venv', venv]);
  // --retries 1: where the public index is out of reach, pip falls back to local indexes fast
  step('installing Alembic and SQLAlchemy into .venv', python, [
    '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--retries', '1', '-r', requirements,
  ]);
  writeFileSync(stamp, wanted);
}

/**
 * What the test projects' code imports beyond Alembic (test/python-stacks.json's
 * projectPackages), into a stack's venv: with .venv's pip, so a venv without pip of its own (the
 * Debian one) gets them too.
 */
export function ensureProjectPackages(folder, label) {
  const { projectPackages = [] } = JSON.parse(readFileSync(join(root, 'test', 'python-stacks.json'), 'utf8'));
  const stamp = join(folder, '.fastkit-project-packages');
  const wanted = createHash('sha1').update(JSON.stringify(projectPackages)).digest('hex');
  if (projectPackages.length === 0 || (existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted)) return;
  step(`installing ${projectPackages.join(' ')} into ${label}`, python, [
    '-m', 'pip', '--python', join(folder, 'bin', 'python'), 'install', '--quiet', '--disable-pip-version-check', '--retries', '1', ...projectPackages,
  ]);
  writeFileSync(stamp, wanted);
}

/** What the tests need in .venv beyond the example's requirements (test/requirements.txt). */
export function ensureTestExtras() {
  const extras = join(root, 'test', 'requirements.txt');
  const stamp = join(venv, '.fastkit-test-requirements');
  const wanted = createHash('sha1').update(readFileSync(extras)).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return;
  step('installing the test extras into .venv (test/requirements.txt)', python, [
    '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--retries', '1', '-r', extras,
  ]);
  writeFileSync(stamp, wanted);
}

/** Starts the local PostgreSQL cluster (as root, the way this kind of machine has it) if it is down. */
export function ensurePostgres() {
  const socket = process.env.PGHOST ?? '/var/run/postgresql';
  const ready = () => quiet('pg_isready', ['-h', socket]).status === 0;
  if (!ready()) {
    const clusters = quiet('pg_lsclusters', ['--no-header']);
    const cluster = clusters.status === 0 ? clusters.stdout.trim().split('\n')[0]?.split(/\s+/) : undefined;
    if (!cluster || process.getuid?.() !== 0) {
      console.error('fastkit setup: PostgreSQL is not running at ' + socket + ' and cannot be started from here.');
      console.error('  Start a server and set PGHOST (and PGUSER) to reach it, then run the tests again.');
      process.exit(1);
    }
    step(`starting PostgreSQL ${cluster[0]}/${cluster[1]}`, 'pg_ctlcluster', [cluster[0], cluster[1], 'start']);
  }
  const user = process.env.PGUSER ?? process.env.USER ?? 'root';
  const hasRole = quiet('psql', ['-h', socket, '-d', 'postgres', '-Atc', 'select 1']).status === 0;
  if (!hasRole && process.getuid?.() === 0) {
    step(`creating the PostgreSQL role ${user}`, 'runuser', ['-u', 'postgres', '--', 'createuser', '-s', user]);
  }
}

/**
 * The sqlite3 shell, which the tests read SQLite files with (test/support/workspace.ts
 * sqliteRows: a tenth of a Python start-up). Installed from Debian's packages when missing (as root).
 */
function ensureSqliteShell() {
  if (quiet('sqlite3', ['-version']).status === 0) return;
  if (process.getuid?.() !== 0) {
    console.error('fastkit setup: the tests read SQLite files with the sqlite3 shell; install it (apt-get install sqlite3), then run the tests again.');
    process.exit(1);
  }
  aptInstall(['sqlite3']);
}

/** Debian packages, with apt-get (as root): the package lists are updated first when they are too old to have them. */
function aptInstall(packages) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = ['install', '-y', '-qq', ...packages];
  if (quiet('apt-get', install, { env, stdio: 'ignore' }).status !== 0) {
    step('updating the package lists (apt-get update)', 'apt-get', ['update', '-qq'], { env });
  }
  step(`installing ${packages.join(' ')} (apt-get)`, 'apt-get', install, { env });
}

/** MariaDB for the lock tests: installed from Debian's packages and started when missing (as root). */
export const MARIADB_SOCKET = process.env.FASTKIT_MARIADB_SOCKET ?? '/run/mysqld/mysqld.sock';
export const MARIADB_USER = 'fastkit_test';
export const MARIADB_PASSWORD = 'fk-test-pw';

export function ensureMariaDB() {
  const ping = () => quiet('mariadb-admin', ['--socket', MARIADB_SOCKET, 'ping']).status === 0;
  if (!ping()) {
    const root = process.getuid?.() === 0;
    if (quiet('which', ['mariadbd']).status !== 0) {
      if (!root) {
        console.error('fastkit setup: MariaDB is not installed; install mariadb-server, then run the tests again.');
        process.exit(1);
      }
      step('installing MariaDB (apt-get install mariadb-server)', 'apt-get', ['install', '-y', '-qq', 'mariadb-server'], {
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    }
    if (!root) {
      console.error(`fastkit setup: MariaDB is not running at ${MARIADB_SOCKET}; start it, then run the tests again.`);
      process.exit(1);
    }
    step('starting MariaDB', 'service', ['mariadb', 'start']);
  }
  const sql = `CREATE USER IF NOT EXISTS '${MARIADB_USER}'@'localhost' IDENTIFIED BY '${MARIADB_PASSWORD}';` +
    ` GRANT ALL ON *.* TO '${MARIADB_USER}'@'localhost';`;
  if (quiet('mariadb', ['--socket', MARIADB_SOCKET, '-u', MARIADB_USER, `-p${MARIADB_PASSWORD}`, '-e', 'select 1']).status !== 0) {
    step(`creating the MariaDB user ${MARIADB_USER}`, 'mariadb', ['--socket', MARIADB_SOCKET, '-e', sql]);
  }
}

/**
 * The other Python stacks the tests run on (test/python-stacks.json): a venv with pinned
 * packages from the package index (SQLAlchemy 2.1), and one on Debian's own packages (Alembic
 * 1.8, SQLAlchemy 1.4), installed with apt-get when run as root, used through
 * `/usr/bin/python3 -m venv --system-site-packages`.
 */
export function ensureStackVenvs() {
  const { stacks } = JSON.parse(readFileSync(join(root, 'test', 'python-stacks.json'), 'utf8'));
  for (const stack of stacks.slice(1)) {
    const folder = join(root, stack.venv);
    const stackPython = join(folder, 'bin', 'python');
    const stamp = join(folder, '.fastkit-stack');
    // what the venv is made of: the tests a stack runs (alsoRuns) do not make it again
    const wanted = createHash('sha1').update(JSON.stringify([stack.venv, stack.requirements, stack.debianPackages])).digest('hex');
    if (existsSync(stackPython) && existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) continue;
    if (stack.debianPackages) {
      ensureDebianPackages(stack);
      step(`creating the ${stack.name} venv (${stack.venv})`, SYSTEM_PYTHON, [
        '-m', 'venv', '--clear', '--system-site-packages', '--without-pip', folder,
      ]);
    } else {
      step(`creating the ${stack.name} venv (${stack.venv})`, basePython(), ['-m', 'venv', '--clear', folder]);
      step(`installing ${stack.requirements.join(' ')} into ${stack.venv}`, stackPython, [
        '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--retries', '1', ...stack.requirements,
      ]);
    }
    writeFileSync(stamp, wanted);
  }
  for (const stack of stacks.slice(1)) ensureProjectPackages(join(root, stack.venv), stack.venv);
}

function ensureDebianPackages(stack) {
  const modules = { 'python3-alembic': 'alembic', 'python3-sqlalchemy': 'sqlalchemy', 'python3-psycopg2': 'psycopg2', 'python3-pymysql': 'pymysql', 'python3-dateutil': 'dateutil' };
  const importable = () =>
    quiet(SYSTEM_PYTHON, ['-c', `import ${stack.debianPackages.map((name) => modules[name] ?? name).join(', ')}`]).status === 0;
  if (importable()) return;
  if (process.getuid?.() !== 0) {
    console.error(`fastkit setup: the ${stack.name} tests need Debian's ${stack.debianPackages.join(' ')}; install them`);
    console.error(`  (apt-get install ${stack.debianPackages.join(' ')}), then run the tests again.`);
    process.exit(1);
  }
  aptInstall(stack.debianPackages);
}

/**
 * The helper's bytecode (python/**\/__pycache__), written ahead: Python writes it on a helper's
 * first run, except where PYTHONDONTWRITEBYTECODE is set, as on this project's VM; there every
 * run would compile the helper again. compileall writes only what is missing or stale.
 */
function compileHelper() {
  const compiled = quiet(python, ['-m', 'compileall', '-q', join(root, 'python')]);
  if (compiled.status !== 0) {
    console.error(`fastkit setup: compiling python/ failed:\n${compiled.stdout}${compiled.stderr}`);
    process.exit(1);
  }
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  ensureNodeModules();
  build();
  ensureVenv();
  compileHelper();
  if (process.argv.includes('--stacks')) {
    ensureSqliteShell();
    ensureTestExtras();
    ensureProjectPackages(venv, '.venv');
    ensureStackVenvs();
  }
  if (process.argv.includes('--postgres')) ensurePostgres();
  if (process.argv.includes('--mariadb')) ensureMariaDB();
}
