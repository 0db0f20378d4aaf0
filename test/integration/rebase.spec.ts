/**
 * `fastkit migrate rebase` on real git repositories: two branches each add a revision on the
 * same parent, git merges them (the only conflict is fastkit.sum), the history has two heads;
 * rebase re-parents this branch's revision onto the other head and `migrate run` applies both,
 * on SQLite and PostgreSQL. Its refusals leave every file byte-identical; `--merge` writes an
 * Alembic merge revision instead. That merged repository is built once, its databases with it,
 * and each test works on a copy of it.
 */
import { createHash } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commitAll, commitRevisions, git, gitRepository } from '../support/git';
import { revision } from '../support/revisions';
import { createPostgresDatabase, exampleProject, fastkit, psql, PYTHON, run, sqliteRows, sqliteTables, tempDir, type Ran } from '../support/workspace';

const INVOICES_ID = 'a719d4f7b98f';
const NOTES = '20261201_000000_add_notes.py';
const TAGS = '20261202_000000_add_tags.py';
const NOTES_SOURCE = revision('e1e1e1e1e1e1', INVOICES_ID, 'add notes', 'op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True))', 'op.drop_table("notes")');
const TAGS_SOURCE = revision('f2f2f2f2f2f2', INVOICES_ID, 'add tags', 'op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True))', 'op.drop_table("tags")');

const versions = (project: string) => join(project, 'alembic', 'versions');
/** The heads as Alembic itself reads them. */
const alembicHeads = (project: string) => (run(PYTHON, ['-m', 'alembic', 'heads'], { cwd: project }).stdout.match(/^\w+/gm) ?? []).sort();

/** Every file of the versions folder with its bytes: what a refusal must leave as it was. */
function versionsFolder(project: string): Record<string, string> {
  const folder = versions(project);
  return Object.fromEntries(
    readdirSync(folder)
      .filter((name) => name !== '__pycache__')
      .map((name) => [name, createHash('sha256').update(readFileSync(join(folder, name))).digest('hex')]),
  );
}

function expectClean(ran: Ran): void {
  expect(ran.all).not.toContain('Traceback');
}

/** The PostgreSQL database of the PostgreSQL flow: migrated to the common head with the merged project. */
const postgres = createPostgresDatabase('fk_rebase');
afterAll(() => postgres.drop());
/** A SQLite file of the project's own (`*.db` is git-ignored) that branch `notes` migrated: add_notes applied. */
const NOTES_DATABASE = { DATABASE_URL: 'sqlite:///notes.db' };

/**
 * The example service in git with fastkit.sum; branch `notes` adds add_notes on the head, `main`
 * adds add_tags on the same head; then `notes` merges `main`: two heads, and git stops on the
 * checksum file. Its databases, one per test flow: api.db and the PostgreSQL database migrated
 * on main before the branches (at the common head), notes.db migrated on branch `notes`.
 */
function mergedBranches(): string {
  const project = exampleProject();
  const migrate = (env: Record<string, string>, ...args: string[]) => fastkit(['migrate', ...args], { cwd: project, env });
  expect(migrate({}, 'run').code).toBe(0);
  expect(migrate({ DATABASE_URL: postgres.url }, 'run').code).toBe(0);
  expect(migrate({}, 'hash').code).toBe(0);
  gitRepository(project);
  git(project, ['checkout', '-q', '-b', 'notes']);
  writeFileSync(join(versions(project), NOTES), NOTES_SOURCE);
  expect(migrate({}, 'hash').code).toBe(0); // a revision written by hand is recorded as make records its own
  commitAll(project, 'add notes');
  expect(migrate(NOTES_DATABASE, 'run').code).toBe(0);
  git(project, ['checkout', '-q', 'main']);
  writeFileSync(join(versions(project), TAGS), TAGS_SOURCE);
  expect(migrate({}, 'hash').code).toBe(0);
  commitAll(project, 'add tags');
  git(project, ['checkout', '-q', 'notes']);
  const merged = git(project, ['merge', 'main'], { allowFailure: true });
  expect(merged.code).toBe(1);
  expect(git(project, ['diff', '--name-only', '--diff-filter=U']).stdout).toBe('alembic/versions/fastkit.sum\n');
  expect(alembicHeads(project)).toEqual(['e1e1e1e1e1e1', 'f2f2f2f2f2f2']);
  return project;
}

