/**
 * fastkit/plugin's createNodes function, called as Nx calls it, on real folders in a temporary
 * workspace. Every spawning function of node:child_process is spied on before the plugin is
 * loaded, and each test ends by checking none was called.
 */
import type { CreateNodes, CreateNodesV2 } from '@nx/devkit';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, appendFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import type * as PluginModule from '../../src/plugin';

// The devkit's index runs `git remote -v` as it loads (one reason the plugin never loads it),
// so the class the tests compare with is taken before the spies go in.
const { AggregateCreateNodesError }: typeof import('@nx/devkit') = require('@nx/devkit');
const SPAWNERS = ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const;
const childProcess: typeof import('node:child_process') = require('node:child_process');
const spawners = SPAWNERS.map((name) => jest.spyOn(childProcess, name));
const { createNodes, createNodesV2 }: typeof PluginModule = require('../../src/plugin');

afterEach(() => {
  for (const spy of spawners) expect(spy).not.toHaveBeenCalled();
});

const INI = '[alembic]\nscript_location = %(here)s/alembic\nprepend_sys_path = .\n';
const TOOL_ALEMBIC = '[project]\nname = "orders"\n\n[tool.alembic]\nscript_location = "%(here)s/migrations"\n';
const EXECUTORS = [
  'fastkit:migrate-make',
  'fastkit:migrate-run',
  'fastkit:migrate-rollback',
  'fastkit:migrate-status',
  'fastkit:migrate-check',
  'fastkit:migrate-sql',
  'fastkit:migrate-rebase',
  'fastkit:migrate-verify',
];
const TARGETS = ['migrate-make', 'migrate-run', 'migrate-rollback', 'migrate-status', 'migrate-check', 'migrate-sql', 'migrate-rebase', 'migrate-verify'];
/** The targets that read or change a database, never cached. */
const DATABASE_TARGETS = ['migrate-make', 'migrate-run', 'migrate-rollback', 'migrate-status', 'migrate-rebase'];
const RUN_DESCRIPTION = 'Applies every pending migration (alembic upgrade head). Never cached.';

const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** A temporary workspace holding `files` (path → content). */
function workspace(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'fastkit-plugin-'));
  folders.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

/** What Nx passes for the plugin's glob: every alembic.ini and pyproject.toml, as workspace-relative paths. */
function configFiles(root: string, folder = root): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (entry.name === '.nx' || entry.name === 'node_modules') continue;
    const path = join(folder, entry.name);
    if (entry.isDirectory()) found.push(...configFiles(root, path));
    else if (entry.name === 'alembic.ini' || entry.name === 'pyproject.toml') {
      found.push(relative(root, path).split(/[\\/]/).join(posix.sep));
    }
  }
  return found.sort();
}

type Results = Awaited<ReturnType<(typeof createNodesV2)[1]>>;

function infer(root: string, options?: PluginModule.FastkitPluginOptions): Promise<Results> {
  return createNodesV2[1](configFiles(root), options, { workspaceRoot: root, nxJsonConfiguration: {} });
}

/** The projects of all results, by root. */
function projects(results: Results) {
  return Object.assign({}, ...results.map(([, result]) => result.projects)) as NonNullable<Results[number][1]['projects']>;
}

