import { formatFiles, type GeneratorCallback, type Tree } from '@nx/devkit';
import { nxGenerator } from '../../src/nx-generator';
import { registerPlugin } from './lib/register-plugin';
import type { InitGeneratorSchema } from './schema';

/**
 * `nx add fastkit` runs this: fastkit/plugin goes into nx.json, so every project with an
 * alembic.ini gets the migrate targets. Running it again changes nothing.
 */
export async function initGenerator(tree: Tree, options: InitGeneratorSchema = {}): Promise<GeneratorCallback | void> {
  registerPlugin(tree);
  if (!options.skipFormat) await formatFiles(tree);
}

export default nxGenerator(initGenerator);
