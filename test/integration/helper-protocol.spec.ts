/**
 * The Python helper as fastkit's Node side meets it, on every supported Alembic (this file runs
 * on each Python stack of test/python-stacks.json): every event it emits follows the protocol
 * of src/helper-protocol.ts; it reads no private Alembic attribute but the one it feature-
 * detects, and behaves the same without it; Alembic's layouts and the explainer's cases.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HELPER } from '../../src/alembic';
import { protocolProblems, type HelperAction } from '../../src/helper-protocol';
import { hugePageAllocation, thisMachine } from '../../src/python-allocator';
import { createMariaDatabase } from '../support/mariadb';
import { revision } from '../support/revisions';
import {
  addColumn,
  createPostgresDatabase,
  exampleProject,
  fastkit,
  python,
  PYTHON,
  REPO,
  revisionFiles,
  STACK,
} from '../support/workspace';

type Event = Record<string, unknown> & { type: string };

/** Runs the helper as fastkit does (request in the environment, events on fd 3); `prelude` runs first in the same Python. */
function helper(project: string, request: Record<string, unknown>, options: { env?: Record<string, string>; prelude?: string } = {}) {
  const full = { config: join(project, 'alembic.ini'), name: null, args: [], ...request };
  const argv = options.prelude
    ? ['-c', `${options.prelude}\nimport runpy, sys\nsys.argv = [${JSON.stringify(HELPER)}]\nrunpy.run_path(sys.argv[0], run_name="__main__")`]
    : [HELPER];
  const ran = spawnSync(PYTHON, argv, {
    cwd: project,
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: undefined, ...options.env, FASTKIT_REQUEST: JSON.stringify(full), FASTKIT_EVENTS_FD: '3' },
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  const events = String(ran.output[3] ?? '')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Event);
  return { code: ran.status, events, stderr: String(ran.stderr), of: (type: string) => events.filter((event) => event.type === type) };
}

describe(`the helper's events follow src/helper-protocol.ts (${STACK.name})`, () => {
  const seen = new Set<string>();
  const expectProtocol = (action: HelperAction, events: Event[]) => {
    for (const event of events) {
      expect({ event, problems: protocolProblems(action, event) }).toEqual({ event, problems: [] });
      seen.add(event.type === 'result' ? `result of ${action}` : event.type);
    }
  };
  const project = exampleProject();
  const call = (action: HelperAction, request: Record<string, unknown> = {}, env: Record<string, string> = {}) => {
    const ran = helper(project, { action, ...request }, { env });
    expectProtocol(action, ran.events);
    return ran;
  };

  test('status, run, rollback, make, check and sql on SQLite: results, steps, graphs and errors', () => {
    const atBase = call('status');
    expect(atBase.of('result')).toEqual([expect.objectContaining({ current: [], upToDate: false })]);
    expect(atBase.of('graph')).toHaveLength(1);

    const ran = call('run');
    expect(ran.code).toBe(0);
    expect(ran.of('step').map((step) => [step.direction, step.message, step.from, step.dialect])).toEqual([
      ['upgrade', 'create clients', [], 'sqlite'],
      ['upgrade', 'create invoices', ['3e51a29c4cf9'], 'sqlite'],
    ]);

    const back = call('rollback');
    expect(back.of('step')).toEqual([expect.objectContaining({ direction: 'downgrade', revision: 'a719d4f7b98f', to: ['3e51a29c4cf9'] })]);
    expect(call('make', { message: 'too early', autogenerate: true }).of('error')).toEqual([
      expect.objectContaining({ code: 'behind-head' }),
    ]);
    // on down to base, where one more rollback fails: one helper run from here, where from head
    // at the end it took two (the first a rerun of the rollback above)
    call('rollback');
    expect(call('rollback').of('error')).toEqual([expect.objectContaining({ code: 'nothing-to-roll-back', hint: expect.any(String) })]);
    call('run');
    expect(call('make', { message: 'nothing', autogenerate: true }).of('result')).toEqual([{ type: 'result', noChanges: true }]);
    addColumn(project, 'invoices', 'notes: Mapped[str | None] = mapped_column(String(500))');
    const made = call('make', { message: 'add notes', autogenerate: true });
    expect(made.of('result')).toEqual([expect.objectContaining({ noChanges: false, message: 'add notes' })]);

    writeFileSync(
      join(project, 'alembic', 'versions', '20990101_000000_drop_notes.py'),
      revision('d0d0d0d0d0d0', String(made.of('result')[0].revision), 'drop notes', 'op.drop_column("invoices", "notes")'),
    );
    expect(call('check').of('result')[0].findings).toEqual(
      expect.arrayContaining([expect.objectContaining({ level: 'warning', code: 'drop-column', line: expect.any(Number) })]),
    );
    const rendered = call('sql', { output: join(project, 'out.sql'), url: 'postgresql://', dialect: 'postgresql' }, { DATABASE_URL: 'postgresql://' });
    expect(rendered.of('step').map((step) => step.dialect)).toEqual(['postgresql', 'postgresql', 'postgresql', 'postgresql']);
  });

  test('each step says whether a failure would leave it partly applied: PostgreSQL’s DDL is transactional, MariaDB’s is not', () => {
    const postgres = createPostgresDatabase('fk_protocol');
    const maria = createMariaDatabase('fk_protocol');
    try {
      const onPostgres = call('run', {}, { DATABASE_URL: postgres.url }).of('step');
      expect(onPostgres[0]).toMatchObject({ dialect: 'postgresql', transactionalDdl: true });
      const onMaria = call('run', {}, { DATABASE_URL: maria.url }).of('step');
      expect(onMaria[0]).toMatchObject({ dialect: expect.stringMatching(/^(mysql|mariadb)$/), transactionalDdl: false });
    } finally {
      postgres.drop();
      maria.drop();
    }
  });

  test('every kind of event and every action’s result was met above', () => {
    expect([...seen].sort()).toEqual(
      ['error', 'graph', 'step', ...['check', 'make', 'rollback', 'run', 'sql', 'status'].map((action) => `result of ${action}`)].sort(),
    );
  });
});

