/**
 * A real Nx workspace in a temporary folder outside the repository, with fastkit installed
 * from its packed tarball exactly as a user installs it, and the example service copied in as
 * the project `api` (apps/api) with explicit fastkit targets. For end-to-end tests on any
 * Nx version: `createNxWorkspace({ nxVersion: '22' })`.
 *
 * Installing is the slow part: create one workspace per spec file (in beforeAll) and call
 * `resetProject()` between flows.
 */
import { cpSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXAMPLE, REPO, run, tempDir, VENV, type Ran } from './workspace';

export interface NxWorkspaceOptions {
  /** The Nx version to install: a major (`'24'`) or an exact version (`'23.3.2'`). */
  nxVersion: string;
  /**
   * The `@nx/devkit` installed beside nx. A real Nx workspace already has the devkit of its
   * own Nx version (every `@nx/*` plugin brings it), and fastkit's range (>=22 <25) then reuses
   * it; left to itself, npm picks the newest devkit, whose peer range may exclude this Nx
   * (devkit 24 wants nx >= 23). `false` installs no devkit of the workspace's own.
   * @default nxVersion
   */
  devkitVersion?: string | false;
  /** More packages for the same, single `npm install`, e.g. `['gulp@5']`. */
  packages?: string[];
}

export interface NxWorkspace {
  /** The workspace root (a temporary folder). */
  root: string;
  /** The project `api`: `<root>/apps/api`, a copy of examples/api without revisions. */
  project: string;
  /** The environment the doors run with: the repository's venv active, no Nx daemon or cloud. */
  env: Record<string, string | undefined>;
  /** The workspace's own `nx` CLI, run in the root. */
  nx(args: string[], env?: Record<string, string | undefined>): Ran;
  /** A binary of the workspace's node_modules/.bin, e.g. `fastkit` or `gulp`. */
  bin(name: string, args: string[], options?: { cwd?: string; env?: Record<string, string | undefined> }): Ran;
  /** Puts apps/api back as it was: the example's files, no revisions, no database. */
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

let packed: string | undefined;

/**
 * `npm pack` of this repository as built (`npm test` builds first), once per test file.
 * `--ignore-scripts` skips the prepack build, so spec files packing at the same time never
 * rebuild dist/ under each other's feet.
 */
export function packFastkit(): string {
  if (packed && existsSync(packed)) return packed;
  if (!existsSync(join(REPO, 'dist', 'src', 'cli.js'))) throw new Error('fastkit is not built: run `npm run build` first');
  const destination = tempDir('fastkit-pack-');
  const result = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', destination], {
    cwd: REPO,
    env: cleanEnv(),
  });
  if (result.code !== 0) throw new Error(`npm pack failed:\n${result.all}`);
  const [{ filename }] = JSON.parse(result.stdout) as Array<{ filename: string }>;
  packed = join(destination, filename);
  return packed;
}

/** Creates the workspace and installs nx, fastkit's tarball and `packages` in one `npm install`. */
export function createNxWorkspace(options: NxWorkspaceOptions): NxWorkspace {
  const tarball = packFastkit();
  const root = tempDir(`fastkit-nx${options.nxVersion.split('.')[0]}-`);
  const project = join(root, 'apps', 'api');
  const env = {
    ...cleanEnv(),
    VIRTUAL_ENV: VENV,
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_TUI: 'false',
  };

  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'fastkit-e2e', private: true }, null, 2) + '\n');
  writeFileSync(join(root, 'nx.json'), JSON.stringify({ $schema: './node_modules/nx/schemas/nx-schema.json' }, null, 2) + '\n');
  const devkit = options.devkitVersion ?? options.nxVersion;
  const packages = [tarball, `nx@${options.nxVersion}`, ...(devkit ? [`@nx/devkit@${devkit}`] : []), ...(options.packages ?? [])];
  const installed = run('npm', ['install', '--save-dev', ...NPM_INSTALL_FLAGS, ...packages], { cwd: root, env, timeout: 600_000 });
  if (installed.code !== 0) throw new Error(`npm install ${packages.join(' ')} failed:\n${installed.all}`);

  const resetProject = () => {
    rmSync(project, { recursive: true, force: true });
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
 * blank lines dropped.
 */
export function taskOutput(stream: string): string {
  const lines = stream.split('\n');
  const start = lines.findIndex((line) => /^> nx run /.test(line.trim()));
  const end = lines.findIndex((line, index) => index > start && /^\s*(NX\s{2,}|Run duration:)/.test(line));
  return lines
    .slice(start + 1, end === -1 ? undefined : end)
    .filter((line) => line.trim() !== '')
    .join('\n');
}
