/**
 * `--checksums`: the database remembers what it ran. Real Alembic on a real SQLite file and a
 * real PostgreSQL database: `run` records each applied revision's checksum in
 * alembic_version_checksums, `status` warns and `status --check` fails when an applied file
 * changed afterwards, `rollback` removes the record, and a database migrated before checksums
 * were on is back-filled once, said once.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { revision } from '../support/revisions';
import { createPostgresDatabase, exampleProject, fastkit, psql, run, PYTHON, sqliteRows, type Ran } from '../support/workspace';

const CLIENTS = '20261126_185545_create_clients.py';
const INVOICES = '20261126_185552_create_invoices.py';
const NOTES = '20261201_000000_add_notes.py';
const CLIENTS_ID = '3e51a29c4cf9';
const INVOICES_ID = 'a719d4f7b98f';
const NOTES_ID = 'e1e1e1e1e1e1';
const CHANGED =
  'fastkit: 1 applied migration changed since the database ran it. Undo the edits and make the changes in a new revision: databases that ran the old text keep it.\n';

/** The SHA-256 of a file with its line ends made \n: what a checksum is. */
function fileChecksum(path: string): string {
  return createHash('sha256').update(readFileSync(path, 'utf8').replace(/\r\n?/g, '\n')).digest('hex');
}

interface Backend {
  name: string;
  /** DATABASE_URL, or nothing for env.py's own SQLite file. */
  url?: string;
  /** {revision: checksum} of the side table. */
  recorded(): Record<string, string>;
  drop?(): void;
}

function sqlite(project: string): Backend {
  return {
    name: 'SQLite',
    recorded: () => Object.fromEntries(sqliteRows(join(project, 'api.db'), 'select version_num, checksum from alembic_version_checksums')),
  };
}

function postgres(): Backend {
  const database = createPostgresDatabase('fk_sums');
  return {
    name: 'PostgreSQL',
    url: database.url,
    recorded: () =>
      Object.fromEntries(
        psql(database.name, 'select version_num, checksum from alembic_version_checksums')
          .split('\n')
          .filter(Boolean)
          .map((row) => row.split('|')),
      ),
    drop: database.drop,
  };
}

describe.each([
  ['SQLite', sqlite],
  ['PostgreSQL', () => postgres()],
] as const)('--checksums on %s', (_name, backendOf) => {
  const project = exampleProject();
  const backend: Backend = backendOf(project);
  const env = backend.url ? { DATABASE_URL: backend.url } : {};
  const migrate = (...args: string[]) => fastkit(['migrate', ...args], { cwd: project, env });
  const file = (name: string) => join(project, 'alembic', 'versions', name);
  /** The revisions Alembic itself says the database is at (`alembic current`), as a cross-check. */
  const alembicCurrent = () => run(PYTHON, ['-m', 'alembic', 'current'], { cwd: project, env: { ...process.env, ...env } }).stdout.match(/^\w+/gm) ?? [];
  const expectClean = (ran: Ran) => expect(ran.all).not.toContain('Traceback');

  afterAll(() => backend.drop?.());

  test('a database migrated before checksums were on: status says what has no record; the first run --checksums back-fills them and says so once', () => {
    expect(migrate('run').code).toBe(0);
    const before = migrate('status', '--checksums');
    expectClean(before);
    expect(before.code).toBe(0);
    expect(before.stdout).toBe(
      `${INVOICES_ID} (head)\n2 applied migrations without a recorded checksum: \`fastkit migrate run --checksums\` records them\n`,
    );

    const first = migrate('run', '--checksums');
    expectClean(first);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('Recorded the checksums of 2 migrations applied before checksums were on, in alembic_version_checksums\n');
    expect(backend.recorded()).toEqual({ [CLIENTS_ID]: fileChecksum(file(CLIENTS)), [INVOICES_ID]: fileChecksum(file(INVOICES)) });

    const again = migrate('run', '--checksums');
    expect(again.code).toBe(0);
    expect(again.all).toBe('');
    expect(migrate('status', '--checksums').stdout).toBe(`${INVOICES_ID} (head)\n`);
  });

  test('run --checksums records a revision as it applies it', () => {
    writeFileSync(
      file(NOTES),
      revision(NOTES_ID, INVOICES_ID, 'add notes', 'op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True))', 'op.drop_table("notes")'),
    );
    const ran = migrate('run', '--checksums');
    expectClean(ran);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toBe(`Running upgrade ${INVOICES_ID} -> ${NOTES_ID}, add notes\nNow at ${NOTES_ID} (head)\n`);
    expect(alembicCurrent()).toEqual([NOTES_ID]);
    expect(backend.recorded()).toEqual({
      [CLIENTS_ID]: fileChecksum(file(CLIENTS)),
      [INVOICES_ID]: fileChecksum(file(INVOICES)),
      [NOTES_ID]: fileChecksum(file(NOTES)),
    });
  });

  test('an applied revision edited afterwards: status --checksums warns (exit 0), status --checksums --check fails naming it', () => {
    writeFileSync(file(NOTES), readFileSync(file(NOTES), 'utf8').replace('primary_key=True)', 'primary_key=True), sa.Column("body", sa.Text)'));
    const warned = migrate('status', '--checksums');
    expectClean(warned);
    expect(warned.code).toBe(0);
    const report =
      `${NOTES_ID} (head)\n` +
      '1 applied migration changed since the database ran it:\n' +
      `  ${NOTES_ID}  add notes  (alembic/versions/${NOTES})\n` +
      'Undo the edits and make the changes in a new revision: databases that ran the old text keep it\n';
    expect(warned.stdout).toBe(report);

    const checked = migrate('status', '--checksums', '--check');
    expect(checked.code).toBe(1);
    expect(checked.stdout).toBe(report);
    expect(checked.stderr).toBe(CHANGED);
    expect(JSON.parse(migrate('status', '--checksums', '--json').stdout)).toMatchObject({
      upToDate: true,
      changed: [{ revision: NOTES_ID, message: 'add notes', path: `alembic/versions/${NOTES}` }],
      unrecorded: [],
    });
    // without --checksums, status reads the version table only, as before
    expect(migrate('status', '--check').code).toBe(0);
  });

  test('rollback --checksums removes the record of the revision it undoes; run --checksums records the file as it is now', () => {
    const rolled = migrate('rollback', '--checksums');
    expectClean(rolled);
    expect(rolled.code).toBe(0);
    expect(alembicCurrent()).toEqual([INVOICES_ID]);
    expect(backend.recorded()).toEqual({ [CLIENTS_ID]: fileChecksum(file(CLIENTS)), [INVOICES_ID]: fileChecksum(file(INVOICES)) });
    expect(migrate('status', '--checksums').stdout).toBe(
      `${INVOICES_ID}\n1 pending migration:\n  ${NOTES_ID}  add notes\nApply it with \`fastkit migrate run\`\n`,
    );

    expect(migrate('run', '--checksums').code).toBe(0);
    expect(backend.recorded()[NOTES_ID]).toBe(fileChecksum(file(NOTES)));
    expect(migrate('status', '--checksums', '--check').code).toBe(0);
  });
});