describe(`one request at a time, nothing kept between them (${STACK.name})`, () => {
  test('two projects served by one Python process get the answers each gets alone, and the process is left as it was', () => {
    const [first, second] = [exampleProject(), exampleProject()];
    expect(fastkit(['migrate', 'run'], { cwd: first }).code).toBe(0);
    const script = [
      'import io, json, os, sys',
      `sys.path.insert(0, ${JSON.stringify(join(REPO, 'python'))})`,
      'import fastkit_alembic',
      'helper = fastkit_alembic.load_helper()',
      'helper.preload()',
      'before = (os.getcwd(), list(sys.path), dict(os.environ))',
      'answers = []',
      `for project in ${JSON.stringify([first, second])}:`,
      '    sink = io.StringIO()',
      '    request = {"action": "status", "config": os.path.join(project, "alembic.ini")}',
      '    code = helper.handle(request, sink, project, dict(os.environ, FASTKIT_PROBE=project))',
      '    answers.append([code] + [json.loads(line) for line in sink.getvalue().splitlines() if \'"result"\' in line])',
      'print(json.dumps({"answers": answers, "unchanged": before == (os.getcwd(), list(sys.path), dict(os.environ))}))',
    ].join('\n');
    const served = JSON.parse(python(script, { env: { DATABASE_URL: undefined } }));
    const alone = (project: string) => [0, ...helper(project, { action: 'status' }).of('result')];
    expect(served).toEqual({ answers: [alone(first), alone(second)], unchanged: true });
    expect(served.answers[0][1].upToDate).toBe(true);
    expect(served.answers[1][1].upToDate).toBe(false);
  });
});

