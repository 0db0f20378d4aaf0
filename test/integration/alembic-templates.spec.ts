/**
 * Every template `alembic list_templates` offers, as `alembic init -t <template>` writes it plus
 * one model, through every action, by the CLI and by the Nx targets fastkit/plugin infers: the
 * projects users bring that fastkit's generators did not write. Each step is checked the way a
 * user checks it (the table in the database, the file written, the revision named), and
 * docs/alembic-templates.md is the table of what passed, rendered.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BLOCK_BEGIN, BLOCK_END } from '../../src/model-imports';
import { createPostgresDatabase, fastkit, NX_ENV, psql, PYTHON, type Ran, REPO, run, sqliteTables, STACK, tempDir, VENV } from '../support/workspace';

const NX = join(REPO, 'node_modules', '.bin', 'nx');
const DOC = join(REPO, 'docs', 'alembic-templates.md');
const README = join(REPO, 'README.md');
const ACTIONS = ['make', 'run', 'status', 'check', 'sql', 'rollback'] as const;
type Action = (typeof ACTIONS)[number];
type Door = 'CLI' | 'Nx';

/** The templates this stack's Alembic offers, as it lists them. */
function alembicTemplates(): string[] {
  const listed = run(PYTHON, ['-m', 'alembic', 'list_templates']);
  if (listed.code !== 0) throw new Error(`alembic list_templates failed: ${listed.all}`);
  return [...listed.stdout.matchAll(/^(\w+) - /gm)].map((match) => match[1]).sort();
}

/** A project as `alembic init -t template` writes it, where the user's own changes are one model and a URL. */
interface TemplateProject {
  /** The row of the doc: the template, and the database when it is not SQLite. */
  label: string;
  template: string;
  /** The databases the project's env.py migrates: a SQLite file each, or one PostgreSQL database. */
  tables(): string[][];
}

const MODELS = `import sqlalchemy as sa

metadata = sa.MetaData()
notes = sa.Table("notes", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("body", sa.String(200)))
`;

/** One task's lines in the output of `nx run-many --outputStyle=static`: from its `> nx run` header to the next. */
function nxTaskOutput(output: string, task: string): string {
  const lines = output.split('\n');
  const start = lines.findIndex((line) => line.trim().startsWith(`> nx run ${task}`));
  if (start === -1) return '';
  const end = lines.findIndex((line, index) => index > start && /^\s*(> nx run |NX\s{2,}|—{3,})/.test(line));
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n');
}

const TEMPLATES = alembicTemplates();
const ASYNC = new Set(['async', 'pyproject_async']);

