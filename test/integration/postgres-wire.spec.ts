/**
 * fastkit's own PostgreSQL session (src/postgres-wire.ts), which the fast path and the shadow key
 * use, against the real server: peer authentication over the socket, SCRAM-SHA-256 with a real
 * password over TCP (127.0.0.1 asks for one here), errors with their SQLSTATE, and the fast path
 * answering for a database behind a password exactly as Alembic does. MD5 and cleartext, which
 * this server is not set up to ask for, and a server that never answers, against a scripted one.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { passwordsIn } from '../../src/env-py-record';
import { passwordFromFile } from '../../src/pgpass';
import { PostgresError, PostgresSession } from '../../src/postgres-wire';
import { shadowKey } from '../../src/shadow-key';
import { createPostgresDatabase, exampleProject, fastkit, PG_HOST, PG_USER, psql, PYTHON, run, STACK, tempDir } from '../support/workspace';

const ROLE = `fk_wire_${process.pid}`;
/** A password with characters a URL must escape and SCRAM must carry as they are. */
const PASSWORD = 'Wire:pass@word/1';

describe('a PostgreSQL session of fastkit’s own, on the real server', () => {
  beforeAll(() => {
    psql('postgres', `CREATE ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD}'`);
  });
  afterAll(() => {
    psql('postgres', `DROP ROLE IF EXISTS ${ROLE}`);
  });

  test('over the socket with peer authentication: text values, NULL, UTF-8, and the server version it announced', async () => {
    const session = await PostgresSession.open({ host: PG_HOST, port: 5432, user: PG_USER, database: 'postgres', timeoutMs: 3000 });
    try {
      expect(await session.query("SELECT 1, NULL, 'ünïcode', current_user")).toEqual([['1', null, 'ünïcode', PG_USER]]);
      expect(await session.query('SELECT 1 WHERE false')).toEqual([]);
      expect(session.parameters.get('server_version')).toMatch(/^\d+(\.\d+)?/);
    } finally {
      session.close();
    }
  });

  test('an error comes with its SQLSTATE, and the session goes on', async () => {
    const session = await PostgresSession.open({ host: PG_HOST, port: 5432, user: PG_USER, database: 'postgres', timeoutMs: 3000 });
    try {
      const failed = await session.query('SELECT version_num FROM no_such_table').catch((error: unknown) => error);
      expect(failed).toBeInstanceOf(PostgresError);
      expect((failed as PostgresError).code).toBe('42P01');
      expect(await session.query('SELECT 2')).toEqual([['2']]);
    } finally {
      session.close();
    }
  });

  test('over TCP with SCRAM-SHA-256: the right password opens the session; a wrong one or none is refused', async () => {
    const target = { host: '127.0.0.1', port: 5432, user: ROLE, database: 'postgres', timeoutMs: 3000 };
    const session = await PostgresSession.open({ ...target, password: PASSWORD });
    try {
      expect(await session.query('SELECT current_user')).toEqual([[ROLE]]);
    } finally {
      session.close();
    }
    const wrong = await PostgresSession.open({ ...target, password: 'not it' }).catch((error: unknown) => error);
    expect(wrong).toBeInstanceOf(PostgresError);
    expect((wrong as PostgresError).code).toBe('28P01'); // invalid_password
    await expect(PostgresSession.open(target)).rejects.toThrow('the server asks for a password, and there is none');
  });

  test('the fast path answers for a database behind a password as Alembic does, and never with another password', () => {
    const db = createPostgresDatabase();
    try {
      const project = exampleProject();
      const url = `postgresql+${STACK.postgresDriver}://${ROLE}:${encodeURIComponent(PASSWORD)}@127.0.0.1:5432/${db.name}`;
      psql(db.name, `GRANT ALL ON SCHEMA public TO ${ROLE}`);
      const env = { DATABASE_URL: url };
      expect(fastkit(['migrate', 'run'], { cwd: project, env }).code).toBe(0);
      const slow = fastkit(['migrate', 'status', '--json', '--no-fast'], { cwd: project, env });
      const fast = fastkit(['migrate', 'status', '--json', '--verbose'], { cwd: project, env });
      expect(fast.stderr).toContain('fast path: answered without Python');
      expect(JSON.parse(fast.stdout)).toEqual(JSON.parse(slow.stdout));
      expect(JSON.parse(fast.stdout).upToDate).toBe(true);
      expect(fast.all).not.toContain(PASSWORD);

      // a host name, as most URLs have (psycopg 3 looks it up in Python as it connects): the
      // fast path still answers, and what Alembic would after a rollback behind its back
      const byName = { DATABASE_URL: url.replace('@127.0.0.1:', '@localhost:') };
      expect(fastkit(['migrate', 'status', '--no-fast'], { cwd: project, env: byName }).code).toBe(0);
      expect(run(PYTHON, ['-m', 'alembic', 'downgrade', '-1'], { cwd: project, env: byName }).code).toBe(0);
      const named = fastkit(['migrate', 'status', '--json', '--verbose'], { cwd: project, env: byName });
      expect(named.stderr).toContain('fast path: answered without Python');
      expect(JSON.parse(named.stdout)).toEqual(JSON.parse(fastkit(['migrate', 'status', '--json', '--no-fast'], { cwd: project, env: byName }).stdout));
      expect(JSON.parse(named.stdout).upToDate).toBe(false);

      // the password Alembic used is gone from the environment: the fast path cannot prove the
      // same session, so Alembic answers (and fails to connect, as it would)
      const other = fastkit(['migrate', 'status', '--verbose'], { cwd: project, env: { DATABASE_URL: url.replace(encodeURIComponent(PASSWORD), 'wrong') } });
      expect(other.stderr).not.toContain('fast path: answered without Python');
      expect(other.code).toBe(1);
    } finally {
      db.drop();
    }
  });
});

