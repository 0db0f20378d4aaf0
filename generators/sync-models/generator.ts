import type { Tree } from '@nx/devkit';
import { findDeclarativeBase } from '../../src/declarative-base';
import { syncModelImports } from '../../src/model-imports';
import { nxGenerator } from '../../src/nx-generator';
import { projectModelImports, revisionHeads } from '../../src/alembic-tree';
import { alembicProjects } from './lib/alembic-projects';
import { rebaseCommand } from './lib/rebase-command';

/** What Nx prints when `nx sync:check` (or a task) finds env.py out of date (Nx's SyncGeneratorResult). */
export interface SyncResult {
  outOfSyncMessage?: string;
  outOfSyncDetails?: string[];
}

/**
 * An Nx sync generator: keeps the model block of every Alembic project's env.py true to the
 * modules/<name>/models.py files that exist, so autogenerate sees every model. fastkit/plugin
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
  for (const project of await alembicProjects(tree)) {
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
    const sync = syncModelImports(source, projectModelImports(tree, project.root, baseName), project.envPy);
    if (!sync.changed) continue;
    tree.write(project.envPy, sync.source);
    const changes = [
      ...sync.added.map((module) => `imports ${module}`),
      ...sync.removed.map((module) => `no longer imports ${module} (its models.py is gone)`),
    ];
    details.push(`${project.envPy}: ${changes.join('; ')}`);
  }
  if (details.length === 0) {
    if (branched.length > 0) throw new Error(branched.join('\n'));
    return;
  }
  return {
    outOfSyncMessage: "env.py's model imports do not match the modules/*/models.py files",
    outOfSyncDetails: [...details, ...branched],
  };
}

export default nxGenerator((tree: Tree) => syncModelsGenerator(tree));
