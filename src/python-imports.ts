/**
 * What a Python file imports, and how it changes `sys.path` on the way, read from its text
 * alone (no Python process): `import a.b`, `from a.b import c`, relative imports, imports inside
 * functions, `try` and `if` blocks, `importlib.import_module("a.b")`, and `sys.path` edits of the
 * simple literal kinds env.py files use (`sys.path.insert(0, str(Path(__file__).parents[2]))`,
 * `sys.path.append(os.path.join(os.path.dirname(__file__), '..'))`, through a variable too).
 * An edit this reader cannot evaluate is left out rather than guessed.
 */
import { readPythonSource } from './python-source';

/** A folder or file as a Python expression builds it, before it is anchored on disk. */
export interface PathValue {
  /**
   * What `path` is relative to: `file` the importing file itself (so `..` is its folder), `cwd`
   * the working directory Alembic runs in, `relative` a relative literal (also the working
   * directory once it is on sys.path), `absolute` nothing (`path` is absolute).
   */
  base: 'file' | 'cwd' | 'relative' | 'absolute';
  /** Forward slashes; '' is the base itself. */
  path: string;
}

/** One step of a module's execution that decides what gets imported, in file order. */
export type ModuleStep =
  | {
      kind: 'import';
      /** The dotted module, without the leading dots of a relative import (`''` for `from . import x`). */
      module: string;
      /** 0 for an absolute import, else the number of leading dots. */
      level: number;
      /** For `from m import a, b`: the names, which may be submodules of `m`. */
      names: string[];
      /** 1-based line of the statement. */
      line: number;
    }
  | { kind: 'sys.path'; position: 'start' | 'end'; paths: PathValue[]; line: number };

/**
 * The imports and sys.path edits of one Python file, in the order Python meets them. Imports
 * inside functions count (they run when the function is called), as do those in `try` blocks
 * and under `if TYPE_CHECKING:` (a static reading cannot tell which branch runs).
 */
export function readModuleSteps(source: string): ModuleStep[] {
  const reader = new StepReader();
  for (const statement of readPythonSource(source).statements) {
    if (PATH_WORDS.test(statement.code) || reader.mentionsVariable(statement.code)) {
      reader.statement(statement.code, statement.firstLine + 1);
    }
  }
  return reader.steps;
}

// A statement with none of these words, and no name bound to a path, neither imports nor edits
// sys.path nor binds a path an edit could use: most of a file is skipped without tokenizing.
const PATH_WORDS = /import|sys|path|Path|__file__|getcwd|cwd|site|parent/;

type Value =
  | { t: 'path'; v: PathValue }
  | { t: 'num'; n: number }
  | { t: 'ref'; name: string }
  | { t: 'method'; self: PathValue; name: string }
  | { t: 'parents'; self: PathValue }
  | { t: 'list'; items: Value[] }
  | { t: 'unknown' };

const UNKNOWN: Value = { t: 'unknown' };

interface Token {
  kind: 'name' | 'string' | 'number' | 'op';
  text: string;
  /** A string literal's value (f-strings and byte strings have none). */
  value?: string;
}

/** Keywords before an expression whose calls still run (`return import_module("x")`). */
const LEADING_KEYWORDS = new Set(['return', 'await', 'yield', 'assert', 'del']);
const COMPOUND = new Set(['if', 'elif', 'else', 'try', 'except', 'finally', 'while', 'for', 'with', 'def', 'class', 'async']);

class StepReader {
  readonly steps: ModuleStep[] = [];
  /** Names bound by imports to what they stand for (`osp` → `os.path`, `Path` → `pathlib.Path`). */
  private readonly aliases = new Map<string, string>();
  /** Names bound by assignments to a path. */
  private readonly variables = new Map<string, Value>();
  private line = 0;

  mentionsVariable(code: string): boolean {
    for (const name of this.variables.keys()) if (code.includes(name)) return true;
    return false;
  }

