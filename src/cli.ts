#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ACTION_NAMES, ACTIONS, COMMON_OPTIONS, coreOf, optionsOf, type ActionName, type ActionTable, type OptionSpec } from './actions';
import { cliFlagOf, cliFlagUsage, cliParseOptions, misplacedCliFlag, optionsFromCli } from './door-options';
import { ExitCode, FAILURE_KINDS, FastkitError, UsageError, reportFailure } from './errors';
import { writeError, writeFailed, writeTo } from './output';
import { packageFile } from './package-root';

/** The CLI's own flags, beside those of the actions. */
const CLI_ONLY = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} satisfies ParseArgsConfig['options'];

const OPTIONS = { ...cliParseOptions(), ...CLI_ONLY };

/** `fastkit --help`, from the action table. */
export function helpText(table: ActionTable = ACTIONS): string {
  const column = (rows: Array<[string, string]>) => {
    const width = Math.max(...rows.map(([left]) => left.length)) + 3;
    return rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`.trimEnd()).join('\n');
  };
  const actions = Object.entries(table);
  const usage = actions.map(([name, spec]): [string, string] => [
    `fastkit migrate ${name}${spec.usage ? ` ${spec.usage}` : ''}`,
    spec.alembic ? `alembic ${spec.alembic}` : spec.summary.replace(/^\w/, (letter) => letter.toLowerCase()),
  ]);
  const flags = new Map<string, [string, string]>();
  const owners = new Map<string, string[]>();
  for (const [action, spec] of actions) {
    for (const [name, option] of Object.entries(spec.options)) {
      const flag = cliFlagOf(name, option);
      if (!flag) continue;
      if (!flags.has(flag)) flags.set(flag, [cliFlagUsage(name, option), option.cli!.help]);
      owners.set(flag, [...(owners.get(flag) ?? []), action]);
    }
  }
  const own = [...flags].map(([flag, [left, help]]): [string, string] => [left, `${help} (${owners.get(flag)!.join(', ')})`]);
  const common = Object.entries(COMMON_OPTIONS as Record<string, OptionSpec>)
    .filter(([name, option]) => cliFlagOf(name, option))
    .map(([name, option]): [string, string] => [cliFlagUsage(name, option), option.cli!.help]);
  const exits = new Map<number, string>([[ExitCode.ok, 'ok'], [ExitCode.failure, 'failure'], [ExitCode.usage, FAILURE_KINDS.usage.means]]);
  for (const [, spec] of actions) for (const kind of spec.exits ?? []) exits.set(FAILURE_KINDS[kind].exitCode, FAILURE_KINDS[kind].means);
  return `fastkit: Alembic migrations in four short commands, and offline ones for CI

Usage:
${column(usage)}

Options:
${column([...own, ...common, ['-h, --help', 'show this help'], ['-v, --version', 'show the version']])}

Exit codes: ${[...exits].map(([code, means]) => `${code} ${means}`).join(', ')}.
`;
}

/** Runs the CLI with these arguments and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    return reportFailure(parseError((error as Error).message));
  }
  const { values, positionals } = parsed;
  if (values.version) {
    writeTo(process.stdout, `${version()}\n`);
    return ExitCode.ok;
  }
  const [group, action, ...rest] = positionals;
  if (values.help || group === 'help') {
    const help = helpText();
    writeTo(process.stdout, group === 'migrate' ? help.replace(/^fastkit: .*\n\n/, '') : help);
    return ExitCode.ok;
  }
  if (group !== 'migrate') {
    return reportFailure(
      new UsageError(group ? `Unknown command \`${group}\`` : 'No command given', 'Try `fastkit migrate status`, or `fastkit --help`.'),
    );
  }
  if (!Object.hasOwn(ACTIONS, action ?? '')) {
    return reportFailure(
      new UsageError(
        action ? `Unknown subcommand \`migrate ${action}\`` : 'No subcommand given',
        `Use one of: ${ACTION_NAMES.map((name) => `migrate ${name}`).join(', ')}.`,
      ),
    );
  }
  if (rest.length > 0) {
    return reportFailure(new UsageError(`Unexpected argument \`${rest[0]}\``, 'Quote a message with spaces: -m "add status".'));
  }
  const misplaced = misplacedCliFlag(action, Object.keys(values));
  if (misplaced) return reportFailure(misplaced);
  try {
    await coreOf(action as ActionName)(optionsFromCli(optionsOf(ACTIONS[action as ActionName]), values));
    return ExitCode.ok;
  } catch (error) {
    return reportFailure(error, (values as Record<string, unknown>).verbose === true);
  }
}


/**
 * node:util's parse error as a usage error: its first sentence (it goes on to advise about
 * `--`, which is not advice for fastkit users), and for a value that starts with a dash
 * (`-m -fix`), the spelling that gives it (`--message=-fix`).
 */
function parseError(text: string): UsageError {
  const problem = text.split('\n', 1)[0].split(/\.(?:\s|$)/, 1)[0];
  const dashed = /use '(--[\w-]+)=-XYZ'/.exec(text);
  return new UsageError(problem, dashed ? `For a value that starts with a dash, write ${dashed[1]}=-XYZ.` : 'See `fastkit --help`.');
}

function version(): string {
  return JSON.parse(readFileSync(packageFile('package.json'), 'utf8')).version;
}

/**
 * A stdout that could not be written (a full disk: `fastkit migrate run > /dev/full`) after the
 * action itself succeeded, as the one line of a failure; a reader that stopped early
 * (`fastkit migrate status | head -1`) is no failure.
 */
function lostOutput(): FastkitError | undefined {
  const error = writeError(process.stdout);
  if (!error || error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return undefined;
  const reason = error.message.replace(/, write$/, '');
  return new FastkitError(`Could not write the output (${reason}); the command itself ran to the end`, {
    hint: 'Send the output where it can be written, and see the database with `fastkit migrate status`.',
  });
}

if (require.main === module) {
  // Output that cannot be written never stops a migration midway: the error is kept (src/output.ts)
  // and said once the action has finished.
  let finished = false;
  let reported = false;
  const reportLostOutput = () => {
    const lost = finished && !reported && process.exitCode === ExitCode.ok ? lostOutput() : undefined;
    if (!lost) return;
    reported = true;
    reportFailure(lost);
    process.exitCode = lost.exitCode;
  };
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    writeFailed(process.stdout, error);
    reportLostOutput();
  });
  process.stderr.on('error', (error: NodeJS.ErrnoException) => writeFailed(process.stderr, error));
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      finished = true;
      reportLostOutput();
    },
    (error) => {
      process.exitCode = reportFailure(error);
    },
  );
}
