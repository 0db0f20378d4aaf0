/**
 * fastkit/plugin in a real Nx workspace driven by the repository's real `nx` CLI: the projects
 * and targets `nx show` lists, project.json winning over inferred targets, a broken file
 * reported, and an inferred target run against real Alembic.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { EXAMPLE, NX_ENV, REPO, run, tempDir } from '../support/workspace';

const NX = join(REPO, 'node_modules', '.bin', 'nx');
/** The targets that read or change a database: never cached. */
const TARGETS = ['migrate-make', 'migrate-run', 'migrate-rollback', 'migrate-status', 'migrate-rebase'];
/** The offline targets: cached. */
const OFFLINE = ['migrate-check', 'migrate-sql'];
/** Cached too, on a shadow database of its own. */
const SHADOW = 'migrate-verify';

describe('fastkit/plugin under the real nx CLI', () => {
  const root = tempDir('fastkit-nx-');
  // Nx keeps its own caches here, so running nx in the repository below leaves it untouched.
  const nxData = mkdtempSync(join(tmpdir(), 'fastkit-nx-data-'));
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(nxData, { recursive: true, force: true });
  });

  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  const nx = (args: string[], cwd = root, env: Record<string, string> = {}) =>
    run(NX, args, {
      cwd,
      env: { ...process.env, ...NX_ENV, ...env },
    });
  const showProject = (name: string) => {
    const shown = nx(['show', 'project', name, '--json']);
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    return JSON.parse(shown.stdout) as { root: string; metadata?: { technologies?: string[] }; targets: Record<string, Record<string, any>> };
  };

  beforeAll(() => {
    symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
    write('package.json', JSON.stringify({ name: 'shop', private: true }));
    write('nx.json', JSON.stringify({ plugins: [{ plugin: 'fastkit/plugin' }] }));
    // ledger: the example service with nothing but its Alembic files, no project.json
    cpSync(EXAMPLE, join(root, 'services', 'ledger'), {
      recursive: true,
      filter: (source) => !/\.db$|__pycache__|project\.json$/.test(source),
    });
    write('services/billing/alembic.ini', '[alembic]\nscript_location = %(here)s/alembic\n');
    write(
      'services/billing/project.json',
      JSON.stringify({
        name: 'billing',
        targets: {
          'migrate-status': { command: 'echo billing status from project.json' },
          'migrate-run': { executor: 'fastkit:migrate-run', options: { args: ['-x', 'tenant=acme'] } },
        },
      }),
    );
    write('services/orders/pyproject.toml', '[project]\nname = "orders"\n\n[tool.alembic]\nscript_location = "%(here)s/migrations"\n');
    write('apps/web/pyproject.toml', '[project]\nname = "web"\ndependencies = ["alembic"]\n');
  });

  test('nx show projects lists every folder with an Alembic config, and only those', () => {
    const shown = nx(['show', 'projects', '--json']);
    expect(shown.code).toBe(0);
    expect((JSON.parse(shown.stdout) as string[]).sort()).toEqual(['billing', 'ledger', 'orders']);
  });

  test('a folder with only an alembic.ini gets the eight targets, described; only the offline ones and migrate-verify cached', () => {
    const ledger = showProject('ledger');
    expect(ledger.root).toBe('services/ledger');
    expect(ledger.metadata?.technologies).toEqual(['alembic']);
    expect(Object.keys(ledger.targets).sort()).toEqual([...TARGETS, ...OFFLINE, SHADOW].sort());
    expect(ledger.targets[SHADOW]).toMatchObject({
      executor: `fastkit:${SHADOW}`,
      cache: true,
      inputs: expect.arrayContaining(['{projectRoot}/**/*.py', { runtime: expect.stringMatching(/^node \S*shadow-key\.js$/) }]),
      metadata: { description: expect.stringMatching(/shadow database's dialect and version/) },
    });
    for (const name of OFFLINE) {
      expect(ledger.targets[name]).toMatchObject({
        executor: `fastkit:${name}`,
        cache: true,
        inputs: expect.arrayContaining(['{projectRoot}/alembic.ini']),
        metadata: { description: expect.stringMatching(/alembic/i) },
      });
    }
    expect(ledger.targets['migrate-sql'].outputs).toEqual(['{projectRoot}/{options.output}']);
    for (const name of TARGETS) {
      expect(ledger.targets[name]).toMatchObject({
        executor: `fastkit:${name}`,
        cache: false,
        metadata: { description: expect.stringMatching(/alembic/i) },
      });
    }
  });

  test('a project.json target of the same name wins: replaced when it runs something else, merged when it sets options', () => {
    const billing = showProject('billing');
    expect(billing.targets['migrate-status']).toMatchObject({
      executor: 'nx:run-commands',
      options: { command: 'echo billing status from project.json' },
    });
    expect(billing.targets['migrate-status'].cache).toBeUndefined();
    expect(billing.targets['migrate-run']).toMatchObject({
      executor: 'fastkit:migrate-run',
      cache: false,
      options: { args: ['-x', 'tenant=acme'] },
      metadata: { description: 'Applies every pending migration (alembic upgrade head). Never cached.' },
    });
    expect(billing.targets['migrate-make']).toMatchObject({ executor: 'fastkit:migrate-make', cache: false });
  });

  test('a pyproject.toml project runs its targets with config: "pyproject.toml"', () => {
    const orders = showProject('orders');
    for (const name of [...TARGETS, 'migrate-check', SHADOW]) expect(orders.targets[name].options).toEqual({ config: 'pyproject.toml' });
    expect(orders.targets['migrate-sql'].options).toEqual({ config: 'pyproject.toml', output: 'dist/migrations/upgrade.sql' });
  });

  test('an inferred target runs with no options: nx run ledger:migrate-status lists the pending migrations', () => {
    const status = nx(['run', 'ledger:migrate-status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('No migration applied (base)');
    expect(status.stdout).toMatch(/2 pending migrations:\n {2}\w{12} {2}create clients\n {2}\w{12} {2}create invoices/);
    expect(status.stdout).toContain('Apply them with `nx run ledger:migrate-run`');
  });

  test('what the real nx run hands an executor (Nx 24): an option it does not know is refused before anything runs', () => {
    const ledger = join(root, 'services', 'ledger');
    for (const [target, flag, option] of [
      ['migrate-run', '--dry-run', '--dry-run'],
      ['migrate-run', '--sql', '--sql'],
      ['migrate-rollback', '--revision=base', '--revision'],
    ]) {
      const ran = nx(['run', `ledger:${target}`, flag]);
      expect(ran.code).toBe(1);
      expect(ran.all.split('\n').filter((line) => line.startsWith('fastkit: '))).toEqual([
        `fastkit: Unknown option '${option}' for ${target}. See \`nx run ledger:${target} --help\` for its options.`,
      ]);
      expect(ran.all).not.toContain('Running upgrade');
    }
    expect(existsSync(join(ledger, 'api.db'))).toBe(false); // no database was even opened
  });

  test('nx run ledger:migrate-make -m 123: Nx parses 123 as a number, fastkit takes it as the message', () => {
    const versions = join(root, 'services', 'ledger', 'alembic', 'versions');
    const before = new Set(readdirSync(versions));
    const made = nx(['run', 'ledger:migrate-make', '-m', '123', '--autogenerate=false']);
    const added = readdirSync(versions).filter((file) => !before.has(file));
    try {
      expect(made.all.split('\n').filter((line) => line.startsWith('fastkit: '))).toEqual([]);
      expect(made.code).toBe(0);
      expect(added.sort()).toEqual([expect.stringMatching(/^\d{8}_\d{6}_123\.py$/), 'fastkit.sum']); // make records it in the checksum file
      expect(readFileSync(join(versions, added[0]), 'utf8')).toMatch(/^"""123$/m);
    } finally {
      for (const file of added) rmSync(join(versions, file));
    }
  });

  test('a broken pyproject.toml fails the graph with its file, line and fix named', () => {
    write('services/typo/pyproject.toml', '[project]\nname = "typo"\n\n[tool.alembic\nscript_location = "m"\n');
    try {
      const shown = nx(['show', 'projects']);
      expect(shown.code).not.toBe(0);
      expect(shown.all).toContain('An error occurred while processing files for the fastkit/plugin plugin');
      expect(shown.all).toContain('services/typo/pyproject.toml');
      expect(shown.all).toContain('Line 4: "[tool.alembic" is not a valid TOML table header, so Alembic cannot read this file either. Fix that line.');
    } finally {
      rmSync(join(root, 'services', 'typo'), { recursive: true });
    }
    expect(nx(['show', 'projects']).code).toBe(0);
  });

  test("the repository's own workspace: project api gets its migrate targets from the plugin", () => {
    const shown = nx(['show', 'project', 'api', '--json'], REPO, {
      NX_WORKSPACE_DATA_DIRECTORY: nxData,
      NX_CACHE_DIRECTORY: join(nxData, 'cache'),
    });
    expect(shown.code).toBe(0);
    const api = JSON.parse(shown.stdout) as { root: string; metadata?: { technologies?: string[] }; targets: Record<string, Record<string, unknown>> };
    expect(api.root).toBe('examples/api');
    expect(api.metadata?.technologies).toEqual(['alembic']);
    for (const name of TARGETS) {
      expect(api.targets[name]).toMatchObject({ executor: `fastkit:${name}`, cache: false, metadata: { description: expect.any(String) } });
    }
    for (const name of OFFLINE) {
      expect(api.targets[name]).toMatchObject({ executor: `fastkit:${name}`, cache: true, metadata: { description: expect.any(String) } });
    }
  });
});
