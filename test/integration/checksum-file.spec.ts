/**
 * The checksum file of a versions folder (alembic/versions/fastkit.sum) with real Alembic and
 * real git: `migrate make` writes it, `migrate hash` writes it for a history that predates
 * fastkit, `migrate check` (offline) compares it with the revision files, and two branches that
 * each add a revision conflict on it when git merges them.
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commitAll, git, gitRepository } from '../support/git';
import { revision } from '../support/revisions';
import { exampleProject, fastkit, revisionFiles, STACK, type Ran } from '../support/workspace';

/** A server that is not there: every command here works without a database. */
const NO_DATABASE = { DATABASE_URL: `postgresql+${STACK.postgresDriver}://app:n0t-pr1nted@127.0.0.1:9/nowhere` };
const CLIENTS = '20261126_185545_create_clients.py';
const INVOICES = '20261126_185552_create_invoices.py';
const INVOICES_ID = 'a719d4f7b98f';

const migrate = (project: string, ...args: string[]) => fastkit(['migrate', ...args], { cwd: project, env: NO_DATABASE });
const versions = (project: string) => join(project, 'alembic', 'versions');
const sumFile = (project: string) => join(versions(project), 'fastkit.sum');

/** The SHA-256 of a file with its line ends made \n, as the checksum file records it. */
function fileChecksum(path: string): string {
  const text = readFileSync(path).toString('latin1').replace(/\r\n?/g, '\n');
  return createHash('sha256').update(Buffer.from(text, 'latin1')).digest('hex');
}

/** The checksum file read independently: its entries, and whether its first line is the hash of the rest. */
function readSum(project: string): { entries: Record<string, string>; totalMatches: boolean } {
  const [first, ...rest] = readFileSync(sumFile(project), 'utf8').split('\n');
  const lines = rest.filter((line) => line !== '');
  const total = createHash('sha256').update(lines.map((line) => `${line}\n`).join('')).digest('hex');
  const entries = Object.fromEntries(lines.map((line) => /^(\S+) sha256:([0-9a-f]{64})$/.exec(line)!.slice(1, 3)));
  return { entries, totalMatches: first === `sha256:${total}` };
}

/** What the checksum file should record for the project's revision files as they are now. */
function checksumsNow(project: string): Record<string, string> {
  return Object.fromEntries(revisionFiles(project).map((file) => [file, fileChecksum(join(versions(project), file))]));
}

function expectClean(ran: Ran): void {
  expect(ran.all).not.toContain('Traceback');
  expect(ran.all).not.toContain('n0t-pr1nted');
}

/** `migrate make --no-autogenerate -m MESSAGE` (no database needed); returns the new file's name. */
function make(project: string, message: string): string {
  const before = new Set(revisionFiles(project));
  const made = migrate(project, 'make', '--no-autogenerate', '-m', message);
  expectClean(made);
  if (made.code !== 0) throw new Error(`make failed:\n${made.all}`);
  return revisionFiles(project).find((file) => !before.has(file))!;
}