  statement(code: string, line: number): void {
    this.line = line;
    let tokens: Token[];
    try {
      tokens = tokenize(code);
    } catch {
      return; // text this tokenizer does not follow imports nothing it could tell
    }
    for (const simple of splitSimpleStatements(tokens)) this.simpleStatement(simple);
  }

  private simpleStatement(tokens: Token[]): void {
    // `try: import x`, `if TYPE_CHECKING: import y`, `def f(): return g()`: the part after the colon
    while (tokens.length > 0 && tokens[0].kind === 'name' && COMPOUND.has(tokens[0].text)) {
      const colon = topLevelIndex(tokens, ':');
      if (colon === -1) return;
      tokens = tokens.slice(colon + 1);
    }
    if (tokens[0]?.kind === 'name' && LEADING_KEYWORDS.has(tokens[0].text)) tokens = tokens.slice(1);
    if (tokens.length === 0) return;
    const first = tokens[0];
    if (first.kind === 'name' && first.text === 'import') return this.importStatement(tokens.slice(1));
    if (first.kind === 'name' && first.text === 'from') return this.fromStatement(tokens.slice(1));
    const assign = topLevelIndex(tokens, '=');
    const augmented = topLevelIndex(tokens, '+=');
    if (assign > 0) return this.assignment(tokens.slice(0, assign), tokens.slice(assign + 1));
    if (augmented > 0) return this.augmentedAssignment(tokens.slice(0, augmented), tokens.slice(augmented + 1));
    this.evaluate(tokens); // an expression statement: sys.path.insert(…) and the like record themselves
  }

  /** `import a.b.c as d, e` */
  private importStatement(tokens: Token[]): void {
    for (const part of splitTopLevel(tokens, ',')) {
      const dotted = dottedName(part);
      if (!dotted) continue;
      this.steps.push({ kind: 'import', module: dotted.name, level: 0, names: [], line: this.line });
      const as = dotted.rest[0]?.text === 'as' ? dotted.rest[1]?.text : undefined;
      if (as) this.aliases.set(as, dotted.name);
      else this.aliases.set(dotted.name.split('.')[0], dotted.name.split('.')[0]);
    }
  }

  /** `from ..a.b import (c as d, e)` */
  private fromStatement(tokens: Token[]): void {
    let level = 0;
    let at = 0;
    for (; at < tokens.length && tokens[at].kind === 'op' && /^\.+$/.test(tokens[at].text); at++) level += tokens[at].text.length;
    let module = '';
    let rest = tokens.slice(at);
    if (rest[0]?.kind === 'name' && rest[0].text !== 'import') {
      const dotted = dottedName(rest);
      if (!dotted) return;
      module = dotted.name;
      rest = dotted.rest;
    }
    if (rest[0]?.text !== 'import') return;
    if (module === '__future__' && level === 0) return;
    const names: string[] = [];
    const listed = rest.slice(1).filter((token) => token.text !== '(' && token.text !== ')');
    for (const part of splitTopLevel(listed, ',')) {
      if (part[0]?.kind !== 'name') continue; // `*` imports no submodule by name
      names.push(part[0].text);
      const as = part[1]?.text === 'as' ? part[2]?.text : part[0].text;
      if (as && level === 0) this.aliases.set(as, module ? `${module}.${part[0].text}` : part[0].text);
    }
    this.steps.push({ kind: 'import', module, level, names, line: this.line });
  }

