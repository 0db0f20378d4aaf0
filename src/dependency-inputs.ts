/**
 * What the cached targets that run env.py (migrate-sql, migrate-verify) add to
 * their inputs so that a model edit in a library they import misses the cache: the Python files
 * of every project they depend on, transitively, through the edges of fastkit/plugin's
 * createDependencies (and any other plugin's).
 */
import { readFileSync } from 'node:fs';

let installedNx: string | undefined;

/**
 * `^{projectRoot}/**\/*.py` where Nx reads a fileset of the dependencies (Nx 22.6 and later),
 * else `^default` (all their files), the named input every Nx version defines.
 */
export function dependencyPythonInputs(nxVersion = installedNxVersion()): string[] {
  const [major, minor] = nxVersion.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 6) ? ['^{projectRoot}/**/*.py'] : ['^default'];
}

/** The version of the nx beside fastkit (the one running this plugin), read without loading Nx. */
function installedNxVersion(): string {
  if (installedNx === undefined) {
    try {
      installedNx = String(JSON.parse(readFileSync(require.resolve('nx/package.json'), 'utf8')).version);
    } catch {
      installedNx = '0.0.0'; // no nx beside fastkit: the input every version reads
    }
  }
  return installedNx;
}