let merged: string;
beforeAll(() => {
  merged = mergedBranches();
});

/** A copy of the merged project for one flow: its git state and SQLite files with it. */
function copyOfMerged(): string {
  const project = join(tempDir('fastkit-rebase-'), 'api');
  cpSync(merged, project, { recursive: true, filter: (source) => !source.endsWith('__pycache__') });
  return project;
}

/** The revision a database's version table holds. */
function versionIn(project: string, database?: { name: string }): string {
  if (database) return psql(database.name, 'select version_num from alembic_version');
  return sqliteRows(join(project, 'api.db'), 'select version_num from alembic_version')[0][0];
}

describe.each([['SQLite'], ['PostgreSQL']])('two branches merged, rebased, migrated (%s)', (backend) => {
  let project: string;
  // the database is at the common head: migrated on main before the branches (mergedBranches)
  const database = backend === 'PostgreSQL' ? postgres : undefined;
  const env: Record<string, string> = database ? { DATABASE_URL: database.url } : {};
  const migrate = (...args: string[]) => fastkit(['migrate', ...args], { cwd: project, env });
  beforeAll(() => {
    project = copyOfMerged();
  });

  test('migrate rebase re-parents this branch’s revision onto the other head: down_revision and Revises: rewritten, nothing else; fastkit.sum whole again; one head', () => {
    const rebased = migrate('rebase');
    expectClean(rebased);
    expect(rebased.code).toBe(0);
    expect(rebased.stdout).toBe(
      `Rebased e1e1e1e1e1e1 (add notes) onto f2f2f2f2f2f2: alembic/versions/${NOTES} now revises f2f2f2f2f2f2\n` +
        'Updated alembic/versions/fastkit.sum\n' +
        'One head: e1e1e1e1e1e1. Commit the changes, then apply them with `fastkit migrate run`\n',
    );
    expect(readFileSync(join(versions(project), NOTES), 'utf8')).toBe(
      NOTES_SOURCE.replace(`Revises: ${INVOICES_ID}\n`, 'Revises: f2f2f2f2f2f2\n').replace(
        `down_revision = "${INVOICES_ID}"\n`,
        'down_revision = "f2f2f2f2f2f2"\n',
      ),
    );
    expect(readFileSync(join(versions(project), TAGS), 'utf8')).toBe(TAGS_SOURCE);
    expect(readFileSync(join(versions(project), 'fastkit.sum'), 'utf8')).not.toMatch(/^(<<<<<<<|=======|>>>>>>>)/m);
    if (!database) {
      // the files rebase wrote are byte for byte the same on both databases (checked above): Python reads them once
      expect(alembicHeads(project)).toEqual(['e1e1e1e1e1e1']);
      expect(run(PYTHON, ['-m', 'py_compile', join(versions(project), NOTES)]).code).toBe(0);
      const checked = migrate('check');
      expect(checked.stdout).toBe('Checked 4 revisions (head e1e1e1e1e1e1): no errors, no warnings\n');
      expect(checked.code).toBe(0);
    }

    commitAll(project, 'merge main'); // the merge completes with the rebased file
    expect(git(project, ['status', '--porcelain']).stdout).toBe('');
  });

  test('migrate run then applies the other branch’s revision and this one, in that order', () => {
    const ran = migrate('run');
    expectClean(ran);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toBe(
      `Running upgrade ${INVOICES_ID} -> f2f2f2f2f2f2, add tags\nRunning upgrade f2f2f2f2f2f2 -> e1e1e1e1e1e1, add notes\nNow at e1e1e1e1e1e1 (head)\n`,
    );
    const tables = database
      ? psql(database.name, "select tablename from pg_tables where schemaname = 'public'").split('\n')
      : sqliteTables(join(project, 'api.db'));
    expect(tables).toEqual(expect.arrayContaining(['notes', 'tags', 'invoices']));
    expect(versionIn(project, database)).toBe('e1e1e1e1e1e1'); // the head, as the version table says
  });
});

