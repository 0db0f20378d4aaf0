import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { Socket } from 'node:net';

/** Where and as whom to connect: the parts libpq resolved for Alembic, or a shadow URL's. */
export interface PostgresTarget {
  /** A host name or address; a path (starting with `/`) is the folder of a Unix socket. */
  host: string;
  port: number;
  user: string;
  database: string;
  /** Sent only if the server asks for one; a server that asks when there is none fails the connection. */
  password?: string;
  timeoutMs: number;
}

/** An error the server sent (ErrorResponse): SQLSTATE `code` and its message. */
export class PostgresError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/**
 * One PostgreSQL session speaking the frontend/backend protocol 3.0 directly: startup, then trust
 * or peer, cleartext, MD5 or SCRAM-SHA-256 authentication, then simple queries whose values come
 * back as text. It is all fastkit needs of a server (the fast path's read of a version table, the
 * shadow key's server version), and loads in a fraction of the time a full client library takes,
 * which is much of a fast status. No TLS: a server that insists on it refuses the session, and the
 * caller asks Alembic instead.
 */
export class PostgresSession {
  /** What the server reported at startup (ParameterStatus): server_version, client_encoding… */
  readonly parameters = new Map<string, string>();
  private readonly socket = new Socket();
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: { resolve(message: Message): void; reject(error: Error): void } | undefined;
  private failure: Error | undefined;
  private timer: NodeJS.Timeout | undefined;

  private constructor(private readonly target: PostgresTarget) {
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => this.fail(new Error('the server closed the connection')));
  }

  /** A session, authenticated and ready for queries. */
  static async open(target: PostgresTarget): Promise<PostgresSession> {
    const session = new PostgresSession(target);
    try {
      await session.start();
      return session;
    } catch (error) {
      session.socket.destroy();
      throw error;
    }
  }

  /** The rows of one statement, each value as text (null for NULL). */
  async query(sql: string): Promise<Array<Array<string | null>>> {
    this.send('Q', Buffer.from(`${sql}\0`));
    const rows: Array<Array<string | null>> = [];
    let error: PostgresError | undefined;
    for (;;) {
      const message = await this.next();
      if (message.type === 'D') rows.push(dataRow(message.body));
      else if (message.type === 'E') error = serverError(message.body);
      else if (message.type === 'Z') break;
    }
    if (error) throw error;
    return rows;
  }

  /**
   * Says goodbye (Terminate) and lets the process exit without waiting for the server to close
   * the connection in turn (its backend exiting takes ~10 ms).
   */
  close(): void {
    clearTimeout(this.timer);
    if (!this.socket.destroyed && this.socket.writable) this.socket.end(message('X', Buffer.alloc(0)));
    this.socket.unref();
  }

  private async start(): Promise<void> {
    const { host, port } = this.target;
    await new Promise<void>((resolve, reject) => {
      this.socket.once('connect', () => {
        clearTimeout(this.timer);
        resolve();
      });
      this.socket.once('error', reject);
      this.timeout(reject);
      if (host.startsWith('/')) this.socket.connect(`${host}/.s.PGSQL.${port}`);
      else this.socket.connect(port, host);
    });
    const pairs = ['user', this.target.user, 'database', this.target.database, 'client_encoding', 'UTF8'];
    const body = Buffer.from(`${pairs.join('\0')}\0\0`);
    const startup = Buffer.alloc(8);
    startup.writeInt32BE(8 + body.length, 0);
    startup.writeInt32BE(196608, 4); // protocol 3.0
    this.socket.write(Buffer.concat([startup, body]));
    await this.authenticate();
    for (;;) {
      const message = await this.next();
      if (message.type === 'E') throw serverError(message.body);
      if (message.type === 'S') {
        const [name, value] = message.body.toString('utf8').split('\0');
        this.parameters.set(name, value);
      }
      if (message.type === 'Z') return;
    }
  }

  private async authenticate(): Promise<void> {
    let scram: Scram | undefined;
    for (;;) {
      const message = await this.next();
      if (message.type === 'E') throw serverError(message.body);
      if (message.type !== 'R') throw new Error(`unexpected message ${message.type} during authentication`);
      const code = message.body.readInt32BE(0);
      if (code === 0) return; // AuthenticationOk: trust, peer, or the password was right
      if (code === 3) this.send('p', Buffer.from(`${this.password()}\0`));
      else if (code === 5) {
        const inner = md5Hex(this.password() + this.target.user);
        this.send('p', Buffer.from(`md5${md5Hex(Buffer.concat([Buffer.from(inner), message.body.subarray(4, 8)]))}\0`));
      } else if (code === 10) {
        const mechanisms = message.body.subarray(4).toString('utf8').split('\0');
        if (!mechanisms.includes('SCRAM-SHA-256')) throw new Error(`the server offers only ${mechanisms.filter(Boolean).join(', ')}`);
        scram = new Scram(this.password());
        const first = Buffer.from(scram.clientFirst());
        const length = Buffer.alloc(4);
        length.writeInt32BE(first.length);
        this.send('p', Buffer.concat([Buffer.from('SCRAM-SHA-256\0'), length, first]));
      } else if (code === 11 && scram) this.send('p', Buffer.from(scram.clientFinal(message.body.subarray(4).toString('utf8'))));
      else if (code === 12 && scram) scram.verifyServer(message.body.subarray(4).toString('utf8'));
      else throw new Error(`the server asks for an authentication fastkit does not speak (${code})`);
    }
  }

  private password(): string {
    if (this.target.password === undefined) throw new Error('the server asks for a password, and there is none');
    return this.target.password;
  }

  private send(type: string, body: Buffer): void {
    this.socket.write(message(type, body));
  }

  /** The next whole message from the server, within the time limit. */
  private next(): Promise<Message> {
    clearTimeout(this.timer);
    const ready = this.take();
    if (ready) return Promise.resolve(ready);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.timeout(reject);
    });
  }

  private timeout(reject: (error: Error) => void): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      reject(new Error(`no answer from the server within ${this.target.timeoutMs} ms`));
      this.socket.destroy();
    }, this.target.timeoutMs);
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const waiting = this.waiting;
    const message = waiting && this.take();
    if (waiting && message) {
      this.waiting = undefined;
      clearTimeout(this.timer);
      waiting.resolve(message);
    }
  }

  private take(): Message | undefined {
    if (this.buffer.length < 5) return undefined;
    const length = this.buffer.readInt32BE(1);
    if (this.buffer.length < 1 + length) return undefined;
    const message = { type: String.fromCharCode(this.buffer[0]), body: this.buffer.subarray(5, 1 + length) };
    this.buffer = this.buffer.subarray(1 + length);
    return message;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    clearTimeout(this.timer);
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(this.failure);
  }
}

