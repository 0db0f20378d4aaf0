import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';

/**
 * Reads the rows of one table straight from a SQLite database file, in plain JavaScript: no
 * native addon to build, nothing to load but this file. It answers only when it is certain:
 * anything unusual (a write in progress, WAL frames not yet checkpointed, UTF-16 text, a
 * WITHOUT ROWID table, a damaged page) returns undefined, and the caller asks Alembic instead.
 *
 * The format: https://www.sqlite.org/fileformat2.html
 */
export type SqliteValue = string | number | bigint | null | Uint8Array;

export interface SqliteTableRead {
  /** Undefined when the table does not exist. */
  rows?: SqliteValue[][];
}

const MAGIC = 'SQLite format 3\0';
const LEAF_TABLE = 0x0d;
const INTERIOR_TABLE = 0x05;
const MAX_PAGES_VISITED = 100_000;

class Uncertain extends Error {}

export function readSqliteTable(file: string, table: string): SqliteTableRead | undefined {
  if (!existsSync(file)) return { rows: undefined };
  if (busy(file)) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    if (fstatSync(fd).size === 0) return { rows: undefined }; // SQLite treats an empty file as an empty database
    const database = new DatabaseFile(fd);
    const before = database.changeCounter();
    const master = database.readTable(1);
    const entry = master.find((row) => row[0] === 'table' && typeof row[1] === 'string' && row[1].toLowerCase() === table.toLowerCase());
    let result: SqliteTableRead;
    if (!entry) {
      result = { rows: undefined };
    } else {
      const [, , , rootPage, sql] = entry;
      if (typeof rootPage !== 'number' || (typeof sql === 'string' && /without\s+rowid/i.test(sql))) return undefined;
      result = { rows: database.readTable(rootPage) };
    }
    // a write that started or finished while we read shows as a journal or a new counter
    if (busy(file) || database.changeCounter() !== before) return undefined;
    return result;
  } catch (error) {
    if (error instanceof Uncertain || error instanceof RangeError) return undefined;
    throw error;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A rollback journal means a write is under way; WAL frames mean the file alone is not the truth. */
function busy(file: string): boolean {
  if (existsSync(`${file}-journal`)) return true;
  const wal = `${file}-wal`;
  return existsSync(wal) && statSync(wal).size > 0;
}

class DatabaseFile {
  readonly pageSize: number;
  readonly usable: number;

  constructor(private readonly fd: number) {
    const header = this.read(0, 100);
    if (header.toString('latin1', 0, 16) !== MAGIC) throw new Uncertain('not a SQLite file');
    const size = header.readUInt16BE(16);
    this.pageSize = size === 1 ? 65536 : size;
    this.usable = this.pageSize - header[20];
    if (header.readUInt32BE(56) > 1) throw new Uncertain('UTF-16 text');
  }

  changeCounter(): number {
    return this.read(24, 4).readUInt32BE(0);
  }

  /** Every row of the table whose b-tree starts at `rootPage`, in rowid order. */
  readTable(rootPage: number): SqliteValue[][] {
    const rows: SqliteValue[][] = [];
    const pending = [rootPage];
    let visited = 0;
    while (pending.length > 0) {
      if (++visited > MAX_PAGES_VISITED) throw new Uncertain('too many pages');
      const number = pending.shift()!;
      const page = this.page(number);
      const start = number === 1 ? 100 : 0;
      const type = page[start];
      const cells = page.readUInt16BE(start + 3);
      if (type === INTERIOR_TABLE) {
        const children: number[] = [];
        for (let i = 0; i < cells; i++) children.push(page.readUInt32BE(page.readUInt16BE(start + 12 + 2 * i)));
        children.push(page.readUInt32BE(start + 8));
        pending.unshift(...children);
      } else if (type === LEAF_TABLE) {
        for (let i = 0; i < cells; i++) rows.push(this.leafCell(page, page.readUInt16BE(start + 8 + 2 * i)));
      } else {
        throw new Uncertain(`unexpected page type ${type}`);
      }
    }
    return rows;
  }

  private leafCell(page: Buffer, offset: number): SqliteValue[] {
    const [payloadSize, afterSize] = varint(page, offset);
    const [, afterRowid] = varint(page, afterSize);
    const size = Number(payloadSize);
    const local = this.localPayload(size);
    let payload = page.subarray(afterRowid, afterRowid + local);
    if (local < size) {
      const parts = [payload];
      let remaining = size - local;
      let next = page.readUInt32BE(afterRowid + local);
      while (remaining > 0) {
        if (next === 0) throw new Uncertain('overflow chain ends early');
        const overflow = this.page(next);
        const take = Math.min(remaining, this.usable - 4);
        parts.push(overflow.subarray(4, 4 + take));
        remaining -= take;
        next = overflow.readUInt32BE(0);
      }
      payload = Buffer.concat(parts);
    }
    return record(payload);
  }

  /** How much of a table leaf cell's payload is stored on the page itself. */
  private localPayload(size: number): number {
    const maxLocal = this.usable - 35;
    if (size <= maxLocal) return size;
    const minLocal = Math.floor(((this.usable - 12) * 32) / 255) - 23;
    const k = minLocal + ((size - minLocal) % (this.usable - 4));
    return k <= maxLocal ? k : minLocal;
  }

  private page(number: number): Buffer {
    if (number < 1) throw new Uncertain('bad page number');
    return this.read((number - 1) * this.pageSize, this.pageSize);
  }

  private read(position: number, length: number): Buffer {
    const buffer = Buffer.alloc(length);
    const read = readSync(this.fd, buffer, 0, length, position);
    if (read !== length) throw new Uncertain('short read');
    return buffer;
  }
}

/** A SQLite varint: 1 to 9 bytes, big-endian, 7 bits a byte (8 in the ninth). */
function varint(buffer: Buffer, offset: number): [bigint, number] {
  let value = 0n;
  for (let i = 0; i < 9; i++) {
    const byte = buffer[offset + i];
    if (byte === undefined) throw new Uncertain('truncated varint');
    if (i === 8) return [(value << 8n) | BigInt(byte), offset + 9];
    value = (value << 7n) | BigInt(byte & 0x7f);
    if (byte < 0x80) return [value, offset + i + 1];
  }
  throw new Uncertain('unreachable');
}

function record(payload: Buffer): SqliteValue[] {
  const [headerSize, first] = varint(payload, 0);
  const types: number[] = [];
  for (let offset = first; offset < Number(headerSize); ) {
    const [type, next] = varint(payload, offset);
    types.push(Number(type));
    offset = next;
  }
  const values: SqliteValue[] = [];
  let at = Number(headerSize);
  for (const type of types) {
    const [value, size] = column(payload, at, type);
    values.push(value);
    at += size;
  }
  return values;
}

function column(payload: Buffer, at: number, type: number): [SqliteValue, number] {
  switch (type) {
    case 0:
      return [null, 0];
    case 1:
      return [payload.readInt8(at), 1];
    case 2:
      return [payload.readInt16BE(at), 2];
    case 3:
      return [payload.readIntBE(at, 3), 3];
    case 4:
      return [payload.readInt32BE(at), 4];
    case 5:
      return [payload.readIntBE(at, 6), 6];
    case 6: {
      const value = payload.readBigInt64BE(at);
      return [value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value, 8];
    }
    case 7:
      return [payload.readDoubleBE(at), 8];
    case 8:
      return [0, 0];
    case 9:
      return [1, 0];
    default: {
      if (type < 12) throw new Uncertain(`reserved serial type ${type}`);
      const size = Math.floor((type - (type % 2 === 0 ? 12 : 13)) / 2);
      if (at + size > payload.length) throw new Uncertain('value past the payload');
      const bytes = payload.subarray(at, at + size);
      return [type % 2 === 0 ? new Uint8Array(bytes) : bytes.toString('utf8'), size];
    }
  }
}
