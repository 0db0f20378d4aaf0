import { logger, type Tree } from '@nx/devkit';
import { UsageError } from '../../../src/errors';
import { writeNewFiles, type Templates } from '../../../src/generated-files';

/**
 * Writes the templates; a file that exists with other content stops everything, unless
 * `force`. Returns the files it created or changed.
 */
export function writeOrRefuse(tree: Tree, templates: Templates[], force = false): string[] {
  const { clashes, changed } = writeNewFiles(tree, templates, { force });
  if (clashes.length === 0) return changed;
  const them = clashes.length === 1 ? 'it' : 'them';
  if (force) {
    logger.warn(`Overwrote ${clashes.join(', ')} (--force).`);
    return changed;
  }
  throw new UsageError(
    `${clashes.join(', ')} already ${clashes.length === 1 ? 'exists' : 'exist'} with other content`,
    `Nothing was written. Move ${them} aside, or pass --force to overwrite ${them}`,
  );
}
