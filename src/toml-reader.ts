/**
 * TOML read into plain objects, for the few tables fastkit's dependency edges need from
 * pyproject.toml and uv.lock ([project], [tool.uv], [tool.poetry], [[package]]). Small and
 * dependency-free, because it runs while Nx builds its graph. Numbers and dates are kept as
 * their text; text this reader does not follow throws {@link TomlUnreadable}.
 */

export type TomlValue = string | boolean | TomlValue[] | TomlTable | TomlOther;
export interface TomlTable {
  [key: string]: TomlValue;
}

/** A number or a date, kept as its text. */
export class TomlOther {
  constructor(readonly text: string) {}
}

export class TomlUnreadable extends Error {
  constructor(reason: string, at: number) {
    super(`${reason} at offset ${at}`);
    this.name = 'TomlUnreadable';
  }
}

export function readToml(text: string): TomlTable {
  return new TomlReader(text.replace(/\r\n/g, '\n')).document();
}

export function isTomlTable(value: TomlValue | undefined): value is TomlTable {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof TomlOther);
}

class TomlReader {
  private at = 0;
  private readonly root: TomlTable = Object.create(null);

  constructor(private readonly text: string) {}

  document(): TomlTable {
    let table = this.root;
    for (;;) {
      this.skipBlank(true);
      if (this.at >= this.text.length) return this.root;
      if (this.text[this.at] === '[') {
        const array = this.text[this.at + 1] === '[';
        this.at += array ? 2 : 1;
        const keys = this.key(array ? ']]' : ']');
        this.expect(array ? ']]' : ']');
        table = array ? this.arrayTable(keys) : this.table(this.root, keys);
      } else {
        const keys = this.key('=');
        this.expect('=');
        const value = this.value();
        const owner = this.table(table, keys.slice(0, -1));
        owner[keys[keys.length - 1]] = value;
      }
      this.skipBlank(false);
      if (this.at < this.text.length && this.text[this.at] !== '\n') throw new TomlUnreadable('text after a value', this.at);
    }
  }

  /** The table at `keys` below `from`, made where missing; through an array of tables, its last one. */
  private table(from: TomlTable, keys: string[]): TomlTable {
    let table = from;
    for (const key of keys) {
      let next = table[key];
      if (next === undefined) {
        next = Object.create(null) as TomlTable;
        table[key] = next;
      }
      if (Array.isArray(next)) next = next[next.length - 1];
      if (!isTomlTable(next)) throw new TomlUnreadable(`${key} is not a table`, this.at);
      table = next;
    }
    return table;
  }

  private arrayTable(keys: string[]): TomlTable {
    const owner = this.table(this.root, keys.slice(0, -1));
    const last = keys[keys.length - 1];
    const list = (owner[last] ??= []);
    if (!Array.isArray(list)) throw new TomlUnreadable(`${last} is not an array of tables`, this.at);
    const table: TomlTable = Object.create(null);
    list.push(table);
    return table;
  }

  /** A dotted key, up to `end` (not consumed). */
  private key(end: string): string[] {
    const keys: string[] = [];
    for (;;) {
      this.skipSpaces();
      const char = this.text[this.at];
      if (char === '"' || char === "'") keys.push(this.string());
      else {
        const bare = /^[A-Za-z0-9_-]+/.exec(this.text.slice(this.at, this.at + 200));
        if (!bare) throw new TomlUnreadable('a key expected', this.at);
        keys.push(bare[0]);
        this.at += bare[0].length;
      }
      this.skipSpaces();
      if (this.text[this.at] === '.') this.at++;
      else if (this.text.startsWith(end, this.at)) return keys;
      else throw new TomlUnreadable(`"${end}" expected`, this.at);
    }
  }

  private value(): TomlValue {
    this.skipSpaces();
    const char = this.text[this.at];
    if (char === '"' || char === "'") return this.string();
    if (char === '[') {
      this.at++;
      const items: TomlValue[] = [];
      for (;;) {
        this.skipBlank(true);
        if (this.text[this.at] === ']') {
          this.at++;
          return items;
        }
        items.push(this.value());
        this.skipBlank(true);
        if (this.text[this.at] === ',') this.at++;
        else if (this.text[this.at] !== ']') throw new TomlUnreadable('"," or "]" expected', this.at);
      }
    }
    if (char === '{') {
      this.at++;
      const table: TomlTable = Object.create(null);
      for (;;) {
        this.skipSpaces();
        if (this.text[this.at] === '}') {
          this.at++;
          return table;
        }
        const keys = this.key('=');
        this.expect('=');
        this.table(table, keys.slice(0, -1))[keys[keys.length - 1]] = this.value();
        this.skipSpaces();
        if (this.text[this.at] === ',') this.at++;
        else if (this.text[this.at] !== '}') throw new TomlUnreadable('"," or "}" expected', this.at);
      }
    }
    const scalar = /^[^\s,\]}#]+/.exec(this.text.slice(this.at, this.at + 100));
    if (!scalar) throw new TomlUnreadable('a value expected', this.at);
    this.at += scalar[0].length;
    if (scalar[0] === 'true') return true;
    if (scalar[0] === 'false') return false;
    return new TomlOther(scalar[0]);
  }

  private string(): string {
    const quote = this.text[this.at];
    const multiline = this.text.startsWith(quote.repeat(3), this.at);
    const delimiter = multiline ? quote.repeat(3) : quote;
    this.at += delimiter.length;
    if (multiline && this.text[this.at] === '\n') this.at++;
    let value = '';
    for (;;) {
      if (this.at >= this.text.length) throw new TomlUnreadable('unterminated string', this.at);
      if (this.text.startsWith(delimiter, this.at)) {
        this.at += delimiter.length;
        return value;
      }
      const char = this.text[this.at];
      if (!multiline && char === '\n') throw new TomlUnreadable('unterminated string', this.at);
      if (char === '\\' && quote === '"') {
        const escape = this.text[this.at + 1];
        const simple: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', '"': '"', '\\': '\\' };
        if (escape in simple) {
          value += simple[escape];
          this.at += 2;
        } else if (escape === 'u' || escape === 'U') {
          const length = escape === 'u' ? 4 : 8;
          value += String.fromCodePoint(parseInt(this.text.slice(this.at + 2, this.at + 2 + length), 16));
          this.at += 2 + length;
        } else if (multiline && /^\\[ \t]*\n/.test(this.text.slice(this.at))) {
          this.at = this.text.slice(this.at).search(/\n\s*[^\s]/) + this.at + 1;
          this.skipBlank(true);
        } else throw new TomlUnreadable('unknown escape', this.at);
        continue;
      }
      value += char;
      this.at++;
    }
  }

  private expect(text: string): void {
    this.skipSpaces();
    if (!this.text.startsWith(text, this.at)) throw new TomlUnreadable(`"${text}" expected`, this.at);
    this.at += text.length;
  }

  private skipSpaces(): void {
    while (this.text[this.at] === ' ' || this.text[this.at] === '\t') this.at++;
  }

  /** Spaces and a comment, and with `newlines` also line ends and further comment lines. */
  private skipBlank(newlines: boolean): void {
    for (;;) {
      this.skipSpaces();
      if (this.text[this.at] === '#') {
        const end = this.text.indexOf('\n', this.at);
        this.at = end === -1 ? this.text.length : end;
      }
      if (newlines && this.text[this.at] === '\n') this.at++;
      else return;
    }
  }
}