describe("passwords where libpq and python-dotenv find them: the password file, a project's .env", () => {
  const PGPASS_ROLE = `fk_pgpass_${process.pid}`;
  let folder: string;
  beforeAll(() => {
    psql('postgres', `CREATE ROLE ${PGPASS_ROLE} LOGIN PASSWORD '${PASSWORD}'`);
    folder = tempDir('fastkit-pgpass-');
  });
  afterAll(() => {
    psql('postgres', `DROP ROLE IF EXISTS ${PGPASS_ROLE}`);
  });

  /** A password file with `text` (readable by its owner only unless `mode` says otherwise). */
  let files = 0;
  const passwordFile = (text: string, mode = 0o600): string => {
    const path = join(folder, `pgpass-${files++}`);
    writeFileSync(path, text);
    chmodSync(path, mode);
    return path;
  };
  const escaped = PASSWORD.replace(/[\\:]/g, '\\$&');

  test('the password file: fastkit opens a session exactly where libpq (psql) does, line for line', async () => {
    const role = PGPASS_ROLE;
    const cases: Array<[string, number?]> = [
      [`127.0.0.1:5432:*:${role}:${escaped}\n`],
      [`*:*:*:*:${escaped}\n`],
      [`127.0.0.1:5432:postgres:${role}:${escaped}\r\n`],
      [`127.0.0.1:5432:*:${role}:wrong\n*:*:*:*:${escaped}\n`], // the first match wins
      [`# 127.0.0.1:5432:*:${role}:${escaped}\n`],
      [`*:*:*:*:${escaped}\n`, 0o644], // readable by others: ignored
      [`*:*:*:*:${PASSWORD}\n`], // unescaped: the password ends at its colon
      [`localhost:5432:*:${role}:${escaped}\n`],
      [`127.0.0.1:5433:*:${role}:${escaped}\n`],
      [`\\*:5432:*:${role}:${escaped}\n`], // an escaped star is a star
      [`127.0.0.1:5432:other:${role}:${escaped}\n*:*:*:${role}:${escaped}\n`],
    ];
    const target = { host: '127.0.0.1', port: 5432, user: role, database: 'postgres' };
    const outcomes = [];
    for (const [text, mode] of cases) {
      const env = { PGPASSFILE: passwordFile(text, mode) };
      const { PGPASSWORD: _unset, ...inherited } = process.env;
      const libpq = run('psql', ['-h', target.host, '-p', String(target.port), '-U', role, '-d', target.database, '-w', '-Atc', 'SELECT 1'], { env: { ...inherited, ...env } });
      const password = passwordFromFile(target, env);
      const ours = await PostgresSession.open({ ...target, password, timeoutMs: 3000 }).then(
        (session) => (session.close(), true),
        () => false,
      );
      outcomes.push({ text, libpq: libpq.code === 0, fastkit: ours });
    }
    expect(outcomes.map(({ text, fastkit }) => ({ text, connects: fastkit }))).toEqual(outcomes.map(({ text, libpq }) => ({ text, connects: libpq })));
    expect(outcomes.filter((outcome) => outcome.libpq).length).toBe(4); // both kinds of outcome were tested
  });

  test("the fast path answers with the password of the password file, or of the project's .env, as Alembic connected with it", () => {
    const db = createPostgresDatabase();
    try {
      psql(db.name, `GRANT ALL ON SCHEMA public TO ${PGPASS_ROLE}`);
      const status = (project: string, env: Record<string, string | undefined>) => {
        const slow = fastkit(['migrate', 'status', '--json', '--no-fast'], { cwd: project, env });
        const fast = fastkit(['migrate', 'status', '--json', '--verbose'], { cwd: project, env });
        expect(fast.all).not.toContain(PASSWORD);
        return { slow: JSON.parse(slow.stdout), fast: JSON.parse(fast.stdout), answered: fast.stderr.includes('fast path: answered without Python') };
      };

      // DATABASE_URL without a password: libpq takes it from the file PGPASSFILE names
      const fromFile = exampleProject();
      const env = {
        DATABASE_URL: `postgresql+${STACK.postgresDriver}://${PGPASS_ROLE}@127.0.0.1:5432/${db.name}`,
        PGPASSFILE: passwordFile(`127.0.0.1:5432:${db.name}:${PGPASS_ROLE}:${escaped}\n`),
        PGPASSWORD: undefined,
      };
      expect(fastkit(['migrate', 'run'], { cwd: fromFile, env }).code).toBe(0);
      const file = status(fromFile, env);
      expect(file).toEqual({ slow: file.fast, fast: expect.objectContaining({ upToDate: true }), answered: true });
      // a wrong password there: Alembic answers, and the line says which file to fix
      const wrongFile = passwordFile(`127.0.0.1:5432:${db.name}:${PGPASS_ROLE}:wrong\n`);
      const refused = fastkit(['migrate', 'status'], { cwd: fromFile, env: { ...env, PGPASSFILE: wrongFile } });
      expect({ code: refused.code, lines: refused.stderr.trim().split('\n') }).toEqual({
        code: 1,
        lines: [expect.stringMatching(new RegExp(`^fastkit: Cannot connect to the database .*authentication failed.*Check this user's line in ${wrongFile}, libpq's password file`))],
      });

      // a password file others may read: libpq ignores it, and so does fastkit; the line says what to do
      const open = passwordFile(`127.0.0.1:5432:${db.name}:${PGPASS_ROLE}:${escaped}\n`, 0o644);
      const ignored = fastkit(['migrate', 'status'], { cwd: fromFile, env: { ...env, PGPASSFILE: open } });
      expect({ code: ignored.code, last: ignored.stderr.trim().split('\n').at(-1) }).toEqual({
        code: 1,
        last: expect.stringMatching(/^fastkit: Cannot connect to the database .*: the server asks for a password, and none was given .*readable by you only: chmod 600\)\.$/),
      });

      // the URL with its password only in .env, which database.py loads with python-dotenv
      const fromDotenv = exampleProject();
      appendFileSync(join(fromDotenv, 'database.py'), '\nfrom dotenv import load_dotenv\n\nload_dotenv()\n');
      const url = `postgresql+${STACK.postgresDriver}://${PGPASS_ROLE}:${encodeURIComponent(PASSWORD)}@127.0.0.1:5432/${db.name}`;
      writeFileSync(join(fromDotenv, '.env'), `# the team's database\nDATABASE_URL="${url}"\n`);
      const dotenv = status(fromDotenv, { DATABASE_URL: undefined, PGPASSWORD: undefined });
      expect(dotenv).toEqual({ slow: dotenv.fast, fast: expect.objectContaining({ upToDate: true }), answered: true });
      // another password in .env: the file changed, so Alembic answers (and cannot connect)
      writeFileSync(join(fromDotenv, '.env'), `DATABASE_URL="${url.replace(encodeURIComponent(PASSWORD), 'wrong')}"\n`);
      const changed = fastkit(['migrate', 'status', '--verbose'], { cwd: fromDotenv, env: { DATABASE_URL: undefined } });
      expect({ code: changed.code, answered: changed.stderr.includes('fast path: answered without Python') }).toEqual({ code: 1, answered: false });
    } finally {
      db.drop();
    }
  });

  test("the shadow key reads a server behind a password with libpq's password file", async () => {
    const shadow = `postgresql+${STACK.postgresDriver}://${PGPASS_ROLE}@127.0.0.1:5432/postgres`;
    const base = { FASTKIT_SHADOW_URL: shadow, DATABASE_URL: 'postgresql://app@db/app', PGPASSWORD: undefined, HOME: folder };
    const major = psql('postgres', 'SHOW server_version_num').slice(0, -4);
    expect(await shadowKey({ ...base, PGPASSFILE: passwordFile(`*:*:*:${PGPASS_ROLE}:${escaped}\n`) })).toBe(`postgresql ${major}`);
    expect(await shadowKey({ ...base, PGPASSFILE: passwordFile(`*:*:*:${PGPASS_ROLE}:wrong\n`) })).toBe('postgresql unreachable');
  });

  test("python-dotenv's own reading of .env files: every value it loads is among what fastkit tries", () => {
    const texts = [
      'A=plain\nB = spaced \nexport C=exported\n',
      'D="double \\"quoted\\" \\\\ end"\nE=\'single \\\\n kept\'\n',
      'F=value # a comment\nG="hash # inside"\n# H=commented\n',
      'URL=postgresql://u:p%23w%40rd@h/db\nI=ünï:cødé\n',
    ];
    const loaded = JSON.parse(
      run(PYTHON, ['-c', 'import io, json, sys\nfrom dotenv import dotenv_values\nprint(json.dumps([dotenv_values(stream=io.StringIO(t)) for t in json.loads(sys.argv[1])]))', JSON.stringify(texts)]).stdout,
    ) as Array<Record<string, string>>;
    expect(loaded.flatMap((values) => Object.keys(values))).toEqual(['A', 'B', 'C', 'D', 'E', 'F', 'G', 'URL', 'I']);
    for (const [index, values] of loaded.entries()) {
      const candidates = passwordsIn(texts[index]);
      for (const value of Object.values(values)) expect({ value, found: candidates.includes(value) }).toEqual({ value, found: true });
    }
    expect(passwordsIn(texts[3])).toContain('p#w@rd');
  });
});