  /** `ROOT = Path(__file__).parents[2]`, `sys.path[:0] = [ROOT]`, `sys.path = [ROOT] + sys.path` */
  private assignment(target: Token[], value: Token[]): void {
    if (target.length >= 1 && target[0].kind === 'name' && (target.length === 1 || target[1].text === ':')) {
      // `NAME = …` or `NAME: Path = …`: remember a path, forget anything else the name held
      const name = target[0].text;
      const evaluated = this.evaluate(value);
      if (evaluated.t === 'path' || evaluated.t === 'list') this.variables.set(name, evaluated);
      else this.variables.delete(name);
      this.aliases.delete(name);
      return;
    }
    const bracket = target.findIndex((token) => token.text === '[');
    const head = this.evaluate(bracket === -1 ? target : target.slice(0, bracket));
    if (head.t !== 'ref' || head.name !== 'sys.path') return;
    if (bracket !== -1) {
      const subscript = target.slice(bracket);
      // sys.path[:0] = […] or sys.path[0:0] = […]: at the start
      const inside = subscript.slice(1, -1).map((token) => token.text).join('');
      if (inside === ':0' || inside === '0:0') this.recordEdit('start', this.evaluate(value));
      return;
    }
    // sys.path = [x] + sys.path  /  sys.path = sys.path + [x]
    const plus = topLevelIndex(value, '+');
    if (plus === -1) return;
    const left = this.evaluate(value.slice(0, plus));
    const right = this.evaluate(value.slice(plus + 1));
    if (right.t === 'ref' && right.name === 'sys.path') this.recordEdit('start', left);
    else if (left.t === 'ref' && left.name === 'sys.path') this.recordEdit('end', right);
  }

  /** `sys.path += [x]` */
  private augmentedAssignment(target: Token[], value: Token[]): void {
    const ref = this.evaluate(target);
    if (ref.t === 'ref' && ref.name === 'sys.path') this.recordEdit('end', this.evaluate(value));
  }

  private recordEdit(position: 'start' | 'end', value: Value): void {
    const items = value.t === 'list' ? value.items : [value];
    const paths = items.filter((item): item is { t: 'path'; v: PathValue } => item.t === 'path').map((item) => item.v);
    if (paths.length > 0) this.steps.push({ kind: 'sys.path', position, paths, line: this.line });
  }

  private resolveName(name: string): string {
    return this.aliases.get(name) ?? name;
  }

  /** The value of an expression, as far as paths go; anything beyond that is `unknown`. */
  private evaluate(tokens: Token[]): Value {
    const parser = new ExpressionParser(tokens, this);
    const value = parser.sum();
    return parser.done() ? value : UNKNOWN;
  }

  name(text: string): Value {
    if (text === '__file__') return { t: 'path', v: { base: 'file', path: '' } };
    const variable = this.variables.get(text);
    if (variable) return variable;
    return { t: 'ref', name: this.resolveName(text) };
  }

  /** A call, by what it calls; calls of sys.path's methods are recorded as edits. */
  call(callee: Value, args: Value[]): Value {
    if (callee.t === 'method') return pathMethod(callee.self, callee.name, args);
    if (callee.t !== 'ref') return UNKNOWN;
    const name = callee.name.replace(/^pathlib\./, '');
    switch (name) {
      case 'sys.path.insert': {
        const index = args[0];
        // insert(0, x) and insert(1, x) go before the site folders; insert(-1, x) near the end
        if (args.length === 2) this.recordEdit(index.t === 'num' && index.n < 0 ? 'end' : 'start', args[1]);
        return UNKNOWN;
      }
      case 'sys.path.append':
      case 'site.addsitedir':
        if (args.length === 1) this.recordEdit('end', args[0]);
        return UNKNOWN;
      case 'sys.path.extend':
        if (args.length === 1) this.recordEdit('end', args[0]);
        return UNKNOWN;
      case 'importlib.import_module':
      case '__import__': {
        const module = args[0];
        if (module?.t === 'path' && module.v.base === 'relative' && /^[A-Za-z_][\w.]*$/.test(module.v.path)) {
          this.steps.push({ kind: 'import', module: module.v.path, level: 0, names: [], line: this.line });
        }
        return UNKNOWN;
      }
      case 'Path':
      case 'PurePath':
      case 'PosixPath':
      case 'PurePosixPath':
      case 'WindowsPath':
      case 'PureWindowsPath':
      case 'os.path.join':
        if (args.length === 0) return name === 'os.path.join' ? UNKNOWN : { t: 'path', v: { base: 'relative', path: '' } };
        return args.reduce((joined, part) => joinValues(joined, part));
      case 'str':
      case 'os.fspath':
      case 'os.path.abspath':
      case 'os.path.realpath':
      case 'os.path.normpath':
        return args.length === 1 && args[0].t === 'path' ? args[0] : UNKNOWN;
      case 'os.path.dirname':
        return args.length === 1 && args[0].t === 'path' ? { t: 'path', v: parentOf(args[0].v, 1) } : UNKNOWN;
      case 'os.getcwd':
      case 'Path.cwd':
        return { t: 'path', v: { base: 'cwd', path: '' } };
      default:
        return UNKNOWN;
    }
  }
}

