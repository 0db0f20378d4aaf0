/**
 * What the generators read of an Alembic project in the Nx Tree: where its env.py is, which
 * models its modules/ folder holds, and the heads of its revision history.
 */
import { joinPathFragments, type Tree } from '@nx/devkit';
import { posix } from 'node:path';
import { ALEMBIC_INI, alembicConfigOf, alembicLocations, alembicSettings, isUncertain, projectRelativeFolder, PYPROJECT } from './alembic-settings';
import { declaredRevision, historyHeads, type DeclaredRevision } from './declared-revisions';
import { modelClassesIn } from './declarative-base';
import type { ModelImport } from './model-imports';

/**
 * Where the env.py of the project in `root` is (whether or not it exists): in the folder
 * alembic.ini (else pyproject.toml's [tool.alembic]) names as script_location, else alembic/.
 */
export function envPyPath(tree: Tree, root: string): string {
  return joinPathFragments(root, scriptFolder(tree, root) ?? 'alembic', 'env.py');
}

/**
 * script_location relative to the project folder, where it is a plain folder (`..` included).
 * Alembic reads it from alembic.ini, else from pyproject.toml's [tool.alembic].
 */
function scriptFolder(tree: Tree, root: string): string | undefined {
  const location = [ALEMBIC_INI, PYPROJECT]
    .map((file) => {
      const text = tree.read(joinPathFragments(root, file), 'utf-8');
      return text ? alembicSettings(text, file).script_location : undefined;
    })
    .find(Boolean);
  return location ? projectRelativeFolder(location) : undefined;
}

/**
 * The imports of every model the project has: each `modules/<name>/models.py` with the classes
 * in it that subclass the Base (a file without any is imported as a whole, which registers its
 * tables all the same).
 */
export function projectModelImports(tree: Tree, projectRoot: string, baseName: string): ModelImport[] {
  const modules = joinPathFragments(projectRoot, 'modules');
  if (!tree.exists(modules) || tree.isFile(modules)) return [];
  return tree
    .children(modules)
    .filter((name) => /^[A-Za-z_]\w*$/.test(name) && tree.isFile(joinPathFragments(modules, name, 'models.py')))
    .sort()
    .map((name) => ({
      module: `modules.${name}.models`,
      names: modelClassesIn(tree.read(joinPathFragments(modules, name, 'models.py'), 'utf-8') ?? '', baseName),
    }));
}

// Alembic's own rule for which files in a versions folder are revisions (script/base.py).
const REVISION_FILE = /^(?!\.#|__init__).*\.py$/;

/**
 * The heads of the project's revision history ([alembic] section), read from the revision files
 * in the Tree as Alembic finds them (version_locations, else script_location/versions; their
 * subfolders with recursive_version_locations). Undefined where fastkit cannot be certain from
 * the text: a location it cannot follow, a file whose ids are computed, a broken history.
 */
export function revisionHeads(tree: Tree, root: string): string[] | undefined {
  const config = alembicConfigOf((file) => tree.read(joinPathFragments(root, file), 'utf-8') ?? undefined);
  if (!config) return undefined;
  const here = posix.join('/', root); // the Tree's paths as absolute ones: %(here)s resolves against them
  let locations;
  try {
    locations = alembicLocations(config.file === ALEMBIC_INI ? { ini: { text: config.text, here } } : { toml: { text: config.text, here } }, 'alembic', ':');
  } catch {
    return undefined; // Alembic refuses the config; it says why when it runs
  }
  const { versionLocations, recursive } = locations;
  if (isUncertain(versionLocations) || isUncertain(recursive)) return undefined;
  const revisions: DeclaredRevision[] = [];
  for (const location of versionLocations) {
    const folder = posix.relative('/', posix.resolve(here, location));
    if (folder.startsWith('..')) return undefined;
    for (const file of revisionFilesIn(tree, folder, recursive)) {
      const declared = declaredRevision(tree.read(file, 'utf-8') ?? '', posix.basename(file));
      if (!declared) return undefined;
      revisions.push(declared);
    }
  }
  return historyHeads(revisions);
}

function revisionFilesIn(tree: Tree, folder: string, recursive: boolean): string[] {
  if (!tree.exists(folder) || tree.isFile(folder)) return [];
  const files: string[] = [];
  for (const name of [...tree.children(folder)].sort()) {
    const path = joinPathFragments(folder, name);
    if (tree.isFile(path)) {
      if (REVISION_FILE.test(name)) files.push(path);
    } else if (recursive && name !== '__pycache__') {
      files.push(...revisionFilesIn(tree, path, recursive));
    }
  }
  return files;
}
