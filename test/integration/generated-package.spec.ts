/**
 * The generators as npm ships them: the packed tarball holds the compiled generators and
 * their templates, and the compiled code finds its templates from where npm installs it.
 */
import { addProjectConfiguration, logger, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import sourceAlembicSetup from '../../generators/alembic-setup/generator';
import sourceModule from '../../generators/module/generator';
import { REPO, run, tempDir } from '../support/workspace';
import { filesOf } from '../unit/generators/tree';

type Setup = (tree: Tree, options: { project: string }) => Promise<unknown>;
type Module = (tree: Tree, options: { project: string; name: string }) => Promise<unknown>;

describe('the packed fastkit', () => {
  const folder = tempDir('fastkit-pack-');
  let tarball = '';

  beforeAll(() => {
    // dist/ is already built (npm test builds first), so the prepack build is skipped here.
    const packed = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', folder], { cwd: REPO });
    expect(packed.code).toBe(0);
    tarball = JSON.parse(packed.stdout)[0].filename;
    expect(run('tar', ['-xzf', join(folder, tarball), '-C', folder]).code).toBe(0);
    // the installed package resolves @nx/devkit from a node_modules above it, as in a workspace
    symlinkSync(join(REPO, 'node_modules'), join(folder, 'node_modules'), 'dir');
  });

  test('ships every template beside the compiled generators', () => {
    const templates = (generator: string) => readdirSync(join(REPO, 'generators', generator, 'files'), { recursive: true });
    for (const generator of ['alembic-setup', 'module']) {
      expect(readdirSync(join(folder, 'package', 'generators', generator, 'files'), { recursive: true }).sort()).toEqual(
        templates(generator).sort(),
      );
      expect(readdirSync(join(folder, 'package', 'dist', 'generators', generator))).toContain('generator.js');
    }
  });

  test('ships the Python helper whole: the launcher, its package and the check rules', () => {
    const python = (root: string) =>
      readdirSync(join(root, 'python'), { recursive: true })
        .map(String)
        .filter((file) => file.endsWith('.py'))
        .sort();
    expect(python(join(folder, 'package'))).toEqual(python(REPO));
    expect(python(REPO)).toEqual(expect.arrayContaining(['fastkit_alembic.py', 'fastkit_check.py', join('fastkit_helper', 'actions', 'run.py')]));
  });

  test('the installed generators write exactly what the source ones write', async () => {
    jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    const installed = <G>(name: string): G => require(join(folder, 'package', 'dist', 'generators', name, 'generator')).default;
    const generate = async (setup: Setup, module: Module) => {
      const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
      addProjectConfiguration(tree, 'api', { root: 'apps/api' });
      await setup(tree, { project: 'api' });
      await module(tree, { name: 'invoices', project: 'api' });
      return filesOf(tree, 'apps/api');
    };
    const fromPackage = await generate(installed<Setup>('alembic-setup'), installed<Module>('module'));
    expect(Object.keys(fromPackage)).toContain('apps/api/modules/invoices/models.py');
    expect(fromPackage).toEqual(await generate(sourceAlembicSetup, sourceModule));
    jest.restoreAllMocks();
  });
});