/** `p.resolve()`, `p.joinpath("a")`, … on a path value. */
function pathMethod(self: PathValue, name: string, args: Value[]): Value {
  switch (name) {
    case 'resolve':
    case 'absolute':
    case 'as_posix':
    case '__str__':
    case '__fspath__':
      return { t: 'path', v: self };
    case 'joinpath':
      return args.reduce<Value>((joined, part) => joinValues(joined, part), { t: 'path', v: self });
    default:
      return UNKNOWN;
  }
}

function parentOf(value: PathValue, levels: number): PathValue {
  return { ...value, path: joinPath(value.path, Array(levels).fill('..').join('/')) };
}

/** `a / b`, `os.path.join(a, b)`: an absolute right side replaces the left, as in Python. */
function joinValues(left: Value, right: Value): Value {
  if (left.t !== 'path' || right.t !== 'path') return UNKNOWN;
  if (right.v.base !== 'relative') return right;
  return { t: 'path', v: { ...left.v, path: joinPath(left.v.path, right.v.path) } };
}

function joinPath(left: string, right: string): string {
  if (right === '' || right === '.') return left;
  return left === '' ? right : `${left}/${right}`;
}

/** A literal string as a path: absolute (`/x`, `C:\x`) or relative. */
function literalPath(text: string): PathValue {
  const path = text.replace(/\\/g, '/');
  return /^(\/|[A-Za-z]:\/)/.test(path) ? { base: 'absolute', path } : { base: 'relative', path: path.replace(/\/+$/, '') };
}

