/**
 * The workspace packages a project's Python can import without a sys.path edit, because they
 * are installed: editable installs and `.pth` files in the project's virtual environment (what
 * pip, uv and poetry write there), and, for a venv not made yet (a fresh CI checkout), what
 * pyproject.toml declares: uv workspace members and path dependencies of uv and poetry.
 * Read from files only.
 */
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { childPath, workspacePath, type WorkspaceFiles } from './module-finder';
import { isTomlTable, readToml, type TomlTable, type TomlValue } from './toml-reader';

/** What a virtual environment's site-packages holds, as far as imports of workspace code go. */
export interface VirtualEnvPackages {
  /** Top-level names site-packages itself provides (`sqlalchemy`, `alembic`): never the workspace's. */
  siteNames: Set<string>;
  /** Folders `.pth` path lines add after site-packages, in Python's order; absolute. */
  pthFolders: string[];
  /** Top-level module → absolute folder or file, from the finders of editable installs. */
  finders: Map<string, string>;
}

/**
 * The venv Alembic runs in for a project, as fastkit finds it (DESIGN §4, without the option and
 * VIRTUAL_ENV, which a graph must not depend on): `.venv` in the project, else in a folder above
 * it up to the workspace root (where uv and poetry workspaces keep theirs). Absolute, or undefined.
 */
export function findVirtualEnv(workspaceRoot: string, projectRoot: string, seen: Map<string, string | null>): string | undefined {
  const parts = projectRoot === '' ? [] : projectRoot.split('/');
  for (let depth = parts.length; depth >= 0; depth--) {
    const folder = parts.slice(0, depth).join('/');
    let venv = seen.get(folder);
    if (venv === undefined) {
      const candidate = join(workspaceRoot, folder, '.venv');
      venv = existsSync(join(candidate, 'pyvenv.cfg')) ? candidate : null;
      seen.set(folder, venv);
    }
    if (venv) return venv;
  }
  return undefined;
}

/** Reads a venv's site-packages: its own names, the `.pth` folders and the editable finders. */
export function readVirtualEnv(venv: string): VirtualEnvPackages {
  const packages: VirtualEnvPackages = { siteNames: new Set(), pthFolders: [], finders: new Map() };
  for (const site of sitePackagesFolders(venv)) {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(site, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      const name = entry.name;
      if (entry.isDirectory()) {
        if (/^[A-Za-z_]\w*$/.test(name) && name !== '__pycache__') packages.siteNames.add(name);
      } else {
        const module = /^([A-Za-z_]\w*)(?:\.py|\..*\.(?:so|pyd)|\.so|\.pyd)$/.exec(name);
        if (module) packages.siteNames.add(module[1]);
      }
    }
    // site.addpackage: .pth files in name order; `import` lines run, other lines are folders
    const pthFiles = entries.filter((entry) => entry.name.endsWith('.pth') && !entry.name.startsWith('.')).map((entry) => entry.name).sort();
    for (const pth of pthFiles) {
      let text: string;
      try {
        text = readFileSync(join(site, pth), 'utf8');
      } catch {
        continue;
      }
      for (const raw of text.split(/\r?\n/)) {
        const line = raw.trimEnd();
        if (line === '' || line.startsWith('#')) continue;
        if (/^import[ \t]/.test(line)) {
          for (const [, module] of line.matchAll(/\bimport\s+([A-Za-z_][\w.]*)/g)) readFinder(join(site, `${module}.py`), packages.finders);
          continue;
        }
        const folder = isAbsolute(line) ? line : join(site, line);
        if (existsSync(folder)) packages.pthFolders.push(folder);
      }
    }
  }
  return packages;
}

function sitePackagesFolders(venv: string): string[] {
  const folders: string[] = [join(venv, 'Lib', 'site-packages')]; // Windows
  try {
    for (const name of readdirSync(join(venv, 'lib'))) {
      if (/^python\d/.test(name)) folders.push(join(venv, 'lib', name, 'site-packages'));
    }
  } catch {
    // no lib/ folder: a Windows venv
  }
  return folders;
}

/**
 * The module → path table of an editable-install finder: setuptools' `MAPPING = {...}` in
 * `__editable___*_finder.py`, or `map_module('name', 'path')` calls of `editables` (hatchling's
 * dev-mode-exact, pdm).
 */