describe('migrate rebase refuses, with one line and every file as it was', () => {
  test('a revision of this branch applied in the database: roll it back first, the exact command', () => {
    const project = copyOfMerged();
    // the database branch `notes` migrated before the merge (mergedBranches)
    const migrate = (...args: string[]) => fastkit(['migrate', ...args], { cwd: project, env: NOTES_DATABASE });
    const before = versionsFolder(project);
    const refused = migrate('rebase');
    expectClean(refused);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(
      'fastkit: Revision e1e1e1e1e1e1 (add notes) of this branch is applied in the database. Roll it back first with `fastkit migrate rollback`, then rebase again.\n',
    );
    expect(versionsFolder(project)).toEqual(before);

    // the command it names is the way through
    expect(migrate('rollback').code).toBe(0);
    expect(migrate('rebase').code).toBe(0);
    expect(alembicHeads(project)).toEqual(['e1e1e1e1e1e1']);
  });

  test('a head whose revisions are not all this branch’s own (one came from main): refused, naming it', () => {
    const project = exampleProject();
    const migrate = (...args: string[]) => fastkit(['migrate', ...args], { cwd: project });
    expect(migrate('hash').code).toBe(0);
    gitRepository(project);
    // main gets add_labels; notes starts there and adds add_notes on top of it
    const labels = revision('d0d0d0d0d0d0', INVOICES_ID, 'add labels');
    commitRevisions(project, { '20261130_000000_add_labels.py': labels }, 'add labels');
    git(project, ['checkout', '-q', '-b', 'notes']);
    commitRevisions(project, { [NOTES]: revision('e1e1e1e1e1e1', 'd0d0d0d0d0d0', 'add notes') }, 'add notes');
    // main then gets add_tags on the old head: main itself now has two heads
    git(project, ['checkout', '-q', 'main']);
    commitRevisions(project, { [TAGS]: TAGS_SOURCE }, 'add tags');
    git(project, ['checkout', '-q', 'notes']);
    git(project, ['merge', '-q', 'main']);
    expect(migrate('hash').code).toBe(0);
    expect(alembicHeads(project)).toEqual(['e1e1e1e1e1e1', 'f2f2f2f2f2f2']);

    const before = versionsFolder(project);
    const refused = migrate('rebase');
    expectClean(refused);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'fastkit: Of the 2 revisions of head e1e1e1e1e1e1, d0d0d0d0d0d0 is not this branch\'s own (main has it). ' +
        'Rebase moves only revisions all added on this branch; write a merge revision with `fastkit migrate rebase --merge`.\n',
    );
    expect(versionsFolder(project)).toEqual(before);
  });

  test('three heads: refused, pointing at --merge', () => {
    const project = exampleProject();
    const migrate = (...args: string[]) => fastkit(['migrate', ...args], { cwd: project });
    for (const [name, source] of [
      [NOTES, NOTES_SOURCE],
      [TAGS, TAGS_SOURCE],
      ['20261203_000000_add_labels.py', revision('d0d0d0d0d0d0', INVOICES_ID, 'add labels')],
    ]) {
      writeFileSync(join(versions(project), name), source);
    }
    expect(migrate('hash').code).toBe(0);
    const before = versionsFolder(project);
    const refused = migrate('rebase');
    expectClean(refused);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'fastkit: The history has 3 heads (e1e1e1e1e1e1, f2f2f2f2f2f2, d0d0d0d0d0d0); rebase puts one branch after the other of two. ' +
        'Merge them with `fastkit migrate rebase --merge`.\n',
    );
    expect(versionsFolder(project)).toEqual(before);
  });

  test('--merge writes an Alembic merge revision of the two heads instead, recorded in fastkit.sum', () => {
    const project = copyOfMerged();
    const migrate = (...args: string[]) => fastkit(['migrate', ...args], { cwd: project });
    const before = new Set(readdirSync(versions(project)));
    const merged = migrate('rebase', '--merge');
    expectClean(merged);
    expect(merged.code).toBe(0);
    const [created] = readdirSync(versions(project)).filter((name) => !before.has(name) && name !== '__pycache__');
    expect(created).toMatch(/^\d{8}_\d{6}_merge_heads\.py$/);
    expect(merged.stdout).toBe(
      `Created alembic/versions/${created}: merges e1e1e1e1e1e1, f2f2f2f2f2f2\nReview it, then apply it with \`fastkit migrate run\`\n`,
    );
    expect(readFileSync(join(versions(project), NOTES), 'utf8')).toBe(NOTES_SOURCE); // nothing re-parented
    expect(alembicHeads(project)).toHaveLength(1);
    const checked = migrate('check');
    expect(checked.code).toBe(0); // the merge revision is recorded, the conflicted file written whole
    expect(checked.stdout).toMatch(/^Checked 5 revisions \(head \w+\): no errors, no warnings\n$/);
    const ran = migrate('run');
    expect(ran.code).toBe(0);
    expect(sqliteTables(join(project, 'api.db'))).toEqual(expect.arrayContaining(['notes', 'tags']));
  });
});

