/**
 * The layouts real projects give Alembic, through the CLI and the Nx targets fastkit/plugin
 * infers: two version folders (make writes where raw `alembic revision` writes, or where
 * `--version-path` says), an alembic.ini in a subfolder whose paths are read from the project
 * root, an ini with several sections (one Nx configuration each), recursive_version_locations
 * and post-write hooks.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fastkit, NX_ENV, PYTHON, REPO, run, sqliteTables, tempDir, VENV } from '../support/workspace';

const NX = join(REPO, 'node_modules', '.bin', 'nx');

const MODELS = `import sqlalchemy as sa

metadata = sa.MetaData()
notes = sa.Table("notes", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("body", sa.String(200)))
`;

/** A minimal env.py as `alembic init` writes it, reading the section's URL and models.metadata. */
const ENV_PY = `from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool

import models

config = context.config
target_metadata = models.metadata


def run_migrations_offline():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    connectable = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
`;

const SCRIPT_MAKO = join(VENV, 'lib', 'python3.11', 'site-packages', 'alembic', 'templates', 'generic', 'script.py.mako');

describe('the layouts real projects use, through the CLI and Nx', () => {
  const root = tempDir('fastkit-layouts-');
  const nxEnv = { ...process.env, ...NX_ENV };
  const nx = (args: string[]) => run(NX, args, { cwd: root, env: nxEnv });
  const cli = (dir: string, args: string[]) => fastkit(['migrate', ...args], { cwd: dir, env: { VIRTUAL_ENV: VENV } });
  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  /** An Alembic script folder: env.py, the revision template, and the version folders named. */
  const scriptFolder = (path: string, versionFolders: string[] = ['versions']) => {
    write(`${path}/env.py`, ENV_PY);
    cpSync(SCRIPT_MAKO, join(root, path, 'script.py.mako'));
    for (const folder of versionFolders) mkdirSync(join(root, path, folder), { recursive: true });
  };
  const pyFiles = (folder: string) => (existsSync(folder) ? readdirSync(folder).filter((file) => file.endsWith('.py')) : []);

  beforeAll(() => {
    symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
    write('package.json', JSON.stringify({ name: 'layouts', private: true }));
    write('nx.json', JSON.stringify({ plugins: [{ plugin: 'fastkit/plugin' }] }));

    // two version folders, os.pathsep between them as path_separator = os says
    write('services/twofold/models.py', MODELS);
    scriptFolder('services/twofold/alembic', ['versions', 'archive']);
    write(
      'services/twofold/alembic.ini',
      `[alembic]\nscript_location = %(here)s/alembic\nprepend_sys_path = .\npath_separator = os\n` +
        `version_locations = %(here)s/alembic/versions:%(here)s/alembic/archive\nsqlalchemy.url = sqlite:///%(here)s/app.db\n`,
    );

    // the ini in db/, its paths read from the project root, where the service runs `alembic -c db/alembic.ini`
    write('services/ledger/models.py', MODELS);
    scriptFolder('services/ledger/db/migrations');
    write('services/ledger/db/alembic.ini', `[alembic]\nscript_location = db/migrations\nprepend_sys_path = .\nsqlalchemy.url = sqlite:///ledger.db\n`);
    write(
      'services/ledger/project.json',
      JSON.stringify({ name: 'ledger', targets: { 'migrate-run': { options: { config: 'db/alembic.ini', cwd: '.' } } } }),
    );

    // two histories in one ini: [alembic] (the app's database) and [analytics]
    write('services/reports/models.py', MODELS);
    scriptFolder('services/reports/migrations/app');
    scriptFolder('services/reports/migrations/analytics');
    write(
      'services/reports/alembic.ini',
      `[alembic]\nscript_location = %(here)s/migrations/app\nprepend_sys_path = .\nsqlalchemy.url = sqlite:///%(here)s/app.db\n\n` +
        `[analytics]\nscript_location = %(here)s/migrations/analytics\nprepend_sys_path = .\nsqlalchemy.url = sqlite:///%(here)s/analytics.db\n`,
    );
  });

  describe('recursive_version_locations', () => {
    const dir = () => join(root, 'services', 'nested');

    test('revisions in subfolders of versions/ are found by run, status and check; make writes where raw alembic revision does', () => {
      write('services/nested/models.py', MODELS);
      scriptFolder('services/nested/alembic');
      write(
        'services/nested/alembic.ini',
        `[alembic]\nscript_location = %(here)s/alembic\nprepend_sys_path = .\nrecursive_version_locations = true\nsqlalchemy.url = sqlite:///%(here)s/app.db\n`,
      );
      write(
        'services/nested/alembic/versions/2024/0001_base.py',
        `"""base\n\nRevision ID: 0001\nRevises:\n"""\nrevision = "0001"\ndown_revision = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n`,
      );
      const ran = cli(dir(), ['run']);
      expect(ran.code).toBe(0);
      expect(ran.stdout).toContain('Running upgrade base -> 0001, base');
      expect(cli(dir(), ['status']).stdout).toContain('0001 (head)');
      expect(cli(dir(), ['check']).stdout).toContain('Checked 1 revision (head 0001)');

      expect(cli(dir(), ['make', '-m', 'add notes']).code).toBe(0);
      expect(run(PYTHON, ['-m', 'alembic', 'revision', '-m', 'raw sibling', '--head', '0001', '--splice'], { cwd: dir() }).code).toBe(0);
      const where = (suffix: string) =>
        ['', '2024'].find((folder) => pyFiles(join(dir(), 'alembic', 'versions', folder)).some((file) => file.endsWith(suffix)));
      expect(where('_add_notes.py')).toBeDefined();
      expect(where('_add_notes.py')).toBe(where('_raw_sibling.py'));
      // one head again: a history with two (any project's) fails fastkit:sync-models, which Nx runs before every migrate-make
      const sibling = join(dir(), 'alembic', 'versions', where('_raw_sibling.py')!);
      rmSync(join(sibling, pyFiles(sibling).find((file) => file.endsWith('_raw_sibling.py'))!));
    });
  });

  describe('post_write_hooks on made revisions', () => {
    const dir = () => join(root, 'services', 'hooked');
    const hook = (executable: string) =>
      write(
        'services/hooked/alembic.ini',
        `[alembic]\nscript_location = %(here)s/alembic\nprepend_sys_path = .\nsqlalchemy.url = sqlite:///%(here)s/app.db\n\n` +
          `[post_write_hooks]\nhooks = ruff\nruff.type = exec\nruff.executable = ${executable}\nruff.options = format REVISION_SCRIPT_FILENAME\n`,
      );

    test('make runs the ruff hook on the new revision, as alembic revision does', () => {
      write('services/hooked/models.py', MODELS);
      scriptFolder('services/hooked/alembic');
      hook(join(VENV, 'bin', 'ruff'));
      const made = cli(dir(), ['make', '-m', 'add notes']);
      expect(made.code).toBe(0);
      const [file] = pyFiles(join(dir(), 'alembic', 'versions'));
      const source = readFileSync(join(dir(), 'alembic', 'versions', file), 'utf8');
      // Alembic renders the column names in single quotes; ruff format makes them double
      expect(source).toContain('sa.Column("id", sa.Integer(), nullable=False)');
      expect(run(join(VENV, 'bin', 'ruff'), ['format', '--check', join(dir(), 'alembic', 'versions', file)]).code).toBe(0);
    });

    test('a hook that fails: a one-line error naming the hook section, a non-zero exit, and no new revision left behind', () => {
      expect(cli(dir(), ['run']).code).toBe(0);
      hook('/nonexistent/ruff');
      write('services/hooked/models.py', MODELS.replace('sa.String(200))', 'sa.String(200)), sa.Column("title", sa.String(80))'));
      const before = pyFiles(join(dir(), 'alembic', 'versions'));
      const made = cli(dir(), ['make', '-m', 'add title']);
      expect(made.code).not.toBe(0);
      expect(made.stderr).not.toContain('Traceback');
      expect(made.stderr.split('\n').filter((line) => line.startsWith('fastkit: '))).toEqual([
        expect.stringMatching(
          /^fastkit: A post-write hook failed \(.*\/nonexistent\/ruff.*\), so the new revision was removed\. Fix the hook in \[post_write_hooks\] in alembic\.ini/,
        ),
      ]);
      expect(pyFiles(join(dir(), 'alembic', 'versions'))).toEqual(before);
    });
  });

  describe('two version folders', () => {
    const dir = () => join(root, 'services', 'twofold');
    const versions = () => join(dir(), 'alembic', 'versions');
    const archive = () => join(dir(), 'alembic', 'archive');

    test('make writes the first revision into the first folder, --version-path into the one named, the next beside its head as raw alembic revision does', () => {
      const first = cli(dir(), ['make', '-m', 'add notes']);
      expect(first.code).toBe(0);
      expect(pyFiles(versions())).toEqual([expect.stringMatching(/_add_notes\.py$/)]);

      const given = cli(dir(), ['make', '-m', 'into archive', '--no-autogenerate', '--version-path', 'alembic/archive']);
      expect(given.code).toBe(0);
      expect(given.stdout).toContain('Created alembic/archive/');
      expect(pyFiles(archive())).toEqual([expect.stringMatching(/_into_archive\.py$/)]);
      const ran = cli(dir(), ['run']); // one revision in each folder
      expect(ran.code).toBe(0);
      expect(ran.stdout).toMatch(/-> \w+, add notes\n.*-> \w+, into archive\n/);

      const next = cli(dir(), ['make', '-m', 'after archive', '--no-autogenerate']);
      expect(next.code).toBe(0);
      const raw = run(PYTHON, ['-m', 'alembic', 'revision', '-m', 'raw after', '--head', 'head'], { cwd: dir() });
      expect(raw.code).toBe(0);
      // raw Alembic and fastkit put a revision on the same head into the same folder
      const folderOf = (suffix: string) => (pyFiles(versions()).some((file) => file.endsWith(suffix)) ? 'versions' : 'archive');
      expect(folderOf('_after_archive.py')).toBe(folderOf('_raw_after.py'));
    });

    test('Nx: migrate-make --versionPath writes into that folder', () => {
      const before = pyFiles(versions()).length;
      const made = nx(['run', 'twofold:migrate-make', '-m', 'by nx', '--autogenerate=false', '--versionPath=alembic/versions']);
      expect(made.code).toBe(0);
      expect(pyFiles(versions())).toHaveLength(before + 1);
      expect(pyFiles(versions())).toContainEqual(expect.stringMatching(/_by_nx\.py$/));
    });

    test('a --version-path that is not one of version_locations: a one-line error, exit 2, nothing written', () => {
      const before = [...pyFiles(versions()), ...pyFiles(archive())];
      const made = cli(dir(), ['make', '-m', 'lost', '--no-autogenerate', '--version-path', 'alembic/elsewhere']);
      expect(made.code).toBe(2);
      expect(made.stderr).not.toContain('Traceback');
      expect(made.stderr.trim().split('\n').filter((line) => line.startsWith('fastkit: '))).toEqual([
        expect.stringMatching(/^fastkit: FAILED: Path .*alembic\/elsewhere is not represented in current version locations\. Give one of the folders version_locations names/),
      ]);
      expect([...pyFiles(versions()), ...pyFiles(archive())]).toEqual(before);
    });
  });

  describe('an alembic.ini in a subfolder, its paths read from the project root', () => {
    test('the inferred targets take the config and cwd the project.json gives one of them, and run from there', () => {
      const shown = nx(['show', 'project', 'ledger', '--json']);
      expect(shown.code).toBe(0);
      const ledger = JSON.parse(shown.stdout) as { root: string; targets: Record<string, { options?: Record<string, unknown> }> };
      expect(ledger.root).toBe('services/ledger');
      for (const target of ['migrate-make', 'migrate-run', 'migrate-status', 'migrate-rollback', 'migrate-check']) {
        expect(ledger.targets[target].options).toMatchObject({ config: 'db/alembic.ini', cwd: '.' });
      }
      const made = nx(['run', 'ledger:migrate-make', '-m', 'add notes']);
      expect(made.code).toBe(0);
      expect(pyFiles(join(root, 'services', 'ledger', 'db', 'migrations', 'versions'))).toEqual([expect.stringMatching(/_add_notes\.py$/)]);
      // one nx call for both: check reads no database, so it need not wait for run
      const ranAndChecked = nx(['run-many', '-t', 'migrate-run', 'migrate-check', '-p', 'ledger', '--output-style=static']);
      expect(ranAndChecked.code).toBe(0);
      expect(ranAndChecked.stdout).toMatch(/^> nx run ledger:migrate-run$/m);
      expect(ranAndChecked.stdout).toMatch(/^> nx run ledger:migrate-check$/m);
      expect(sqliteTables(join(root, 'services', 'ledger', 'ledger.db'))).toContain('notes');
      expect(ranAndChecked.stdout).toContain('Checked 1 revision');
    });
  });

  describe('an ini with several sections', () => {
    const dir = () => join(root, 'services', 'reports');

    test('the inferred targets get one configuration per other section, [alembic] stays the default', () => {
      const shown = nx(['show', 'project', 'reports', '--json']);
      expect(shown.code).toBe(0);
      const reports = JSON.parse(shown.stdout) as { targets: Record<string, { options?: Record<string, unknown>; configurations?: unknown }> };
      for (const target of ['migrate-make', 'migrate-run', 'migrate-status', 'migrate-rollback', 'migrate-check', 'migrate-sql']) {
        expect(reports.targets[target].configurations).toEqual({ analytics: { name: 'analytics' } });
        expect(reports.targets[target].options?.name).toBeUndefined();
      }
    });

    test('migrate-status --allSections --check names the section behind, and the command it names migrates the analytics database only', () => {
      expect(nx(['run', 'reports:migrate-make:analytics', '-m', 'analytics notes']).code).toBe(0);
      expect(pyFiles(join(dir(), 'migrations', 'analytics', 'versions'))).toEqual([expect.stringMatching(/_analytics_notes\.py$/)]);
      expect(pyFiles(join(dir(), 'migrations', 'app', 'versions'))).toEqual([]);

      const behind = nx(['run', 'reports:migrate-status', '--allSections', '--check']);
      expect(behind.code).not.toBe(0);
      expect(behind.stdout).toContain('[alembic]');
      expect(behind.stdout).toContain('[analytics]');
      // the section's own status line and the error name the same command, with the section
      expect(behind.stdout).toContain('  Apply it with `nx run reports:migrate-run --name analytics`');
      expect(behind.all).toContain('The database [analytics] is behind head: 1 pending migration');
      // the user follows the hint as printed: the command in its backticks
      const hinted = /Apply it with `nx (run reports:migrate-run --name analytics)`\./.exec(behind.all);
      expect(hinted).not.toBeNull();
      expect(nx(hinted![1].split(' ')).code).toBe(0);
      expect(sqliteTables(join(dir(), 'analytics.db'))).toContain('notes');
      expect(existsSync(join(dir(), 'app.db')) ? sqliteTables(join(dir(), 'app.db')) : []).not.toContain('notes');

      const status = cli(dir(), ['status', '--all-sections', '--json']);
      expect(status.code).toBe(0);
      const report = JSON.parse(status.stdout) as { sections: Record<string, { current: string[]; upToDate: boolean }>; upToDate: boolean };
      expect(Object.keys(report.sections)).toEqual(['alembic', 'analytics']);
      expect(report.sections.analytics.upToDate).toBe(true);
      expect(report.sections.alembic.current).toEqual([]);
      // raw Alembic agrees, section by section
      const raw = run(PYTHON, ['-m', 'alembic', '-n', 'analytics', 'current'], { cwd: dir() });
      expect(raw.stdout).toContain(report.sections.analytics.current[0]);

    });

    // the default section's history is empty: only [analytics] has a revision and the notes table
    test('nx run reports:migrate-check:analytics and reports:migrate-sql:analytics check and render the analytics history, as raw alembic -n analytics does', () => {
      const [file] = pyFiles(join(dir(), 'migrations', 'analytics', 'versions'));
      const id = /^Revision ID: (\w+)$/m.exec(readFileSync(join(dir(), 'migrations', 'analytics', 'versions', file), 'utf8'))![1];
      const upgradeSql = join(dir(), 'dist', 'migrations', 'upgrade.sql');

      // one nx call for both targets, each in its analytics configuration
      const checkedAndRendered = nx(['run-many', '-t', 'migrate-check', 'migrate-sql', '-p', 'reports', '-c', 'analytics', '--output-style=static']);
      expect(checkedAndRendered.code).toBe(0);
      expect(checkedAndRendered.stdout).toMatch(/^> nx run reports:migrate-check:analytics$/m);
      expect(checkedAndRendered.stdout).toMatch(/^> nx run reports:migrate-sql:analytics$/m);
      expect(checkedAndRendered.stdout).toContain(`Checked 1 revision (head ${id})`);

      const sql = readFileSync(upgradeSql, 'utf8');
      const raw = run(PYTHON, ['-m', 'alembic', '-n', 'analytics', 'upgrade', 'head', '--sql'], { cwd: dir() });
      expect(raw.code).toBe(0);
      for (const statement of [/CREATE TABLE notes \([^;]*\);/, new RegExp(`INSERT INTO alembic_version \\(version_num\\) VALUES \\('${id}'\\)[^;]*;`)]) {
        expect(sql).toMatch(statement);
        expect(sql.match(statement)![0]).toBe(raw.stdout.match(statement)![0]);
      }
    });
  });
});
