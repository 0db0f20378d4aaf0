/**
 * TOML read into plain objects, for what fastkit reads of pyproject.toml ([tool.alembic], and
 * [project], [tool.uv], [tool.poetry] for dependency edges) and of uv.lock. Small and
 * dependency-free, because it runs while Nx builds its graph.
 */

/** A TOML value as fastkit reads it: strings, booleans, arrays and tables as they are; numbers and dates only as their text. */
export type TomlValue = string | boolean | TomlValue[] | TomlTable | TomlOther;
export interface TomlTable {
  [key: string]: TomlValue;
}

/** TOML that fastkit's small reader does not follow; Alembic (tomllib) may read it, so nothing is concluded from it. */
export class TomlUnreadable extends Error {
  constructor(reason: string, at: number) {
    super(`${reason} at offset ${at}`);
    this.name = 'TomlUnreadable';
  }
}

/** A number or a date, kept as its text. */
export class TomlOther {
  constructor(readonly text: string) {}
}

export function isTomlTable(value: TomlValue | undefined): value is TomlTable {
  return typeof value === 'object' && !Array.isArray(value) && !(value instanceof TomlOther);
}

/**
 * A TOML 1.0 document as nested objects. Strict where a lenient reading could give another
 * value than tomllib would (escapes, duplicate keys); what it cannot place it refuses.
 */
export function readToml(text: string): TomlTable {
  return new TomlReader(text.replace(/\r\n/g, '\n')).document();
}

class TomlReader {
  private at = 0;
  private readonly root: TomlTable = Object.create(null);

  constructor(private readonly text: string) {}

  document(): TomlTable {
    let table = this.root;
    for (;;) {
      this.skipBlankLines();
      if (this.at >= this.text.length) return this.root;
      if (this.text[this.at] === '[') table = this.header();
      else this.keyValue(table);
      this.endOfLine();
    }
  }

  private fail(reason: string): never {
    throw new TomlUnreadable(reason, this.at);
  }

  private skipSpaces(): void {
    while (this.text[this.at] === ' ' || this.text[this.at] === '\t') this.at++;
  }

  private skipComment(): void {
    if (this.text[this.at] === '#') while (this.at < this.text.length && this.text[this.at] !== '\n') this.at++;
  }

  private skipBlankLines(): void {
    for (;;) {
      this.skipSpaces();
      this.skipComment();
      if (this.text[this.at] !== '\n') return;
      this.at++;
    }
  }

  private endOfLine(): void {
    this.skipSpaces();
    this.skipComment();
    if (this.at < this.text.length && this.text[this.at] !== '\n') this.fail('expected the end of the line');
  }

  /** `[a.b]` or `[[a.b]]`: the table the following keys go into. */
  private header(): TomlTable {
    const array = this.text.startsWith('[[', this.at);
    this.at += array ? 2 : 1;
    const path = this.dottedKey();
    if (!this.text.startsWith(array ? ']]' : ']', this.at)) this.fail('unclosed table header');
    this.at += array ? 2 : 1;
    let table = this.root;
    for (const [index, key] of path.entries()) {
      const last = index === path.length - 1;
      const existing = table[key];
      if (last && array) {
        if (existing === undefined) table[key] = [];
        else if (!Array.isArray(existing)) this.fail(`${key} is not an array of tables`);
        const next: TomlTable = Object.create(null);
        (table[key] as TomlValue[]).push(next);
        return next;
      }
      if (existing === undefined) table[key] = Object.create(null);
      else if (Array.isArray(existing)) {
        const element = existing[existing.length - 1];
        if (last || !isTomlTable(element)) this.fail(`${key} is an array`);
        table = element;
        continue;
      } else if (!isTomlTable(existing)) this.fail(`${key} is not a table`);
      table = table[key] as TomlTable;
    }
    return table;
  }

  private keyValue(table: TomlTable): void {
    const path = this.dottedKey();
    this.skipSpaces();
    if (this.text[this.at] !== '=') this.fail('expected =');
    this.at++;
    this.skipSpaces();
    const value = this.value();
    let target = table;
    for (const key of path.slice(0, -1)) {
      if (target[key] === undefined) target[key] = Object.create(null);
      const next = target[key];
      if (!isTomlTable(next)) this.fail(`${key} is not a table`);
      target = next;
    }
    const key = path[path.length - 1];
    if (key in target) this.fail(`${key} is defined twice`);
    target[key] = value;
  }

  private dottedKey(): string[] {
    const parts: string[] = [];
    for (;;) {
      this.skipSpaces();
      parts.push(this.key());
      this.skipSpaces();
      if (this.text[this.at] !== '.') return parts;
      this.at++;
    }
  }

