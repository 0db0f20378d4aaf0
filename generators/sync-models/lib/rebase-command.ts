import { joinPathFragments, readNxJson, type Tree } from '@nx/devkit';
import { posix } from 'node:path';

/**
 * How a user runs migrate-rebase for the project in `root`: `nx run <project>:<target>`, with
 * the project named as fastkit/plugin names it (its project.json or package.json name, else its
 * folder's name in lower case) and the target as nx.json names it (rebaseTargetName).
 */
export function rebaseCommand(tree: Tree, root: string): string {
  return `nx run ${projectName(tree, root)}:${rebaseTargetName(tree)}`;
}

function projectName(tree: Tree, root: string): string {
  for (const file of ['project.json', 'package.json']) {
    try {
      const name: unknown = JSON.parse(tree.read(joinPathFragments(root, file), 'utf-8') ?? '{}').name;
      if (typeof name === 'string' && name !== '') return name;
    } catch {
      // Nx reports a broken project.json or package.json itself
    }
  }
  return posix.basename(root === '.' ? tree.root : root).toLowerCase();
}

function rebaseTargetName(tree: Tree): string {
  const plugins = readNxJson(tree)?.plugins ?? [];
  for (const plugin of plugins) {
    if (typeof plugin === 'object' && plugin.plugin === 'fastkit/plugin') {
      const name = (plugin.options as { rebaseTargetName?: unknown } | undefined)?.rebaseTargetName;
      if (typeof name === 'string' && name !== '') return name;
    }
  }
  return 'migrate-rebase';
}
