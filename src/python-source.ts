/**
 * Just enough of Python's tokenizer to edit source files safely: where each statement starts
 * and ends, and where the comments are, with strings (triple-quoted ones included), brackets
 * and backslash continuations taken into account. Text inside a string or a comment is never
 * mistaken for code, which is what a plain text search gets wrong.
 */

/** One logical line of Python: a statement, possibly spread over several physical lines. */
export interface Statement {
  /** 0-based index of its first physical line. */
  firstLine: number;
  /** 0-based index of its last physical line (the closing bracket, the end of a string). */
  lastLine: number;
  /** Columns of whitespace before it; 0 means a top-level statement. */
  indent: number;
  /** Its code on one line: comments dropped, line breaks and continuations made single spaces. */
  code: string;
}

/** A `#` comment: where it starts and its text, `#` included. */
export interface Comment {
  line: number;
  column: number;
  text: string;
}

export interface PythonSource {
  /** The physical lines, without their line ends. */
  lines: string[];
  /** The line end the file uses: `\r\n` where its first line ends so, else `\n`. */
  eol: string;
  statements: Statement[];
  comments: Comment[];
}

const QUOTES = new Set(["'", '"']);
const OPENING = new Set(['(', '[', '{']);
const CLOSING = new Set([')', ']', '}']);

export function readPythonSource(source: string): PythonSource {
  const eol = /^[^\n]*\r\n/.test(source) ? '\r\n' : '\n';
  const lines = source.split(/\r?\n/);
  const text = lines.join('\n');
  const statements: Statement[] = [];
  const comments: Comment[] = [];

  let line = 0;
  let lineStart = 0;
  let depth = 0;
  let current: { firstLine: number; indent: number; code: string } | undefined;
  let i = 0;

  const finish = () => {
    if (current) {
      statements.push({ firstLine: current.firstLine, lastLine: line, indent: current.indent, code: current.code.trim() });
    }
    current = undefined;
    depth = 0;
  };
  /** Moves on to the next physical line; `at` is the index of the line break. */
  const newline = (at: number) => {
    line += 1;
    lineStart = at + 1;
  };

  while (i < text.length) {
    const char = text[i];

    if (!current) {
      // At the start of a logical line: skip indentation, then a blank line, a comment line or code.
      if (char === ' ' || char === '\t' || char === '\f') {
        i += 1;
        continue;
      }
      if (char === '\n') {
        newline(i);
        i += 1;
        continue;
      }
      if (char === '#') {
        i = readComment(text, i, line, i - lineStart, comments);
        continue;
      }
      current = { firstLine: line, indent: i - lineStart, code: '' };
    }

    if (char === '#') {
      i = readComment(text, i, line, i - lineStart, comments);
    } else if (QUOTES.has(char)) {
      const end = stringEnd(text, i);
      current.code += text.slice(i, end).replace(/\n/g, ' ');
      for (let j = i; j < end; j += 1) if (text[j] === '\n') newline(j);
      i = end;
    } else if (char === '\\' && text[i + 1] === '\n') {
      current.code += ' ';
      newline(i + 1);
      i += 2;
    } else if (char === '\n') {
      if (depth > 0) {
        current.code += ' ';
        newline(i);
        i += 1;
      } else {
        finish();
        newline(i);
        i += 1;
      }
    } else {
      if (OPENING.has(char)) depth += 1;
      else if (CLOSING.has(char)) depth = Math.max(0, depth - 1);
      current.code += char;
      i += 1;
    }
  }
  finish();
  return { lines, eol, statements, comments };
}

/** Reads a comment up to the end of its line; returns where it ends. */
function readComment(text: string, start: number, line: number, column: number, comments: Comment[]): number {
  const end = text.indexOf('\n', start);
  const stop = end === -1 ? text.length : end;
  comments.push({ line, column, text: text.slice(start, stop) });
  return stop;
}

/**
 * Where the string literal opening at `start` ends (one past its closing quote). A backslash
 * always keeps the next character inside the string, raw strings included, so prefixes do not
 * matter here. An unterminated single-quoted string ends at the end of its line.
 */
function stringEnd(text: string, start: number): number {
  const quote = text[start];
  const triple = text.startsWith(quote.repeat(3), start);
  const closing = triple ? quote.repeat(3) : quote;
  let i = start + closing.length;
  while (i < text.length) {
    const char = text[i];
    if (char === '\\') {
      i += 2;
      continue;
    }
    if (!triple && char === '\n') return i;
    if (text.startsWith(closing, i)) return i + closing.length;
    i += 1;
  }
  return text.length;
}

/** Top-level statements only: the ones that start in column 0. */
export function topLevel(source: PythonSource): Statement[] {
  return source.statements.filter((statement) => statement.indent === 0);
}

/** Python's hard keywords: none of them can name a module, a class or a variable. */
export const PYTHON_KEYWORDS = new Set([
  'False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue',
  'def', 'del', 'elif', 'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in',
  'is', 'lambda', 'nonlocal', 'not', 'or', 'pass', 'raise', 'return', 'try', 'while', 'with', 'yield',
]);
