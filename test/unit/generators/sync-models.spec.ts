/**
 * The sync-models sync generator on Nx's test tree: projects set up by the real generators,
 * modules added and removed by hand the way people do, env.py compiled by the venv's Python.
 */
import { logger, type Tree } from '@nx/devkit';
import alembicSetup from '../../../generators/alembic-setup/generator';
import moduleGenerator from '../../../generators/module/generator';
import syncModels from '../../../generators/sync-models/generator';
import { BLOCK_BEGIN, BLOCK_END } from '../../../src/model-imports';
import { revision } from '../../support/revisions';
import { blockOf, filesOf, pythonCompileError, ROOT, stockEnvPy, workspaceWithApi } from './tree';

const ENV = `${ROOT}/alembic/env.py`;
const read = (tree: Tree, path: string) => tree.read(path, 'utf-8') ?? '';

/** A model file as a person writes it by hand (no generator), on the project's Base. */
function handWrittenModule(tree: Tree, name: string, className: string, root = ROOT): void {
  tree.write(`${root}/modules/${name}/__init__.py`, '');
  tree.write(
    `${root}/modules/${name}/models.py`,
    [
      'from sqlalchemy import Integer',
      'from sqlalchemy.orm import Mapped, mapped_column',
      '',
      'from database import Base',
      '',
      '',
      `class ${className}(Base):`,
      `    __tablename__ = "${name}"`,
      '',
      '    id: Mapped[int] = mapped_column(Integer, primary_key=True)',
      '',
    ].join('\n'),
  );
}

/** Removes a folder from the tree, as `rm -r` does on disk. */
function removeFolder(tree: Tree, folder: string): void {
  for (const file of Object.keys(filesOf(tree, folder))) tree.delete(file);
}

beforeEach(() => jest.spyOn(logger, 'info').mockImplementation(() => undefined));
afterEach(() => jest.restoreAllMocks());

async function apiWithInvoices(): Promise<Tree> {
  const tree = workspaceWithApi();
  await alembicSetup(tree, { project: 'api' });
  await moduleGenerator(tree, { name: 'invoices', project: 'api' });
  return tree;
}

describe('sync-models (the sync generator)', () => {
  test('a workspace already in sync: nothing changes, nothing to report', async () => {
    const tree = await apiWithInvoices();
    const before = filesOf(tree);
    await expect(syncModels(tree, {})).resolves.toBeUndefined();
    expect(filesOf(tree)).toEqual(before);
  });

  test('a module added by hand is imported in the block, sorted, and Nx is told what was out of sync', async () => {
    const tree = await apiWithInvoices();
    handWrittenModule(tree, 'orders', 'Order');
    handWrittenModule(tree, 'clients', 'Client');
    const result = await syncModels(tree, {});
    expect(blockOf(read(tree, ENV))).toEqual([
      'from modules.clients.models import Client  # noqa: F401',
      'from modules.invoices.models import Invoice  # noqa: F401',
      'from modules.orders.models import Order  # noqa: F401',
    ]);
    expect(result).toEqual({
      outOfSyncMessage: "env.py's model imports do not match the modules/*/models.py files",
      outOfSyncDetails: [`${ENV}: imports modules.clients.models; imports modules.orders.models`],
    });
    expect(pythonCompileError(read(tree, ENV))).toBe('');
  });

  test('a removed module is dropped from the block; the rest of env.py is untouched', async () => {
    const tree = await apiWithInvoices();
    await moduleGenerator(tree, { name: 'clients', project: 'api' });
    const before = read(tree, ENV);
    removeFolder(tree, `${ROOT}/modules/invoices`);
    const result = await syncModels(tree, {});
    expect(blockOf(read(tree, ENV))).toEqual(['from modules.clients.models import Client  # noqa: F401']);
    expect(read(tree, ENV)).toBe(before.replace('from modules.invoices.models import Invoice  # noqa: F401\n', ''));
    expect(result).toMatchObject({
      outOfSyncDetails: [`${ENV}: no longer imports modules.invoices.models (its models.py is gone)`],
    });
  });

  test('running it again changes nothing (idempotent)', async () => {
    const tree = await apiWithInvoices();
    handWrittenModule(tree, 'orders', 'Order');
    removeFolder(tree, `${ROOT}/modules/invoices`);
    await syncModels(tree, {});
    const once = filesOf(tree);
    await expect(syncModels(tree, {})).resolves.toBeUndefined();
    expect(filesOf(tree)).toEqual(once);
  });

  test('a models.py without a class on the Base is imported as a module; imports that are not modules.*.models stay', async () => {
    const tree = await apiWithInvoices();
    tree.write(`${ROOT}/modules/audit/models.py`, 'from sqlalchemy import Table\n');
    tree.write(ENV, read(tree, ENV).replace(BLOCK_END, `from app.extra_models import Extra  # noqa: F401\n${BLOCK_END}`));
    await syncModels(tree, {});
    expect(blockOf(read(tree, ENV))).toEqual([
      'from app.extra_models import Extra  # noqa: F401',
      'import modules.audit.models  # noqa: F401',
      'from modules.invoices.models import Invoice  # noqa: F401',
    ]);
  });

  test('a model env.py already imports outside the block is not imported twice', async () => {
    const tree = await apiWithInvoices();
    handWrittenModule(tree, 'orders', 'Order');
    tree.write(ENV, read(tree, ENV).replace('from database import Base\n', 'from database import Base\nfrom modules.orders.models import Order\n'));
    await expect(syncModels(tree, {})).resolves.toBeUndefined();
    expect(read(tree, ENV).match(/modules\.orders\.models/g)).toHaveLength(1);
  });

  test('an env.py without the fastkit:models block is the user’s: left alone', async () => {
    const tree = workspaceWithApi();
    tree.write(`${ROOT}/alembic.ini`, '[alembic]\nscript_location = %(here)s/alembic\n');
    tree.write(ENV, stockEnvPy());
    handWrittenModule(tree, 'orders', 'Order');
    await expect(syncModels(tree, {})).resolves.toBeUndefined();
    expect(read(tree, ENV)).toBe(stockEnvPy());
  });

  test('every Alembic project of the workspace, found by its alembic.ini or pyproject.toml [tool.alembic]', async () => {
    const tree = await apiWithInvoices();
    tree.write('services/billing/pyproject.toml', '[tool.alembic]\nscript_location = "%(here)s/migrations"\n');
    tree.write('services/billing/migrations/env.py', `${BLOCK_BEGIN}\n${BLOCK_END}\n`);
    handWrittenModule(tree, 'payments', 'Payment', 'services/billing');
    handWrittenModule(tree, 'orders', 'Order');
    const result = await syncModels(tree, {});
    expect(read(tree, 'services/billing/migrations/env.py')).toBe(
      `${BLOCK_BEGIN}\nfrom modules.payments.models import Payment  # noqa: F401\n${BLOCK_END}\n`,
    );
    expect((result as { outOfSyncDetails: string[] }).outOfSyncDetails).toEqual([
      `${ENV}: imports modules.orders.models`,
      'services/billing/migrations/env.py: imports modules.payments.models',
    ]);
  });

  test('a broken block stops it with one line naming the file and the fix', async () => {
    const tree = await apiWithInvoices();
    tree.write(ENV, read(tree, ENV).replace(`${BLOCK_END}\n`, ''));
    await expect(syncModels(tree, {})).rejects.toThrow(
      `${ENV} has a broken model block (1 "${BLOCK_BEGIN}" and 0 "${BLOCK_END}" lines). Keep exactly one`,
    );
  });
});

