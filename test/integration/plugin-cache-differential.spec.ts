/**
 * fastkit/plugin keeps whole projects between graph computations, by Nx's own hashes of their
 * folders (src/plugin.ts, nxFolderKeys). That shortcut must give exactly what reading every file
 * gives: random edits of the things a project is read from (its config, pins in its folder and
 * above, project.json files that name or claim it, its package.json name, links, files git
 * ignores, new and removed configs), and after each one the plugin run as the nx process runs it
 * (Nx's workspace context loaded) against the same plugin reading everything. And the count of
 * projects that came from the cache, so a cache that is never used cannot pass either.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO, run, tempDir } from '../support/workspace';
import { seededRandom } from '../support/random';

const SEED = Number(process.env.FASTKIT_DIFF_SEED ?? 20261130);
const STEPS = 40;

const INI = (scriptLocation: string, extra = '') => `[alembic]\nscript_location = ${scriptLocation}\n${extra}`;
const REVISION = "revision = 'a1a1a1a1a1a1'\ndown_revision = None\n";

/** The runner (test/support/plugin-cache-runner.js): one process for the whole test. */
function startRunner() {
  const child = spawn(process.execPath, [join(REPO, 'test', 'support', 'plugin-cache-runner.js'), REPO], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const waiting: Array<(line: string) => void> = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  return {
    ask: (root: string) =>
      new Promise<{ kept: unknown; read: unknown; opened: string[] }>((resolve) => {
        waiting.push((line) => resolve(JSON.parse(line)));
        child.stdin.write(`${root}\n`);
      }),
    close: () => child.stdin.end(),
  };
}

test('projects kept by Nx folder hashes are exactly the projects read from the files, over random edits', async () => {
  const root = tempDir('fastkit-plugin-cache-');
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  const toggle = (path: string, text: string) => (existsSync(join(root, path)) ? rmSync(join(root, path), { recursive: true }) : write(path, text));

  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
  // a git repository: Nx leaves out of its file map (and its hashes) what .gitignore names
  expect(run('git', ['init', '-q'], { cwd: root }).code).toBe(0);
  write('package.json', JSON.stringify({ name: 'shop', private: true }));
  write('nx.json', JSON.stringify({ plugins: ['fastkit/plugin'] }));
  write('.gitignore', 'node_modules\n*.db\nrequirements-local.txt\n');
  // a: project.json, a pin, a revision; b: no project.json, a package.json name
  write('services/a/alembic.ini', INI('%(here)s/alembic'));
  write('services/a/project.json', JSON.stringify({ name: 'a' }));
  write('services/a/requirements.txt', 'alembic==1.20.0\n');
  write('services/a/alembic/env.py', '# env\n');
  write('services/a/alembic/versions/20260101_000000_first.py', REVISION);
  write('services/a/models.py', 'x = 1\n');
  write('services/b/alembic.ini', INI('alembic'));
  write('services/b/package.json', JSON.stringify({ name: 'billing' }));
  write('services/b/alembic/versions/.keep', '');
  // c: config in pyproject.toml; d: a pyproject.toml that makes no project
  write('services/c/pyproject.toml', '[project]\nname = "c"\n\n[tool.alembic]\nscript_location = "%(here)s/alembic"\n');
  write('services/d/pyproject.toml', '[project]\nname = "d"\n');
  // e: apps/e's project.json claims its db/alembic.ini, run from the project root
  write('apps/e/project.json', JSON.stringify({ name: 'e', targets: { 'migrate-run': { executor: 'fastkit:migrate-run', options: { config: 'db/alembic.ini', cwd: '.' } } } }));
  write('apps/e/db/alembic.ini', INI('db/migrations'));
  // f: its Alembic folder outside its own
  write('services/f/alembic.ini', INI('%(here)s/../../shared/alembic'));
  write('shared/alembic/versions/.keep', '');
  write('shared/other-versions/.keep', '');

  const edits: Array<[string, () => void]> = [
    ['a pin in a project', () => toggle('services/a/requirements.txt', 'alembic==1.20.0\n')],
    ['a lock file above the projects', () => toggle('services/uv.lock', '')],
    ['a lock file in the workspace root', () => toggle('uv.lock', '')],
    ['project.json in b', () => toggle('services/b/project.json', JSON.stringify({ name: 'b-project' }))],
    ['package.json name in b', () => write('services/b/package.json', JSON.stringify({ name: `billing-${Math.floor(rng.next() * 3)}` }))],
    ['[tool.alembic] in c', () => write('services/c/pyproject.toml', rng.next() < 0.5 ? '[project]\nname = "c"\n' : '[project]\nname = "c"\n\n[tool.alembic]\nscript_location = "%(here)s/alembic"\n')],
    ['[tool.alembic] in d', () => write('services/d/pyproject.toml', rng.next() < 0.5 ? '[project]\nname = "d"\n' : '[project]\nname = "d"\n\n[tool.alembic]\nscript_location = "%(here)s/alembic"\n')],
    ['a second section in a', () => write('services/a/alembic.ini', INI('%(here)s/alembic', rng.next() < 0.5 ? '' : '\n[analytics]\nscript_location = %(here)s/analytics\n'))],
    ['a versions folder made a link', () => {
      const versions = join(root, 'services', 'b', 'alembic', 'versions');
      rmSync(versions, { recursive: true, force: true });
      if (rng.next() < 0.5) symlinkSync(join(root, 'shared', 'other-versions'), versions);
      else write('services/b/alembic/versions/.keep', '');
    }],
    ['a pin git ignores', () => toggle('services/b/requirements-local.txt', 'pytest\n')],
    ['a model edited', () => write('services/a/models.py', `x = ${Math.floor(rng.next() * 1000)}\n`)],
    ['a revision renamed', () => {
      const versions = join(root, 'services', 'a', 'alembic', 'versions');
      const [from, to] = existsSync(join(versions, '20260101_000000_first.py')) ? ['20260101_000000_first.py', 'first.py'] : ['first.py', '20260101_000000_first.py'];
      renameSync(join(versions, from), join(versions, to));
    }],
    ['the claim on e/db/alembic.ini', () => write('apps/e/project.json', JSON.stringify({ name: 'e', targets: rng.next() < 0.5 ? {} : { 'migrate-run': { executor: 'fastkit:migrate-run', options: { config: 'db/alembic.ini', cwd: '.' } } } }))],
    ['f pointed elsewhere outside', () => write('services/f/alembic.ini', INI(rng.next() < 0.5 ? '%(here)s/../../shared/alembic' : '%(here)s/../../shared/other'))],
    ['a new project g', () => toggle('services/g/alembic.ini', INI('alembic'))],
    ["f's Alembic folder made a link", () => {
      const folder = join(root, 'shared', 'alembic');
      rmSync(folder, { recursive: true, force: true });
      if (rng.next() < 0.5) symlinkSync(join(root, 'shared', 'other-versions'), folder);
      else write('shared/alembic/versions/.keep', '');
    }],
    ["a pyproject.toml in e's root, where its Alembic runs", () => toggle('apps/e/pyproject.toml', '[project]\nname = "e"\n')],
    ['nothing', () => undefined],
  ];

  const rng = seededRandom(SEED);
  const runner = startRunner();
  const log: string[] = [];
  let configsSeen = 0;
  let configsOpened = 0;
  try {
    for (let step = 0; step <= STEPS; step++) {
      const [name, edit] = step === 0 ? ['the first run', () => undefined] : rng.pick(edits);
      edit();
      const { kept, read, opened } = await runner.ask(root);
      log.push(`${step}: ${name}`);
      // the same projects, targets, names and errors, in the same order
      expect({ step: log.join('; '), result: kept }).toEqual({ step: log.join('; '), result: read });
      const results = (read as { results?: unknown[] }).results ?? [];
      if (step > 0) {
        configsSeen += results.length;
        configsOpened += opened.length;
      }
    }
  } finally {
    runner.close();
    rmSync(root, { recursive: true, force: true });
  }
  console.log(`plugin cache: ${configsSeen - configsOpened} of ${configsSeen} projects over ${STEPS} edits came from the cache (seed ${SEED}): ${log.join('; ')}`);
  // a, b and c come from the cache in every step whose edit did not touch them: more than one a step
  expect(configsSeen - configsOpened).toBeGreaterThan(STEPS);
});
