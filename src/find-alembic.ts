import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { UsageError } from './errors';
import { pythonHasAlembic } from './python-has-alembic';

/** How to run the project's Python (and through it, Alembic), and how it was found. */
export interface PythonCommand {
  /** The argv prefix that runs the project's Python, e.g. `['/app/.venv/bin/python']`. */
  python: string[];
  /** How a person runs this Alembic by hand, for hints. */
  alembic: string;
  /** Where it was found, in words. */
  source: string;
  /** The places looked at first, that did not have Alembic. */
  tried: string[];
}

export interface FindAlembicOptions {
  /** The `alembic` option: a command that overrides detection. */
  alembic?: string;
  /** Where the search starts (the project, i.e. the config's folder). */
  from: string;
  env: Record<string, string | undefined>;
}

const isWindows = process.platform === 'win32';

/**
 * Finds the Python that has the project's Alembic, first hit wins: the `alembic` option,
 * VIRTUAL_ENV, a .venv in the project or a folder above it, uv, poetry, python3 on PATH.
 * A venv counts when its Python can import Alembic, however it gets it (see pythonHasAlembic).
 */
export function findAlembic({ alembic, from, env }: FindAlembicOptions): PythonCommand {
  if (alembic && alembic.trim()) return fromAlembicOption(alembic.trim(), from, env);
  const tried: string[] = [];

  const candidates: Array<[string, string | undefined]> = [
    ['VIRTUAL_ENV', env.VIRTUAL_ENV],
    ...foldersUp(from).map((folder): [string, string] => ['.venv', join(folder, '.venv')]),
  ];
  for (const [label, venv] of candidates) {
    if (!venv) {
      tried.push(`${label} (not set)`);
      continue;
    }
    if (!existsSync(venv)) {
      if (label === 'VIRTUAL_ENV') tried.push(`VIRTUAL_ENV=${venv} (not found)`);
      continue;
    }
    const python = venvPython(venv);
    const hasAlembic = python && pythonHasAlembic(python, env);
    if (python && hasAlembic) {
      return { python: [python], alembic: `${python} -m alembic`, source: venv, tried };
    }
    tried.push(`${venv} (${!python ? 'no Python in it' : hasAlembic === false ? 'its Python cannot import alembic' : 'its Python does not run'})`);
  }
  if (!tried.some((place) => place.includes('.venv'))) tried.push(`.venv in ${from} or a folder above (none)`);

  for (const [lock, tool] of [
    ['uv.lock', 'uv'],
    ['poetry.lock', 'poetry'],
  ] as const) {
    const lockFile = foldersUp(from)
      .map((folder) => join(folder, lock))
      .find((file) => existsSync(file));
    if (!lockFile) {
      tried.push(`${lock} (none)`);
    } else if (!onPath(tool, env)) {
      tried.push(`${lockFile} (but \`${tool}\` is not on PATH)`);
    } else {
      return { python: [tool, 'run', 'python'], alembic: `${tool} run alembic`, source: lockFile, tried };
    }
  }

  const python = isWindows ? 'python' : 'python3';
  const found = onPath(python, env);
  return { python: [found ?? python], alembic: `${python} -m alembic`, source: found ?? `${python} on PATH`, tried };
}

/** The `alembic` option names Alembic; fastkit needs the Python behind it. */
function fromAlembicOption(command: string, from: string, env: Record<string, string | undefined>): PythonCommand {
  const words = command.split(/\s+/);
  const m = words.indexOf('-m');
  if (m > 0 && words[m + 1] === 'alembic') {
    return { python: words.slice(0, m), alembic: command, source: 'the alembic option', tried: [] };
  }
  const last = words[words.length - 1];
  if (basename(last).replace(/\.exe$/i, '') === 'alembic') {
    if (words.length > 1) {
      // `uv run alembic`, `poetry run alembic`: the same runner starts Python
      return { python: [...words.slice(0, -1), 'python'], alembic: command, source: 'the alembic option', tried: [] };
    }
    const script = last.includes('/') || last.includes('\\') ? resolve(from, last) : onPath(last, env);
    const python = script && pythonOfScript(script);
    if (python) return { python: [python], alembic: command, source: 'the alembic option', tried: [] };
    throw new UsageError(
      `The alembic option \`${command}\` does not lead to a Python interpreter (${script ? `no Python beside ${script}` : 'not found on PATH'})`,
      'Give the path of the alembic script in a virtualenv, or a command such as `uv run alembic` or `.venv/bin/python -m alembic`.',
    );
  }
  throw new UsageError(
    `fastkit cannot tell which Python runs \`${command}\``,
    'Give a command that ends in `alembic` or `-m alembic`, e.g. `uv run alembic`.',
  );
}

function pythonOfScript(script: string): string | undefined {
  const beside = join(dirname(script), isWindows ? 'python.exe' : 'python');
  if (existsSync(beside)) return beside;
  try {
    const shebang = readFileSync(script, 'utf8').split('\n', 1)[0];
    const match = /^#!\s*(\S+)/.exec(shebang);
    return match && existsSync(match[1]) ? match[1] : undefined;
  } catch {
    return undefined;
  }
}

function foldersUp(from: string): string[] {
  const folders: string[] = [];
  for (let folder = resolve(from); ; folder = dirname(folder)) {
    folders.push(folder);
    if (dirname(folder) === folder) return folders;
  }
}

export function venvPython(venv: string): string | undefined {
  const candidates = isWindows
    ? [join(venv, 'Scripts', 'python.exe')]
    : [join(venv, 'bin', 'python'), join(venv, 'bin', 'python3')];
  return candidates.find((file) => existsSync(file));
}

/** The site-packages folders of a venv: `Lib/site-packages` (Windows), `lib/python3.X/site-packages`. */
export function sitePackages(venv: string): string[] {
  const folders = [join(venv, 'Lib', 'site-packages')];
  try {
    for (const entry of readdirSync(join(venv, 'lib'))) folders.push(join(venv, 'lib', entry, 'site-packages'));
  } catch {
    // a Windows venv has Lib/ only
  }
  return folders.filter((folder) => existsSync(folder));
}

function onPath(name: string, env: Record<string, string | undefined>): string | undefined {
  const extensions = isWindows ? ['.exe', '.cmd', ''] : [''];
  for (const folder of (env.PATH ?? env.Path ?? '').split(delimiter)) {
    if (!folder) continue;
    for (const extension of extensions) {
      const file = join(folder, name + extension);
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}
