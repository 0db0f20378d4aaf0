/**
 * The rules of python/fastkit_check.py, called directly with the venv's Python: which type
 * changes can lose data (and which are left alone), and the graph errors that are awkward to
 * make with Alembic itself (a cycle, a file without `revision`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PYTHON, REPO, run, tempDir } from '../support/workspace';

/** Runs `code` with fastkit_check importable and returns what it printed as JSON. */
function python<T>(code: string): T {
  const ran = run(PYTHON, ['-c', `import json, ast, sys\nsys.path.insert(0, ${JSON.stringify(join(REPO, 'python'))})\nimport fastkit_check\n${code}`]);
  if (ran.code !== 0) throw new Error(ran.stderr);
  return JSON.parse(ran.stdout) as T;
}

/** type_change_loss for each [existing_type, type_] pair, as written in a revision file. */
function losses(pairs: Array<[string | null, string]>): Array<string | null> {
  return python<Array<string | null>>(`
pairs = json.loads(${JSON.stringify(JSON.stringify(pairs))})
node = lambda text: None if text is None else ast.parse(text, mode="eval").body
print(json.dumps([fastkit_check.type_change_loss(node(old), node(new)) for old, new in pairs]))
`);
}

describe('type changes that can lose data (TYPE_RULES)', () => {
  test.each<[string | null, string, RegExp]>([
    ['sa.String(length=100)', 'sa.String(length=50)', /from String\(length=100\) to String\(length=50\): values longer than 50 characters/],
    ['sa.VARCHAR(100)', 'sa.String(50)', /values longer than 50 characters/],
    ['sa.Text()', 'sa.String(length=255)', /from Text to String\(length=255\): values longer than 255/],
    ['sa.String()', 'sa.String(20)', /values longer than 20 characters/], // String without length is unbounded
    ['postgresql.TEXT()', 'sa.CHAR()', /values longer than 1 characters/], // CHAR without length is CHAR(1)
    ['sa.Float()', 'sa.Integer()', /the fractional part is dropped/],
    ['sa.Numeric(10, 2)', 'sa.BigInteger()', /the fractional part is dropped/],
    ['sa.BigInteger()', 'sa.Integer()', /outside the smaller integer range/],
    ['sa.Integer()', 'sa.SmallInteger()', /outside the smaller integer range/],
    ['sa.Numeric(precision=10, scale=2)', 'sa.Numeric(precision=8, scale=2)', /rounded or out of range/],
    ['sa.Numeric(10, 4)', 'sa.Numeric(12, 2)', /rounded or out of range/],
    ['sa.Float()', 'sa.Numeric(10, 2)', /rounded to the numeric's scale/],
    ['postgresql.DOUBLE_PRECISION()', 'sa.REAL()', /precision is lost/],
    ['sa.Integer()', 'sa.Boolean()', /only true\/false survive/],
    ['sa.String(length=5)', 'sa.Boolean()', /only true\/false survive/],
    ['sa.DateTime()', 'sa.Date()', /the time of day is dropped/],
    ['sa.TIMESTAMP()', 'sa.Time()', /the date is dropped/],
    ["sa.Enum('draft', 'sent', 'paid', name='status')", "sa.Enum('draft', 'paid', name='status')", /rows holding 'sent' no longer fit/],
    ['sa.String(length=20)', 'sa.Integer()', /text that is not a valid integer is rejected/],
    ['sa.Text()', 'sa.DateTime()', /not a valid datetime/],
    [null, 'sa.String(length=50)', /to String\(length=50\) without existing_type: the old type is unknown/],
  ])('%s -> %s: warned', (old, next, reason) => {
    expect(losses([[old, next]])[0]).toMatch(reason);
  });

  test.each<[string, string]>([
    ['sa.String(length=50)', 'sa.String(length=100)'],
    ['sa.String(length=50)', 'sa.Text()'],
    ['sa.VARCHAR(length=50)', 'sa.String(length=50)'],
    ['sa.Integer()', 'sa.BigInteger()'],
    ['sa.Integer()', 'sa.Numeric(12, 2)'],
    ['sa.Integer()', 'sa.Float()'],
    ['sa.Integer()', 'sa.Text()'],
    ['sa.Numeric(10, 2)', 'sa.Numeric(12, 4)'],
    ['sa.REAL()', 'postgresql.DOUBLE_PRECISION()'],
    ['sa.Date()', 'sa.DateTime()'],
    ['sa.Boolean()', 'sa.Boolean()'],
    ['sa.Boolean()', 'sa.Integer()'],
    ["sa.Enum('a', name='e')", "sa.Enum('a', 'b', name='e')"],
    ['mytypes.Money()', 'mytypes.Cents()'], // types fastkit does not know are not judged
  ])('%s -> %s: no warning', (old, next) => {
    expect(losses([[old, next]])[0]).toBeNull();
  });
});

describe('graph errors', () => {
  /** check_history over files written to a temporary versions folder. */
  function checkFiles(files: Record<string, string>, template: string | null = '%(rev)s_%(slug)s') {
    const folder = join(tempDir('fastkit-rules-'), 'versions');
    mkdirSync(folder);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(folder, name), text);
    return python<{ revisions: number; heads: string[]; findings: Array<{ code: string; file: string; line: number; message: string }> }>(`
import os, runpy
from types import SimpleNamespace
folder = ${JSON.stringify(folder)}
files = [(os.path.join(folder, name), name[:-3]) for name in sorted(os.listdir(folder))]
run_module = lambda path: SimpleNamespace(**runpy.run_path(path))
print(json.dumps(fastkit_check.check_history(files, ${template === null ? 'None' : JSON.stringify(template)}, run_module)))
`);
  }

  test('revisions that revise each other in a circle', () => {
    const report = checkFiles({
      'a1_first.py': "revision = 'a1'\ndown_revision = 'b2'\n",
      'b2_second.py': "revision = 'b2'\ndown_revision = 'a1'\n",
    });
    expect(report.findings).toEqual([
      expect.objectContaining({ code: 'cycle', message: 'the revisions revise each other in a circle: a1 -> b2 -> a1', line: 2 }),
    ]);
  });

  test('a file without revision or down_revision; a legacy hex name stands for its revision, as in Alembic', () => {
    const report = checkFiles({
      'a1_first.py': "down_revision = None\n",
      'b2_second.py': "revision = 'b2'\n",
      'c3.py': "down_revision = None\n",
    }, null);
    expect(report.findings.map(({ code, message }) => [code, message])).toEqual([
      ['no-revision', 'sets no revision id'],
      ['no-down-revision', 'sets no down_revision'],
    ]);
    expect(report.revisions).toBe(2); // b2 and c3 (from its name)
  });

  test('a computed revision id is read the way Alembic reads it: by running the file', () => {
    const report = checkFiles({
      'a1_first.py': "revision = 'a' + '1'\ndown_revision = None\n",
      'b2_second.py': "revision = 'b2'\ndown_revision = 'a1'\n",
    });
    expect(report).toEqual({ revisions: 2, heads: ['b2'], findings: [] });
  });
});
