import { addProjectConfiguration, logger } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import alembicSetup from '../../../generators/alembic-setup/generator';
import moduleGenerator from '../../../generators/module/generator';
import { EXAMPLE } from '../../support/workspace';
import { filesOf } from './tree';

/** What a person wrote in the example rather than a generator: these may differ. */
const HAND_MADE = [/^project\.json$/, /^requirements\.txt$/, /^alembic\/versions\/.+\.py$/, /__pycache__/, /\.db$/];

function exampleFiles(folder = EXAMPLE): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(folder)) {
    const path = join(folder, name);
    const key = relative(EXAMPLE, path).split('\\').join('/');
    if (HAND_MADE.some((pattern) => pattern.test(key))) continue;
    if (statSync(path).isDirectory()) Object.assign(files, exampleFiles(path));
    else files[key] = readFileSync(path, 'utf8');
  }
  return files;
}

describe('examples/api is exactly what the generators write', () => {
  test('alembic-setup, then module clients and module invoices, give the example file for file', async () => {
    jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
    addProjectConfiguration(tree, 'api', { root: 'examples/api' });
    await alembicSetup(tree, { project: 'api' });
    await moduleGenerator(tree, { name: 'clients', project: 'api' });
    await moduleGenerator(tree, { name: 'invoices', project: 'api' });

    const generated = Object.fromEntries(
      Object.entries(filesOf(tree, 'examples/api'))
        .map(([path, content]) => [path.slice('examples/api/'.length), content] as const)
        .filter(([path]) => !HAND_MADE.some((pattern) => pattern.test(path))),
    );
    // On a difference: regenerate the example (nx g fastkit:alembic-setup --project api --force,
    // nx g fastkit:module clients/invoices) rather than editing it by hand.
    expect(exampleFiles()).toEqual(generated);
    jest.restoreAllMocks();
  });
});