/** A scripted server: reads the startup message, then plays `script` with the socket. */
async function scriptedServer(script: (socket: Socket, read: () => Promise<Buffer>) => Promise<void>): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    let buffer = Buffer.alloc(0);
    const waiting: Array<() => void> = [];
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      waiting.splice(0).forEach((wake) => wake());
    });
    socket.on('error', () => undefined);
    // the startup message has no type byte; every later one has
    let started = false;
    const read = async (): Promise<Buffer> => {
      for (;;) {
        const offset = started ? 1 : 0;
        if (buffer.length >= offset + 4) {
          const length = buffer.readInt32BE(offset);
          if (buffer.length >= offset + length) {
            const message = buffer.subarray(0, offset + length);
            buffer = buffer.subarray(offset + length);
            started = true;
            return message;
          }
        }
        await new Promise<void>((wake) => waiting.push(wake));
      }
    };
    void script(socket, read);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

function backend(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

const int32 = (value: number) => {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value);
  return buffer;
};
const READY = backend('Z', Buffer.from('I'));
const AUTH_OK = backend('R', int32(0));

describe('authentication this server does not ask for, and a server that never answers (scripted)', () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((server) => server.close()));

  test.each([
    ['MD5', 5, (salt: Buffer) => `md5${createHash('md5').update(Buffer.concat([Buffer.from(createHash('md5').update('s3cret' + 'app').digest('hex')), salt])).digest('hex')}`],
    ['cleartext', 3, () => 's3cret'],
  ])('%s: the password message is the one libpq sends', async (_name, code, expected) => {
    const salt = Buffer.from([1, 2, 3, 4]);
    const seen: string[] = [];
    const { server, port } = await scriptedServer(async (socket, read) => {
      const startup = await read();
      seen.push(startup.subarray(8).toString('utf8'));
      socket.write(backend('R', Buffer.concat([int32(code), code === 5 ? salt : Buffer.alloc(0)])));
      const answer = await read();
      seen.push(answer.subarray(5, answer.length - 1).toString('utf8'));
      socket.write(Buffer.concat([AUTH_OK, backend('S', Buffer.from('server_version\u000015.4\u0000')), READY]));
    });
    servers.push(server);
    const session = await PostgresSession.open({ host: '127.0.0.1', port, user: 'app', database: 'shop', password: 's3cret', timeoutMs: 2000 });
    session.close();
    expect(seen).toEqual(['user\0app\0database\0shop\0client_encoding\0UTF8\0\0', expected(salt)]);
    expect(session.parameters.get('server_version')).toBe('15.4');
  });

  test('a server that accepts the connection and never answers: refused after the time limit', async () => {
    const { server, port } = await scriptedServer(async () => undefined);
    servers.push(server);
    await expect(PostgresSession.open({ host: '127.0.0.1', port, user: 'app', database: 'shop', timeoutMs: 300 })).rejects.toThrow('no answer from the server within 300 ms');
  });

  test('an authentication it does not speak (GSSAPI) is refused with its code', async () => {
    const { server, port } = await scriptedServer(async (socket, read) => {
      await read();
      socket.write(backend('R', int32(7)));
    });
    servers.push(server);
    await expect(PostgresSession.open({ host: '127.0.0.1', port, user: 'app', database: 'shop', timeoutMs: 2000 })).rejects.toThrow(
      'the server asks for an authentication fastkit does not speak (7)',
    );
  });
});
