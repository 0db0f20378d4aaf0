/**
 * Every line fastkit prints, its own and Alembic's, passes through one masker, so that no
 * database password reaches a terminal, a CI log or the Nx cache.
 *
 * What stands where a credential stands is hidden, whatever it is: a URL's password
 * (`scheme://user:***@host`), the value of a password-like query key or setting
 * (`?password=***`, `passwd=***`, `"password": "***"`). Known secrets (from the environment)
 * are hidden elsewhere too, as whole tokens, but only those that cannot be an ordinary word of
 * the output: a password `invoices` or `true` is hidden in `postgresql://app:invoices@db`, and
 * leaves `create invoices` and `"upToDate":true` as they are. Each rule is one pass over the
 * line, without backtracking patterns, so a line of a megabyte takes milliseconds.
 */

// a value that is one URL: its password runs to the last @, quotes included
const WHOLE_URL_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^\s:@/]*:(.+)@[^\s@]*$/is;

// variables that hold a database password on their own: libpq's, MySQL clients', and *_PASSWORD
const PASSWORD_VARIABLE = /^(PGPASSWORD|MYSQL_PWD)$|(^|_)PASSWORD$/i;

// keys whose value is a password: `password`, `passwd`, `pwd` and names ending in them
// (`sslpassword`, `db_password`), and `pass`; the key starts a word
const PASSWORD_KEY = String.raw`(?:[A-Za-z0-9_]*?(?:password|passwd|pwd)|pass)`;
// `password=VALUE` in a URL query (`?password=`, `&pwd=`), a libpq conninfo, a log line
const KEY_VALUE = new RegExp(String.raw`(?<![A-Za-z0-9_])(${PASSWORD_KEY}=)([^&\s'"]+)`, 'gi');
// `"password": "VALUE"` in JSON or a Python dict
const QUOTED_KEY_VALUE = new RegExp(String.raw`((["'])${PASSWORD_KEY}\2\s*:\s*(["']))([^"'\n]*)(?=\3)`, 'gi');
// a query key in an environment URL, for secretsIn
const QUERY_PASSWORD = new RegExp(String.raw`[?&;]${PASSWORD_KEY}=([^&#\s]*)`, 'gi');

/**
 * Passwords found in an environment, to be hidden: those of URL-like values (in the URL's
 * user info or its query), and the values of password variables (PGPASSWORD, MYSQL_PWD,
 * DB_PASSWORD…).
 */
export function secretsIn(env: Record<string, string | undefined>): string[] {
  const secrets = new Set<string>();
  const add = (password: string) => {
    secrets.add(password);
    try {
      secrets.add(decodeURIComponent(password));
    } catch {
      // not percent-encoded; the raw form is enough
    }
  };
  for (const [name, value] of Object.entries(env)) {
    if (!value) continue;
    if (!value.includes('://')) {
      if (PASSWORD_VARIABLE.test(name)) add(value);
      continue;
    }
    for (const line of value.split('\n')) {
      for (const url of urlPasswords(line)) add(line.slice(url.start, url.end));
    }
    for (const match of value.matchAll(QUERY_PASSWORD)) add(match[1]);
    const whole = WHOLE_URL_PASSWORD.exec(value.trim());
    if (whole) {
      add(whole[1]);
      // an unencoded @ in it: SQLAlchemy takes what follows the first @ for the host, and prints it
      for (const part of whole[1].split('@').slice(1)) add(part);
    }
  }
  return [...secrets].filter((secret) => secret.length >= 3 && secret !== '***');
}

/**
 * The text with every password hidden as `***`: in credential positions whatever it is, and
 * each of `secrets` that cannot be an ordinary word wherever it stands as a whole token
 * (a password "postgres" is not hidden in `postgresql://`).
 */
export function maskSecrets(text: string, secrets: readonly string[] = []): string {
  const known = [...secrets].sort((a, b) => b.length - a.length);
  let masked = replaceRanges(text, urlPasswords(text, known));
  if (masked.includes('=')) masked = masked.replace(KEY_VALUE, (_whole, key: string, value: string) => key + maskedValue(value, known));
  if (masked.includes(':')) masked = masked.replace(QUOTED_KEY_VALUE, (_whole, key: string, _q1, _q2, value: string) => (value ? `${key}***` : `${key}`));
  for (const secret of known.filter(standsOut)) masked = maskToken(masked, secret);
  return masked;
}

