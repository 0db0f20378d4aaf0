/**
 * The files Nx reads that the action table decides: executors.json, each executor's
 * schema.json and schema.d.ts, and the init generator's schema (which names the targets).
 * scripts/write-nx-schemas.mjs writes them at build; they are committed, and a unit test fails
 * when one differs from what this module makes of the table.
 */
import { ACTIONS, COMMON_OPTIONS, executorName, optionsOf, type ActionSpec, type ActionTable, type OptionSpec } from './actions';

/** Every generated file: its path in the package, and its text. */
export function nxSchemaFiles(table: ActionTable = ACTIONS): Record<string, string> {
  const files: Record<string, string> = {};
  const executors: Record<string, unknown> = {};
  for (const [action, spec] of Object.entries(table)) {
    if (!spec.executor) continue;
    const name = executorName(action);
    executors[name] = {
      implementation: `./dist/executors/${name}/executor`,
      // `nx run-many` hands this executor's tasks to one process (Nx 22+ read preferBatch)
      ...(spec.batch ? { batchImplementation: `./dist/src/nx-batch-executors#${name}`, preferBatch: true } : {}),
      schema: `./executors/${name}/schema.json`,
      description: executorDescription(spec),
    };
    files[`executors/${name}/schema.json`] = json(executorSchema(spec));
    files[`executors/${name}/schema.d.ts`] = schemaTypes(action, spec);
  }
  files['executors/common-options.d.ts'] = commonTypes();
  files['executors.json'] = json({ executors });
  files['generators/init/schema.json'] = json(initSchema(table));
  return files;
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/** `Applies every pending migration: alembic upgrade head. Prints nothing when nothing is pending.` */
function executorDescription(spec: ActionSpec): string {
  return [`${spec.summary}${spec.alembic ? `: alembic ${spec.alembic}` : ''}.`, spec.details, spec.cache ? 'Cacheable.' : undefined]
    .filter(Boolean)
    .join(' ');
}

function executorSchema(spec: ActionSpec): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft-07/schema',
    version: 2,
    title: spec.title,
    description: `${executorDescription(spec)} See ${spec.docs}`,
    type: 'object',
    properties: Object.fromEntries(Object.entries(optionsOf(spec)).map(([name, option]) => [name, schemaProperty(option)])),
  };
}

/**
 * An option as schema.json declares it. A text option also takes a number: Nx parses `-m 123`
 * as the number 123 and checks it against the schema before the executor runs, which then
 * takes it as the text "123". Nx checks an `anyOf` branch with the branch's own type, so
 * `type: "string"` (what `--help` shows) with `anyOf` string-or-number lets the number through;
 * a type list (`["string", "number"]`) would not do: Nx would then turn text that looks like
 * a number into one (`-m ""` into 0).
 */
function schemaProperty(option: OptionSpec): Record<string, unknown> {
  return {
    type: option.type,
    ...(option.type === 'string' ? { anyOf: [{ type: 'string' }, { type: 'number' }] } : {}),
    ...(option.type === 'array' ? { items: { type: 'string' } } : {}),
    ...(option.type === 'object' ? { additionalProperties: { type: 'string' } } : {}),
    ...(option.alias ? { alias: option.alias } : {}),
    description: option.description,
    ...(option.default !== undefined ? { default: option.default } : {}),
    ...(option.positional ? { $default: { $source: 'argv', index: 0 }, 'x-priority': 'important' } : {}),
  };
}

const TS_TYPES: Record<OptionSpec['type'], string> = {
  string: 'string',
  boolean: 'boolean',
  array: 'string[]',
  object: 'Record<string, string>',
};

const GENERATED = '// Generated from src/actions.ts by scripts/write-nx-schemas.mjs (npm run build); do not edit.\n\n';

function members(options: Record<string, OptionSpec>): string {
  return Object.entries(options)
    .map(([name, option]) => {
      const fallback = option.default !== undefined ? ` @default ${JSON.stringify(option.default)}` : '';
      return `  /** ${option.description.replace(/\*\//g, '*\\/')}${fallback} */\n  ${name}?: ${TS_TYPES[option.type]};\n`;
    })
    .join('');
}

/** The options every executor takes, as a TypeScript interface the executors' types extend. */
function commonTypes(): string {
  return `${GENERATED}export interface CommonExecutorOptions {\n${members(COMMON_OPTIONS)}}\n`;
}

/** The executor's options as a TypeScript interface, for users who type their own calls. */
function schemaTypes(action: string, spec: ActionSpec): string {
  const type = `${executorName(action).replace(/(^|-)(\w)/g, (_, __, letter: string) => letter.toUpperCase())}ExecutorOptions`;
  const own = members(spec.options);
  return (
    `${GENERATED}import type { CommonExecutorOptions } from '../common-options';\n\n` +
    (own ? `export interface ${type} extends CommonExecutorOptions {\n${own}}\n` : `export type ${type} = CommonExecutorOptions;\n`)
  );
}

function initSchema(table: ActionTable): Record<string, unknown> {
  const targets = Object.keys(table)
    .filter((action) => table[action].executor)
    .map(executorName);
  const listed = `${targets.slice(0, -1).join(', ')} and ${targets[targets.length - 1]}`;
  return {
    $schema: 'https://json-schema.org/draft-07/schema',
    $id: 'FastkitInit',
    cli: 'nx',
    title: 'Add fastkit to the workspace',
    description: `Registers fastkit/plugin in nx.json, so every project with an alembic.ini gets the ${listed} targets. Run by \`nx add fastkit\`; running it again changes nothing. See https://alembic.sqlalchemy.org/en/latest/tutorial.html`,
    type: 'object',
    properties: {
      skipFormat: { type: 'boolean', description: 'Skip formatting files.', default: false, 'x-priority': 'internal' },
    },
    required: [],
  };
}