interface Message {
  type: string;
  body: Buffer;
}

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

/** A DataRow: a count of columns, then each as a length (-1 for NULL) and its bytes. */
function dataRow(body: Buffer): Array<string | null> {
  const values: Array<string | null> = [];
  let at = 2;
  for (let column = body.readInt16BE(0); column > 0; column--) {
    const length = body.readInt32BE(at);
    at += 4;
    values.push(length < 0 ? null : body.toString('utf8', at, at + length));
    if (length > 0) at += length;
  }
  return values;
}

/** An ErrorResponse: fields, each a one-letter code and a text; C is the SQLSTATE, M the message. */
function serverError(body: Buffer): PostgresError {
  const fields = new Map<string, string>();
  for (let at = 0; at < body.length && body[at] !== 0; ) {
    const end = body.indexOf(0, at + 1);
    fields.set(String.fromCharCode(body[at]), body.toString('utf8', at + 1, end));
    at = end + 1;
  }
  return new PostgresError(fields.get('M') ?? 'the server reported an error', fields.get('C') ?? '');
}

function md5Hex(data: string | Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/** SCRAM-SHA-256 without channel binding (RFC 5802, RFC 7677), as PostgreSQL runs it. */
class Scram {
  private readonly nonce = randomBytes(18).toString('base64');
  private serverSignature = '';

  constructor(private readonly password: string) {}

  clientFirst(): string {
    return `n,,n=*,r=${this.nonce}`;
  }

  clientFinal(serverFirst: string): string {
    const fields = new Map(serverFirst.split(',').map((field) => [field[0], field.slice(2)]));
    const nonce = fields.get('r') ?? '';
    const salt = Buffer.from(fields.get('s') ?? '', 'base64');
    const iterations = Number(fields.get('i'));
    if (!nonce.startsWith(this.nonce) || !salt.length || !(iterations > 0)) throw new Error('a malformed SCRAM challenge from the server');
    const salted = pbkdf2Sync(this.password, salt, iterations, 32, 'sha256');
    const clientKey = hmac(salted, 'Client Key');
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `n=*,r=${this.nonce},${serverFirst},${withoutProof}`;
    const signature = hmac(createHash('sha256').update(clientKey).digest(), authMessage);
    const proof = Buffer.from(clientKey.map((byte, index) => byte ^ signature[index]));
    this.serverSignature = hmac(hmac(salted, 'Server Key'), authMessage).toString('base64');
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  verifyServer(serverFinal: string): void {
    if (serverFinal !== `v=${this.serverSignature}`) throw new Error('the server could not prove it knows the password');
  }
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text).digest();
}