describe('fastkit/plugin createNodes on real folders', () => {
  test('exports the same glob and function as createNodes (Nx 23, 24) and createNodesV2 (Nx 22)', () => {
    // Compile-time: both fit the devkit's types (tsc checks this file).
    const current: CreateNodes<PluginModule.FastkitPluginOptions> = createNodes;
    const v2: CreateNodesV2<PluginModule.FastkitPluginOptions> = createNodesV2;
    expect(current).toBe(v2);
    expect(createNodes[0]).toBe('**/{alembic.ini,pyproject.toml}');
  });

  test('every folder with an alembic.ini, or a pyproject.toml with [tool.alembic], becomes a project with the eight targets', async () => {
    const root = workspace({
      'services/billing/alembic.ini': INI,
      'services/billing/tenants/acme/alembic.ini': INI,
      'services/orders/pyproject.toml': TOOL_ALEMBIC,
      'apps/web/pyproject.toml': '[project]\nname = "web"\ndependencies = ["alembic"]\n',
      'apps/web/main.py': 'print("hi")\n',
    });
    const found = projects(await infer(root));

    expect(Object.keys(found).sort()).toEqual(['services/billing', 'services/billing/tenants/acme', 'services/orders']);
    for (const [projectRoot, project] of Object.entries(found)) {
      expect(project.root).toBe(projectRoot);
      expect(Object.keys(project.targets ?? {})).toEqual(TARGETS);
      expect(Object.values(project.targets ?? {}).map((target) => target.executor)).toEqual(EXECUTORS);
      for (const [name, target] of Object.entries(project.targets ?? {})) {
        expect(target.cache).toBe(!DATABASE_TARGETS.includes(name));
        expect(target.metadata?.description).toMatch(
          /alembic (revision --autogenerate|upgrade head|downgrade -1|current)|revision history without a database|onto the other head|on a shadow database/,
        );
        expect(Object.keys(target.metadata ?? {})).toEqual(['description']);
      }
      expect(project.metadata).toEqual({ technologies: ['alembic'] });
      expect(project.targets?.['migrate-run'].metadata?.description).toBe(RUN_DESCRIPTION);
    }
  });

  test('an ini-only folder is named after its folder, as Nx names a project.json without a name', async () => {
    const root = workspace({ 'services/billing/alembic.ini': INI, 'services/Inventory/alembic.ini': INI });
    const found = projects(await infer(root));
    expect(found['services/billing'].name).toBe('billing');
    expect(found['services/Inventory'].name).toBe('inventory');
  });

  test("a project.json names its project itself (Nx reads it after the plugin), else package.json's name, else the folder's", async () => {
    const root = workspace({
      'libs/reports/alembic.ini': INI,
      'libs/reports/project.json': '{ "name": "reports-db", "targets": {} }',
      'libs/shared/alembic.ini': INI,
      'libs/shared/package.json': '{ "name": "@acme/shared", "version": "1.0.0" }',
      'libs/broken-json/alembic.ini': INI,
      'libs/broken-json/project.json': '{ "name": ',
    });
    const found = projects(await infer(root));
    // the plugin leaves the name to Nx's own reading of project.json, broken or not
    expect(found['libs/reports']).not.toHaveProperty('name');
    expect(found['libs/broken-json']).not.toHaveProperty('name');
    expect(found['libs/shared'].name).toBe('@acme/shared');
  });

  test('an alembic.ini at the workspace root makes the root a project', async () => {
    const root = workspace({ 'alembic.ini': INI, 'project.json': '{ "name": "monolith" }' });
    const results = await infer(root);
    expect(results.map(([file]) => file)).toEqual(['alembic.ini']);
    expect(projects(results)['.']).toMatchObject({ root: '.', metadata: { technologies: ['alembic'] } });
  });

  test('a pyproject.toml project passes config: "pyproject.toml"; an ini project needs no options', async () => {
    const root = workspace({ 'services/orders/pyproject.toml': TOOL_ALEMBIC, 'services/billing/alembic.ini': INI });
    const found = projects(await infer(root));
    for (const [name, target] of Object.entries(found['services/orders'].targets ?? {})) {
      const sqlOutput = name === 'migrate-sql' ? { output: 'dist/migrations/upgrade.sql' } : {};
      expect(target.options).toEqual({ config: 'pyproject.toml', ...sqlOutput });
    }
    for (const [name, target] of Object.entries(found['services/billing'].targets ?? {})) {
      if (name === 'migrate-sql') expect(target.options).toEqual({ output: 'dist/migrations/upgrade.sql' });
      else expect(target.options).toBeUndefined();
    }
  });

  test('a folder with both alembic.ini and pyproject.toml [tool.alembic] is one project, run from the ini', async () => {
    const root = workspace({ 'services/api/alembic.ini': INI, 'services/api/pyproject.toml': TOOL_ALEMBIC });
    const results = await infer(root);
    expect(results.map(([file]) => file)).toEqual(['services/api/alembic.ini']);
    expect(projects(results)['services/api'].targets?.['migrate-run'].options).toBeUndefined();
  });

  test('options rename the targets; the executors, descriptions and caching stay', async () => {
    const root = workspace({ 'services/billing/alembic.ini': INI });
    const options = {
      makeTargetName: 'db-revision',
      runTargetName: 'db-upgrade',
      rollbackTargetName: 'db-downgrade',
      statusTargetName: 'db-current',
      checkTargetName: 'db-check',
      sqlTargetName: 'db-sql',
      verifyTargetName: 'db-verify',
    };
    const { targets } = projects(await infer(root, options))['services/billing'];
    expect(Object.keys(targets ?? {})).toEqual(['db-revision', 'db-upgrade', 'db-downgrade', 'db-current', 'db-check', 'db-sql', 'migrate-rebase', 'db-verify']);
    expect(targets?.['db-check']).toMatchObject({ cache: true, inputs: expect.arrayContaining(['{projectRoot}/alembic.ini']) });
    expect(targets?.['db-sql']).toMatchObject({ cache: true, outputs: ['{projectRoot}/{options.output}'] });
    expect(Object.values(targets ?? {}).map((target) => target.executor)).toEqual(EXECUTORS);
    expect(targets?.['db-upgrade']).toMatchObject({ cache: false, metadata: { description: expect.stringContaining('upgrade head') } });

    const partly = projects(await infer(root, { statusTargetName: 'db-status' }))['services/billing'];
    expect(Object.keys(partly.targets ?? {})).toEqual(['migrate-make', 'migrate-run', 'migrate-rollback', 'db-status', 'migrate-check', 'migrate-sql', 'migrate-rebase', 'migrate-verify']);
  });

  test.each([
    [{ makeTarget: 'x' }, 'fastkit/plugin: unknown option "makeTarget" in nx.json. Use one of makeTargetName, runTargetName, rollbackTargetName, statusTargetName, checkTargetName, sqlTargetName, rebaseTargetName, verifyTargetName, checksums.'],
    [{ runTargetName: 'migrate-make' }, 'fastkit/plugin: options makeTargetName and runTargetName both name the target "migrate-make". Give each target its own name in nx.json.'],
    [{ statusTargetName: '' }, 'fastkit/plugin: option statusTargetName must be a target name without spaces or colons, got "". Fix it in nx.json, or remove it to use "migrate-status".'],
    [{ runTargetName: 'api:run' }, 'fastkit/plugin: option runTargetName must be a target name without spaces or colons, got "api:run". Fix it in nx.json, or remove it to use "migrate-run".'],
    [{ rollbackTargetName: 3 }, 'fastkit/plugin: option rollbackTargetName must be a target name without spaces or colons, got 3. Fix it in nx.json, or remove it to use "migrate-rollback".'],
    ['migrate', 'fastkit/plugin: options in nx.json must be an object, got "migrate".'],
  ])('bad options %j are refused with one line naming the fix', async (options, message) => {
    const root = workspace({ 'services/billing/alembic.ini': INI });
    await expect(infer(root, options as never)).rejects.toThrow(new Error(message));
  });

  test('a file that cannot be read is reported with the fix, and every other project still gets its targets', async () => {
    const root = workspace({
      'services/billing/alembic.ini': INI,
      'services/orders/pyproject.toml': TOOL_ALEMBIC,
      'services/typo/pyproject.toml': '[project]\nname = "typo"\n\n[tool.alembic\nscript_location = "m"\n',
    });
    mkdirSync(join(root, 'services', 'linked'));
    symlinkSync(join(root, 'shared', 'alembic.ini'), join(root, 'services', 'linked', 'alembic.ini'));

    const error = await infer(root).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(AggregateCreateNodesError);
    const { errors, partialResults } = error as InstanceType<typeof AggregateCreateNodesError>;
    expect(errors.map(([file, cause]) => [file, cause.message])).toEqual([
      [
        'services/linked/alembic.ini',
        'Cannot read this file (ENOENT). Make it a readable file, or keep fastkit/plugin away from it with "exclude" in its nx.json entry.',
      ],
      [
        'services/typo/pyproject.toml',
        'Line 4: "[tool.alembic" is not a valid TOML table header, so Alembic cannot read this file either. Fix that line.',
      ],
    ]);
    const found = projects(partialResults);
    expect(Object.keys(found).sort()).toEqual(['services/billing', 'services/orders']);
    expect(Object.keys(found['services/orders'].targets ?? {})).toHaveLength(TARGETS.length);
  });

  test('where Nx has no AggregateCreateNodesError, the error still has its name and shape, which Nx matches by name', async () => {
    const root = workspace({ 'services/billing/alembic.ini': INI });
    mkdirSync(join(root, 'services', 'linked'));
    symlinkSync(join(root, 'missing.ini'), join(root, 'services', 'linked', 'alembic.ini'));
    let isolated: typeof PluginModule | undefined;
    jest.isolateModules(() => {
      jest.doMock('nx/src/project-graph/error-types', () => ({}));
      isolated = require('../../src/plugin');
    });
    try {
      const files = configFiles(root);
      const error = await isolated!.createNodesV2[1](files, {}, { workspaceRoot: root, nxJsonConfiguration: {} }).then(
        () => undefined,
        (thrown: unknown) => thrown as { name: string; errors: Array<[string, Error]>; partialResults: Results; message: string },
      );
      expect(error).not.toBeInstanceOf(AggregateCreateNodesError);
      expect(error?.name).toBe('AggregateCreateNodesError');
      expect(error?.errors.map(([file]) => file)).toEqual(['services/linked/alembic.ini']);
      expect(Object.keys(projects(error!.partialResults))).toEqual(['services/billing']);
      expect(error?.message).toMatch(/^fastkit\/plugin: services\/linked\/alembic.ini: Cannot read this file \(ENOENT\)/);
    } finally {
      jest.dontMock('nx/src/project-graph/error-types');
    }
  });
});

