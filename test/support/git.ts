/**
 * Real git repositories for tests: a project folder made a repository, branches that each add
 * revisions, and merges, as a team's pull requests do.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, type Ran } from './workspace';

/** git with an identity of its own and no user config, in `cwd`; throws when git fails unless `allowFailure`. */
export function git(cwd: string, args: string[], options: { allowFailure?: boolean } = {}): Ran {
  const ran = run('git', ['-c', 'user.email=dev@example.com', '-c', 'user.name=Dev', '-c', 'commit.gpgsign=false', ...args], {
    cwd,
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_MERGE_AUTOEDIT: 'no' },
  });
  if (ran.code !== 0 && !options.allowFailure) throw new Error(`git ${args.join(' ')} failed:\n${ran.all}`);
  return ran;
}

/** Makes `project` a git repository on `main` with everything in it committed (databases and caches ignored). */
export function gitRepository(project: string): void {
  writeFileSync(join(project, '.gitignore'), '*.db\n__pycache__/\n');
  git(project, ['init', '-q', '-b', 'main']);
  commitAll(project, 'the project');
}

export function commitAll(project: string, message: string): void {
  git(project, ['add', '-A']);
  git(project, ['commit', '-q', '--allow-empty', '-m', message]);
}

/** Writes files into the versions folder and commits them on the branch checked out. */
export function commitRevisions(project: string, files: Record<string, string>, message = 'revisions'): void {
  for (const [name, source] of Object.entries(files)) writeFileSync(join(project, 'alembic', 'versions', name), source);
  commitAll(project, message);
}
