/**
 * The cache inputs of migrate-check against Alembic itself: for many configs (named cases, and
 * random draws with a fixed seed over path_separator and version_path_separator, the legacy
 * splitting, `%(here)s` and other interpolation through [DEFAULT], recursive_version_locations,
 * pyproject.toml, several sections), the folders fastkit/plugin's inputs cover are exactly the
 * folders real Alembic 1.20's ScriptDirectory reads revisions from, asked through the repo's
 * .venv (test/support/alembic_locations.py). Where fastkit cannot be certain, the target is
 * not cached; where it says Alembic refuses a section, Alembic does.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AlembicRefuses, alembicLocations, isUncertain, type AlembicConfigTexts } from '../../src/alembic-settings';
import { createNodesV2 } from '../../src/plugin';
import { PYTHON, tempDir } from '../support/workspace';

const ORACLE = join(__dirname, '..', 'support', 'alembic_locations.py');
/** A section name no ini has: Alembic then reads pyproject.toml alone. */
const ABSENT = 'fastkit_absent_section';

/** Folders every project has (and one beside the projects), so Alembic finds what it looks for. */
const TREE = ['alembic/versions/sub', 'migrations/versions', 'a/sub', 'b', 'c/d', 'pct%dir', 'with space', 'v[1]'];
const SHARED = 'shared/versions/deep';

interface Case {
  name: string;
  files: { 'alembic.ini'?: string; 'pyproject.toml'?: string };
  /** The sections a target could be given (`name`), besides [alembic]. */
  sections?: string[];
  /** Named cases say whether fastkit caches them. */
  cached?: boolean;
  prepare?(project: string): void;
}

// --- the named cases ----------------------------------------------------------------------

const INI_HEAD = '[alembic]\nscript_location = %(here)s/alembic\n';

