/**
 * The sync-models sync generator under the real `nx` CLI, registered by fastkit/plugin on the
 * inferred migrate-make target: `nx sync:check` fails while env.py is stale, `nx sync` fixes it,
 * and `nx run …:migrate-make` syncs first (in a terminal with sync.applyChanges; elsewhere Nx
 * refuses to run it stale), so autogenerate sees a model added by hand.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BLOCK_BEGIN, BLOCK_END } from '../../src/model-imports';
import { EXAMPLE, NX_ENV, PYTHON, REPO, revisionFiles, run, tempDir } from '../support/workspace';

const NX = join(REPO, 'node_modules', '.bin', 'nx');

describe('sync-models under the real nx CLI', () => {
  const root = tempDir('fastkit-sync-');
  const ledger = join(root, 'services', 'ledger');
  const envPy = join(ledger, 'alembic', 'env.py');
  const nxEnv = { ...process.env, ...NX_ENV };
  const nx = (args: string[]) => run(NX, args, { cwd: root, env: nxEnv });
  /** nx in a terminal (a pseudo-terminal from Python's pty module), as a developer runs it; not in CI. */
  const nxInTerminal = (args: string[]) =>
    run(PYTHON, ['-c', 'import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))', NX, ...args], {
      cwd: root,
      env: { ...nxEnv, CI: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const block = () => {
    const lines = readFileSync(envPy, 'utf8').split('\n');
    return lines.slice(lines.indexOf(BLOCK_BEGIN) + 1, lines.indexOf(BLOCK_END));
  };
  const addModuleByHand = (name: string, className: string) => {
    mkdirSync(join(ledger, 'modules', name), { recursive: true });
    writeFileSync(join(ledger, 'modules', name, '__init__.py'), '');
    writeFileSync(
      join(ledger, 'modules', name, 'models.py'),
      `from sqlalchemy import Integer\nfrom sqlalchemy.orm import Mapped, mapped_column\n\nfrom database import Base\n\n\nclass ${className}(Base):\n    __tablename__ = "${name}"\n\n    id: Mapped[int] = mapped_column(Integer, primary_key=True)\n`,
    );
  };

  beforeAll(() => {
    symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'shop', private: true }));
    writeFileSync(join(root, 'nx.json'), JSON.stringify({ plugins: ['fastkit/plugin'], sync: { applyChanges: true }, analytics: false }));
    cpSync(EXAMPLE, ledger, { recursive: true, filter: (source) => !/\.db$|__pycache__|project\.json$/.test(source) });
  });

  test('an env.py true to modules/*/models.py: nx sync:check passes', () => {
    const checked = nx(['sync:check']);
    expect(checked.code).toBe(0);
    expect(checked.all).toContain('The workspace is up to date');
  });

  test('a module added by hand: nx sync:check fails, names the change and writes nothing', () => {
    addModuleByHand('orders', 'Order');
    const before = readFileSync(envPy, 'utf8');
    const checked = nx(['sync:check']);
    expect(checked.code).toBe(1);
    expect(checked.all).toContain('The workspace is out of sync');
    expect(checked.all).toContain("[fastkit:sync-models]: env.py's model imports do not match the modules/*/models.py files");
    expect(checked.all).toContain('services/ledger/alembic/env.py: imports modules.orders.models');
    expect(readFileSync(envPy, 'utf8')).toBe(before);
  });

  test('nx sync fixes it; then nx sync:check passes', () => {
    expect(nx(['sync']).code).toBe(0);
    expect(block()).toEqual([
      'from modules.clients.models import Client  # noqa: F401',
      'from modules.invoices.models import Invoice  # noqa: F401',
      'from modules.orders.models import Order  # noqa: F401',
    ]);
    expect(nx(['sync:check']).code).toBe(0);
  });

  test('outside a terminal (a script), Nx refuses to run migrate-make while env.py is stale, and nothing is written', () => {
    expect(nx(['run', 'ledger:migrate-run']).code).toBe(0);
    addModuleByHand('payments', 'Payment');
    const before = readFileSync(envPy, 'utf8');
    const made = run(NX, ['run', 'ledger:migrate-make', '-m', 'create payments'], { cwd: root, env: { ...nxEnv, CI: 'false' } });
    expect(made.code).toBe(1);
    expect(made.all).toContain('The workspace is out of sync');
    expect(made.all).toContain("env.py's model imports do not match the modules/*/models.py files");
    expect(readFileSync(envPy, 'utf8')).toBe(before);
    expect(revisionFiles(ledger)).toHaveLength(2);
  });

  test('in a terminal with sync.applyChanges, nx run ledger:migrate-make syncs first, so autogenerate sees the new model', () => {
    const made = nxInTerminal(['run', 'ledger:migrate-make', '-m', 'create orders and payments']);
    expect(made.code).toBe(0);
    expect(block()).toContain('from modules.payments.models import Payment  # noqa: F401');
    const [revision] = revisionFiles(ledger).filter((file) => file.endsWith('_create_orders_and_payments.py'));
    const text = readFileSync(join(ledger, 'alembic', 'versions', revision), 'utf8');
    expect(text).toContain("op.create_table('payments'");
    expect(text).toContain("op.create_table('orders'");
  });

  test('a module removed: nx sync:check fails, nx sync drops its import', () => {
    rmSync(join(ledger, 'modules', 'orders'), { recursive: true });
    const checked = nx(['sync:check']);
    expect(checked.code).toBe(1);
    expect(checked.all).toContain('services/ledger/alembic/env.py: no longer imports modules.orders.models (its models.py is gone)');
    expect(nx(['sync']).code).toBe(0);
    expect(block()).not.toContain('from modules.orders.models import Order  # noqa: F401');
    expect(nx(['sync:check']).code).toBe(0);
  });
});
