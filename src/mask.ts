/**
 * Every line fastkit prints, its own and Alembic's, passes through one masker, so that no
 * database password reaches a terminal, a CI log or the Nx cache.
 */

// scheme://user:password@host  ->  scheme://user:***@host
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/'"]*):([^\s@'"]*)@/gi;

// a value that is one URL: its password runs to the last @, quotes included
const WHOLE_URL_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^\s:@/]*:(.+)@[^\s@]*$/is;

/** Passwords found in URL-like values of an environment, to be hidden wherever they appear. */
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
  for (const value of Object.values(env)) {
    if (!value || !value.includes('://')) continue;
    for (const match of value.matchAll(URL_PASSWORD)) add(match[2]);
    const whole = WHOLE_URL_PASSWORD.exec(value.trim());
    if (whole) add(whole[1]);
  }
  return [...secrets].filter((secret) => secret.length >= 3 && secret !== '***');
}

/**
 * Hides URL passwords, and each known secret where it stands as a whole token (a password
 * "postgres" is hidden in `password=postgres`, not in `postgresql://`).
 */
export function maskSecrets(text: string, secrets: readonly string[] = []): string {
  let masked = text.replace(URL_PASSWORD, '$1:***@');
  for (const secret of secrets) {
    masked = masked.replace(new RegExp(`(?<![A-Za-z0-9])${escapeRegExp(secret)}(?![A-Za-z0-9])`, 'g'), '***');
  }
  return masked;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
