/**
 * The fake Python helper that unit tests put behind fastkit's one process boundary
 * (src/process.ts), and the capture of what a door prints. A test file still says
 * `jest.mock('../../src/process')` itself (jest hoists that call only in the test file).
 */
import { protocolProblems, type HelperAction } from '../../src/helper-protocol';
import { runProcess, type ProcessOptions, type ProcessResult } from '../../src/process';

type Event = Record<string, unknown>;

/** What the fake helper does when run: lines on stdout and stderr, JSON events on fd 3, an exit. */
export interface FakeHelper {
  stdout?: string[];
  stderr?: string[];
  /** Events as the real helper emits them; a string is sent as it is (a line that is not JSON). */
  events?: Array<Event | string>;
  /** @default exit code 1 when an event is an error, else 0 */
  exit?: Partial<ProcessResult>;
  /** What it does first with the request it got, e.g. write the SQL file it was asked for. */
  act?(request: Record<string, unknown>): void;
}

/**
 * The next run of the helper behaves as `fake` says (a list: just these events). Each event must
 * follow the helper's protocol (src/helper-protocol.ts) for the action asked, the same shapes
 * test/integration/helper-protocol.spec.ts holds the real helper to: a fake cannot drift from it.
 */
export function helperWill(fake: FakeHelper | Array<Event | string>): void {
  const { stdout = [], stderr = [], events = [], exit, act } = Array.isArray(fake) ? { events: fake } : fake;
  jest.mocked(runProcess).mockImplementationOnce(async (_argv: readonly string[], options: ProcessOptions) => {
    const request = JSON.parse(options.env.FASTKIT_REQUEST as string);
    for (const event of events) {
      const problems = typeof event === 'string' ? [] : protocolProblems(request.action as HelperAction, event);
      if (problems.length) throw new Error(`The fake helper's ${JSON.stringify(event)} breaks the protocol: ${problems.join('; ')}`);
    }
    act?.(request);
    for (const line of stdout) options.onStdout(line);
    for (const line of stderr) options.onStderr(line);
    for (const event of events) options.onEvent(typeof event === 'string' ? event : JSON.stringify(event));
    const failed = events.some((event) => typeof event !== 'string' && event.type === 'error');
    return { exitCode: failed ? 1 : 0, ...exit };
  });
}

/** The request the helper got on its `call`-th run. */
export function helperRequest(call = 0): Record<string, unknown> {
  return JSON.parse(jest.mocked(runProcess).mock.calls[call][1].env.FASTKIT_REQUEST as string);
}

/** The environment the helper got on its `call`-th run. */
export function helperEnv(call = 0): Record<string, string | undefined> {
  return jest.mocked(runProcess).mock.calls[call][1].env;
}

/**
 * What the doors print on process.stdout and process.stderr, fresh for each test; the fake
 * helper's script, the working folder and process.argv are put back after each.
 */
export function capturePrinted(): { stdout: string; stderr: string } {
  const printed = { stdout: '', stderr: '' };
  const cwd = process.cwd();
  const argv = process.argv;
  beforeEach(() => {
    printed.stdout = '';
    printed.stderr = '';
    jest.mocked(runProcess).mockReset();
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((printed.stdout += String(chunk)), true));
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((printed.stderr += String(chunk)), true));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    process.chdir(cwd);
    process.argv = argv;
  });
  return printed;
}
