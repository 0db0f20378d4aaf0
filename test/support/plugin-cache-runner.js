/**
 * fastkit/plugin's createNodes on one workspace, twice per request: as the nx process runs it
 * (Nx's workspace context loaded, so projects whose folders Nx hashes unchanged come from the
 * plugin's cache) and reading every file (no Nx context, a cache folder of its own that is
 * thrown away). A request is a line with the workspace root; the answer a line of JSON:
 * `{ kept, read, opened }`, each result as Nx would receive it, and the configs the first run
 * opened. test/integration/plugin-cache-differential.spec.ts drives it.
 *
 *   node plugin-cache-runner.js <repository>
 */
const fs = require('node:fs');
const { join } = require('node:path');
const { createInterface } = require('node:readline');

const repository = process.argv[2];
const contextPath = require.resolve('nx/src/utils/workspace-context', { paths: [repository] });
const workspaceContext = require(contextPath);
const contextModule = require.cache[contextPath];
const { createNodes } = require(join(repository, 'dist', 'src', 'plugin.js'));
const [glob, infer] = createNodes;

// which configs a run opens: the plugin reads each in three system calls, the first an open
let opened = [];
const open = fs.openSync;
fs.openSync = (path, ...rest) => {
  opened.push(String(path));
  return open(path, ...rest);
};

async function inferred(root, configFiles) {
  const context = { workspaceRoot: root, nxJsonConfiguration: {} };
  try {
    return { results: await infer(configFiles, undefined, context) };
  } catch (error) {
    return { error: error.message, results: error.partialResults };
  }
}

async function answer(root) {
  // Nx starts each process with a walk of the workspace (its file hashes kept by modification time)
  workspaceContext.resetWorkspaceContext();
  workspaceContext.setupWorkspaceContext(root);
  const configFiles = await workspaceContext.globWithWorkspaceContext(root, [glob]);

  opened = [];
  delete process.env.NX_WORKSPACE_DATA_DIRECTORY;
  const kept = await inferred(root, configFiles);
  const openedKept = opened.filter((path) => /(alembic\.ini|pyproject\.toml)$/.test(path));

  // without Nx's context the plugin finds no hashes and reads every config, into a cache of its own
  const throwaway = fs.mkdtempSync(join(root, '..', 'plugin-cache-cold-'));
  delete require.cache[contextPath];
  process.env.NX_WORKSPACE_DATA_DIRECTORY = throwaway;
  try {
    const read = await inferred(root, configFiles);
    return { kept, read, opened: openedKept };
  } finally {
    require.cache[contextPath] = contextModule;
    fs.rmSync(throwaway, { recursive: true, force: true });
    delete process.env.NX_WORKSPACE_DATA_DIRECTORY;
  }
}

const lines = createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on('line', (root) => {
  queue = queue.then(async () => process.stdout.write(`${JSON.stringify(await answer(root))}\n`));
});
