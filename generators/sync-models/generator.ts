import type { Tree } from '@nx/devkit';
import { findDeclarativeBase } from '../../src/declarative-base';
import { syncModelImports } from '../../src/model-imports';
import { nxGenerator } from '../../src/nx-generator';
import { projectModelImports, revisionHeads } from '../../src/alembic-tree';
import { TreeWorkspace } from '../../src/library-models';
import { alembicProjects } from './lib/alembic-projects';
import { rebaseCommand } from './lib/rebase-command';

/** What Nx prints when `nx sync:check` (or a task) finds env.py out of date (Nx's SyncGeneratorResult). */
export interface SyncResult {
  outOfSyncMessage?: string;
  outOfSyncDetails?: string[];
}

/**
 * An Nx sync generator: keeps the model block of every Alembic project's env.py true to the
 * modules/<name>/models.py files that exist, and to the model modules of the libraries env.py
 * imports (src/library-models.ts), so autogenerate sees every model. fastkit/plugin
 * registers it on migrate-make, so Nx runs it before a make, `nx sync` applies it and
 * `nx sync:check` fails in CI while env.py is stale. Only env.py files with the
 * `# fastkit:models begin/end` block are touched. Running it again changes nothing.
 *
 * A revision history with two heads (two branches each added a revision, then were merged) is
 * no change it can make: it fails, naming the heads and the command that fixes them, so
 * `nx sync:check` stops CI before a deploy does.
 */
export async function syncModelsGenerator(tree: Tree): Promise<SyncResult | void> {
  const details: string[] = [];
  const branched: string[] = [];
  let libraryChanged = false;
  const projects = await alembicProjects(tree);
  const workspace = await TreeWorkspace.read(tree, projects.map((project) => project.root));
  for (const project of projects) {
    const heads = revisionHeads(tree, project.root);
    if (heads && heads.length > 1) {
      const rebase = rebaseCommand(tree, project.root);
      branched.push(
        `${project.root}: the migration history has ${heads.length} heads (${heads.join(', ')}). ` +
          `Put this branch's revisions after the other head with \`${rebase}\`, or merge them with \`${rebase} --merge\``,
      );
    }
    const source = tree.read(project.envPy, 'utf-8') ?? '';
    const baseName = findDeclarativeBase(tree, project.root)?.name ?? 'Base';
    const library = workspace.libraryModels(project.root, source, baseName);
    const sync = syncModelImports(source, [...projectModelImports(tree, project.root, baseName), ...library.missing], project.envPy, library.gone);
    if (!sync.changed) continue;
    tree.write(project.envPy, sync.source);
    const libraryFile = new Map(library.missing.map((entry) => [entry.module, entry.file]));
    const gone = new Set(sync.removed.filter((module) => library.gone(module)));
    if (sync.added.some((module) => libraryFile.has(module)) || gone.size > 0) libraryChanged = true;
    const changes = [
      ...sync.added.map((module) => (libraryFile.has(module) ? `imports ${module} (${libraryFile.get(module)}, a model module nothing imported)` : `imports ${module}`)),
      ...sync.removed.map((module) =>
        gone.has(module) ? `no longer imports ${module} (its file is gone)` : `no longer imports ${module} (its models.py is gone)`,
      ),
    ];
    details.push(`${project.envPy}: ${changes.join('; ')}`);
  }
  if (details.length === 0) {
    if (branched.length > 0) throw new Error(branched.join('\n'));
    return;
  }
  return {
    outOfSyncMessage: libraryChanged
      ? "env.py's model imports do not match the model modules of the project (modules/*/models.py) and of the libraries it imports"
      : "env.py's model imports do not match the modules/*/models.py files",
    outOfSyncDetails: [...details, ...branched],
  };
}

export default nxGenerator((tree: Tree) => syncModelsGenerator(tree));
