/**
 * Every line fastkit prints, its own and Alembic's, passes through one masker, so that no
 * database password reaches a terminal, a CI log or the Nx cache.
 */

// scheme://user:password@host  ->  scheme://user:***@host
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/'"]*):([^\s@'"]*)@/gi;

// a value that is one URL: its password runs to the last @, quotes included
const WHOLE_URL_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^\s:@/]*:(.+)@[^\s@]*$/is;

// variables that hold a database password on their own: libpq's, MySQL clients', and *_PASSWORD
const PASSWORD_VARIABLE = /^(PGPASSWORD|MYSQL_PWD)$|(^|_)PASSWORD$/i;

/**
 * Passwords found in an environment, to be hidden wherever they appear: those of URL-like
 * values, and the values of password variables (PGPASSWORD, MYSQL_PWD, DB_PASSWORD…).
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
    for (const match of value.matchAll(URL_PASSWORD)) add(match[2]);
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
 * Hides each known secret where it stands as a whole token (a password "postgres" is hidden
 * in `password=postgres`, not in `postgresql://`), longest first, then URL passwords. Known
 * secrets go first: a password with an `@` in it would otherwise be cut at that `@` by the
 * URL pattern, and its end left in view.
 */
export function maskSecrets(text: string, secrets: readonly string[] = []): string {
  let masked = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    masked = masked.replace(new RegExp(`(?<![A-Za-z0-9])${escapeRegExp(secret)}(?![A-Za-z0-9])`, 'g'), '***');
  }
  return masked.replace(URL_PASSWORD, '$1:***@');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