describe(`private Alembic APIs (${STACK.name})`, () => {
  test('the helper reads no private attribute of Alembic’s but ScriptDirectory._rev_path, and only after asking whether it exists', () => {
    const foreign = python(
      [
        'import ast, json, pathlib',
        `files = list(pathlib.Path(${JSON.stringify(join(REPO, 'python', 'fastkit_helper'))}).rglob("*.py"))`,
        'trees = [ast.parse(f.read_text()) for f in files]',
        'ours = set()',
        'for tree in trees:',
        '    for node in ast.walk(tree):',
        '        if isinstance(node, (ast.FunctionDef, ast.ClassDef)): ours.add(node.name)',
        '        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and getattr(node.value, "id", None) == "self":',
        '            ours.add(node.attr)',
        'used = set()',
        'for tree in trees:',
        '    for node in ast.walk(tree):',
        '        if isinstance(node, ast.Attribute): used.add(node.attr)',
        '        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("getattr", "hasattr", "setattr", "delattr"):',
        '            used.update(a.value for a in node.args[1:2] if isinstance(a, ast.Constant))',
        'print(json.dumps(sorted(n for n in used - ours if n.startswith("_") and not n.startswith("__"))))',
      ].join('\n'),
    );
    // os._exit is Python's documented way out of a fork (serve.py), not Alembic's
    expect(JSON.parse(foreign)).toEqual(['_exit', '_rev_path']);
    const make = readFileSync(join(REPO, 'python', 'fastkit_helper', 'actions', 'make.py'), 'utf8');
    expect(make).toContain('getattr(ScriptDirectory, "_rev_path", None)');
  });

  // Two makes with one message under a file_template without the time: the second file name is taken.
  describe.each([
    ['as it is', ''],
    [
      // Alembic keeps naming its files, but the class no longer shows a _rev_path to the helper
      'without ScriptDirectory._rev_path (as a later Alembic may be)',
      [
        'from alembic.script import ScriptDirectory',
        'hidden = ScriptDirectory.__dict__["_rev_path"]',
        'del ScriptDirectory._rev_path',
        'def _instance_only(self, name):',
        '    if name == "_rev_path": return hidden.__get__(self)',
        '    raise AttributeError(name)',
        'ScriptDirectory.__getattr__ = _instance_only',
        'assert getattr(ScriptDirectory, "_rev_path", None) is None',
      ].join('\n'),
    ],
  ])('on Alembic %s', (_name, prelude) => {
    test('a make whose file name is taken writes beside it, and the file that was there keeps its content', () => {
      const project = exampleProject({ revisions: false });
      const ini = join(project, 'alembic.ini');
      writeFileSync(ini, readFileSync(ini, 'utf8').replace(/^file_template = .*$/m, 'file_template = %%(slug)s'));
      const make = () => helper(project, { action: 'make', message: 'same change', autogenerate: false }, { prelude });
      const first = make();
      expect(first.of('result')).toEqual([expect.objectContaining({ path: join(project, 'alembic', 'versions', 'same_change.py') })]);
      const before = readFileSync(join(project, 'alembic', 'versions', 'same_change.py'), 'utf8');
      const second = make();
      expect(second.of('result')).toEqual([expect.objectContaining({ path: join(project, 'alembic', 'versions', 'same_change_2.py') })]);
      expect(revisionFiles(project)).toEqual(['same_change.py', 'same_change_2.py']);
      expect(readFileSync(join(project, 'alembic', 'versions', 'same_change.py'), 'utf8')).toBe(before);
      expect(readFileSync(join(project, 'alembic', 'versions', 'same_change_2.py'), 'utf8')).toContain(String(first.of('result')[0].revision));
    });
  });
});

describe(`Alembic layouts (${STACK.name})`, () => {
  test('two version_locations: make writes into the first while there is no revision, then beside the head, or where versionPath says', () => {
    const project = exampleProject({ revisions: false });
    const ini = join(project, 'alembic.ini');
    const more = join(project, 'alembic', 'more');
    mkdirSync(more);
    writeFileSync(
      ini,
      readFileSync(ini, 'utf8').replace(
        'path_separator = os',
        // version_path_separator: the name Alembic before 1.16 reads; later ones read path_separator first
        'path_separator = os\nversion_path_separator = os\nversion_locations = %(here)s/alembic/versions:%(here)s/alembic/more',
      ),
    );
    const cli = (...args: string[]) => fastkit(['migrate', ...args], { cwd: project });
    expect(cli('make', '-m', 'first').code).toBe(0);
    expect(revisionFiles(project)).toHaveLength(1);
    const [first] = revisionFiles(project);
    renameSync(join(project, 'alembic', 'versions', first), join(more, first));
    expect(cli('hash').code).toBe(0); // a revision moved by hand: its checksum moves to the other folder's fastkit.sum
    expect(cli('make', '--no-autogenerate', '-m', 'second').code).toBe(0);
    expect(readdirSync(more).filter((file) => file.endsWith('.py'))).toHaveLength(2);

    const third = helper(project, { action: 'make', message: 'third', autogenerate: false, versionPath: join(project, 'alembic', 'versions') });
    expect(third.of('result')).toEqual([expect.objectContaining({ path: expect.stringContaining(join('alembic', 'versions', '')) })]);
    expect(cli('run').code).toBe(0);
    expect(cli('check').stdout).toMatch(/^Checked 3 revisions \(head \w+\): no errors/m);
    expect(cli('status').stdout).toMatch(/^\w+ \(head\)$/m);
  });

  test('configuration in pyproject.toml, given or beside the logging-only alembic.ini: used from Alembic 1.16 on; an older Alembic says it needs 1.16', () => {
    const project = exampleProject();
    const ini = join(project, 'alembic.ini');
    const text = readFileSync(ini, 'utf8');
    // as Alembic's pyproject template lays it out: [tool.alembic] in pyproject.toml, logging in alembic.ini
    writeFileSync(ini, text.slice(0, text.indexOf('[alembic]')) + text.slice(text.indexOf('[post_write_hooks]')));
    writeFileSync(
      join(project, 'pyproject.toml'),
      '[project]\nname = "api"\n\n[tool.alembic]\nscript_location = "%(here)s/alembic"\nprepend_sys_path = ["."]\n',
    );
    const version = python('import alembic; print(alembic.__version__)');
    // `--config pyproject.toml`, and none: fastkit takes the alembic.ini, as `alembic` does (1.16+ reads the toml beside it)
    for (const config of [['--config', 'pyproject.toml'], []]) {
      const ran = fastkit(['migrate', 'run', ...config], { cwd: project });
      if (/^1\.([89]|1[0-5])\./.test(version)) {
        expect({ config, stderr: ran.stderr, code: ran.code }).toEqual({
          config,
          stderr:
            `fastkit: Configuration in pyproject.toml needs Alembic 1.16 or later; this is Alembic ${version}. ` +
            "Upgrade Alembic in the project's Python environment, or keep the configuration in an alembic.ini.\n",
          code: 1,
        });
      } else {
        expect({ config, code: ran.code }).toEqual({ config, code: 0 });
        expect(fastkit(['migrate', 'status', ...config], { cwd: project }).stdout).toBe('a719d4f7b98f (head)\n');
      }
    }
  });
});

