import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { childrenOf, startFastkit } from '../support/processes';
import { EXAMPLE, exampleProject, fastkit, PYTHON, revisionFiles, run, tempDir } from '../support/workspace';

const versions = (project: string) => join(project, 'alembic', 'versions');
const cli = (project: string, ...args: string[]) => fastkit(['migrate', ...args], { cwd: project });
const statusJson = (project: string) => JSON.parse(cli(project, 'status', '--json').stdout);

/** Sets one option of the [alembic] section of a project's alembic.ini. */
function setIniOption(project: string, key: string, value: string): void {
  const ini = join(project, 'alembic.ini');
  const text = readFileSync(ini, 'utf8');
  writeFileSync(ini, text.replace(new RegExp(`^${key} = .*$`, 'm'), `${key} = ${value}`));
}

describe('make is safe where raw Alembic is not', () => {
  test('a message with """ and backslashes writes a revision that compiles and reads back as typed', () => {
    const project = exampleProject({ revisions: false });
    const message = 'add """x""" from C:\\data\\new';
    const made = cli(project, 'make', '-m', message);
    expect(made.code).toBe(0);
    const [file] = revisionFiles(project);
    expect(file).toMatch(/^\d{8}_\d{6}_add_x_from_c_data_new\.py$/);
    expect(run(PYTHON, ['-m', 'py_compile', join(versions(project), file)]).code).toBe(0);
    expect(statusJson(project).pending).toEqual([{ revision: expect.any(String), message }]);
  });

  test('a file name that is taken is never overwritten: the second revision gets a free name', () => {
    const project = exampleProject({ revisions: false });
    setIniOption(project, 'file_template', '%%(slug)s'); // every make with one message collides
    expect(cli(project, 'make', '-m', 'same message', '--no-autogenerate').code).toBe(0);
    expect(cli(project, 'make', '-m', 'same message', '--no-autogenerate').code).toBe(0);
    expect(revisionFiles(project)).toEqual(['same_message.py', 'same_message_2.py']);
    const report = statusJson(project);
    expect(report.heads).toHaveLength(1);
    expect(report.pending).toHaveLength(2);
  });

  test('ten makes at once leave ten files and one head', async () => {
    const project = exampleProject({ revisions: false });
    const makes = Array.from({ length: 10 }, () =>
      startFastkit(['migrate', 'make', '-m', 'same second', '--no-autogenerate'], { cwd: project }),
    );
    const results = await Promise.all(makes.map((started) => started.exited));
    // each make's own output on failure: what a user would read
    expect(results.map((result) => (result.code === 0 ? 0 : `exit ${result.code}: ${result.output}`))).toEqual(Array(10).fill(0));
    expect(revisionFiles(project)).toHaveLength(10);
    const report = statusJson(project);
    expect(report.heads).toHaveLength(1);
    expect(report.pending).toHaveLength(10);
  });

  test('a make never reads the revision another make is still writing (a formatter rewriting it in place): it waits, then revises it', async () => {
    const project = exampleProject({ revisions: false });
    const folder = tempDir('fastkit-hook-');
    // a post-write hook that rewrites the new revision in place, as formatters do: the file is
    // empty until the test lets it go on (HOOK_GO names the file it waits for; without it, a no-op)
    const hook = join(folder, 'rewrite.py');
    writeFileSync(
      hook,
      'import os, sys, time\n' +
        'go = os.environ.get("HOOK_GO")\n' +
        'if go:\n' +
        '    path = sys.argv[1]\n' +
        '    text = open(path).read()\n' +
        '    open(path, "w").close()\n' +
        '    print("rewriting", flush=True)\n' +
        '    while not os.path.exists(go):\n' +
        '        time.sleep(0.01)\n' +
        '    open(path, "w").write(text)\n',
    );
    const ini = join(project, 'alembic.ini');
    writeFileSync(
      ini,
      readFileSync(ini, 'utf8').replace(
        '[post_write_hooks]\n',
        `[post_write_hooks]\nhooks = rewrite\nrewrite.type = exec\nrewrite.executable = ${PYTHON}\nrewrite.options = ${hook} REVISION_SCRIPT_FILENAME\n`,
      ),
    );
    const go = join(folder, 'go');
    const first = startFastkit(['migrate', 'make', '--no-autogenerate', '-m', 'first'], { cwd: project, env: { HOOK_GO: go } });
    await first.waitFor('rewriting');
    const second = startFastkit(['migrate', 'make', '--no-autogenerate', '-m', 'second'], { cwd: project });
    // the second make either ends (it read the empty file) or waits on the make lock: /proc/locks
    // shows its helper (the CLI's child) blocked on a lock (`->`)
    const blockedOnLock = () => {
      const own = new Set(childrenOf(second.child.pid!));
      return readFileSync('/proc/locks', 'utf8')
        .split('\n')
        .some((line) => / -> FLOCK /.test(line) && own.has(Number(line.trim().split(/\s+/)[5])));
    };
    let ended = false;
    void second.exited.then(() => (ended = true));
    // polled every 10 ms: the condition itself, not a guess at how long the second make takes
    while (!ended && !blockedOnLock()) await new Promise((resolve) => setTimeout(resolve, 10));
    writeFileSync(go, '');
    const [one, two] = await Promise.all([first.exited, second.exited]);
    expect([one, two].map((result) => (result.code === 0 ? 0 : `exit ${result.code}: ${result.output}`))).toEqual([0, 0]);
    expect(revisionFiles(project)).toHaveLength(2);
    const report = statusJson(project);
    expect(report.heads).toHaveLength(1);
    expect(report.pending.map((revision: { message: string }) => revision.message)).toEqual(['first', 'second']);
  });

  test('two autogenerate makes at once never produce two heads: the second says to run the first', async () => {
    const project = exampleProject({ revisions: false });
    const makes = [0, 1].map(() => startFastkit(['migrate', 'make', '-m', 'create tables'], { cwd: project }));
    const results = await Promise.all(makes.map((started) => started.exited));
    expect(results.map((result) => result.code).sort()).toEqual([0, 1]);
    const failed = results.find((result) => result.code === 1)!;
    expect(failed.output).toMatch(/behind head.*fastkit migrate run/);
    expect(failed.output).not.toContain('Traceback');
    expect(revisionFiles(project)).toHaveLength(1);
    expect(statusJson(project).heads).toHaveLength(1);
  });

  test('a revision that does not compile is removed, with one clear line', () => {
    const project = exampleProject({ revisions: false });
    const mako = join(project, 'alembic', 'script.py.mako');
    writeFileSync(mako, readFileSync(mako, 'utf8').replace('def upgrade() -> None:', 'def upgrade( -> None:'));
    const made = cli(project, 'make', '-m', 'create tables');
    expect(made.code).toBe(1);
    expect(made.stderr).toMatch(/did not compile .* and was removed/);
    expect(made.all).not.toContain('Traceback');
    expect(revisionFiles(project)).toEqual([]);
  });

  test('no model change writes no file even with the stock env.py of `alembic init`', () => {
    const project = exampleProject({ revisions: false });
    const stock = readFileSync(
      run(PYTHON, ['-c', 'import alembic, os; print(os.path.join(os.path.dirname(alembic.__file__), "templates", "generic", "env.py"))']).stdout.trim(),
      'utf8',
    );
    const envPy = stock
      .replace('target_metadata = None', 'from database import Base\ntarget_metadata = Base.metadata')
      .replace('url = config.get_main_option("sqlalchemy.url")', 'url = "sqlite:///stock.db"')
      .replace(
        'connectable = engine_from_config(\n        config.get_section(config.config_ini_section, {}),\n        prefix="sqlalchemy.",\n        poolclass=pool.NullPool,\n    )',
        'from sqlalchemy import create_engine\n    connectable = create_engine("sqlite:///stock.db", poolclass=pool.NullPool)',
      );
    expect(envPy).toContain('create_engine("sqlite:///stock.db"');
    writeFileSync(join(project, 'alembic', 'env.py'), envPy);
    const made = cli(project, 'make', '-m', 'nothing yet');
    expect(made.code).toBe(0);
    expect(made.stdout).toContain('No changes detected');
    expect(revisionFiles(project)).toEqual([]);
  });

  test('make with the database behind head says, in one line, to run the migrations first', () => {
    const project = exampleProject();
    const before = revisionFiles(project);
    const made = cli(project, 'make', '-m', 'more');
    expect(made.code).toBe(1);
    expect(made.stderr.trim().split('\n')).toHaveLength(1);
    expect(made.stderr).toMatch(/behind head.*`fastkit migrate run`/);
    expect(revisionFiles(project)).toEqual(before);
    expect(EXAMPLE).not.toBe(project);
  });
});
