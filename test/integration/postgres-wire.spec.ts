/**
 * fastkit's own PostgreSQL session (src/postgres-wire.ts), which the fast path and the shadow key
 * use, against the real server: peer authentication over the socket, SCRAM-SHA-256 with a real
 * password over TCP (127.0.0.1 asks for one here), errors with their SQLSTATE, and the fast path
 * answering for a database behind a password exactly as Alembic does. MD5 and cleartext, which
 * this server is not set up to ask for, and a server that never answers, against a scripted one.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { PostgresError, PostgresSession } from '../../src/postgres-wire';
import { createPostgresDatabase, exampleProject, fastkit, PG_HOST, PG_USER, psql, STACK } from '../support/workspace';

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
