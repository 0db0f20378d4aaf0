import { HELPER } from './alembic';
import { ExitCode } from './errors';
import { maskSecrets, secretsIn } from './mask';
import { hugePageAllocation } from './python-allocator';
import { signalExitCode, startServerProcess, type ProcessOptions, type ProcessResult, type ServerProcess } from './process';

/** What one request needs beyond the request itself: where it runs, its environment, where its output goes. */
export type ServedRequestOptions = ProcessOptions;

/**
 * Python processes that import Alembic and SQLAlchemy once and serve many requests: one per
 * interpreter (`python fastkit_alembic.py serve`, python/fastkit_helper/serve.py), for as long
 * as a batched Nx run (`nx run-many`) lasts. Each request runs in a fork of its server made
 * after the imports, so it starts as clean as a process of its own: the project's modules,
 * env.py's logging, its database connections die with the fork. The wire is one line of JSON
 * each way; the events and output of a request come back tagged with its id:
 *
 *     → {"id": 7, "request": {action, config, ...}, "cwd": "/abs/project", "env": {...}}
 *     ← {"id": 7, "out": "a line on stdout"}   {"id": 7, "err": "a line on stderr"}
 *     ← {"id": 7, "event": "<a line of src/helper-protocol.ts's events>"}
 *     ← {"id": 7, "exit": 0, "signal": null}   the request is over
 *
 * Where there is no fork (Windows) there are no servers: {@link AlembicServers.available} is
 * false and every request is a process of its own, as without a batch.
 */
export class AlembicServers {
  static readonly available = process.platform !== 'win32';

  private readonly servers = new Map<string, AlembicServer>();

  /** `forks`: how many requests each server runs at once (the others wait in order). */
  constructor(private readonly forks = 1) {}

  /** Runs one request (as the one-shot helper takes it in FASTKIT_REQUEST) on its interpreter's server. */
  run(python: readonly string[], request: object, options: ServedRequestOptions): Promise<ProcessResult> {
    const key = serverKey(python, options);
    let server = this.servers.get(key);
    if (!server || server.ended) {
      server = new AlembicServer([...python, HELPER, 'serve'], options, this.forks);
      this.servers.set(key, server);
    }
    return server.run(request, options);
  }

  /** Lets every server end (no more requests) and waits until they have. */
  async close(): Promise<void> {
    await Promise.all([...this.servers.values()].map((server) => server.close()));
    this.servers.clear();
  }

  /** How many servers were started (one per interpreter, unless one ended early). */
  get size(): number {
    return this.servers.size;
  }
}

/**
 * One server per interpreter, and per what Python reads only when it starts: the variables
 * that shape sys.path and the interpreter (PYTHONPATH, PYTHONHOME...; HOME for the user site,
 * VIRTUAL_ENV, the locale), and, for a runner such as `uv run python`, the folder it starts in
 * (uv finds the project's environment from it). A fork is then what a process of its own would
 * be, so the record of what env.py read (src/env-py-record.ts) holds for both.
 */
function serverKey(python: readonly string[], { cwd, env }: ServedRequestOptions): string {
  const startup = Object.entries(env)
    .filter(([name, value]) => value !== undefined && /^(PYTHON|LC_)|^(VIRTUAL_ENV|HOME|LANG)$/.test(name) && name !== 'PYTHONUNBUFFERED')
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([python, startup, python.length > 1 ? cwd : '']);
}

interface Waiting extends ServedRequestOptions {
  resolve(result: ProcessResult): void;
  reject(error: unknown): void;
}

/** A frame from the server: the output, events and end of one request. */
export interface Frame {
  id: number;
  out?: string;
  err?: string;
  event?: string;
  exit?: number | null;
  signal?: string | null;
}

class AlembicServer {
  ended = false;
  private readonly process: Promise<ServerProcess>;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;

  /** Started with the environment of its first request (what Python reads at start is the same for all, by its key). */
  constructor(argv: string[], first: ServedRequestOptions, forks: number) {
    const secrets = secretsIn(first.env);
    const own = (line: string) => process.stderr.write(maskSecrets(line, secrets) + '\n');
    this.process = startServerProcess(argv, {
      cwd: first.cwd,
      env: { ...first.env, ...hugePageAllocation(first.env), PYTHONUNBUFFERED: '1', FASTKIT_FRAMES_FD: '3', FASTKIT_FORKS: String(forks) },
      // the server's own output (a warning while it imports Alembic) belongs to no request
      onStdout: own,
      onStderr: own,
      onEvent: (line) => this.frame(line),
    });
    const ended = this.process.then((server) => server.exited);
    ended.then(
      (result) => this.serverEnded(result),
      (error) => this.serverFailed(error),
    );
  }

  async run(request: object, options: ServedRequestOptions): Promise<ProcessResult> {
    const id = this.nextId++;
    const result = new Promise<ProcessResult>((resolve, reject) => this.waiting.set(id, { ...options, resolve, reject }));
    try {
      const server = await this.process;
      server.send(JSON.stringify({ id, request, cwd: options.cwd, env: options.env }));
    } catch {
      // it could not start: serverFailed() answers every request with the reason
    }
    return result;
  }

  async close(): Promise<void> {
    try {
      const server = await this.process;
      server.end();
      await server.exited;
    } catch {
      // it could not start; its requests were answered
    }
  }

  private frame(line: string): void {
    let frame: Frame;
    try {
      frame = JSON.parse(line);
    } catch {
      process.stderr.write(line + '\n');
      return;
    }
    const request = this.waiting.get(frame.id);
    if (!request) return;
    if (frame.out !== undefined) request.onStdout(frame.out);
    else if (frame.err !== undefined) request.onStderr(frame.err);
    else if (frame.event !== undefined) request.onEvent(frame.event);
    else if ('exit' in frame) {
      this.waiting.delete(frame.id);
      this.process.then((server) =>
        request.resolve({
          exitCode: frame.exit ?? signalExitCode(frame.signal ?? undefined),
          signal: frame.signal ?? undefined,
          forwarded: server.forwarded(),
        }),
      );
    }
  }

  /** The server ended: whatever it had not finished ends as a process killed the same way would. */
  private serverEnded(result: ProcessResult): void {
    this.ended = true;
    for (const request of this.waiting.values()) {
      request.resolve({ exitCode: result.exitCode === 0 ? ExitCode.failure : result.exitCode, signal: result.signal, forwarded: result.forwarded });
    }
    this.waiting.clear();
  }

  /** The server could not start (its Python is not there): every request fails with the reason, as a process of its own would. */
  private serverFailed(error: unknown): void {
    this.ended = true;
    for (const request of this.waiting.values()) request.reject(error);
    this.waiting.clear();
  }
}
