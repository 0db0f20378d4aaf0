import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cacheFolder } from './cache-folder';
import { runQuickProcess } from './process';

/**
 * Asked of the interpreter itself, so every way Python finds packages counts (its own
 * site-packages, --system-site-packages, .pth files, editable installs, PYTHONPATH). The
 * folder Python runs in is left off sys.path: a project's own alembic/ folder (its migrations)
 * is not Alembic, and neither is any namespace package without an __init__.py. It answers
 * with the files and folders that decide the answer, to be watched for changes.
 */
const PROBE = [
  'import importlib.util, json, os, sys',
  "sys.path[:] = [p for p in sys.path if p not in ('', os.getcwd())]",
  'def found(name):',
  '    spec = importlib.util.find_spec(name)',
  "    return bool(spec and spec.origin and os.path.basename(spec.origin).startswith('__init__.'))",
  "watch = [sys.executable, os.path.join(sys.prefix, 'pyvenv.cfg')] + [p for p in sys.path if os.path.isdir(p)]",
  "print(json.dumps({'alembic': found('alembic') and found('sqlalchemy'), 'watch': watch}))",
].join('\n');

interface Remembered {
  alembic: boolean;
  /** path -> mtime in ms (-1: did not exist) when Python was asked. */
  watch: Record<string, number>;
}

/**
 * Whether `python` can import Alembic (and SQLAlchemy): one quick `python -c` the first time,
 * then remembered for as long as the interpreter, its pyvenv.cfg and every folder on its
 * sys.path keep their modification times (installing or removing a package changes the
 * folder it goes in). Undefined when the interpreter cannot be run at all.
 */
export function pythonHasAlembic(python: string, env: Record<string, string | undefined>): boolean | undefined {
  const file = join(cacheFolder(env), 'pythons', `${sha256(JSON.stringify([python, env.PYTHONPATH ?? '', env.PYTHONHOME ?? ''])).slice(0, 32)}.json`);
  const remembered = recall(file);
  if (remembered) return remembered.alembic;

  const asked = runQuickProcess([python, '-c', PROBE], { cwd: dirname(python), env, timeoutMs: 20_000 });
  let answer: { alembic: boolean; watch: string[] };
  try {
    answer = JSON.parse(asked.stdout);
  } catch {
    return undefined;
  }
  if (asked.exitCode !== 0 || typeof answer.alembic !== 'boolean') return undefined;
  const watch = Object.fromEntries([python, ...answer.watch].map((path) => [path, modified(path)]));
  remember(file, { alembic: answer.alembic, watch });
  return answer.alembic;
}

function recall(file: string): Remembered | undefined {
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as Remembered;
    const unchanged = Object.entries(record.watch).every(([path, mtime]) => modified(path) === mtime);
    return unchanged ? record : undefined;
  } catch {
    return undefined;
  }
}

function remember(file: string, record: Remembered): void {
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(record));
    renameSync(temporary, file);
  } catch {
    // not remembered: the next run asks Python again
  }
}

function modified(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