describe('the two-heads hints, followed', () => {
  test('check and run name `fastkit migrate rebase --merge`; the merge it writes is recorded, so check then passes and run applies it', () => {
    const project = exampleProject();
    const migrate = (...args: string[]) => fastkit(['migrate', ...args], { cwd: project });
    writeFileSync(join(versions(project), NOTES), NOTES_SOURCE);
    writeFileSync(join(versions(project), TAGS), TAGS_SOURCE);
    expect(migrate('hash').code).toBe(0); // both revisions recorded, as after a merge of two branches resolved by hash
    expect(alembicHeads(project)).toEqual(['e1e1e1e1e1e1', 'f2f2f2f2f2f2']);

    const checked = migrate('check');
    expectClean(checked);
    expect(checked.code).toBe(1);
    const [headsLine] = checked.stdout.split('\n');
    const merge = headsLine.match(/ error: the history has 2 heads: .*, or merge them with `fastkit ([^`]+)`\.$/)?.[1];
    expect(merge).toBe('migrate rebase --merge');
    const refused = migrate('run');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^fastkit: The revision history has 2 heads: \w+, \w+\. Merge them into one with `fastkit ([^`]+)`, then `fastkit migrate run`\.\n$/);
    expect(refused.stderr).toContain(`\`fastkit ${merge}\``);

    const merged = fastkit(merge!.split(' '), { cwd: project });
    expectClean(merged);
    expect(merged.code).toBe(0);
    expect(merged.stdout).toMatch(/^Created alembic\/versions\/\d{8}_\d{6}_merge_heads\.py: merges e1e1e1e1e1e1, f2f2f2f2f2f2\n/);
    const mended = migrate('check');
    expect(mended.all).not.toContain('not recorded in fastkit.sum');
    expect(mended.stdout).toMatch(/^Checked 5 revisions \(head \w+\): no errors, no warnings\n$/);
    expect(mended.code).toBe(0);
    expect(migrate('run').code).toBe(0);
    expect(sqliteTables(join(project, 'api.db'))).toEqual(expect.arrayContaining(['notes', 'tags']));
  });
});
