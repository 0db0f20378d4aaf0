/**
 * A real Nx workspace in a temporary folder outside the repository, with fastkit installed
 * from its packed tarball exactly as a user installs it, and the example service copied in as
 * the project `api` (apps/api) with explicit fastkit targets. For end-to-end tests on any
 * Nx version: `createNxWorkspace({ nxVersion: '22' })`. With `fastkit: false, api: 'fastapi'`
 * it is instead a workspace before fastkit: nx alone, and apps/api a FastAPI app without Alembic.
 *
 * Installing is the slow part: create one workspace per spec file (in beforeAll) and call
 * `resetProject()` between flows; for several (one per Nx version), `createNxWorkspaces`
 * installs them side by side.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXAMPLE, NX_ENV, REPO, run, runAsync, tempDir, type Ran } from './workspace';

export interface NxWorkspaceOptions {
  /** The Nx version to install: a major (`'24'`) or an exact version (`'23.3.2'`). */
  nxVersion: string;
  /**
   * The `@nx/devkit` installed beside nx, as in a real Nx workspace, where every `@nx/*`
   * plugin brings the devkit of its own Nx version. `false` installs none: a workspace with
   * nx alone, where fastkit brings its own devkit.
   * @default nxVersion
   */
  devkitVersion?: string | false;
  /**
   * Whether fastkit's tarball is part of the install. `false` leaves it out, for a test that
   * adds it as a user does (`nx add fastkit@file:<packFastkit()>`).
   * @default true
   */
  fastkit?: boolean;
  /**
   * What apps/api starts as: `'example'` is examples/api (Alembic set up, models, no
   * revisions) with explicit fastkit targets in its project.json; `'fastapi'` is a FastAPI app
   * with a project.json of its own and nothing of Alembic yet, for the generators to set up.
   * @default 'example'
   */
  api?: 'example' | 'fastapi';
  /** More packages for the same, single `npm install`, e.g. `['gulp@5']`. */
  packages?: string[];
  /**
   * Whether nx loads each plugin in a worker of its own, as it does by default for users.
   * `false` (the tests' default, NX_ENV) loads them in the nx process: half the time per call.
   * @default false
   */
  isolatePlugins?: boolean;
}

export interface NxWorkspace {
  /** The workspace root (a temporary folder). */
  root: string;
  /** The project `api`: `<root>/apps/api`, as `options.api` says. */
  project: string;
  /**
   * The environment the doors run with: the repository's venv active, no Nx daemon or cloud,
   * and npm set as for the workspace's own install (for the npm that `nx add` runs).
   */
  env: Record<string, string | undefined>;
  /** The workspace's own `nx` CLI, run in the root. */
  nx(args: string[], env?: Record<string, string | undefined>): Ran;
  /** A binary of the workspace's node_modules/.bin, e.g. `fastkit` or `gulp`. */
  bin(name: string, args: string[], options?: { cwd?: string; env?: Record<string, string | undefined> }): Ran;
  /** Puts apps/api back as it was at the start: no revisions, no database. */
  resetProject(): void;
  remove(): void;
}

/** The explicit targets of apps/api/project.json (no inferred-targets plugin involved). */
export const API_TARGETS = {
  'migrate-make': { executor: 'fastkit:migrate-make' },
  'migrate-run': { executor: 'fastkit:migrate-run' },
  'migrate-rollback': { executor: 'fastkit:migrate-rollback' },
  'migrate-status': { executor: 'fastkit:migrate-status' },
};

const NPM_INSTALL_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'];
/** The same settings for an npm that Nx starts itself: `nx add` runs `npm install -D <package>`. */
const NPM_CONFIG_ENV = {
  npm_config_prefer_offline: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_ignore_scripts: 'true',
};

/** apps/api of `api: 'fastapi'`: a service with an app and its requirements, before Alembic. */
const FASTAPI_APP = {
  'project.json':
    JSON.stringify({ name: 'api', $schema: '../../node_modules/nx/schemas/project-schema.json', projectType: 'application' }, null, 2) + '\n',
  'main.py': 'from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get("/health")\ndef health() -> dict[str, str]:\n    return {"status": "ok"}\n',
  'requirements.txt': 'fastapi>=0.110\nsqlalchemy>=2.0,<2.1\nalembic>=1.13\npsycopg[binary]>=3.1\n',
};

let packed: string | undefined;

/**
 * `npm pack` of this repository as built (`npm test` builds first), once per run: the first
 * test file to ask packs it into the run's folder (FASTKIT_TEST_RUN_DIR, test/global-setup.js),
 * the others install that tarball. A file run outside `npm test` packs for itself.
 * `--ignore-scripts` skips the prepack build, so spec files packing at the same time never
 * rebuild dist/ under each other's feet.
 */
export function packFastkit(): string {
  if (packed && existsSync(packed)) return packed;
  if (!existsSync(join(REPO, 'dist', 'src', 'cli.js'))) throw new Error('fastkit is not built: run `npm run build` first');
  const runDir = process.env.FASTKIT_TEST_RUN_DIR;
  const shared = runDir && existsSync(runDir) ? join(runDir, 'pack') : undefined;
  const earlier = shared && existsSync(shared) ? readdirSync(shared).find((name) => name.endsWith('.tgz')) : undefined;
  if (shared && earlier) return (packed = join(shared, earlier));
  const destination = tempDir('fastkit-pack-');
  const result = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', destination], {
    cwd: REPO,
    env: cleanEnv(),
  });
  if (result.code !== 0) throw new Error(`npm pack failed:\n${result.all}`);
  const [{ filename }] = JSON.parse(result.stdout) as Array<{ filename: string }>;
  packed = join(destination, filename);
  if (shared) {
    // a rename is atomic: a file packing at the same moment replaces it with the same bytes
    mkdirSync(shared, { recursive: true });
    renameSync(packed, join(shared, filename));
    packed = join(shared, filename);
  }
  return packed;
}