describe('fastkit/plugin caches the computed targets', () => {
  const variables = ['NX_WORKSPACE_DATA_DIRECTORY', 'NX_PROJECT_GRAPH_CACHE_DIRECTORY', 'NX_CACHE_PROJECT_GRAPH'];
  const saved = variables.map((name) => process.env[name]);
  const restore = (values: Array<string | undefined>) =>
    variables.forEach((name, index) => {
      if (values[index] === undefined) delete process.env[name];
      else process.env[name] = values[index];
    });
  beforeEach(() => restore([]));
  afterAll(() => restore(saved));

  function cacheFiles(root: string, dataDirectory = join(root, '.nx', 'workspace-data')): string[] {
    return readdirSync(dataDirectory)
      .filter((name) => /^fastkit-[0-9a-f]+\.hash$/.test(name))
      .map((name) => join(dataDirectory, name));
  }

  /** Marks every cached entry (the offline targets' inputs), so a result read from the cache can be told from a computed one. */
  function markCachedTargets(file: string): void {
    const entries = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { check: unknown[] }>;
    for (const entry of Object.values(entries)) entry.check = ['read from the cache'];
    writeFileSync(file, JSON.stringify(entries));
  }

  const CHECK_INPUTS = ['{projectRoot}/alembic.ini', '{projectRoot}/alembic/versions/*.py', '{projectRoot}/alembic/versions/fastkit.sum'];
  const checkInputsOf = async (root: string, options?: PluginModule.FastkitPluginOptions) => {
    const inputs = projects(await infer(root, options))['services/billing'].targets?.[options?.checkTargetName ?? 'migrate-check'].inputs;
    return JSON.stringify(inputs) === JSON.stringify(['read from the cache']) ? 'read from the cache' : inputs;
  };

  test('reused while nothing changed, recomputed when the ini changes', async () => {
    const root = workspace({ 'services/billing/alembic.ini': INI });
    await infer(root);
    const [cache] = cacheFiles(root);
    expect(Object.keys(JSON.parse(readFileSync(cache, 'utf8')))).toHaveLength(1);

    markCachedTargets(cache);
    const marked = readFileSync(cache, 'utf8');
    expect(await checkInputsOf(root)).toBe('read from the cache');
    expect(readFileSync(cache, 'utf8')).toBe(marked); // nothing changed, nothing written

    appendFileSync(join(root, 'services', 'billing', 'alembic.ini'), '\n[post_write_hooks]\n');
    expect(await checkInputsOf(root)).toEqual(CHECK_INPUTS);
    const entries = JSON.parse(readFileSync(cache, 'utf8'));
    expect(Object.keys(entries)).toHaveLength(1); // the stale entry is dropped
    expect(JSON.stringify(entries)).not.toContain('read from the cache');
  });

  test('other options use their own cache file', async () => {
    const root = workspace({ 'services/billing/alembic.ini': INI });
    await infer(root);
    markCachedTargets(cacheFiles(root)[0]);
    expect(await checkInputsOf(root, { runTargetName: 'db-upgrade' })).toEqual(CHECK_INPUTS);
    expect(cacheFiles(root)).toHaveLength(2);
  });

  test('lives where NX_WORKSPACE_DATA_DIRECTORY says, and is not read when NX_CACHE_PROJECT_GRAPH=false', async () => {
    const root = workspace({ 'services/billing/alembic.ini': INI });
    process.env.NX_WORKSPACE_DATA_DIRECTORY = 'tmp/nx-data';
    await infer(root);
    const [cache] = cacheFiles(root, join(root, 'tmp', 'nx-data'));
    markCachedTargets(cache);
    expect(await checkInputsOf(root)).toBe('read from the cache');
    process.env.NX_CACHE_PROJECT_GRAPH = 'false';
    expect(await checkInputsOf(root)).toEqual(CHECK_INPUTS);
  });
});

