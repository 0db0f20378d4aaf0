/**
 * The generators as a user runs them: the real `nx` CLI in a temporary workspace that has
 * fastkit installed (its node_modules are the repository's, where fastkit links to this build).
 */
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NX_ENV, REPO, run, tempDir } from '../support/workspace';
import { PLUGIN_ENTRY } from '../support/plugin-entry';
import { ALEMBIC_SETUP_FILES } from '../support/alembic-setup-files';

const NX = join(REPO, 'node_modules', 'nx', 'dist', 'bin', 'nx.js');

function nxWorkspace(): string {
  const workspace = tempDir('fastkit-nx-');
  mkdirSync(join(workspace, 'apps', 'shop'), { recursive: true });
  writeFileSync(join(workspace, 'package.json'), JSON.stringify({ name: 'ws', private: true }) + '\n');
  writeFileSync(join(workspace, 'nx.json'), '{}\n');
  writeFileSync(join(workspace, 'apps', 'shop', 'project.json'), JSON.stringify({ name: 'shop', root: 'apps/shop' }) + '\n');
  symlinkSync(join(REPO, 'node_modules'), join(workspace, 'node_modules'), 'dir');
  return workspace;
}

/** Every file under a folder, relative to it, for "nothing was written" checks. */
function listing(folder: string, prefix = ''): string[] {
  return readdirSync(folder, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory() ? listing(join(folder, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
    )
    .sort();
}

describe('nx g fastkit:… in a real Nx workspace', () => {
  const workspace = nxWorkspace();
  const shop = join(workspace, 'apps', 'shop');
  const nx = (...args: string[]) =>
    run(process.execPath, [NX, ...args, '--no-interactive'], {
      cwd: workspace,
      env: { ...process.env, ...NX_ENV, NX_SKIP_NX_CACHE: 'true' },
    });

  test('alembic-setup --dry-run lists the files it would write and writes none', () => {
    const dry = nx('g', 'fastkit:alembic-setup', '--project', 'shop', '--dry-run');
    expect(dry.code).toBe(0);
    for (const file of ['alembic.ini', 'alembic/env.py', 'alembic/script.py.mako', 'alembic/versions/.gitkeep', 'database.py']) {
      expect(dry.stdout).toContain(`CREATE apps/shop/${file}`);
    }
    expect(dry.all).toContain('NOTE: The "dryRun" flag means no changes were made.');
    expect(listing(shop)).toEqual(['project.json']);
  });

  test('alembic-setup writes them and says what to do next', () => {
    const setup = nx('g', 'fastkit:alembic-setup', '--project', 'shop');
    expect(setup.code).toBe(0);
    expect(listing(shop)).toEqual(ALEMBIC_SETUP_FILES);
    expect(setup.stdout).toContain('Next: nx g fastkit:module invoices --project shop');
  });

  test('module invoices (the name positional) writes the module and registers it in env.py', () => {
    const added = nx('g', 'fastkit:module', 'invoices', '--project', 'shop');
    expect(added.code).toBe(0);
    expect(added.stdout).toContain('CREATE apps/shop/modules/invoices/models.py');
    expect(added.stdout).toContain('UPDATE apps/shop/alembic/env.py');
    expect(readFileSync(join(shop, 'alembic', 'env.py'), 'utf8')).toContain(
      '# fastkit:models begin\nfrom modules.invoices.models import Invoice  # noqa: F401\n# fastkit:models end',
    );
  });

  test('module invoices again changes nothing', () => {
    const before = readFileSync(join(shop, 'alembic', 'env.py'), 'utf8');
    const again = nx('g', 'fastkit:module', 'invoices', '--project', 'shop');
    expect(again.code).toBe(0);
    expect(again.stdout).not.toMatch(/^(CREATE|UPDATE) /m);
    expect(again.stdout).toContain('Module invoices is already in place; nothing changed.');
    expect(readFileSync(join(shop, 'alembic', 'env.py'), 'utf8')).toBe(before);
  });

  test('a bad module name fails with one line, exit 1, and writes nothing', () => {
    const before = listing(shop);
    const bad = nx('g', 'fastkit:module', '../x', '--project', 'shop');
    expect(bad.code).toBe(1);
    expect(bad.all).toContain('Module name "../x" is a path. Give a plain snake_case name');
    expect(bad.all).not.toMatch(/\n\s+at /); // no stack trace
    expect(listing(shop)).toEqual(before);
  });

  // Nx's command line reads `--sqlalchemy=1.4` as a number: the option must take it all the same
  test('module --sqlalchemy=1.4 writes 1.4 model code whatever the venv has; --sqlalchemy=3 is refused in one line, writing nothing', () => {
    const chosen = nx('g', 'fastkit:module', 'orders', '--project', 'shop', '--sqlalchemy=1.4');
    expect({ code: chosen.code, output: chosen.code === 0 ? '' : chosen.all }).toEqual({ code: 0, output: '' });
    const models = readFileSync(join(shop, 'modules', 'orders', 'models.py'), 'utf8');
    expect(models).toContain('id = Column(Integer, primary_key=True)');
    expect(models).not.toContain('Mapped');

    const before = listing(shop);
    const bad = nx('g', 'fastkit:module', 'payments', '--project', 'shop', '--sqlalchemy=3');
    expect(bad.code).toBe(1);
    expect(bad.all).toContain('sqlalchemy must be 1.4 or 2, not "3". Give --sqlalchemy=1.4 or --sqlalchemy=2');
    expect(bad.all).not.toMatch(/\n\s+at /);
    expect(listing(shop)).toEqual(before);
  });

  test('alembic-setup over a changed alembic.ini stops, naming it; --force overwrites it', () => {
    const ini = join(shop, 'alembic.ini');
    writeFileSync(ini, readFileSync(ini, 'utf8') + '\n# my change\n');
    const changed = readFileSync(ini, 'utf8');
    const refused = nx('g', 'fastkit:alembic-setup', '--project', 'shop');
    expect(refused.code).toBe(1);
    expect(refused.all).toContain(
      'apps/shop/alembic.ini already exists with other content. Nothing was written. Move it aside, or pass --force to overwrite it',
    );
    expect(readFileSync(ini, 'utf8')).toBe(changed);

    const forced = nx('g', 'fastkit:alembic-setup', '--project', 'shop', '--force');
    expect(forced.code).toBe(0);
    expect(readFileSync(ini, 'utf8')).not.toContain('# my change');
  });

  // Last: once nx.json names fastkit/plugin, every nx command loads it.
  test('init (and its alias ng-add) registers fastkit/plugin in nx.json', () => {
    const dry = nx('g', 'fastkit:ng-add', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('UPDATE nx.json');
    const init = nx('g', 'fastkit:init');
    expect(init.code).toBe(0);
    expect(JSON.parse(readFileSync(join(workspace, 'nx.json'), 'utf8')).plugins).toEqual([PLUGIN_ENTRY]);
  });
});