/** Creates the workspace and installs nx, fastkit's tarball (unless `fastkit: false`) and `packages` in one `npm install`. */
export function createNxWorkspace(options: NxWorkspaceOptions): NxWorkspace {
  const planned = planWorkspace(options);
  return openWorkspace(planned, run('npm', planned.install, { cwd: planned.root, env: planned.env, timeout: INSTALL_TIMEOUT }));
}

/**
 * Several workspaces, their installs side by side: npm spends most of an install waiting on
 * the registry and the disk, so three take little longer than one.
 */
export async function createNxWorkspaces(list: NxWorkspaceOptions[]): Promise<NxWorkspace[]> {
  const planned = list.map(planWorkspace);
  const installed = await Promise.all(planned.map((plan) => runAsync('npm', plan.install, { cwd: plan.root, env: plan.env, timeout: INSTALL_TIMEOUT })));
  return planned.map((plan, index) => openWorkspace(plan, installed[index]));
}

const INSTALL_TIMEOUT = 600_000;

interface PlannedWorkspace {
  options: NxWorkspaceOptions;
  root: string;
  env: Record<string, string | undefined>;
  /** The arguments of its one `npm install`. */
  install: string[];
}

/** The workspace's folder with its package.json and nx.json, and the install it needs. */
function planWorkspace(options: NxWorkspaceOptions): PlannedWorkspace {
  const root = tempDir(`fastkit-nx${options.nxVersion.split('.')[0]}-`);
  const env = {
    ...cleanEnv(),
    ...NX_ENV,
    NX_ISOLATE_PLUGINS: String(options.isolatePlugins ?? false),
    ...NPM_CONFIG_ENV,
  };
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'fastkit-e2e', private: true }, null, 2) + '\n');
  writeFileSync(join(root, 'nx.json'), JSON.stringify({ $schema: './node_modules/nx/schemas/nx-schema.json' }, null, 2) + '\n');
  const devkit = options.devkitVersion ?? options.nxVersion;
  const fastkit = options.fastkit === false ? [] : [packFastkit()];
  const packages = [...fastkit, `nx@${options.nxVersion}`, ...(devkit ? [`@nx/devkit@${devkit}`] : []), ...(options.packages ?? [])];
  return { options, root, env, install: ['install', '--save-dev', ...NPM_INSTALL_FLAGS, ...packages] };
}

/** The workspace once its install has run: apps/api in place, and the commands to drive it. */
function openWorkspace({ options, root, env, install }: PlannedWorkspace, installed: Ran): NxWorkspace {
  if (installed.code !== 0) throw new Error(`npm ${install.join(' ')} failed:\n${installed.all}`);
  const project = join(root, 'apps', 'api');

  const resetProject = () => {
    rmSync(project, { recursive: true, force: true });
    if (options.api === 'fastapi') {
      mkdirSync(project, { recursive: true });
      for (const [file, content] of Object.entries(FASTAPI_APP)) writeFileSync(join(project, file), content);
      return;
    }
    cpSync(EXAMPLE, project, {
      recursive: true,
      filter: (source) => !/\.db$|__pycache__|project\.json$/.test(source),
    });
    const versions = join(project, 'alembic', 'versions');
    for (const file of readdirSync(versions)) if (file.endsWith('.py')) rmSync(join(versions, file));
    writeFileSync(
      join(project, 'project.json'),
      JSON.stringify({ name: 'api', $schema: '../../node_modules/nx/schemas/project-schema.json', root: 'apps/api', targets: API_TARGETS }, null, 2) +
        '\n',
    );
  };
  resetProject();

  const bin = (name: string, args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}) =>
    run(join(root, 'node_modules', '.bin', name), args, { cwd: options.cwd ?? root, env: { ...env, ...options.env } });

  return {
    root,
    project,
    env,
    nx: (args, extraEnv) => bin('nx', args, { env: extraEnv }),
    bin,
    resetProject,
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/**
 * This process's environment without what `npm test` and a surrounding Nx run put in it
 * (npm_config_local_prefix and friends would point a nested npm at this repository).
 */
function cleanEnv(): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm_|NX_)/i.test(key)));
}

/**
 * What a task printed on one stream (Nx passes a task's stdout and stderr on separately):
 * the lines after Nx's `> nx run project:target` header (if that stream has it) and before
 * Nx's closing summary (` NX   Successfully ran …`, ` NX   Running target … failed`, `Run duration:`),
 * blank lines dropped, and the header again where Nx repeats it (Nx 24 names a task it ran as a
 * batch of one before its output, as it starts, and again once it has ended).
 */
export function taskOutput(stream: string): string {
  const lines = stream.split('\n');
  const start = lines.findIndex((line) => /^> nx run /.test(line.trim()));
  const end = lines.findIndex((line, index) => index > start && /^\s*(NX\s{2,}|Run duration:)/.test(line));
  return lines
    .slice(start + 1, end === -1 ? undefined : end)
    .filter((line) => line.trim() !== '' && line.trim() !== lines[start]?.trim())
    .join('\n');
}