describe('sync-models: a revision history with two heads (nx sync:check fails before a deploy does)', () => {
  const versions = `${ROOT}/alembic/versions`;
  const revisions = (tree: Tree, files: Record<string, string>) => {
    for (const [name, source] of Object.entries(files)) tree.write(`${versions}/${name}`, source);
  };

  test('two branches each added a revision: it fails naming both heads and the migrate-rebase command, and writes nothing', async () => {
    const tree = await apiWithInvoices();
    revisions(tree, {
      '20260101_000001_create_notes.py': revision('a1a1a1a1a1a1', null, 'create notes'),
      '20260101_000002_add_title.py': revision('b2b2b2b2b2b2', 'a1a1a1a1a1a1', 'add title'),
      '20260101_000003_add_body.py': revision('c3c3c3c3c3c3', 'a1a1a1a1a1a1', 'add body'),
    });
    const before = filesOf(tree);
    await expect(syncModels(tree, {})).rejects.toThrow(
      new Error(
        'apps/api: the migration history has 2 heads (b2b2b2b2b2b2, c3c3c3c3c3c3). ' +
          'Put this branch\'s revisions after the other head with `nx run api:migrate-rebase`, or merge them with `nx run api:migrate-rebase --merge`',
      ),
    );
    expect(filesOf(tree)).toEqual(before);
  });

  test('the target name nx.json gives migrate-rebase is the one it names; a merge revision makes one head again and nothing to report', async () => {
    const tree = await apiWithInvoices();
    tree.write('nx.json', JSON.stringify({ plugins: [{ plugin: 'fastkit/plugin', options: { rebaseTargetName: 'db-rebase' } }] }));
    revisions(tree, {
      '20260101_000001_create_notes.py': revision('a1a1a1a1a1a1', null, 'create notes'),
      '20260101_000002_add_title.py': revision('b2b2b2b2b2b2', 'a1a1a1a1a1a1', 'add title'),
      '20260101_000003_add_body.py': revision('c3c3c3c3c3c3', 'a1a1a1a1a1a1', 'add body'),
    });
    await expect(syncModels(tree, {})).rejects.toThrow('`nx run api:db-rebase`');
    revisions(tree, { '20260101_000004_merge.py': revision('d4d4d4d4d4d4', ['b2b2b2b2b2b2', 'c3c3c3c3c3c3'], 'merge heads') });
    await expect(syncModels(tree, {})).resolves.toBeUndefined();
  });
});