describe(`the explainer (${STACK.name})`, () => {
  test.each(['run', 'status'])('%s -n with a section alembic.ini does not have: the sections it has, on every Alembic', (action) => {
    const ran = fastkit(['migrate', action, '-n', 'tenants'], { cwd: exampleProject() });
    expect(ran.code).toBe(1);
    expect(ran.stderr).toBe(
      'fastkit: alembic.ini has no [tenants] section. Check the section name given with -n/--name (sections with a script_location: alembic).\n',
    );
  });

  test('an ini saved with a UTF-8 BOM is named as the cause, with the fix', () => {
    const project = exampleProject();
    const ini = join(project, 'alembic.ini');
    writeFileSync(ini, '\ufeff' + readFileSync(ini, 'utf8'));
    const status = fastkit(['migrate', 'status'], { cwd: project });
    expect(status.code).toBe(1);
    expect(status.stderr).toBe(
      "fastkit: alembic.ini starts with a UTF-8 byte order mark (BOM), which Alembic's ini reader does not accept. " +
        'Save it as UTF-8 without a BOM (e.g. VS Code: Save with Encoding > UTF-8).\n',
    );
  });

  test('an error that carries fastkit_code (the generated lock’s timeout) is reported with that code, its message and its fix', () => {
    const project = exampleProject();
    const envPy = join(project, 'alembic', 'env.py');
    writeFileSync(
      envPy,
      readFileSync(envPy, 'utf8').replace(
        'if context.is_offline_mode():',
        [
          'class LockTimeout(Exception):',
          '    fastkit_code = "lock-timeout"',
          '',
          '',
          'raise LockTimeout("Timed out after 1 s waiting for the migration lock; wait for that migration to finish or stop it")',
          'if context.is_offline_mode():',
        ].join('\n'),
      ),
    );
    const ran = helper(project, { action: 'run' });
    expect(ran.of('error')).toEqual([
      expect.objectContaining({
        code: 'lock-timeout',
        message: 'Timed out after 1 s waiting for the migration lock',
        hint: 'Wait for that migration to finish or stop it.',
      }),
    ]);
    const cli = fastkit(['migrate', 'run'], { cwd: project });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toBe('fastkit: Timed out after 1 s waiting for the migration lock. Wait for that migration to finish or stop it.\n');
  });
});

describe(`the helper's Python (${STACK.name})`, () => {
  /** A project whose env.py writes down the allocator its Python was started with. */
  const allocatorSeen = (env: Record<string, string | undefined>) => {
    const project = exampleProject();
    const envPy = join(project, 'alembic', 'env.py');
    const record = 'import os\nopen("allocator.txt", "w").write("%s|%s" % (os.environ.get("PYTHONMALLOC"), os.environ.get("GLIBC_TUNABLES")))\n';
    writeFileSync(envPy, record + readFileSync(envPy, 'utf8'));
    const ran = fastkit(['migrate', 'run'], { cwd: project, env });
    expect(ran.code).toBe(0);
    return readFileSync(join(project, 'allocator.txt'), 'utf8');
  };

  test('runs on glibc malloc with huge pages where the machine has them, and on the allocator the user chose otherwise', () => {
    const wanted = hugePageAllocation({}, thisMachine());
    expect(allocatorSeen({ PYTHONMALLOC: undefined, GLIBC_TUNABLES: undefined })).toBe(`${wanted.PYTHONMALLOC ?? 'None'}|${wanted.GLIBC_TUNABLES ?? 'None'}`);
    expect(allocatorSeen({ PYTHONMALLOC: 'pymalloc', GLIBC_TUNABLES: undefined })).toBe('pymalloc|None');
  });
});