/**
 * `password=VALUE` as printed: the value hidden, but not the punctuation of the sentence it
 * ends (`…?password=***: the server…`), unless that is part of a known password.
 */
function maskedValue(value: string, known: readonly string[]): string {
  if (known.includes(value)) return '***';
  const tail = /[:,;.)\]}]+$/.exec(value)?.[0] ?? '';
  return tail.length < value.length ? `***${tail}` : '***';
}

/**
 * True for a secret that cannot be an ordinary word of fastkit's output: six characters or
 * more, with a letter and a digit or a symbol. `invoices`, `true`, `postgres` and `12345678`
 * are hidden only where a credential stands.
 */
function standsOut(secret: string): boolean {
  return (
    secret.length >= 6 &&
    /[A-Za-z]/.test(secret) &&
    /[^A-Za-z_.-]/.test(secret) &&
    !/^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(secret)
  );
}

/** Each whole-token occurrence of `secret` replaced: not preceded or followed by a letter or digit. */
function maskToken(text: string, secret: string): string {
  let out = '';
  let copied = 0;
  for (let at = text.indexOf(secret); at !== -1; at = text.indexOf(secret, at + 1)) {
    if (at < copied) continue;
    const end = at + secret.length;
    if (isAlphanumeric(text.charCodeAt(at - 1)) || isAlphanumeric(text.charCodeAt(end))) continue;
    out += text.slice(copied, at) + '***';
    copied = end;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

function isAlphanumeric(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

interface Range {
  start: number;
  end: number;
}

function replaceRanges(text: string, ranges: Range[]): string {
  if (ranges.length === 0) return text;
  let out = '';
  let copied = 0;
  for (const { start, end } of ranges) {
    out += text.slice(copied, start) + '***';
    copied = end;
  }
  return out + text.slice(copied);
}

const SCHEME_CHAR = /[A-Za-z0-9+.-]/;
const LETTER = /[A-Za-z]/;
const WORD_CHAR = /\w/;
const SPACE = /\s/;

/**
 * Where the passwords of `scheme://user:password@host` URLs are in `text`: the password runs
 * from the colon after the user to the next `@` (no space or quote in between), or is one of
 * `known` followed by `@` (a password with an `@` or a quote in it). One pass: a scan that
 * found no `@` is not repeated for a later `://` inside it.
 */
function urlPasswords(text: string, known: readonly string[] = []): Range[] {
  const ranges: Range[] = [];
  let scannedFrom = -1;
  let scannedTo = -1; // text[scannedFrom, scannedTo) holds no space, quote or @
  for (let at = text.indexOf('://'); at !== -1; at = text.indexOf('://', at + 1)) {
    if (ranges.length && at < ranges[ranges.length - 1].end) continue;
    if (!hasScheme(text, at)) continue;
    let cursor = at + 3;
    while (cursor < text.length && !endsUser(text[cursor])) cursor++;
    if (text[cursor] !== ':') continue;
    const start = cursor + 1;
    const secret = known.find((candidate) => text.startsWith(candidate, start) && text[start + candidate.length] === '@');
    let end: number;
    if (secret) end = start + secret.length;
    else {
      end = start >= scannedFrom && start <= scannedTo ? scannedTo : start;
      while (end < text.length && !endsPassword(text[end])) end++;
      scannedFrom = start;
      scannedTo = end;
      if (text[end] !== '@') continue;
    }
    if (end > start) ranges.push({ start, end });
  }
  return ranges;
}

/** A scheme ends at `at`: letters, digits, `+.-`, starting with a letter at the start of a word. */
function hasScheme(text: string, at: number): boolean {
  let start = at;
  while (start > 0 && SCHEME_CHAR.test(text[start - 1])) start--;
  for (let position = start; position < at; position++) {
    if (LETTER.test(text[position]) && (position === 0 || !WORD_CHAR.test(text[position - 1]))) return true;
  }
  return false;
}

function endsUser(char: string): boolean {
  return char === ':' || char === '@' || char === '/' || char === "'" || char === '"' || isSpace(char);
}

function endsPassword(char: string): boolean {
  return char === '@' || char === "'" || char === '"' || isSpace(char);
}

function isSpace(char: string): boolean {
  const code = char.charCodeAt(0);
  return code === 32 || (code >= 9 && code <= 13) || (code > 127 && SPACE.test(char));
}