describe("Alembic's own templates through every action, by the CLI and by Nx", () => {
  const root = tempDir('fastkit-templates-');
  const pg = createPostgresDatabase('fk_tpl');
  const pgNx = createPostgresDatabase('fk_tpl');
  const passed = new Map<string, Set<string>>();
  afterAll(() => {
    pg.drop();
    pgNx.drop();
  });

  const nxEnv = { ...process.env, ...NX_ENV };
  const nx = (args: string[]) => run(NX, args, { cwd: root, env: nxEnv });

  /** Writes services/<folder> as `alembic init -t template alembic` does, plus a model and a URL. */
  function initProject(folder: string, template: string, url?: string): string {
    const dir = join(root, 'services', folder);
    mkdirSync(dir, { recursive: true });
    const init = run(PYTHON, ['-m', 'alembic', 'init', '-t', template, 'alembic'], { cwd: dir });
    if (init.code !== 0) throw new Error(`alembic init -t ${template} failed: ${init.all}`);
    writeFileSync(join(dir, 'models.py'), MODELS);
    const envPy = join(dir, 'alembic', 'env.py');
    const env = readFileSync(envPy, 'utf8');
    const wired =
      template === 'multidb'
        ? env.replace(/^target_metadata = \{\}$/m, 'import models\ntarget_metadata = {"engine1": models.metadata, "engine2": models.metadata}')
        : env.replace(/^target_metadata = None$/m, 'import models\ntarget_metadata = models.metadata');
    if (wired === env) throw new Error(`env.py of the ${template} template has no target_metadata line to set`);
    writeFileSync(envPy, wired);
    const ini = join(dir, 'alembic.ini');
    const text = readFileSync(ini, 'utf8');
    const driver = ASYNC.has(template) ? 'sqlite+aiosqlite' : 'sqlite';
    const withUrl =
      template === 'multidb'
        ? text
            .replace('driver://user:pass@localhost/dbname2', `sqlite:///${dir}/two.db`)
            .replace('driver://user:pass@localhost/dbname', `sqlite:///${dir}/one.db`)
        : text.replace('driver://user:pass@localhost/dbname', url ?? `${driver}:///${dir}/app.db`);
    if (withUrl === text) throw new Error(`alembic.ini of the ${template} template has no sqlalchemy.url to set`);
    writeFileSync(ini, withUrl);
    return dir;
  }

  function sqliteProject(folder: string, template: string): TemplateProject & { dir: string } {
    const dir = initProject(folder, template);
    const files = template === 'multidb' ? ['one.db', 'two.db'] : ['app.db'];
    return { label: template, template, dir, tables: () => files.map((file) => (existsSync(join(dir, file)) ? sqliteTables(join(dir, file)) : [])) };
  }

  function asyncpgProject(folder: string, database: { name: string; url: string }): TemplateProject & { dir: string } {
    const dir = initProject(folder, 'async', database.url.replace(/^postgresql\+\w+:/, 'postgresql+asyncpg:'));
    const tables = () => [psql(database.name, "select tablename from pg_tables where schemaname = 'public' order by 1").split('\n').filter(Boolean)];
    return { label: 'async (PostgreSQL, asyncpg)', template: 'async', dir, tables };
  }

  const projects: Array<{ door: Door; project: TemplateProject & { dir: string }; name: string }> = [];

  beforeAll(() => {
    symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'templates', private: true }));
    writeFileSync(join(root, 'nx.json'), JSON.stringify({ plugins: [{ plugin: 'fastkit/plugin' }] }));
    for (const door of ['CLI', 'Nx'] as const) {
      for (const template of TEMPLATES) {
        const name = `${template}-${door.toLowerCase()}`;
        projects.push({ door, name, project: sqliteProject(name, template) });
      }
      const name = `asyncpg-${door.toLowerCase()}`;
      projects.push({ door, name, project: asyncpgProject(name, door === 'CLI' ? pg : pgNx) });
    }
  });

  test('the stack offers the templates the issue names (Alembic 1.20: generic, async, multidb, pyproject, pyproject_async)', () => {
    expect(TEMPLATES).toEqual(
      STACK.name.includes('1.8') ? ['async', 'generic', 'multidb'] : ['async', 'generic', 'multidb', 'pyproject', 'pyproject_async'],
    );
  });

  test('Nx infers the six migrate targets for a project of each template', () => {
    const shown = nx(['show', 'projects', '--json']);
    expect(shown.code).toBe(0);
    expect((JSON.parse(shown.stdout) as string[]).sort()).toEqual(projects.map(({ name }) => name).sort());
  });

  const doors: Door[] = ['CLI', 'Nx'];
  const done = (label: string, action: Action, door: Door) => {
    const row = passed.get(label) ?? new Set<string>();
    row.add(`${action} ${door}`);
    passed.set(label, row);
  };
  const versionsOf = (project: TemplateProject & { dir: string }) => join(project.dir, 'alembic', 'versions');

  /** What a user checks after each action, for one project; `revision` is the one make wrote. */
  const checks: Record<Action, (project: TemplateProject & { dir: string }, ran: Ran, revision: () => string) => void> = {
    make: (project) => {
      const files = readdirSync(versionsOf(project)).filter((file) => file.endsWith('.py'));
      expect(files).toEqual([expect.stringMatching(/_add_notes\.py$/)]);
      expect(readFileSync(join(versionsOf(project), files[0]), 'utf8')).toMatch(/op\.create_table\(\s*['"]notes['"]/);
    },
    run: (project) => {
      for (const tables of project.tables()) expect(tables).toContain('notes');
    },
    status: (_project, ran, revision) => expect(ran.stdout).toContain(`${revision()} (head)`),
    check: (_project, ran, revision) => expect(ran.stdout).toContain(`Checked 1 revision (head ${revision()})`),
    sql: (project) => expect(readFileSync(join(project.dir, 'dist', 'migrations', 'upgrade.sql'), 'utf8')).toMatch(/CREATE TABLE notes/),
    rollback: (project) => {
      for (const tables of project.tables()) expect(tables).not.toContain('notes');
    },
  };
  const madeRevision = (project: TemplateProject & { dir: string }) => () => {
    const [file] = readdirSync(versionsOf(project)).filter((name) => name.endsWith('.py'));
    return /^Revision ID: (\w+)$/m.exec(readFileSync(join(versionsOf(project), file), 'utf8'))![1];
  };
  const argsOf = (action: Action) => (action === 'make' ? ['-m', 'add notes'] : []);

  test.each([...TEMPLATES, 'asyncpg'])('CLI: a project made by alembic init -t %s makes, runs, reports, checks, renders and rolls back its migration', (template) => {
    const { project } = projects.find((candidate) => candidate.door === 'CLI' && candidate.name === `${template}-cli`)!;
    for (const action of ACTIONS) {
      const ran = fastkit(['migrate', action, ...argsOf(action)], { cwd: project.dir, env: { VIRTUAL_ENV: VENV } });
      expect(ran.all).not.toContain('Traceback');
      expect({ action, code: ran.code }).toEqual({ action, code: 0 });
      checks[action](project, ran, madeRevision(project));
      done(project.label, action, 'CLI');
    }
  });

  // Before the Nx test below, whose actions then run each env.py with the registered import.
  test('nx g fastkit:module registers its model import in the env.py each template wrote', () => {
    const onNx = projects.filter(({ door, project }) => door === 'Nx' && project.label === project.template);
    expect(onNx.map(({ project }) => project.template).sort()).toEqual(TEMPLATES);
    for (const { name, project } of onNx) {
      const made = nx(['g', 'fastkit:module', '--name', 'invoices', '--project', name, '--no-interactive']);
      expect({ name, code: made.code, output: made.code === 0 ? '' : made.all }).toEqual({ name, code: 0, output: '' });
      const lines = readFileSync(join(project.dir, 'alembic', 'env.py'), 'utf8').split('\n');
      expect({ name, block: lines.slice(lines.indexOf(BLOCK_BEGIN) + 1, lines.indexOf(BLOCK_END)) }).toEqual({
        name,
        block: ['from modules.invoices.models import Invoice  # noqa: F401'],
      });
    }
  });

  // One `nx run-many` per action for every template's project: Nx's start-up is the slow part.
  test('Nx: the inferred targets of a project of each template make, run, report, check, render and roll back its migration', () => {
    const onNx = projects.filter(({ door }) => door === 'Nx');
    for (const action of ACTIONS) {
      const ran = nx(['run-many', '-t', `migrate-${action}`, '-p', onNx.map(({ name }) => name).join(','), '--parallel=2', '--outputStyle=static', ...argsOf(action)]);
      expect(ran.all).not.toContain('Traceback');
      expect({ action, code: ran.code, output: ran.code === 0 ? '' : ran.all }).toEqual({ action, code: 0, output: '' });
      for (const { project, name } of onNx) {
        const own: Ran = { ...ran, stdout: nxTaskOutput(ran.stdout, `${name}:migrate-${action}`) };
        checks[action](project, own, madeRevision(project));
        done(project.label, action, 'Nx');
      }
    }
  });

  test('docs/alembic-templates.md is the table of what passed, rendered', () => {
    const labels = [...TEMPLATES, 'async (PostgreSQL, asyncpg)'];
    const header = ['Template', ...ACTIONS.flatMap((action) => doors.map((door) => `${action} (${door})`))];
    const lines = [
      '# Alembic\'s templates × fastkit\'s actions',
      '',
      `A project made by \`alembic init -t <template>\` plus one model, through each action by the CLI (\`fastkit migrate …\`) and by the targets fastkit/plugin infers (\`nx run <project>:migrate-…\`), on ${STACK.name}. ✓: the step did what a user checks (the table in the database, the revision file, the SQL file, the status line). Rendered by test/integration/alembic-templates.spec.ts (\`UPDATE_DOCS=1\`).`,
      '',
      `| ${header.join(' | ')} |`,
      `|${header.map(() => ' --- ').join('|')}|`,
      ...labels.map((label) => {
        const row = passed.get(label) ?? new Set<string>();
        return `| ${label} | ${ACTIONS.flatMap((action) => doors.map((door) => (row.has(`${action} ${door}`) ? '✓' : '✗'))).join(' | ')} |`;
      }),
      '',
    ];
    const rendered = lines.join('\n');
    if (process.env.UPDATE_DOCS) writeFileSync(DOC, rendered);
    const current = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '';
    if (current !== rendered) {
      throw new Error(
        'docs/alembic-templates.md is out of date with what passed. Render it again: UPDATE_DOCS=1 npm test -- test/integration/alembic-templates.spec.ts',
      );
    }
    expect(rendered).not.toContain('✗');
  });

  test("the README's table is the same table", () => {
    const table = readFileSync(DOC, 'utf8').split('\n').filter((line) => line.startsWith('|')).join('\n');
    const tableIn = (text: string) => /^\| Template \|.*(?:\n\|.*)*/m.exec(text)?.[0];
    const readme = readFileSync(README, 'utf8');
    const inReadme = tableIn(readme);
    if (process.env.UPDATE_DOCS && inReadme) writeFileSync(README, readme.replace(inReadme, table));
    expect(tableIn(readFileSync(README, 'utf8'))).toBe(table);
  });
});
