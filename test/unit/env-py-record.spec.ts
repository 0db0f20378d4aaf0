/**
 * The record of what env.py read (src/env-py-record.ts): the fast path steps aside as soon as
 * any input of it changed, and says which one. Real files in a temporary folder; the record is
 * shaped as python/fastkit_helper/recording.py writes it (the differential test makes real ones).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changedInput, environmentKey, saltedHash, type EnvPyRecord } from '../../src/env-py-record';

const salt = 'a1b2c3';
let folder: string;

beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'fastkit-record-'));
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

function recordOf(files: Record<string, string>, extra: Partial<EnvPyRecord> = {}): EnvPyRecord {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(folder, name), text);
  return {
    version: 1,
    usable: true,
    why: null,
    salt,
    database: null,
    env: ['DATABASE_URL', 'FASTKIT_REQUEST'],
    wholeEnv: false,
    files: Object.fromEntries(Object.entries(files).map(([name, text]) => [join(folder, name), { sha256: saltedHash(salt, text) }])),
    paths: [[join(folder, '.env'), true, 'missing']],
    listings: { [folder]: Object.keys(files).sort() },
    ...extra,
  };
}

const env = { DATABASE_URL: 'sqlite:///a.db', HOME: '/home/me', FASTKIT_REQUEST: '{"action":"status"}' };

test('nothing changed: the record holds, whatever request fastkit sends the helper', () => {
  const record = recordOf({ 'database.py': 'URL = 1\n' });
  const key = environmentKey(record, env);
  expect(changedInput(record, key, { ...env, FASTKIT_REQUEST: '{"action":"run"}' })).toBeUndefined();
  expect(changedInput(record, key, { DATABASE_URL: env.DATABASE_URL, HOME: env.HOME })).toBeUndefined();
});

test('a variable env.py read changed: the fast path names it', () => {
  const record = recordOf({ 'database.py': 'URL = 1\n' });
  const key = environmentKey(record, env);
  expect(changedInput(record, key, { ...env, DATABASE_URL: 'sqlite:///b.db' })).toBe("DATABASE_URL changed since Alembic's last run");
  expect(changedInput(record, key, { HOME: env.HOME })).toBe("DATABASE_URL changed since Alembic's last run");
});

test('PGSERVICE or a PYTHON* variable set since: libpq and the interpreter read them unseen, so the fast path steps aside', () => {
  const record = recordOf({ 'database.py': 'URL = 1\n' });
  const key = environmentKey(record, env);
  expect(changedInput(record, key, { ...env, PGSERVICE: 'prod' })).toMatch(/PG\*/);
  expect(changedInput(record, key, { ...env, PYTHONPATH: '/elsewhere' })).toMatch(/PYTHON\*/);
});

test('a file env.py read was edited, a missing .env appeared, a module file appeared: each is named', () => {
  const record = recordOf({ 'database.py': 'URL = 1\n' });
  const key = environmentKey(record, env);
  writeFileSync(join(folder, 'database.py'), 'URL = 2\n');
  expect(changedInput(record, key, env)).toBe(`${join(folder, 'database.py')} changed since Alembic's last run`);
  writeFileSync(join(folder, 'database.py'), 'URL = 1\n');
  writeFileSync(join(folder, '.env'), 'DATABASE_URL=sqlite:///b.db\n');
  expect(changedInput(record, key, env)).toBe(`${join(folder, '.env')} is a file now, missing when Alembic last ran`);
  rmSync(join(folder, '.env'));
  mkdirSync(join(folder, 'fastkit_core'));
  expect(changedInput(record, key, env)).toBe(`${join(folder, 'fastkit_core')} appeared since Alembic's last run`);
});

test('env.py read every variable: any change of the environment means asking Alembic', () => {
  const record = recordOf({}, { wholeEnv: true });
  const key = environmentKey(record, env);
  expect(changedInput(record, key, { ...env, FASTKIT_REQUEST: 'another request' })).toBeUndefined();
  expect(changedInput(record, key, { ...env, SOME_SETTING: '1' })).toBe("the environment changed since Alembic's last run, and env.py reads all of it");
});

test('a record env.py made unusable (a process started, the network used) never answers', () => {
  const record = recordOf({}, { usable: false, why: 'started a process (subprocess.Popen)' });
  expect(changedInput(record, environmentKey(record, env), env)).toBe('env.py started a process (subprocess.Popen)');
});
