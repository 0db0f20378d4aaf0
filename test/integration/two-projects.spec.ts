/**
 * Two projects, one PostgreSQL database, as the README's deploy recipe sets them up: each
 * project gets its own version table (`nx g fastkit:alembic-setup --versionTable …`) and its own
 * DATABASE_URL from its own `.env`, which Nx loads for that project's tasks (here both URLs name
 * the same database). Driven by the real `nx` CLI with fastkit/plugin, on a real server.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { revision } from '../support/revisions';
import { createPostgresDatabase, NX_ENV, psql, REPO, run, tempDir } from '../support/workspace';

const NX = join(REPO, 'node_modules', '.bin', 'nx');

describe('two projects migrating one PostgreSQL database, each with its own version table and URL', () => {
  const root = tempDir('fastkit-two-');
  const database = createPostgresDatabase('fk_two');
  afterAll(() => database.drop());
  const env = { DATABASE_URL: undefined, ORDERS_DATABASE_URL: database.url, BILLING_DATABASE_URL: database.url };
  const nx = (...args: string[]) =>
    run(NX, [...args, '--no-interactive'], {
      cwd: root,
      env: { ...process.env, ...env, ...NX_ENV, NX_SKIP_NX_CACHE: 'true' },
    });
  const versions = (table: string) => psql(database.name, `SELECT string_agg(version_num, ',') FROM ${table}`);
  const exists = (table: string) => psql(database.name, `SELECT to_regclass('${table}') IS NOT NULL`) === 't';

  beforeAll(() => {
    symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'shop', private: true }));
    writeFileSync(join(root, 'nx.json'), JSON.stringify({ plugins: ['fastkit/plugin'] }));
    for (const [project, table] of [
      ['orders', 'orders'],
      ['billing', 'invoices'],
    ]) {
      const folder = join(root, 'apps', project);
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, 'project.json'), JSON.stringify({ name: project }));
      const made = nx('g', 'fastkit:alembic-setup', '--project', project, '--versionTable', `${project}_alembic_version`);
      expect(made.code).toBe(0);
      // the deploy recipe: each project's own URL, from a variable CI sets (Nx expands it)
      writeFileSync(join(folder, '.env'), `DATABASE_URL=\${${project.toUpperCase()}_DATABASE_URL}\n`);
      const id = project === 'orders' ? 'a1a1a1a1a1a1' : 'b2b2b2b2b2b2';
      writeFileSync(
        join(folder, 'alembic', 'versions', `20260101_000001_create_${table}.py`),
        revision(id, null, `create ${table}`, `op.create_table("${table}", sa.Column("id", sa.Integer, primary_key=True))`, `op.drop_table("${table}")`),
      );
    }
  });

  test('nx run-many -t migrate-run applies both; each project has its own version table, alembic_version is not made', () => {
    const ran = nx('run-many', '-t', 'migrate-run', '--output-style=static');
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain('Running upgrade base -> a1a1a1a1a1a1, create orders');
    expect(ran.stdout).toContain('Running upgrade base -> b2b2b2b2b2b2, create invoices');
    expect(versions('orders_alembic_version')).toBe('a1a1a1a1a1a1');
    expect(versions('billing_alembic_version')).toBe('b2b2b2b2b2b2');
    expect(exists('alembic_version')).toBe(false);
    expect(exists('orders') && exists('invoices')).toBe(true);
  });

  test('status --check says each project is at its own head, with and without the fast path', () => {
    for (const fast of [[], ['--fast=false']]) {
      for (const [project, head] of [
        ['orders', 'a1a1a1a1a1a1'],
        ['billing', 'b2b2b2b2b2b2'],
      ]) {
        const status = nx('run', `${project}:migrate-status`, '--check', ...fast);
        expect(status.code).toBe(0);
        expect(status.stdout).toContain(`${head} (head)`);
      }
    }
  });

  test('rolling one project back leaves the other as it is', () => {
    const back = nx('run', 'orders:migrate-rollback');
    expect(back.code).toBe(0);
    expect(exists('orders')).toBe(false);
    expect(psql(database.name, 'SELECT count(*) FROM orders_alembic_version')).toBe('0');
    expect(versions('billing_alembic_version')).toBe('b2b2b2b2b2b2');
    expect(exists('invoices')).toBe(true);
  });
});
