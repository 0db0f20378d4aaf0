import { logger, readNxJson, updateNxJson } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import init from '../../../generators/init/generator';
import { REPO } from '../../support/workspace';
import { PLUGIN_ENTRY } from '../../support/plugin-entry';
import { filesOf } from './tree';

const ENTRY = PLUGIN_ENTRY;

const workspace = () => createTreeWithEmptyWorkspace({ formatter: 'none' });

describe('init (nx add fastkit)', () => {
  beforeEach(() => jest.spyOn(logger, 'info').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  test('registers fastkit/plugin in nx.json with the eight target names, keeping the other plugins', async () => {
    const tree = workspace();
    updateNxJson(tree, { ...readNxJson(tree), plugins: ['@nx/js/typescript'] });
    await init(tree, {});
    expect(readNxJson(tree)?.plugins).toEqual(['@nx/js/typescript', ENTRY]);
  });

  test('running it twice changes nothing', async () => {
    const tree = workspace();
    await init(tree, {});
    const before = filesOf(tree);
    await init(tree, {});
    expect(filesOf(tree)).toEqual(before);
  });

  test('leaves an entry the user already has as it is, string or object with their own names', async () => {
    for (const existing of ['fastkit/plugin', { plugin: 'fastkit/plugin', options: { runTargetName: 'db-up' } }]) {
      const tree = workspace();
      updateNxJson(tree, { ...readNxJson(tree), plugins: [existing] });
      const before = filesOf(tree);
      await init(tree, {});
      expect(filesOf(tree)).toEqual(before);
      expect(logger.info).toHaveBeenLastCalledWith('fastkit/plugin is already in nx.json; nothing changed.');
    }
  });

  test('a workspace without nx.json gets one with the plugin', async () => {
    const tree = workspace();
    tree.delete('nx.json');
    await init(tree, {});
    expect(readNxJson(tree)?.plugins).toEqual([ENTRY]);
  });

  test('a workspace that turned inferred targets off is left alone, and told how to add targets', async () => {
    const info = jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    const tree = workspace();
    updateNxJson(tree, { ...readNxJson(tree), useInferencePlugins: false });
    const before = filesOf(tree);
    await init(tree, {});
    expect(filesOf(tree)).toEqual(before);
    expect(info.mock.calls.join('\n')).toContain('"migrate-run": { "executor": "fastkit:migrate-run" }');
  });
});

describe('generators.json', () => {
  const collection = JSON.parse(readFileSync(join(REPO, 'generators.json'), 'utf8')).generators;

  test('lists init (alias ng-add, which nx add runs), alembic-setup, module and sync-models, each built and with its schema', () => {
    expect(Object.keys(collection).sort()).toEqual(['alembic-setup', 'init', 'module', 'sync-models']);
    expect(collection.init.aliases).toEqual(['ng-add']);
    for (const [name, entry] of Object.entries<{ factory: string; schema: string }>(collection)) {
      expect(entry.factory).toBe(`./dist/generators/${name}/generator`);
      expect(entry.schema).toBe(`./generators/${name}/schema.json`);
      expect(typeof require(join(REPO, entry.factory)).default).toBe('function');
      expect(JSON.parse(readFileSync(join(REPO, entry.schema), 'utf8')).properties).toBeDefined();
    }
  });
});