  private key(): string {
    const char = this.text[this.at];
    if (char === '"' && !this.text.startsWith('"""', this.at)) return this.basicString();
    if (char === "'" && !this.text.startsWith("'''", this.at)) return this.literalString();
    const bare = /^[A-Za-z0-9_-]+/.exec(this.text.slice(this.at, this.at + 256));
    if (!bare) this.fail('expected a key');
    this.at += bare[0].length;
    return bare[0];
  }

  private value(): TomlValue {
    const rest = this.text.slice(this.at, this.at + 64);
    if (rest.startsWith('"""')) return this.multilineString('"""');
    if (rest.startsWith("'''")) return this.multilineString("'''");
    if (rest.startsWith('"')) return this.basicString();
    if (rest.startsWith("'")) return this.literalString();
    if (rest.startsWith('[')) return this.array();
    if (rest.startsWith('{')) return this.inlineTable();
    const word = /^(true|false)(?![A-Za-z0-9_+.:-])/.exec(rest);
    if (word) {
      this.at += word[1].length;
      return word[1] === 'true';
    }
    // numbers and dates: kept as text (a date may hold one space before its time)
    const other = /^[0-9A-Za-z_+.:-]+(?: [0-9][0-9:.Z+-]*)?/.exec(rest);
    if (!other || !/^[+-]?(?:[0-9]|inf|nan)/.test(other[0])) this.fail('expected a value');
    this.at += other[0].length;
    return new TomlOther(other[0]);
  }

  private array(): TomlValue[] {
    this.at++; // [
    const items: TomlValue[] = [];
    for (;;) {
      this.skipBlankLines();
      if (this.text[this.at] === ']') break;
      items.push(this.value());
      this.skipBlankLines();
      if (this.text[this.at] === ',') {
        this.at++;
        continue;
      }
      if (this.text[this.at] !== ']') this.fail('expected , or ] in an array');
      break;
    }
    this.at++; // ]
    return items;
  }

  private inlineTable(): TomlTable {
    this.at++; // {
    const table: TomlTable = Object.create(null);
    this.skipSpaces();
    if (this.text[this.at] === '}') {
      this.at++;
      return table;
    }
    for (;;) {
      this.keyValue(table);
      this.skipSpaces();
      const char = this.text[this.at++];
      if (char === '}') return table;
      if (char !== ',') this.fail('expected , or } in an inline table');
    }
  }

  private basicString(): string {
    this.at++; // "
    let value = '';
    for (;;) {
      const char = this.text[this.at];
      if (char === undefined || char === '\n') this.fail('unclosed string');
      this.at++;
      if (char === '"') return value;
      value += char === '\\' ? this.escape() : char;
    }
  }

  private literalString(): string {
    const end = this.text.indexOf("'", this.at + 1);
    const newline = this.text.indexOf('\n', this.at + 1);
    if (end === -1 || (newline !== -1 && newline < end)) this.fail('unclosed string');
    const value = this.text.slice(this.at + 1, end);
    this.at = end + 1;
    return value;
  }

  private multilineString(quotes: '"""' | "'''"): string {
    this.at += 3;
    if (this.text[this.at] === '\n') this.at++; // a newline right after the opening quotes is not part of it
    let value = '';
    for (;;) {
      if (this.at >= this.text.length) this.fail('unclosed multi-line string');
      if (this.text.startsWith(quotes, this.at)) {
        let run = 3;
        while (run < 5 && this.text[this.at + run] === quotes[0]) run++;
        value += quotes[0].repeat(run - 3); // up to two quotes may end the content
        this.at += run;
        return value;
      }
      const char = this.text[this.at++];
      if (char === '\\' && quotes === '"""') {
        const trimmed = /^[ \t]*\n[\s]*/.exec(this.text.slice(this.at, this.at + 4096));
        if (trimmed) {
          this.at += trimmed[0].length; // a line-ending backslash joins the lines
          continue;
        }
        value += this.escape();
      } else value += char;
    }
  }

  private escape(): string {
    const char = this.text[this.at++];
    const simple: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', '"': '"', '\\': '\\' };
    if (char in simple) return simple[char];
    const digits = char === 'u' ? 4 : char === 'U' ? 8 : 0;
    const hex = this.text.slice(this.at, this.at + digits);
    if (!digits || !new RegExp(`^[0-9A-Fa-f]{${digits}}$`).test(hex)) this.fail('an escape TOML does not have');
    const code = parseInt(hex, 16);
    if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) this.fail('an escape of no character');
    this.at += digits;
    return String.fromCodePoint(code);
  }
}
