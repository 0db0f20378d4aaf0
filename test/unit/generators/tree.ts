/**
 * Generator tests on Nx's own test tree, with the parts a user has for real: the stock env.py
 * of the Alembic installed in the repo's venv, and that venv's Python to compile what the
 * generators write.
 */
import { addProjectConfiguration, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BLOCK_BEGIN, BLOCK_END } from '../../../src/model-imports';
import { PYTHON, VENV, run, tempDir } from '../../support/workspace';

export const ROOT = 'apps/api';

/** An empty Nx workspace with one project, `api`, in apps/api. */
export function workspaceWithApi(root = ROOT): Tree {
  const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
  addProjectConfiguration(tree, 'api', { root, projectType: 'application' });
  return tree;
}

/** Every file of the tree (or under `folder`) with its content: what a user would see on disk. */
export function filesOf(tree: Tree, folder = ''): Record<string, string> {
  const files: Record<string, string> = {};
  const visit = (dir: string) => {
    for (const child of tree.children(dir)) {
      const path = dir ? `${dir}/${child}` : child;
      if (tree.isFile(path)) files[path] = tree.read(path, 'utf-8') ?? '';
      else visit(path);
    }
  };
  visit(folder);
  return files;
}

/** The env.py `alembic init` writes, read from the installed Alembic's template. */
export function stockEnvPy(): string {
  const lib = join(VENV, 'lib');
  const [python] = readdirSync(lib).filter((name) => /^python3\.\d+$/.test(name));
  return readFileSync(join(lib, python, 'site-packages', 'alembic', 'templates', 'generic', 'env.py'), 'utf8');
}

const compileDir = tempDir('fastkit-compile-');
let compiled = 0;

/** Compiles Python source with the venv's interpreter; returns the error text, '' when it compiles. */
export function pythonCompileError(source: string): string {
  const file = join(compileDir, `source_${compiled++}.py`);
  writeFileSync(file, source);
  const result = run(PYTHON, ['-m', 'py_compile', file]);
  return result.code === 0 ? '' : result.stderr.trim() || `py_compile exited ${result.code}`;
}

/** The lines inside an env.py's model block (between `# fastkit:models begin` and `end`). */
export function blockOf(source: string): string[] {
  const lines = source.split('\n');
  return lines.slice(lines.indexOf(BLOCK_BEGIN) + 1, lines.indexOf(BLOCK_END));
}

/** The message a generator refuses with; fails the test when it does not refuse. */
export async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the generator did not refuse');
}
