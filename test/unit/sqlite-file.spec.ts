import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSqliteTable } from '../../src/sqlite-file';
import { python, tempDir } from '../support/workspace';

/** Builds a database with Python's own sqlite3 and returns what Python reads back, as JSON. */
function build(file: string, script: string): unknown[][] {
  const out = python(
    [
      'import sqlite3, json, random, base64',
      `c = sqlite3.connect(${JSON.stringify(file)})`,
      script,
      'c.commit()',
      'rows = c.execute("select * from t order by rowid").fetchall()',
      'print(json.dumps([[{"blob": base64.b64encode(v).decode()} if isinstance(v, bytes) else v for v in r] for r in rows]))',
      'c.close()',
    ].join('\n'),
  );
  return JSON.parse(out);
}

function asJson(rows: unknown[][] | undefined): unknown[][] | undefined {
  return rows?.map((row) =>
    row.map((value) =>
      value instanceof Uint8Array ? { blob: Buffer.from(value).toString('base64') } : typeof value === 'bigint' ? Number(value) : value,
    ),
  );
}

describe('reading a table straight from a SQLite file', () => {
  const dir = tempDir('fastkit-sqlite-');

  test.each([512, 1024, 4096, 65536])('reads every row Python wrote, with page size %i', (pageSize) => {
    const file = join(dir, `rows-${pageSize}.db`);
    const expected = build(
      file,
      `c.execute("pragma page_size=${pageSize}")
c.execute("create table t (a, b, c)")
random.seed(${pageSize})
for i in range(2000):
    c.execute("insert into t values (?, ?, ?)", (
        random.choice([None, 0, 1, -1, 127, -129, 40000, -8388609, 2**31, -2**40, 2**53 - 1, 1.5, -2.25e10]),
        "x" * (random.randint(0, 3 * ${pageSize}) if random.random() < 0.1 else random.randint(0, 300)) + "ü",
        bytes(random.getrandbits(8) for _ in range(random.randint(0, 300))),
    ))`,
    );
    expect(asJson(readSqliteTable(file, 't')!.rows)).toEqual(expected);
  });

  test('finds a table whose CREATE statement overflows the first page', () => {
    const file = join(dir, 'wide.db');
    const columns = Array.from({ length: 400 }, (_, i) => `column_with_a_long_name_${i} text`).join(', ');
    build(file, `c.execute("pragma page_size=512")\nc.execute("create table t (${columns})")\nc.execute("create table alembic_version (version_num varchar(32) not null primary key)")\nc.execute("insert into alembic_version values ('ae1027a6acf')")`);
    expect(readSqliteTable(file, 'alembic_version')).toEqual({ rows: [['ae1027a6acf']] });
  });

  test('a missing table, a missing file and an empty file read as no table', () => {
    const file = join(dir, 'other.db');
    build(file, 'c.execute("create table t (a)")');
    expect(readSqliteTable(file, 'alembic_version')).toEqual({ rows: undefined });
    expect(readSqliteTable(join(dir, 'absent.db'), 'alembic_version')).toEqual({ rows: undefined });
    writeFileSync(join(dir, 'empty.db'), '');
    expect(readSqliteTable(join(dir, 'empty.db'), 'alembic_version')).toEqual({ rows: undefined });
  });

  test('is not certain while a rollback journal exists or WAL frames are not checkpointed', () => {
    const file = join(dir, 'journal.db');
    build(file, 'c.execute("create table t (a)")');
    writeFileSync(`${file}-journal`, 'x');
    expect(readSqliteTable(file, 't')).toBeUndefined();

    const wal = join(dir, 'wal.db');
    const keep = python(
      `import sqlite3, os
c = sqlite3.connect(${JSON.stringify(wal)})
c.execute("pragma journal_mode=wal")
c.execute("pragma wal_autocheckpoint=0")
c.execute("create table t (a)")
c.execute("insert into t values (1)")
c.commit()
print(os.path.getsize(${JSON.stringify(wal)} + "-wal") > 0)
os._exit(0)`,
    );
    expect(keep).toBe('True');
    expect(readSqliteTable(wal, 't')).toBeUndefined();
  });

  test('a file that is not a database is not certain', () => {
    const file = join(dir, 'text.db');
    writeFileSync(file, 'hello, this is not SQLite at all'.repeat(10));
    expect(readSqliteTable(file, 't')).toBeUndefined();
  });
});
