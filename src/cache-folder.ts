import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where fastkit keeps what it remembers between runs: FASTKIT_CACHE_DIR, else the user's cache folder. */
export function cacheFolder(env: Record<string, string | undefined>): string {
  if (env.FASTKIT_CACHE_DIR) return env.FASTKIT_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'fastkit');
}