const NAMED: Case[] = [
  {
    name: "fastkit's own ini: path_separator = os and a:b",
    files: { 'alembic.ini': `${INI_HEAD}path_separator = os\nversion_locations = %(here)s/alembic/versions:%(here)s/b\n` },
    cached: true,
  },
  {
    name: 'the older version_path_separator = os',
    files: { 'alembic.ini': `${INI_HEAD}version_path_separator = os\nversion_locations = a:b\n` },
    cached: true,
  },
  {
    name: 'path_separator wins over version_path_separator',
    files: { 'alembic.ini': `${INI_HEAD}path_separator = ;\nversion_path_separator = :\nversion_locations = a;b\n` },
    cached: true,
  },
  {
    name: 'no separator: the legacy split on spaces and commas',
    files: { 'alembic.ini': `${INI_HEAD}version_locations = a b,c/d, %(here)s/migrations/versions\n` },
    cached: true,
  },
  {
    name: 'no separator and a:b: Alembic takes it for a package resource',
    files: { 'alembic.ini': `${INI_HEAD}version_locations = a:b\n` },
    cached: false,
  },
  {
    name: '[DEFAULT] variables, referring to each other and to here',
    files: {
      'alembic.ini':
        '[DEFAULT]\nroot = %(here)s/../..\nshared = %(root)s/shared/versions\n\n' +
        `${INI_HEAD}path_separator = space\nversion_locations = %(shared)s %(HERE)s/a\n`,
    },
    cached: true,
  },
  {
    name: 'recursive_version_locations = true reads the subfolders',
    files: { 'alembic.ini': `${INI_HEAD}recursive_version_locations = true\n` },
    cached: true,
  },
  {
    name: 'recursive_version_locations = True is not "true" to Alembic',
    files: { 'alembic.ini': `${INI_HEAD}recursive_version_locations = True\nversion_locations = a\n` },
    cached: true,
  },
  {
    name: 'pyproject.toml alone: a list of locations, recursive',
    files: {
      'pyproject.toml':
        '[project]\nname = "api"\ndependencies = [\n  "alembic>=1.16",  # [tool.alembic] in a comment\n]\n\n' +
        '[tool.alembic]\nscript_location = "%(here)s/alembic"\nversion_locations = [\n  "%(here)s/a",\n  \'b\',\n]\nrecursive_version_locations = true\n',
    },
    cached: true,
  },
  {
    name: 'an ini without version_locations takes them from pyproject.toml beside it',
    files: {
      'alembic.ini': `${INI_HEAD}path_separator = os\n`,
      'pyproject.toml': '[tool.alembic]\nversion_locations = ["%(here)s/c/d", "../../shared/versions"]\n',
    },
    cached: true,
  },
  {
    name: 'a second section (alembic -n analytics) reads its own folder',
    files: {
      'alembic.ini': `${INI_HEAD}path_separator = os\n\n[analytics]\nscript_location = migrations\npath_separator = os\nversion_locations = b\n\n[loggers]\nkeys = root\n`,
    },
    sections: ['analytics', 'loggers'],
    cached: true,
  },
  {
    name: 'a multi-line value split on newlines, a comment and a blank line inside',
    files: { 'alembic.ini': `${INI_HEAD}path_separator = newline\nversion_locations =\n    a\n    # not a folder\n\n    c/d\n` },
    cached: true,
  },
  {
    name: 'an escaped percent sign in a folder name',
    files: { 'alembic.ini': `${INI_HEAD}path_separator = os\nversion_locations = pct%%dir:a\n` },
    cached: true,
  },
  {
    name: 'an empty item is the folder Alembic runs in',
    files: { 'alembic.ini': `${INI_HEAD}path_separator = :\nversion_locations = a: :b\n` },
    cached: true,
  },
  {
    name: 'a folder outside the workspace',
    files: { 'alembic.ini': `${INI_HEAD}path_separator = os\nversion_locations = a:/srv/shared/versions\n` },
    cached: false,
  },
  {
    name: 'a folder name Nx would read as a glob',
    files: { 'alembic.ini': `${INI_HEAD}path_separator = os\nversion_locations = v[1]\n` },
    cached: false,
  },
  {
    name: 'a versions folder that is a symbolic link',
    files: { 'alembic.ini': `${INI_HEAD}path_separator = os\nversion_locations = linked\n` },
    prepare: (project) => symlinkSync(join('..', '..', 'shared', 'versions'), join(project, 'linked')),
    cached: false,
  },
  {
    name: 'a symbolic link deeper down, in a folder of the project',
    files: { 'alembic.ini': `${INI_HEAD}path_separator = os\nversion_locations = db/linked\n` },
    prepare: (project) => {
      mkdirSync(join(project, 'db'));
      symlinkSync(join('..', '..', '..', 'shared', 'versions'), join(project, 'db', 'linked'));
    },
    cached: false,
  },
  {
    name: 'a symbolic link before `..`: the system resolves the link, not the name',
    files: { 'alembic.ini': `${INI_HEAD}path_separator = os\nversion_locations = deeplink/..\n` },
    prepare: (project) => symlinkSync(join('..', '..', 'shared', 'versions', 'deep'), join(project, 'deeplink')),
    cached: false,
  },
  {
    name: 'an interpolation of a variable that is not set: Alembic fails, fastkit knows',
    files: { 'alembic.ini': `${INI_HEAD}path_separator = os\nversion_locations = %(nowhere)s/a\n` },
    cached: true,
  },
  {
    name: 'an invalid path_separator: Alembic fails, fastkit knows',
    files: { 'alembic.ini': `${INI_HEAD}path_separator = comma\nversion_locations = a,b\n` },
    cached: true,
  },
];

// --- random draws -------------------------------------------------------------------------