class ExpressionParser {
  private at = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly scope: StepReader,
  ) {}

  done(): boolean {
    return this.at === this.tokens.length;
  }

  private peek(): Token | undefined {
    return this.tokens[this.at];
  }

  /** `a / b`, `a + b` (string concatenation of `'/..'` onto a path). */
  sum(): Value {
    let left = this.postfix();
    for (let token = this.peek(); token && (token.text === '/' || token.text === '+'); token = this.peek()) {
      this.at++;
      const right = this.postfix();
      if (token.text === '/') left = joinValues(left, right);
      else if (left.t === 'list' && right.t === 'list') left = { t: 'list', items: [...left.items, ...right.items] };
      else if (left.t === 'path' && right.t === 'path' && right.v.base === 'absolute' && right.v.path.startsWith('/')) {
        // dirname(__file__) + "/../lib": a string that starts with a slash continues the path
        left = { t: 'path', v: { ...left.v, path: joinPath(left.v.path, right.v.path.slice(1)) } };
      } else if (left.t === 'ref' || right.t === 'ref') {
        // sys.path + […] / […] + sys.path: the caller looks at each side itself
        return UNKNOWN;
      } else left = UNKNOWN;
    }
    return left;
  }

  private postfix(): Value {
    let value = this.atom();
    for (;;) {
      const token = this.peek();
      if (token?.text === '.' && this.tokens[this.at + 1]?.kind === 'name') {
        const name = this.tokens[this.at + 1].text;
        this.at += 2;
        value = attribute(value, name);
      } else if (token?.text === '(') {
        this.at++;
        const args = this.arguments(')');
        value = args ? this.scope.call(value, args) : UNKNOWN;
      } else if (token?.text === '[') {
        this.at++;
        const index = this.arguments(']');
        value = index && index.length === 1 ? subscript(value, index[0]) : UNKNOWN;
      } else {
        return value;
      }
    }
  }

  /** Comma-separated values up to `close` (consumed); keyword arguments are skipped. */
  private arguments(close: string): Value[] | undefined {
    const values: Value[] = [];
    while (this.peek() && this.peek()!.text !== close) {
      if (this.peek()!.kind === 'name' && this.tokens[this.at + 1]?.text === '=') {
        this.at += 2;
        this.sum();
      } else {
        values.push(this.sum());
      }
      if (this.peek()?.text === ',') this.at++;
      else if (this.peek()?.text !== close) return this.skipTo(close);
    }
    if (!this.peek()) return undefined;
    this.at++;
    return values;
  }

  /** Skips an argument this parser does not follow (a slice, a comprehension) up to `close`. */
  private skipTo(close: string): undefined {
    let depth = 0;
    while (this.peek()) {
      const text = this.peek()!.text;
      this.at++;
      if ('([{'.includes(text)) depth++;
      else if (')]}'.includes(text)) {
        if (depth === 0 && text === close) return undefined;
        depth--;
      }
    }
    return undefined;
  }

  private atom(): Value {
    const token = this.peek();
    if (!token) return UNKNOWN;
    this.at++;
    if (token.kind === 'name') return this.scope.name(token.text);
    if (token.kind === 'number') return { t: 'num', n: Number(token.text) };
    if (token.kind === 'string') {
      let text = token.value;
      while (this.peek()?.kind === 'string') {
        const next = this.peek()!.value;
        this.at++;
        text = text === undefined || next === undefined ? undefined : text + next;
      }
      return text === undefined ? UNKNOWN : { t: 'path', v: literalPath(text) };
    }
    if (token.text === '(') {
      const value = this.sum();
      if (this.peek()?.text !== ')') return this.skipTo(')') ?? UNKNOWN;
      this.at++;
      return value;
    }
    if (token.text === '[') {
      const items = this.arguments(']');
      return items ? { t: 'list', items } : UNKNOWN;
    }
    if (token.text === '-' && this.peek()?.kind === 'number') {
      return { t: 'num', n: -Number(this.tokens[this.at++].text) };
    }
    return UNKNOWN;
  }
}

function attribute(value: Value, name: string): Value {
  if (value.t === 'ref') {
    const dotted = `${value.name}.${name}`;
    if (dotted === 'os.pardir' || dotted === 'os.path.pardir') return { t: 'path', v: { base: 'relative', path: '..' } };
    if (dotted === 'os.curdir' || dotted === 'os.path.curdir') return { t: 'path', v: { base: 'relative', path: '' } };
    return { t: 'ref', name: dotted };
  }
  if (value.t === 'path') {
    if (name === 'parent') return { t: 'path', v: parentOf(value.v, 1) };
    if (name === 'parents') return { t: 'parents', self: value.v };
    return { t: 'method', self: value.v, name };
  }
  return UNKNOWN;
}

function subscript(value: Value, index: Value): Value {
  if (value.t === 'parents' && index.t === 'num' && Number.isInteger(index.n) && index.n >= 0) {
    return { t: 'path', v: parentOf(value.self, index.n + 1) };
  }
  return UNKNOWN;
}

/** `a.b.c` at the start of `tokens`, and what follows it. */
function dottedName(tokens: Token[]): { name: string; rest: Token[] } | undefined {
  if (tokens[0]?.kind !== 'name') return undefined;
  const parts = [tokens[0].text];
  let at = 1;
  while (tokens[at]?.text === '.' && tokens[at + 1]?.kind === 'name') {
    parts.push(tokens[at + 1].text);
    at += 2;
  }
  return { name: parts.join('.'), rest: tokens.slice(at) };
}

/** `a; b` as two statements (a `;` inside brackets is not a separator). */
function splitSimpleStatements(tokens: Token[]): Token[][] {
  return splitTopLevel(tokens, ';').filter((part) => part.length > 0);
}

