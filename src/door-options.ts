/**
 * What each door accepts, read from the action table: the CLI's flags and how they become an
 * action's options, and the check every Nx executor makes before anything runs. A door refuses
 * an option it does not know, with one line and exit 2 (a UsageError).
 */
import type { ParseArgsConfig } from 'node:util';
import { ACTIONS, optionsOf, type ActionSpec, type ActionTable, type OptionSpec } from './actions';
import { UsageError } from './errors';

type ParseOptions = NonNullable<ParseArgsConfig['options']>;

/** `shadowUrl` → `shadow-url`. */
function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** The CLI flag of an option, without dashes: `message`, `no-autogenerate` (on unless turned off), `x`. */
export function cliFlagOf(name: string, spec: OptionSpec): string | undefined {
  if (!spec.cli) return undefined;
  if (spec.cli.flag) return spec.cli.flag;
  return spec.type === 'boolean' && spec.default === true ? `no-${kebab(name)}` : kebab(name);
}

/** `-m, --message TEXT`, as the help shows a flag. */
export function cliFlagUsage(name: string, spec: OptionSpec): string {
  const flag = cliFlagOf(name, spec)!;
  const long = flag.length === 1 ? `-${flag}` : `--${flag}`;
  const letter = spec.cli?.short ?? spec.alias;
  const short = flag.length === 1 ? '' : letter ? `-${letter}, ` : '    ';
  return `${short}${long}${spec.cli?.value ? ` ${spec.cli.value}` : ''}`;
}

/** Every flag any action of the table takes, for node's parseArgs; a flag means one thing everywhere. */
export function cliParseOptions(table: ActionTable = ACTIONS): ParseOptions {
  const options: ParseOptions = {};
  for (const spec of Object.values(table)) {
    for (const [flag, parse] of Object.entries(parseOptionsOf(optionsOf(spec)))) {
      const known = options[flag];
      if (known && JSON.stringify(known) !== JSON.stringify(parse)) {
        throw new Error(`The action table gives the CLI flag --${flag} two meanings`);
      }
      options[flag] = parse;
    }
  }
  return options;
}

/** The parseArgs options of these options' flags. */
export function parseOptionsOf(options: Record<string, OptionSpec>): ParseOptions {
  const parse: ParseOptions = {};
  for (const [name, option] of Object.entries(options)) {
    const flag = cliFlagOf(name, option);
    if (!flag) continue;
    parse[flag] = {
      type: option.type === 'boolean' ? 'boolean' : 'string',
      ...(flag.length === 1 ? { short: flag } : (option.cli?.short ?? option.alias) ? { short: option.cli?.short ?? option.alias } : {}),
      ...(option.cli?.repeat ? { multiple: true } : {}),
    };
  }
  return parse;
}

/**
 * The option values these parsed flags give (`--no-autogenerate` → `autogenerate: false`,
 * `-x a=1` → `args: ["-x", "a=1"]`). A value of the wrong type (a lenient parse's `-m` at the
 * end of the line) is left out.
 */
export function optionsFromCli(options: Record<string, OptionSpec>, values: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [name, option] of Object.entries(options)) {
    const flag = cliFlagOf(name, option);
    const value = flag === undefined ? undefined : values[flag];
    if (value === undefined || (option.type === 'boolean') !== (typeof value === 'boolean')) continue;
    result[name] = option.cli?.repeat ? option.cli.repeat(value as string[]) : flag!.startsWith('no-') ? !value : value;
  }
  return result;
}

/** A flag given to `fastkit migrate <action>` that belongs to other actions only, as a usage error. */
export function misplacedCliFlag(action: string, given: string[], table: ActionTable = ACTIONS): UsageError | undefined {
  const flagsOf = (spec: ActionSpec) =>
    Object.entries(optionsOf(spec)).map(([name, option]) => cliFlagOf(name, option)).filter((flag) => flag !== undefined);
  const own = new Set(flagsOf(table[action]));
  const flag = given.find((name) => !own.has(name) && Object.values(table).some((spec) => flagsOf(spec).includes(name)));
  if (!flag) return undefined;
  const owners = Object.keys(table).filter((name) => flagsOf(table[name]).includes(flag));
  return new UsageError(
    `--${flag} does not apply to \`migrate ${action}\``,
    `It is an option of ${owners.map((name) => `migrate ${name}`).join(' and ')}.`,
  );
}

/**
 * Options Nx hands every executor that scripts add to every nx command: accepted, and nothing
 * to do (fastkit never asks a question).
 */
const NX_WIDE_OPTIONS = new Set(['interactive']);

/**
 * An Nx executor's options, checked against the table before anything runs: an option the
 * action does not take (`nx run api:migrate-run --dry-run` hands the executor `dry-run: true`),
 * a left-over bare argument (`_`) or a value of the wrong type is a usage error; a number where
 * text is expected (`-m 123`, which Nx parses as a number) is taken as the text.
 */
export function checkNxOptions(
  action: string,
  given: Record<string, unknown>,
  where: { target: string; help: string },
): Record<string, unknown> {
  const known = optionsOf(ACTIONS[action as keyof typeof ACTIONS] as ActionSpec);
  const { target, help } = where;
  const checked: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(given)) {
    if (value === undefined || NX_WIDE_OPTIONS.has(name)) continue;
    if (name === '_') {
      const [first] = value as unknown[];
      throw new UsageError(`Unexpected argument \`${String(first)}\` for ${target}`, `See \`${help}\` for its options.`);
    }
    const option = known[name];
    if (!option) {
      const flag = name.length === 1 ? `-${name}` : `--${name}`;
      const owners = Object.entries(ACTIONS as ActionTable)
        .filter(([, other]) => other.executor && name in other.options)
        .map(([other]) => `migrate-${other}`);
      throw owners.length
        ? new UsageError(`${flag} does not apply to ${target}`, `It is an option of ${owners.join(' and ')}.`)
        : new UsageError(`Unknown option '${flag}' for ${target}`, `See \`${help}\` for its options.`);
    }
    checked[name] = nxValue(name, option, value);
  }
  return checked;
}

/** The value as the option's type, or a usage error naming what it needs. */
function nxValue(name: string, option: OptionSpec, value: unknown): unknown {
  const text = (item: unknown) => (typeof item === 'number' && Number.isFinite(item) ? String(item) : item);
  const isText = (item: unknown) => typeof item === 'string';
  const wrong = (needs: string) => new UsageError(`Option '--${name}' needs ${needs}`, `Got ${JSON.stringify(value)}.`);
  switch (option.type) {
    case 'string': {
      const result = text(value);
      if (!isText(result)) throw wrong('a text value');
      return result;
    }
    case 'boolean':
      if (typeof value !== 'boolean') throw wrong('true or false');
      return value;
    case 'array': {
      const items = Array.isArray(value) ? value.map(text) : undefined;
      if (!items?.every(isText)) throw wrong('a list of text values');
      return items;
    }
    case 'object': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw wrong('an object of text values');
      const entries = Object.entries(value).map(([key, item]) => [key, text(item)] as const);
      if (!entries.every(([, item]) => isText(item))) throw wrong('an object of text values');
      return Object.fromEntries(entries);
    }
  }
}
