/**
 * The project's declarative Base (the class every SQLAlchemy model inherits) and the models
 * defined on it, found by reading the project's Python files; nothing is imported or run.
 */
import { joinPathFragments, type Tree } from '@nx/devkit';
import { templateFolder, type Templates } from './generated-files';
import type { ProjectInfo } from './nx-generator';
import type { SqlalchemySeries } from './sqlalchemy-series';
import { PYTHON_KEYWORDS, readPythonSource, topLevel, type Statement } from './python-source';

export interface DeclarativeBase {
  /** The file that defines it, as a Tree path (relative to the workspace root). */
  file: string;
  /** The dotted module to import it from, relative to the project folder: `database`, `app.db.base`. */
  module: string;
  /** Its name, usually `Base`. */
  name: string;
}

/**
 * The Base fastkit writes where a project has none: `database.py` in the project folder, a
 * `DeclarativeBase` with a naming convention for constraints. alembic-setup writes it, and the
 * module generator too, for a project that has Alembic but no Base yet.
 */
export function newDeclarativeBase(project: ProjectInfo): DeclarativeBase {
  return { file: joinPathFragments(project.root, 'database.py'), module: 'database', name: 'Base' };
}

export function declarativeBaseTemplates(project: ProjectInfo, sqlalchemy: SqlalchemySeries): Templates {
  return {
    folder: templateFolder('alembic-setup', 'declarative-base'),
    target: project.root,
    substitutions: { projectName: project.name, sqlalchemy },
  };
}

/** `from database import Base`, the line that brings the Base into env.py and models.py. */
export function baseImport(base: DeclarativeBase): string {
  return `from ${base.module} import ${base.name}`;
}

const CLASS = /^class\s+([A-Za-z_]\w*)\s*\((.*)\)\s*:/;
const BASE_CLASSES = new Set(['DeclarativeBase', 'DeclarativeBaseNoMeta']);
const BASE_FACTORY = /^([A-Za-z_]\w*)\s*(?::[^=]*)?=\s*(?:[\w.()]+\.)?(?:declarative_base|generate_base)\s*\(/;

/**
 * Names of the declarative bases a file defines at top level: a subclass of `DeclarativeBase`
 * (SQLAlchemy 2) or the result of `declarative_base()` (1.x style).
 */
export function declarativeBasesIn(source: string): string[] {
  const names: string[] = [];
  for (const statement of topLevel(readPythonSource(source))) {
    const defined = classDefinition(statement);
    if (defined && defined.bases.some((base) => BASE_CLASSES.has(lastPart(base)))) names.push(defined.name);
    const assigned = BASE_FACTORY.exec(statement.code);
    if (assigned) names.push(assigned[1]);
  }
  return names;
}

/** The top-level classes of a file that subclass `baseName`: the models of a models.py. */
export function modelClassesIn(source: string, baseName: string): string[] {
  return topLevel(readPythonSource(source))
    .map(classDefinition)
    .filter((defined) => defined?.bases.some((base) => lastPart(base) === baseName))
    .map((defined) => defined!.name);
}

/**
 * The project's Base: the first declarative base found in its .py files, shallowest file
 * first, skipping virtualenvs, caches and node_modules. Only a file that Python can import
 * from the project folder counts (env.py imports it from there).
 */
export function findDeclarativeBase(tree: Tree, projectRoot: string): DeclarativeBase | undefined {
  const files = pythonFiles(tree, projectRoot)
    .map((file) => ({ file, module: importPath(projectRoot, file) }))
    .filter((candidate): candidate is { file: string; module: string } => candidate.module !== undefined)
    .sort((a, b) => a.file.split('/').length - b.file.split('/').length || (a.file < b.file ? -1 : 1));
  for (const { file, module } of files) {
    const [name] = declarativeBasesIn(tree.read(file, 'utf-8') ?? '');
    if (name) return { file, module, name };
  }
  return undefined;
}

/** Every .py file under `folder`, as Tree paths, leaving out folders that are not the project's code. */
export function pythonFiles(tree: Tree, folder: string): string[] {
  const found: string[] = [];
  const visit = (dir: string) => {
    for (const child of tree.children(dir)) {
      const path = dir === '.' || dir === '' ? child : joinPathFragments(dir, child);
      if (tree.isFile(path)) {
        if (child.endsWith('.py')) found.push(path);
      } else if (!skipFolder(tree, path, child)) {
        visit(path);
      }
    }
  };
  visit(folder);
  return found.sort();
}

function skipFolder(tree: Tree, path: string, name: string): boolean {
  return (
    name.startsWith('.') ||
    ['node_modules', '__pycache__', 'site-packages'].includes(name) ||
    tree.exists(joinPathFragments(path, 'pyvenv.cfg'))
  );
}

/** `app/db/base.py` → `app.db.base`, `app/db/__init__.py` → `app.db`; undefined when not importable. */
export function importPath(projectRoot: string, file: string): string | undefined {
  const prefix = projectRoot === '.' || projectRoot === '' ? '' : projectRoot.replace(/\/+$/, '') + '/';
  if (!file.startsWith(prefix) || !file.endsWith('.py')) return undefined;
  const parts = file.slice(prefix.length, -'.py'.length).split('/');
  if (parts[parts.length - 1] === '__init__') parts.pop();
  const importable = parts.length > 0 && parts.every((part) => /^[A-Za-z_]\w*$/.test(part) && !PYTHON_KEYWORDS.has(part));
  return importable ? parts.join('.') : undefined;
}

function classDefinition(statement: Statement): { name: string; bases: string[] } | undefined {
  const match = CLASS.exec(statement.code);
  if (!match) return undefined;
  const bases = match[2]
    .split(',')
    .map((base) => base.trim())
    .filter((base) => base && !base.includes('='));
  return { name: match[1], bases };
}

function lastPart(dotted: string): string {
  return dotted.split('.').pop() as string;
}