/** mulberry32: a small seeded generator, so every run draws the same configs. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 20260109;
const DRAWS = 240;

function drawCase(index: number, next: () => number): Case {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const chance = (p: number) => next() < p;
  const key = (name: string) => (chance(0.1) ? name.replace(/^./, (c) => c.toUpperCase()) : name);
  const assign = () => pick([' = ', '=', ': ', ' : ', '= ']);
  const line = (name: string, value: string) => `${key(name)}${assign()}${value}\n`;

  const folders = ['alembic/versions', 'a', 'b', 'c/d', 'migrations/versions', '../../shared/versions', 'pct%%dir', 'with space'];
  const spelled = (folder: string) =>
    pick([folder, `./${folder}`, `%(here)s/${folder}`, `%(base)s/${folder}`, `${folder}/`, `%(here)s/./${folder}`]);
  const separator = pick([undefined, undefined, 'os', 'os', 'space', 'newline', ':', ';', 'comma', '']);
  const separatorKey = chance(0.3) ? 'version_path_separator' : 'path_separator';
  const joiner =
    chance(0.8) && separator !== undefined
      ? ({ os: ':', space: ' ', newline: '\n    ', ':': ':', ';': ';' } as Record<string, string>)[separator] ?? pick([' ', ','])
      : pick([' ', ', ', ',', ':', ';', '\n    ', '  ']);
  const locations = Array.from({ length: 1 + Math.floor(next() * 3) }, () => spelled(pick(folders)));
  if (chance(0.04)) locations.push(pick(['mypkg:versions', '/srv/elsewhere/versions', '%(missing)s/x', '50%', 'v[1]']));
  const recursive = pick([undefined, undefined, 'true', 'true', 'True', 'false', '%(rec)s']);
  const withDefault = chance(0.35) || locations.some((location) => location.includes('%(base)s')) || recursive === '%(rec)s';

  let ini = '';
  if (withDefault) {
    ini += '[DEFAULT]\n';
    ini += chance(0.5) ? 'base = %(here)s\n' : 'top = %(here)s/../..\nbase = %(top)s/services/' + `p${String(index).padStart(3, '0')}\n`;
    ini += 'rec = true\n';
    if (chance(0.1)) ini += line('version_locations', spelled('b'));
    ini += '\n';
  }
  ini += '[alembic]\n';
  ini += line('script_location', pick(['%(here)s/alembic', 'alembic', './alembic/', '%(base)s/alembic', 'migrations']).replace('%(base)s', withDefault ? '%(base)s' : '%(here)s'));
  if (separator !== undefined) ini += line(separatorKey, separator);
  if (separatorKey === 'version_path_separator' && chance(0.3) && separator !== undefined) ini += line('path_separator', pick(['os', ';']));
  const fromToml = chance(0.15);
  if (!fromToml && chance(0.8)) {
    let value = locations.join(joiner);
    if (joiner.startsWith('\n') && chance(0.4)) value = `\n    ${value}`; // the value starts on the next line
    if (joiner.startsWith('\n') && chance(0.3)) value = value.replace('\n    ', '\n    # a comment\n    ');
    ini += line('version_locations', value);
  }
  if (recursive !== undefined) ini += line('recursive_version_locations', recursive);
  if (chance(0.03)) ini += line('script_location', 'again'); // a duplicate: ConfigParser refuses the file
  const sections: string[] = [];
  if (chance(0.25)) {
    ini += '\n[analytics]\n' + line('script_location', 'migrations');
    if (separator !== undefined && chance(0.5)) ini += line('path_separator', separator);
    if (chance(0.7)) ini += line('version_locations', spelled(pick(folders)));
    sections.push('analytics');
  }
  ini += '\n[loggers]\nkeys = root\n';
  sections.push('loggers');

  const toml = (withScript: boolean) => {
    let text = '[project]\nname = "api"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n\n[tool.ruff]\nextend-select = ["I"]  # "[tool.alembic]"\n\n[tool.alembic]\n';
    if (withScript) text += `script_location = "${pick(['%(here)s/alembic', 'alembic', 'migrations'])}"\n`;
    const tomlFolders = locations.filter((location) => !/%\((base|missing)\)s|^50%$/.test(location));
    if (tomlFolders.length && chance(0.8)) {
      text += `version_locations = [${tomlFolders.map((folder) => (chance(0.5) ? JSON.stringify(folder) : `'${folder}'`)).join(', ')}]\n`;
    }
    if (chance(0.3)) text += `recursive_version_locations = ${pick(['true', 'false'])}\n`;
    return text;
  };

  if (chance(0.2)) return { name: `draw ${index}: pyproject.toml`, files: { 'pyproject.toml': toml(true) }, sections: [ABSENT] };
  const withToml = fromToml || chance(0.1);
  return {
    name: `draw ${index}: alembic.ini`,
    files: { 'alembic.ini': ini, ...(withToml ? { 'pyproject.toml': toml(chance(0.3)) } : {}) },
    sections: [...sections, ...(withToml ? [ABSENT] : [])],
  };
}

// --- asking both ------------------------------------------------------------------------

interface AlembicAnswer {
  folders?: string[];
  recursive?: boolean;
  error?: string;
}

/** Alembic's answers for many (folder, config, section) at once: one Python process. */
function askAlembic(requests: Array<{ cwd: string; config: string; section: string }>): AlembicAnswer[] {
  const ran = spawnSync(PYTHON, [ORACLE], { input: requests.map((request) => JSON.stringify(request)).join('\n') + '\n', encoding: 'utf8' });
  if (ran.status !== 0) throw new Error(`the oracle failed: ${ran.stderr}`);
  return ran.stdout.trim().split('\n').map((line) => JSON.parse(line) as AlembicAnswer);
}