function readFinder(file: string, finders: Map<string, string>): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return;
  }
  const mapping = /^MAPPING\s*(?::[^=\n]*)?=\s*\{([^}]*)\}/m.exec(text);
  if (mapping) {
    for (const [, , name, , path] of mapping[1].matchAll(/(['"])(.*?)\1\s*:\s*(['"])(.*?)\3/g)) finders.set(name, pythonString(path));
  }
  for (const [, , name, , path] of text.matchAll(/map_module\(\s*(['"])(.*?)\1\s*,\s*(['"])(.*?)\3\s*\)/g)) {
    finders.set(name, pythonString(path));
  }
}

/** The value of a Python string literal's body as repr() writes paths (Windows backslashes doubled). */
function pythonString(body: string): string {
  return body.replace(/\\\\/g, '\\');
}

/** Turns absolute paths on this machine into workspace paths, also through a symlinked workspace root. */
export class WorkspaceLocator {
  private readonly roots: string[];

  constructor(workspaceRoot: string) {
    this.roots = [workspaceRoot];
    try {
      const real = realpathSync(workspaceRoot);
      if (real !== workspaceRoot) this.roots.push(real);
    } catch {
      // a workspace root that cannot be resolved is only looked at as given
    }
  }

  /** The workspace path of an absolute path, or undefined outside the workspace. */
  locate(absolute: string): string | undefined {
    for (const root of this.roots) {
      const inside = relative(root, absolute);
      if (isAbsolute(inside)) continue;
      const found = workspacePath(inside.split(sep).join('/'));
      if (found !== undefined) return found;
    }
    return undefined;
  }
}

/** pyproject.toml files read once per graph computation (null: missing or not readable TOML). */
export class PyprojectFiles {
  private readonly read = new Map<string, TomlTable | null>();
  private readonly worked = new Map<string, unknown>();
  private pyprojectFolders?: string[];

  constructor(
    private readonly workspaceRoot: string,
    private readonly files: WorkspaceFiles,
    private readonly allFiles: () => Iterable<string>,
  ) {}

  /** The parsed pyproject.toml of `folder`, if it has one Nx tracks. */
  of(folder: string): TomlTable | null {
    const file = childPath(folder, 'pyproject.toml');
    let toml = this.read.get(file);
    if (toml === undefined) {
      toml = null;
      if (this.files.has(file)) {
        try {
          toml = readToml(readFileSync(join(this.workspaceRoot, file), 'utf8'));
        } catch {
          toml = null; // unreadable: Nx's other plugins (and Python's tools) report it
        }
      }
      this.read.set(file, toml);
    }
    return toml;
  }

  /** A value worked out from these files once per graph computation (a uv workspace's members, a package's folders). */
  once<T>(key: string, compute: () => T): T {
    if (!this.worked.has(key)) this.worked.set(key, compute());
    return this.worked.get(key) as T;
  }

  /** Every folder with a pyproject.toml. */
  folders(): string[] {
    if (!this.pyprojectFolders) {
      this.pyprojectFolders = [];
      for (const file of this.allFiles()) {
        if (file === 'pyproject.toml') this.pyprojectFolders.push('');
        else if (file.endsWith('/pyproject.toml')) this.pyprojectFolders.push(file.slice(0, -'/pyproject.toml'.length));
      }
    }
    return this.pyprojectFolders;
  }
}

/**
 * The folders of the workspace packages a project declares in pyproject.toml, for when the venv
 * does not show them (not created yet): the members of the uv workspace it belongs to, and
 * path dependencies (`[tool.uv.sources] x = { path = "../x" }`, poetry's
 * `x = { path = "../../libs/x", develop = true }`). Each as the folders its modules sit in.
 */
export function declaredPackageFolders(projectRoot: string, pyprojects: PyprojectFiles, files: WorkspaceFiles): string[] {
  const packages: string[] = [];
  const uv = uvWorkspace(projectRoot, pyprojects);
  if (uv) packages.push(...uv.members, ...pyprojects.once(`sources:${uv.root}`, () => pathSources(uv.root, pyprojects.of(uv.root))));
  packages.push(...pathSources(projectRoot, pyprojects.of(projectRoot)));
  const folders = packages
    .filter((folder) => folder !== projectRoot)
    .flatMap((folder) => pyprojects.once(`roots:${folder}`, () => importRoots(folder, pyprojects, files)));
  return [...new Set(folders)];
}

/** The uv workspace a project belongs to: the nearest pyproject.toml above it with [tool.uv.workspace]. */
export function uvWorkspace(projectRoot: string, pyprojects: PyprojectFiles): { root: string; members: string[] } | undefined {
  const parts = projectRoot === '' ? [] : projectRoot.split('/');
  for (let depth = parts.length; depth >= 0; depth--) {
    const root = parts.slice(0, depth).join('/');
    const workspace = table(pyprojects.of(root), 'tool', 'uv', 'workspace');
    if (!workspace) continue;
    return {
      root,
      members: pyprojects.once(`members:${root}`, () => {
        const members = strings(workspace.members).map((glob) => globRegExp(childPath(root, glob)));
        const excluded = strings(workspace.exclude).map((glob) => globRegExp(childPath(root, glob)));
        return pyprojects
          .folders()
          .filter((folder) => members.some((pattern) => pattern.test(folder)) && !excluded.some((pattern) => pattern.test(folder)));
      }),
    };
  }
  return undefined;
}

/** `path = …` dependencies of uv sources and poetry (main, groups, the old dev-dependencies), as workspace folders. */
function pathSources(folder: string, toml: TomlTable | null): string[] {
  if (!toml) return [];
  const tables = [
    table(toml, 'tool', 'uv', 'sources'),
    table(toml, 'tool', 'poetry', 'dependencies'),
    table(toml, 'tool', 'poetry', 'dev-dependencies'),
    ...Object.values(table(toml, 'tool', 'poetry', 'group') ?? {}).map((group) => (isTomlTable(group) ? table(group, 'dependencies') : undefined)),
  ];
  const found: string[] = [];
  for (const dependencies of tables) {
    for (const source of Object.values(dependencies ?? {})) {
      for (const entry of Array.isArray(source) ? source : [source]) {
        const path = isTomlTable(entry) ? entry.path : undefined;
        if (typeof path !== 'string') continue;
        const inWorkspace = workspacePath(posixJoin(folder, path));
        if (inWorkspace !== undefined) found.push(inWorkspace);
      }
    }
  }
  return found;
}

/**
 * Where a local package's modules sit, as its build backend installs it editable: poetry's
 * `packages = [{ include, from }]`, setuptools' `package-dir`, hatch's wheel `packages`,
 * uv_build's `module-root`; else `src/` when there is one, else the package folder itself.
 */
export function importRoots(folder: string, pyprojects: PyprojectFiles, files: WorkspaceFiles): string[] {
  const toml = pyprojects.of(folder);
  const roots: string[] = [];
  const inFolder = (path: string) => workspacePath(posixJoin(folder, path));
  for (const entry of list(table(toml, 'tool', 'poetry')?.packages)) {
    if (isTomlTable(entry)) roots.push(typeof entry.from === 'string' ? (inFolder(entry.from) ?? folder) : folder);
  }
  const packageDir = table(toml, 'tool', 'setuptools', 'package-dir')?.[''];
  if (typeof packageDir === 'string') roots.push(inFolder(packageDir) ?? folder);
  for (const path of strings(table(toml, 'tool', 'hatch', 'build', 'targets', 'wheel')?.packages)) {
    roots.push(inFolder(posixDirname(path)) ?? folder);
  }
  const backend = table(toml, 'build-system')?.['build-backend'];
  if (backend === 'uv_build') {
    const moduleRoot = table(toml, 'tool', 'uv', 'build-backend')?.['module-root'];
    roots.push(inFolder(typeof moduleRoot === 'string' ? moduleRoot : 'src') ?? folder);
  }
  if (roots.length === 0) roots.push(files.isFolder(childPath(folder, 'src')) ? childPath(folder, 'src') : folder);
  return [...new Set(roots)];
}

/** The table at `keys` in a TOML document, if there is one. */
export function table(toml: TomlTable | null | undefined, ...keys: string[]): TomlTable | undefined {
  let value: TomlValue | undefined = toml ?? undefined;
  for (const key of keys) {
    if (!isTomlTable(value)) return undefined;
    value = value[key];
  }
  return isTomlTable(value) ? value : undefined;
}

export function strings(value: TomlValue | undefined): string[] {
  return list(value).filter((item): item is string => typeof item === 'string');
}

function list(value: TomlValue | undefined): TomlValue[] {
  return Array.isArray(value) ? value : [];
}

function posixJoin(folder: string, path: string): string {
  const relativePath = path.replace(/\\/g, '/');
  return folder === '' ? relativePath : `${folder}/${relativePath}`;
}

function posixDirname(path: string): string {
  const slash = path.replace(/\\/g, '/').replace(/\/+$/, '').lastIndexOf('/');
  return slash === -1 ? '.' : path.slice(0, slash);
}

/** A uv member glob (`libs/*`, `packages/**`) as a regular expression over workspace folders. */
function globRegExp(glob: string): RegExp {
  const normalized = workspacePath(glob) ?? glob;
  let pattern = '';
  for (let i = 0; i < normalized.length; i++) {
    const char = normalized[i];
    if (char === '*' && normalized[i + 1] === '*') {
      pattern += '.*';
      i++;
    } else if (char === '*') pattern += '[^/]*';
    else if (char === '?') pattern += '[^/]';
    else pattern += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${pattern}$`);
}