describe('fastkit.sum: the checksum file of a versions folder', () => {
  test('make records every revision file in fastkit.sum (SHA-256 of its text, one hash over the list); check passes, also with CRLF line ends', () => {
    const project = exampleProject();
    const added = make(project, 'add index');
    const { entries, totalMatches } = readSum(project);
    expect(totalMatches).toBe(true);
    expect(Object.keys(entries)).toEqual([CLIENTS, INVOICES, added]); // sorted: the newest last
    expect(entries).toEqual(checksumsNow(project));

    // a checkout with git's autocrlf has CRLF line ends: the same checksum
    const path = join(versions(project), CLIENTS);
    writeFileSync(path, readFileSync(path, 'utf8').replace(/\n/g, '\r\n'));
    const checked = migrate(project, 'check');
    expectClean(checked);
    expect(checked.stdout).toMatch(/^Checked 3 revisions \(head \w+\): no errors, no warnings\n$/);
    expect(checked.code).toBe(0);
  });

  test('migrate hash records a history that predates fastkit; run again, it says the file is up to date', () => {
    const project = exampleProject();
    const hashed = migrate(project, 'hash');
    expectClean(hashed);
    expect(hashed.code).toBe(0);
    expect(hashed.stdout).toBe(
      `Wrote alembic/versions/fastkit.sum: 2 revisions\n  recorded ${CLIENTS}\n  recorded ${INVOICES}\n`,
    );
    expect(readSum(project)).toEqual({ entries: checksumsNow(project), totalMatches: true });
    const bytes = readFileSync(sumFile(project));

    const again = migrate(project, 'hash');
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('alembic/versions/fastkit.sum is up to date: 2 revisions\n');
    expect(readFileSync(sumFile(project))).toEqual(bytes);
  });

  test('migrate check: an edited revision, one the file does not record, an entry whose file is gone: one line each with the fix, exit 1; migrate hash settles them', () => {
    const project = exampleProject();
    const notes = '20261201_000000_add_notes.py';
    writeFileSync(join(versions(project), notes), revision('e1e1e1e1e1e1', INVOICES_ID, 'add notes'));
    expect(migrate(project, 'hash').code).toBe(0);
    const clients = join(versions(project), CLIENTS);
    writeFileSync(clients, readFileSync(clients, 'utf8') + '# tidied up\n'); // edited after it was recorded
    rmSync(join(versions(project), notes)); // its entry stays
    const title = '20261202_000000_add_title.py';
    writeFileSync(join(versions(project), title), revision('f2f2f2f2f2f2', INVOICES_ID, 'add title')); // not recorded

    const checked = migrate(project, 'check');
    expectClean(checked);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toBe(
      [
        `alembic/versions/${CLIENTS}:1: error: changed after fastkit.sum recorded it: databases that ran it ran other code. ` +
          'Undo the edit and make the change in a new revision; if no database ran it yet, record it again with `fastkit migrate hash`',
        `alembic/versions/${title}:1: error: not recorded in fastkit.sum. ` +
          "Record it with `fastkit migrate hash` (fastkit's make records the revisions it writes)",
        `alembic/versions/fastkit.sum:4: error: records ${notes}, which is gone. ` +
          'Restore it (a revision that ran anywhere must stay), or drop the entry with `fastkit migrate hash`',
        'Checked 3 revisions (head f2f2f2f2f2f2): 3 errors, no warnings',
        '',
      ].join('\n'),
    );
    expect(checked.stderr).toBe('fastkit: Migration check failed: 3 errors. Each is listed above with its file and line.\n');
    const json = JSON.parse(migrate(project, 'check', '--json').stdout);
    expect(json.errors.map((finding: { code: string }) => finding.code)).toEqual(['checksum-changed', 'checksum-missing', 'checksum-gone']);

    const hashed = migrate(project, 'hash');
    expect(hashed.code).toBe(0);
    expect(hashed.stdout).toBe(
      `Wrote alembic/versions/fastkit.sum: 3 revisions\n  recorded ${title}\n  recorded again ${CLIENTS}: it changed since it was recorded\n  dropped ${notes}: its file is gone\n`,
    );
    expect(readSum(project)).toEqual({ entries: checksumsNow(project), totalMatches: true });
    expect(migrate(project, 'check').code).toBe(0);
  });

  test('a versions folder without fastkit.sum is not checked for checksums', () => {
    const project = exampleProject();
    writeFileSync(join(versions(project), '20261201_000000_add_notes.py'), revision('e1e1e1e1e1e1', INVOICES_ID, 'add notes'));
    const checked = migrate(project, 'check');
    expect(checked.code).toBe(0);
    expect(checked.stdout).toBe('Checked 3 revisions (head e1e1e1e1e1e1): no errors, no warnings\n');
  });

  test('two branches that each make a revision conflict in git on fastkit.sum, and only there; check names the conflict and both heads', () => {
    const project = exampleProject();
    expect(migrate(project, 'hash').code).toBe(0);
    gitRepository(project);
    git(project, ['checkout', '-q', '-b', 'notes']);
    const ours = make(project, 'add notes');
    commitAll(project, 'add notes');
    git(project, ['checkout', '-q', 'main']);
    const theirs = make(project, 'add status');
    commitAll(project, 'add status');
    git(project, ['checkout', '-q', 'notes']);

    const merged = git(project, ['merge', 'main'], { allowFailure: true });
    expect(merged.code).toBe(1);
    expect(merged.stdout).toContain('CONFLICT (content): Merge conflict in alembic/versions/fastkit.sum');
    expect(git(project, ['diff', '--name-only', '--diff-filter=U']).stdout).toBe('alembic/versions/fastkit.sum\n');
    expect(revisionFiles(project)).toEqual([CLIENTS, INVOICES, ours, theirs].sort());

    const checked = migrate(project, 'check', '--json');
    expectClean(checked);
    expect(checked.code).toBe(1);
    const codes = JSON.parse(checked.stdout).errors.map((finding: { code: string; file: string; line: number }) => [finding.code, finding.file]);
    expect(codes).toEqual(
      expect.arrayContaining([
        ['checksum-conflict', 'alembic/versions/fastkit.sum'],
        ['multiple-heads', expect.stringMatching(/^alembic\/versions\/\S+\.py$/)],
      ]),
    );
    expect(codes).toHaveLength(2); // both sides' entries are read: nothing reported missing or changed
  });
});
