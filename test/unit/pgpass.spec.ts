import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { passwordsIn } from '../../src/env-py-record';
import { passwordFromFile, type PasswordFileKey } from '../../src/pgpass';

const TCP: PasswordFileKey = { host: 'db.internal', port: 5432, database: 'app', user: 'svc' };

describe("passwordFromFile: libpq's password file, as libpq reads it", () => {
  let folder: string;
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'fastkit-pgpass-'));
  });
  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  /** A password file with `text`, readable by its owner only unless `mode` says otherwise. */
  const file = (text: string, mode = 0o600) => {
    const path = join(folder, 'pgpass');
    writeFileSync(path, text);
    chmodSync(path, mode);
    return { PGPASSFILE: path };
  };

  test('the first line whose host, port, database and user match gives the password; * matches anything', () => {
    const env = file('other:5432:app:svc:no\ndb.internal:5432:*:svc:first\n*:*:*:*:second\n');
    expect(passwordFromFile(TCP, env)).toBe('first');
    expect(passwordFromFile({ ...TCP, user: 'else' }, env)).toBe('second');
  });

  test('a backslash escapes a colon or a backslash; the password ends at the next unescaped colon', () => {
    expect(passwordFromFile(TCP, file('db.internal:5432:app:svc:pa\\:ss\\\\word\n'))).toBe('pa:ss\\word');
    expect(passwordFromFile(TCP, file('db.internal:5432:app:svc:pa:ss\n'))).toBe('pa');
  });

  test('an escaped \\* is a star, not a wildcard; comments, short lines and CRLF endings are read as libpq reads them', () => {
    expect(passwordFromFile(TCP, file('\\*:5432:app:svc:star\n'))).toBeUndefined();
    expect(passwordFromFile(TCP, file('#db.internal:5432:app:svc:commented\ndb.internal:5432:app\n'))).toBeUndefined();
    expect(passwordFromFile(TCP, file('db.internal:5432:app:svc:windows\r\n'))).toBe('windows');
  });

  test('a file others may read, or that is not a plain file, is ignored, as libpq ignores it', () => {
    expect(passwordFromFile(TCP, file('*:*:*:*:open\n', 0o644))).toBeUndefined();
    expect(passwordFromFile(TCP, { PGPASSFILE: folder })).toBeUndefined();
    expect(passwordFromFile(TCP, { PGPASSFILE: join(folder, 'missing') })).toBeUndefined();
  });

  test('without PGPASSFILE, ~/.pgpass of HOME', () => {
    writeFileSync(join(folder, '.pgpass'), '*:*:*:svc:from-home\n', { mode: 0o600 });
    expect(passwordFromFile(TCP, { HOME: folder })).toBe('from-home');
  });

  test('a socket folder is looked up as itself, and a default one also as localhost', () => {
    const env = file('/srv/pg:5432:app:svc:by-path\nlocalhost:5432:app:svc:local\n');
    expect(passwordFromFile({ ...TCP, host: '/srv/pg' }, env)).toBe('by-path');
    expect(passwordFromFile({ ...TCP, host: '/var/run/postgresql' }, env)).toBe('local');
    expect(passwordFromFile({ ...TCP, host: '/elsewhere' }, env)).toBeUndefined();
  });
});

describe('passwordsIn: what in a file env.py read could be the password (the hash decides)', () => {
  test("a .env's values, quoted or not, with python-dotenv's escapes undone, and the password of each URL", () => {
    const found = passwordsIn(
      [
        'export DB_PASSWORD="say \\"hi\\""',
        "SECRET='single quoted'",
        'PLAIN=bare value # a comment',
        'DATABASE_URL=postgresql+psycopg://app:p%40ss@db/app',
        'settings: postgresql://u:yaml-pw@db/app',
      ].join('\n'),
    );
    expect(found).toEqual(expect.arrayContaining(['say "hi"', 'single quoted', 'bare value', 'p@ss', 'yaml-pw']));
  });
});
