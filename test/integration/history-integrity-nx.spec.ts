/**
 * History integrity through the Nx and gulp doors, in a real Nx workspace (the repository's
 * real `nx` CLI and gulp, fastkit/plugin inferring the targets) that is a real git repository:
 * migrate-check's cache follows fastkit.sum, `nx sync:check` fails on two heads naming the
 * rebase target, and migrate-rebase (the executor, the gulp task) puts the branch back in line.
 */
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commitAll, git } from '../support/git';
import { revision } from '../support/revisions';
import { EXAMPLE, fastkit, PYTHON, REPO, run, tempDir, VENV, type Ran } from '../support/workspace';

const NX = join(REPO, 'node_modules', '.bin', 'nx');
const GULP = join(REPO, 'node_modules', '.bin', 'gulp');

describe('migrate-check, sync:check and migrate-rebase in an Nx workspace in git', () => {
  const root = tempDir('fastkit-nx-rebase-');
  const data = tempDir('fastkit-nx-rebase-data-');
  const api = join(root, 'services', 'api');
  const versions = join(api, 'alembic', 'versions');
  const env = {
    ...process.env,
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_TUI: 'false',
    NO_COLOR: '1',
    VIRTUAL_ENV: VENV,
    NX_CACHE_DIRECTORY: join(data, 'cache'),
    NX_WORKSPACE_DATA_DIRECTORY: join(data, 'workspace-data'),
  };
  const nx = (...args: string[]) => run(NX, args, { cwd: root, env });
  const gulp = (...args: string[]) => run(GULP, args, { cwd: root, env });
  const heads = () => (run(PYTHON, ['-m', 'alembic', 'heads'], { cwd: api }).stdout.match(/^\w+/gm) ?? []).sort();
  /** Whether Nx ran the task or replayed it from its cache. */
  const fromCache = (ran: Ran) => /Nx read the output from the cache|\[local cache\]|\[existing outputs match the cache/.test(ran.stdout);

  /** Branch `ours` adds revision `mine`, main adds `theirs` ([id, message]), both on `parent`; then `ours` merges main. */
  let written = 0;
  function twoBranches(ours: string, parent: string, mine: [string, string], theirs: [string, string]): void {
    const write = ([id, name]: [string, string]) => {
      written += 1;
      writeFileSync(join(versions, `20261210_00000${written}_${name}.py`), revision(id, parent, name));
      expect(fastkit(['migrate', 'hash'], { cwd: api }).code).toBe(0);
      commitAll(root, name);
    };
    git(root, ['checkout', '-q', '-b', ours, 'main']);
    write(mine);
    git(root, ['checkout', '-q', 'main']);
    write(theirs);
    git(root, ['checkout', '-q', ours]);
    expect(git(root, ['merge', 'main'], { allowFailure: true }).code).toBe(1); // fastkit.sum conflicts
    expect(heads()).toEqual([mine[0], theirs[0]].sort());
  }

  beforeAll(() => {
    symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'shop', private: true }));
    writeFileSync(join(root, 'nx.json'), JSON.stringify({ plugins: ['fastkit/plugin'] }));
    writeFileSync(join(root, '.gitignore'), 'node_modules\n.nx\n*.db\n__pycache__\n');
    writeFileSync(join(root, 'gulpfile.js'), "const { tasks } = require('fastkit/gulp');\nmodule.exports = tasks({ cwd: 'services/api' });\n");
    mkdirSync(join(root, 'services'));
    cpSync(EXAMPLE, api, { recursive: true, filter: (source) => !/\.db$|__pycache__|project\.json$/.test(source) });
    expect(fastkit(['migrate', 'hash'], { cwd: api }).code).toBe(0);
    git(root, ['init', '-q', '-b', 'main']);
    commitAll(root, 'the workspace');
  });

  test('migrate-check is cached, and fastkit.sum is one of its inputs: an edit to it runs the check again', () => {
    const first = nx('run', 'api:migrate-check', '--output-style=static');
    expect(first.code).toBe(0);
    expect(fromCache(first)).toBe(false);
    expect(fromCache(nx('run', 'api:migrate-check', '--output-style=static'))).toBe(true);

    const sum = join(versions, 'fastkit.sum');
    const recorded = readFileSync(sum, 'utf8');
    writeFileSync(sum, recorded.replace(/^sha256:[0-9a-f]{64}$/m, `sha256:${'0'.repeat(64)}`)); // a hand edit of its first line
    const edited = nx('run', 'api:migrate-check', '--output-style=static');
    expect(fromCache(edited)).toBe(false);
    expect(edited.code).toBe(1);
    expect(edited.all).toContain('its first line is not the sum of its entries');

    writeFileSync(sum, recorded);
    const restored = nx('run', 'api:migrate-check', '--output-style=static');
    expect(restored.code).toBe(0);
    expect(fromCache(restored)).toBe(true);
  });

  test('two heads after a merge: nx sync:check fails naming them and nx run api:migrate-rebase', () => {
    twoBranches('notes', 'a719d4f7b98f', ['e1e1e1e1e1e1', 'add_notes'], ['f2f2f2f2f2f2', 'add_tags']);
    const checked = nx('sync:check');
    expect(checked.code).not.toBe(0);
    expect(checked.all).toContain(
      'services/api: the migration history has 2 heads (e1e1e1e1e1e1, f2f2f2f2f2f2). ' +
        "Put this branch's revisions after the other head with `nx run api:migrate-rebase`, or merge them with `nx run api:migrate-rebase --merge`",
    );
  });

  test('nx run api:migrate-rebase (the executor) re-parents this branch’s revision; sync:check passes again', () => {
    const rebased = nx('run', 'api:migrate-rebase', '--output-style=static');
    expect(rebased.all).not.toContain('Traceback');
    expect(rebased.code).toBe(0);
    expect(rebased.stdout).toContain('Rebased e1e1e1e1e1e1 (add_notes) onto f2f2f2f2f2f2');
    expect(rebased.stdout).toContain('One head: e1e1e1e1e1e1. Commit the changes, then apply them with `nx run api:migrate-run`');
    expect(heads()).toEqual(['e1e1e1e1e1e1']);
    expect(nx('sync:check').code).toBe(0);
    commitAll(root, 'merge main');
  });

  test('gulp migrate:rebase does the same from a gulpfile', () => {
    git(root, ['checkout', '-q', 'main']);
    git(root, ['merge', '-q', 'notes']);
    twoBranches('labels', 'e1e1e1e1e1e1', ['a3a3a3a3a3a3', 'add_labels'], ['b4b4b4b4b4b4', 'add_owner']);
    const rebased = gulp('migrate:rebase');
    expect(rebased.all).not.toContain('Traceback');
    expect(rebased.code).toBe(0);
    expect(rebased.stdout).toContain('Rebased a3a3a3a3a3a3 (add_labels) onto b4b4b4b4b4b4');
    expect(rebased.stdout).toContain('Commit the changes, then apply them with `gulp migrate:run`');
    expect(rebased.stdout).toContain("Finished 'migrate:rebase'");
    expect(heads()).toEqual(['a3a3a3a3a3a3']);
  });
});