function splitTopLevel(tokens: Token[], separator: string): Token[][] {
  const parts: Token[][] = [[]];
  let depth = 0;
  for (const token of tokens) {
    if (token.kind === 'op') {
      if ('([{'.includes(token.text)) depth++;
      else if (')]}'.includes(token.text)) depth--;
      else if (depth === 0 && token.text === separator) {
        parts.push([]);
        continue;
      }
    }
    parts[parts.length - 1].push(token);
  }
  return parts;
}

function topLevelIndex(tokens: Token[], text: string): number {
  let depth = 0;
  for (const [index, token] of tokens.entries()) {
    if (token.kind !== 'op') continue;
    if ('([{'.includes(token.text)) depth++;
    else if (')]}'.includes(token.text)) depth--;
    else if (depth === 0 && token.text === text) return index;
  }
  return -1;
}

const OPERATORS = [
  '**=', '//=', '>>=', '<<=', '...', '->', ':=', '==', '!=', '<=', '>=', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '@=',
  '**', '//', '>>', '<<',
];

/** The tokens of one logical line (comments already gone, as python-source leaves it). */
function tokenize(code: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < code.length) {
    const char = code[i];
    if (char === ' ' || char === '\t' || char === '\f' || char === '\\') {
      i++;
      continue;
    }
    const prefixed = /^([rRbBuUfF]{0,2})(['"])/.exec(code.slice(i, i + 3));
    if (prefixed && (prefixed[1] === '' || /^[rRbBuUfF]{1,2}$/.test(prefixed[1]))) {
      const start = i + prefixed[1].length;
      const end = stringEnd(code, start);
      const prefix = prefixed[1].toLowerCase();
      const quote = code.startsWith(code[start].repeat(3), start) ? 3 : 1;
      const body = code.slice(start + quote, end - quote);
      const plain = !prefix.includes('f') && !prefix.includes('b');
      tokens.push({ kind: 'string', text: code.slice(i, end), value: plain ? (prefix.includes('r') ? body : unescape(body)) : undefined });
      i = end;
      continue;
    }
    const word = /^[A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*/.exec(code.slice(i, i + 200));
    if (word) {
      tokens.push({ kind: 'name', text: word[0] });
      i += word[0].length;
      continue;
    }
    const number = /^\d[\d_]*(\.\d*)?/.exec(code.slice(i, i + 40));
    if (number) {
      tokens.push({ kind: 'number', text: number[0].replace(/_/g, '') });
      i += number[0].length;
      continue;
    }
    if (char === '.') {
      // the dots of a relative import stay together (`from .. import x`)
      let end = i;
      while (code[end] === '.') end++;
      tokens.push({ kind: 'op', text: code.slice(i, end) === '...' ? '...' : '.' });
      if (code.slice(i, end) !== '...') for (let extra = i + 1; extra < end; extra++) tokens.push({ kind: 'op', text: '.' });
      i = end;
      continue;
    }
    const operator = OPERATORS.find((candidate) => code.startsWith(candidate, i)) ?? char;
    tokens.push({ kind: 'op', text: operator });
    i += operator.length;
  }
  return tokens;
}

function stringEnd(code: string, start: number): number {
  const quote = code[start];
  const closing = code.startsWith(quote.repeat(3), start) ? quote.repeat(3) : quote;
  let i = start + closing.length;
  while (i < code.length) {
    if (code[i] === '\\') i += 2;
    else if (code.startsWith(closing, i)) return i + closing.length;
    else i++;
  }
  return code.length;
}

/** The escapes a path literal may hold; an unknown escape keeps its backslash, as Python does. */
function unescape(body: string): string {
  return body.replace(/\\(.)/g, (whole, char: string) => {
    switch (char) {
      case '\\':
      case "'":
      case '"':
        return char;
      case 'n':
        return '\n';
      case 't':
        return '\t';
      default:
        return whole;
    }
  });
}
