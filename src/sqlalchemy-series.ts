/**
 * Which SQLAlchemy the generated model code is written for: `1.4` (`declarative_base()`,
 * `Column`) or `2` (`DeclarativeBase`, `Mapped`, `mapped_column`, which 1.4 cannot import).
 * The generators' `sqlalchemy` option, else what the project's Python imports.
 */
import { existsSync } from 'node:fs';
import { UsageError } from './errors';
import { findAlembic, type PythonCommand } from './find-alembic';
import { runQuickProcess } from './process';

export type SqlalchemySeries = '1.4' | '2';

const SERIES: readonly SqlalchemySeries[] = ['1.4', '2'];
/**
 * The version of the SQLAlchemy the project's Python imports. Read from its installed metadata
 * when that describes the very package `import sqlalchemy` would load (a third of the time of
 * importing it); else, as for a copy on PYTHONPATH without metadata, from the import itself.
 */
const ASK_VERSION = [
  'import importlib.util, os',
  "spec = importlib.util.find_spec('sqlalchemy')",
  'version = None',
  'try:',
  '    import importlib.metadata as metadata',
  "    dist = metadata.distribution('sqlalchemy')",
  "    if spec and spec.origin and os.path.samefile(dist.locate_file('sqlalchemy/__init__.py'), spec.origin):",
  '        version = dist.version',
  'except Exception:',
  '    pass',
  'if version is None:',
  '    import sqlalchemy',
  '    version = sqlalchemy.__version__',
  'print(version)',
].join('\n');

/**
 * The series the option names (a number when Nx's command line parsed `--sqlalchemy=1.4`, which
 * is why the generators' schemas take a string or a number), else the one the project's Python
 * has (found as the migrate commands find it: VIRTUAL_ENV, a .venv in the project or above, uv,
 * poetry); 2 when there is no such environment to ask (a project whose venv is not made yet).
 */
export function sqlalchemySeries(option: string | number | undefined, projectFolder: string, env: Record<string, string | undefined> = process.env): SqlalchemySeries {
  if (option !== undefined && option !== '') return chosenSeries(String(option));
  if (!existsSync(projectFolder)) return '2'; // a tree in memory: no environment to ask
  let found: PythonCommand;
  try {
    found = findAlembic({ from: projectFolder, env });
  } catch {
    return '2';
  }
  // python3 on PATH is the machine's, not the project's environment
  if (found.source === found.python[0] || found.source.endsWith(' on PATH')) return '2';
  const [file, ...args] = found.python;
  const asked = runQuickProcess([file, ...args, '-c', ASK_VERSION], { cwd: projectFolder, env, timeoutMs: 20_000 });
  return asked.exitCode === 0 ? seriesOf(asked.stdout.trim()) : '2';
}

/** `1.4.46` → 1.4, `2.1.0` → 2; anything before 2 is written the 1.4 way. */
export function seriesOf(version: string): SqlalchemySeries {
  const major = Number.parseInt(version, 10);
  return Number.isFinite(major) && major < 2 ? '1.4' : '2';
}

function chosenSeries(option: string): SqlalchemySeries {
  const series = option === '2.0' || option === '2.1' ? '2' : option;
  if (!(SERIES as readonly string[]).includes(series)) {
    throw new UsageError(`sqlalchemy must be 1.4 or 2, not ${JSON.stringify(option)}`, 'Give --sqlalchemy=1.4 or --sqlalchemy=2, or leave it out to use what the project\'s Python has.');
  }
  return series as SqlalchemySeries;
}