describe('the offline targets are cached on exactly what their result depends on', () => {
  const targetsOf = async (root: string, project: string) => projects(await infer(root))[project].targets ?? {};

  test('migrate-check: the ini, the versions folder and the Python pins; migrate-sql: the project Python, DATABASE_URL, the Python of the projects it imports, an output', async () => {
    const root = workspace({
      'uv.lock': '',
      'services/billing/alembic.ini': INI,
      'services/billing/requirements.txt': 'alembic==1.20.0\n',
      'services/billing/requirements-dev.txt': 'pytest\n',
      'services/billing/README.md': 'not a pin\n',
    });
    const targets = await targetsOf(root, 'services/billing');
    expect(targets['migrate-check']).toMatchObject({
      cache: true,
      inputs: [
        '{projectRoot}/alembic.ini',
        '{projectRoot}/alembic/versions/*.py',
        '{projectRoot}/alembic/versions/fastkit.sum',
        '{projectRoot}/requirements-dev.txt',
        '{projectRoot}/requirements.txt',
        '{workspaceRoot}/uv.lock',
      ],
    });
    expect(targets['migrate-check'].outputs).toBeUndefined();
    expect(targets['migrate-sql']).toMatchObject({
      cache: true,
      inputs: [
        '{projectRoot}/alembic.ini',
        '{projectRoot}/**/*.py',
        '{projectRoot}/requirements-dev.txt',
        '{projectRoot}/requirements.txt',
        '{workspaceRoot}/uv.lock',
        { env: 'DATABASE_URL' },
        '^{projectRoot}/**/*.py',
      ],
      outputs: ['{projectRoot}/{options.output}'],
      options: { output: 'dist/migrations/upgrade.sql' },
    });
    for (const name of DATABASE_TARGETS) {
      expect(targets[name].cache).toBe(false);
      expect(targets[name].inputs).toBeUndefined();
      expect(targets[name].outputs).toBeUndefined();
    }
    expect(JSON.stringify(targets)).not.toContain(root); // no absolute path: a shared cache stays valid
  });

  test('migrate-verify: the project Python and the Python of the projects it imports, and the shadow server as dialect and major version in place of DATABASE_URL', async () => {
    const root = workspace({ 'services/billing/alembic.ini': INI, 'services/billing/requirements.txt': 'alembic==1.20.0\n' });
    const verify = (await targetsOf(root, 'services/billing'))['migrate-verify'];
    expect(verify).toMatchObject({
      cache: true,
      inputs: [
        '{projectRoot}/alembic.ini',
        '{projectRoot}/**/*.py',
        '{projectRoot}/requirements.txt',
        { runtime: expect.stringMatching(/^node \S*shadow-key\.js$/) },
        '^{projectRoot}/**/*.py',
      ],
    });
    expect(verify.outputs).toBeUndefined();
    expect(verify.metadata?.description).toMatch(/Cached on the project's Python files and the shadow database's dialect and version\.$/);
    expect(JSON.stringify(verify)).not.toContain(root);
  });

  test('version_locations and prepend_sys_path outside the project become workspace inputs; what cannot be mapped makes the target uncached, saying why', async () => {
    const root = workspace({
      'services/billing/alembic.ini':
        '[alembic]\nscript_location = migrations\npath_separator = os\nversion_locations = %(here)s/migrations/versions:../../shared/versions\nprepend_sys_path = .:../../libs/models\n',
      'services/odd/alembic.ini': '[alembic]\nscript_location = myapp:migrations\n',
      'services/orders/pyproject.toml': '[tool.alembic]\nscript_location = "%(here)s/migrations"\nversion_locations = [\n  "%(here)s/migrations/versions",\n]\n',
    });
    const found = projects(await infer(root));
    expect(found['services/billing'].targets?.['migrate-check'].inputs).toEqual([
      '{projectRoot}/alembic.ini',
      '{projectRoot}/migrations/versions/*.py',
      '{workspaceRoot}/shared/versions/*.py',
      '{projectRoot}/migrations/versions/fastkit.sum',
      '{workspaceRoot}/shared/versions/fastkit.sum',
    ]);
    expect(found['services/billing'].targets?.['migrate-sql'].inputs).toEqual([
      '{projectRoot}/alembic.ini',
      '{projectRoot}/**/*.py',
      '{workspaceRoot}/shared/versions/**/*.py',
      '{workspaceRoot}/libs/models/**/*.py',
      { env: 'DATABASE_URL' },
      '^{projectRoot}/**/*.py',
    ]);
    for (const name of ['migrate-check', 'migrate-sql']) {
      const odd = found['services/odd'].targets![name];
      expect(odd.cache).toBe(false);
      expect(odd.inputs).toBeUndefined();
      expect(odd.outputs).toBeUndefined();
      expect(odd.metadata?.description).toMatch(/without a database(?: \(alembic upgrade head --sql\))?\. Not cached: script_location names myapp:migrations, a package resource\.$/);
    }
    expect(found['services/odd'].targets!['migrate-sql'].options).toEqual({ output: 'dist/migrations/upgrade.sql' });
    expect(found['services/orders'].targets?.['migrate-check'].inputs).toEqual([
      '{projectRoot}/pyproject.toml',
      '{projectRoot}/migrations/versions/*.py',
      '{projectRoot}/migrations/versions/fastkit.sum',
    ]);
  });

  test('a pin file added later changes the inputs (the targets are computed again)', async () => {
    const root = workspace({ 'services/billing/alembic.ini': INI });
    expect((await targetsOf(root, 'services/billing'))['migrate-check'].inputs).toEqual([
      '{projectRoot}/alembic.ini',
      '{projectRoot}/alembic/versions/*.py',
      '{projectRoot}/alembic/versions/fastkit.sum',
    ]);
    writeFileSync(join(root, 'services', 'billing', 'poetry.lock'), '');
    expect((await targetsOf(root, 'services/billing'))['migrate-check'].inputs).toContain('{projectRoot}/poetry.lock');
  });

  test('migrate-make runs the sync-models sync generator first; no other target has one', async () => {
    const root = workspace({ 'services/billing/alembic.ini': INI });
    const targets = await targetsOf(root, 'services/billing');
    expect(targets['migrate-make'].syncGenerators).toEqual(['fastkit:sync-models']);
    for (const name of TARGETS.filter((target) => target !== 'migrate-make')) expect(targets[name].syncGenerators).toBeUndefined();
  });
});