/** What a set of (folder, recursive) reads: `folder` alone, or `folder/**`; a folder read both ways counts once. */
function coverage(readings: Array<{ folder: string; recursive: boolean }>): string[] {
  const recursive = new Set(readings.filter((reading) => reading.recursive).map((reading) => reading.folder));
  const patterns = readings.map(({ folder, recursive: deep }) => (deep ? `${folder}/**` : folder));
  return [...new Set(patterns.filter((pattern) => pattern.endsWith('/**') || !recursive.has(pattern)))].sort();
}

/** The revision folders migrate-check's inputs name, as absolute paths. */
function inputFolders(inputs: unknown[], workspace: string, project: string): Array<{ folder: string; recursive: boolean }> {
  const found: Array<{ folder: string; recursive: boolean }> = [];
  for (const input of inputs) {
    if (typeof input !== 'string') continue;
    const match = /^\{(projectRoot|workspaceRoot)\}(\/.*)?\/(\*\*\/)?\*\.py$/.exec(input);
    if (!match) continue;
    found.push({ folder: resolve(match[1] === 'projectRoot' ? project : workspace, `.${match[2] ?? ''}`), recursive: Boolean(match[3]) });
  }
  return found;
}

describe('migrate-check is cached on exactly the folders Alembic reads revisions from', () => {
  const workspace = tempDir('fastkit-inputs-');
  const draw = random(SEED);
  const cases = [...NAMED, ...Array.from({ length: DRAWS }, (_, index) => drawCase(index, draw))];
  const roots = cases.map((_, index) => `services/p${String(index).padStart(3, '0')}`);
  let answers: AlembicAnswer[][];
  let targets: Array<{ cache?: boolean; inputs?: unknown[]; metadata?: { description?: string } }>;

  beforeAll(async () => {
    mkdirSync(join(workspace, SHARED), { recursive: true });
    writeFileSync(join(workspace, 'nx.json'), '{}\n');
    const configFiles: string[] = [];
    cases.forEach((testCase, index) => {
      const project = join(workspace, roots[index]);
      for (const folder of TREE) mkdirSync(join(project, folder), { recursive: true });
      for (const [file, text] of Object.entries(testCase.files)) {
        writeFileSync(join(project, file), text);
        configFiles.push(`${roots[index]}/${file}`);
      }
      testCase.prepare?.(project);
    });
    const requests = cases.flatMap((testCase, index) =>
      ['alembic', ...(testCase.sections ?? [])].map((section) => ({
        cwd: join(workspace, roots[index]),
        config: join(workspace, roots[index], testCase.files['alembic.ini'] !== undefined ? 'alembic.ini' : 'pyproject.toml'),
        section,
      })),
    );
    const flat = askAlembic(requests);
    answers = cases.map((testCase) => flat.splice(0, 1 + (testCase.sections?.length ?? 0)));
    const results = await createNodesV2[1](configFiles.sort(), {}, { workspaceRoot: workspace, nxJsonConfiguration: {} });
    const projects = Object.assign({}, ...results.map(([, result]) => result.projects));
    targets = roots.map((root) => projects[root].targets['migrate-check']);
  });

  /** The coverage Alembic gives, over the sections it does not fail on. */
  const alembicCoverage = (index: number) =>
    coverage(answers[index].flatMap((answer) => (answer.folders ?? []).map((folder) => ({ folder, recursive: answer.recursive ?? false }))));

  test.each(NAMED.map((testCase, index) => [testCase.name, index] as const))('%s', (_name, index) => {
    const target = targets[index];
    expect(target.cache).toBe(NAMED[index].cached);
    if (target.cache) {
      expect(coverage(inputFolders(target.inputs!, workspace, join(workspace, roots[index])))).toEqual(alembicCoverage(index));
    } else {
      expect(target.inputs).toBeUndefined();
      expect(target.metadata?.description).toMatch(/ Not cached: .+\.$/);
    }
  });

  test(`${DRAWS} random configs (seed ${SEED}): where fastkit caches, its inputs cover what Alembic reads, and it caches most of them`, () => {
    const mismatches: string[] = [];
    const declined: Record<string, number> = {};
    let cached = 0;
    for (let index = NAMED.length; index < cases.length; index++) {
      const target = targets[index];
      if (!target.cache) {
        const reason = /Not cached: (.*)\.$/.exec(target.metadata?.description ?? '')?.[1].replace(/names .*?,/, 'names …,') ?? '?';
        declined[reason] = (declined[reason] ?? 0) + 1;
        continue;
      }
      cached++;
      const ours = coverage(inputFolders(target.inputs!, workspace, join(workspace, roots[index])));
      const theirs = alembicCoverage(index);
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
        mismatches.push(`${cases[index].name}\n${JSON.stringify(cases[index].files, null, 1)}\nfastkit: ${ours.join(' ')}\nalembic: ${theirs.join(' ')}`);
      }
    }
    expect(mismatches).toEqual([]);
    // what the test is worth: how often fastkit answered rather than stepped aside
    process.stdout.write(`cache inputs: cached ${cached} of ${DRAWS} drawn configs; not cached: ${JSON.stringify(declined)}\n`);
    expect(cached).toBeGreaterThan(DRAWS * 0.75);
  });

  test('section by section: fastkit refuses exactly where Alembic fails, and otherwise names the same folders', () => {
    const disagreements: string[] = [];
    let refused = 0;
    cases.forEach((testCase, index) => {
      const project = join(workspace, roots[index]);
      const texts: AlembicConfigTexts = {};
      if (testCase.files['alembic.ini'] !== undefined) texts.ini = { text: testCase.files['alembic.ini'], here: project };
      if (testCase.files['pyproject.toml'] !== undefined) texts.toml = { text: testCase.files['pyproject.toml'], here: project };
      ['alembic', ...(testCase.sections ?? [])].forEach((section, position) => {
        const alembic = answers[index][position];
        let ours: string;
        try {
          const reading = alembicLocations(texts, section, ':');
          if (isUncertain(reading.versionLocations) || isUncertain(reading.recursive)) return; // stepped aside
          ours = JSON.stringify({ folders: reading.versionLocations.map((location) => resolve(project, location)), recursive: reading.recursive });
        } catch (error) {
          if (!(error instanceof AlembicRefuses)) throw error;
          refused++;
          if (!alembic.error) disagreements.push(`${testCase.name} [${section}]: fastkit says Alembic fails (${error.message}), Alembic reads ${JSON.stringify(alembic)}`);
          return;
        }
        if (alembic.error) {
          if (!/Path doesn't exist/.test(alembic.error)) disagreements.push(`${testCase.name} [${section}]: fastkit reads ${ours}, Alembic fails: ${alembic.error}`);
          return;
        }
        const theirs = JSON.stringify({ folders: alembic.folders, recursive: alembic.recursive });
        if (ours !== theirs) disagreements.push(`${testCase.name} [${section}]:\n${JSON.stringify(testCase.files, null, 1)}\nfastkit: ${ours}\nalembic: ${theirs}`);
      });
    });
    expect(disagreements).toEqual([]);
    expect(refused).toBeGreaterThan(0); // the draws include configs Alembic refuses
  });
});

