/**
 * What the built `fastkit/plugin` module costs Nx: loaded and run in a fresh Node process, it
 * must load only its own small modules and never node:child_process, so it can start nothing.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, run } from '../support/workspace';

const PLUGIN = join(REPO, 'dist', 'src', 'plugin.js');

/** Loads the built plugin in a new Node, runs createNodesV2 over `files` in `root`, reports what got loaded. */
function loadAndRun(root: string, files: string[]) {
  const script = `
    const plugin = require(${JSON.stringify(PLUGIN)});
    plugin.createNodesV2[1](${JSON.stringify(files)}, {}, { workspaceRoot: ${JSON.stringify(root)}, nxJsonConfiguration: {} })
      .then((results) => ({ projects: results.length }), (error) => ({ error: error.name, projects: error.partialResults.length }))
      .then((outcome) => console.log(JSON.stringify({
        ...outcome,
        modules: Object.keys(require.cache),
        childProcess: process.moduleLoadList.some((name) => /child_process/.test(name)),
      })));
  `;
  const ran = run(process.execPath, ['-e', script], { cwd: root });
  expect(ran.stderr).toBe('');
  return JSON.parse(ran.stdout) as { projects: number; error?: string; modules: string[]; childProcess: boolean };
}

describe('loading fastkit/plugin', () => {
  const root = mkdtempSync(join(tmpdir(), 'fastkit-plugin-load-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'services', 'billing'), { recursive: true });
  writeFileSync(join(root, 'services', 'billing', 'alembic.ini'), '[alembic]\nscript_location = alembic\n');

  test('computing targets loads only the plugin, the action table and its small modules, and never node:child_process', () => {
    const outcome = loadAndRun(root, ['services/billing/alembic.ini']);
    expect(outcome.projects).toBe(1);
    expect(outcome.modules.map((file) => file.slice(REPO.length + 1)).sort()).toEqual([
      'dist/src/actions.js',
      'dist/src/alembic-settings.js',
      'dist/src/dependency-inputs.js',
      'dist/src/offline-inputs.js',
      'dist/src/path-lookup.js',
      'dist/src/plugin.js',
      'dist/src/pyproject.js',
      'dist/src/targets-cache.js',
      'dist/src/toml-reader.js',
      'dist/src/write-atomically.js',
    ]);
    expect(outcome.childProcess).toBe(false);
  });

  test("reporting a broken file adds only Nx's error module, still without node:child_process", () => {
    mkdirSync(join(root, 'services', 'linked'), { recursive: true });
    symlinkSync(join(root, 'nowhere.ini'), join(root, 'services', 'linked', 'alembic.ini'));
    const outcome = loadAndRun(root, ['services/billing/alembic.ini', 'services/linked/alembic.ini']);
    expect(outcome).toMatchObject({ error: 'AggregateCreateNodesError', projects: 1, childProcess: false });
    const outside = outcome.modules.filter((file) => !file.startsWith(join(REPO, 'dist', 'src')));
    expect(outside.map((file) => file.replace(/^.*node_modules\//, ''))).toEqual(
      expect.arrayContaining(['nx/dist/src/project-graph/error-types.js']),
    );
    expect(outside.every((file) => /node_modules\/(nx|tslib)\//.test(file))).toBe(true);
  });
});
