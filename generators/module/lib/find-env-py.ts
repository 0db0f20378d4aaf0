import { joinPathFragments, type Tree } from '@nx/devkit';
import { UsageError } from '../../../src/errors';
import type { ProjectInfo } from '../../../src/nx-generator';

/**
 * The project's env.py: in the folder alembic.ini (or pyproject.toml's [tool.alembic]) names
 * as script_location, else in alembic/.
 */
export function findEnvPy(tree: Tree, project: ProjectInfo): string {
  const envPy = envPyPath(tree, project.root);
  if (!tree.exists(envPy)) {
    throw new UsageError(
      `${envPy} not found, so there is no env.py to register the model in`,
      `Set Alembic up first: nx g fastkit:alembic-setup --project ${project.name}`,
    );
  }
  return envPy;
}

/** Where the env.py of the project in `root` is (whether or not it exists). */
export function envPyPath(tree: Tree, root: string): string {
  return joinPathFragments(root, scriptLocation(tree, root) ?? 'alembic', 'env.py');
}

/** script_location relative to the project folder, where it is a plain folder there. */
function scriptLocation(tree: Tree, root: string): string | undefined {
  const ini = tree.read(joinPathFragments(root, 'alembic.ini'), 'utf-8');
  const pyproject = tree.read(joinPathFragments(root, 'pyproject.toml'), 'utf-8');
  const fromIni = ini ? settingIn(ini, 'alembic') : undefined;
  const fromPyproject = pyproject ? settingIn(pyproject, 'tool.alembic')?.replace(/^["']|["']$/g, '') : undefined;
  const value = fromIni ?? fromPyproject;
  if (!value) return undefined;
  const folder = value.replace(/^%\(here\)s[\\/]?/, '').replace(/\\/g, '/');
  if (!folder || folder.includes(':') || folder.startsWith('/') || folder.includes('%(')) return undefined;
  return folder;
}

function settingIn(config: string, section: string): string | undefined {
  let inSection = false;
  for (const line of config.split(/\r?\n/)) {
    const header = /^\s*\[([^\]]+)\]/.exec(line);
    if (header) inSection = header[1].trim() === section;
    else if (inSection) {
      const setting = /^\s*script_location\s*=\s*(.+?)\s*$/.exec(line);
      if (setting) return setting[1];
    }
  }
  return undefined;
}
