/**
 * The helper as a server (python/fastkit_helper/serve.py), driven over its real pipes as
 * src/alembic-server.ts drives it during a batched `nx run-many`: requests wait their turn
 * beyond FASTKIT_FORKS, and what the server imports ahead for the projects' databases changes
 * no answer, not even a failure's.
 */
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HELPER } from '../../src/alembic';
import type { Frame } from '../../src/alembic-server';
import { exampleProject, fastkit, PYTHON, VENV } from '../support/workspace';


type Event = Record<string, unknown> & { type: string };

/** Sends every request at once to one server, closes its stdin, and returns its frames in the order it wrote them. */
function serve(requests: Array<{ project: string; env?: Record<string, string> }>, forks: number): Frame[] {
  const base = { ...process.env, DATABASE_URL: undefined };
  const input = requests
    .map(({ project, env }, index) =>
      JSON.stringify({
        id: index + 1,
        request: { action: 'status', config: join(project, 'alembic.ini'), name: null, args: [] },
        cwd: project,
        env: { ...base, ...env },
      }),
    )
    .join('\n');
  const ran = spawnSync(PYTHON, [HELPER, 'serve'], {
    cwd: requests[0].project,
    input: input + '\n',
    encoding: 'utf8',
    env: { ...base, FASTKIT_FRAMES_FD: '3', FASTKIT_FORKS: String(forks) },
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  expect({ code: ran.status, stderr: ran.stderr }).toEqual({ code: 0, stderr: '' });
  return String(ran.output[3])
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Frame);
}

/** The helper alone, as fastkit runs it without a batch. */
function alone(project: string, env: Record<string, string> = {}) {
  const ran = spawnSync(PYTHON, [HELPER], {
    cwd: project,
    encoding: 'utf8',
    env: {
      ...process.env,
      DATABASE_URL: undefined,
      ...env,
      FASTKIT_REQUEST: JSON.stringify({ action: 'status', config: join(project, 'alembic.ini'), name: null, args: [] }),
      FASTKIT_EVENTS_FD: '3',
    },
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  return { code: ran.status, events: eventsIn(String(ran.output[3])) };
}

/**
 * The events a helper wrote, with the record of what env.py read made comparable: each process
 * salts that record's hashes with its own salt, so the salt and the hashes are set aside.
 */
function eventsIn(text: string): Event[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line, (key, value) => (key === 'salt' || key === 'sha256' ? `<${key}>` : value)) as Event);
}

function servedEvents(frames: Frame[], id: number): { code: number | null | undefined; events: Event[] } {
  const own = frames.filter((frame) => frame.id === id);
  return { code: own.find((frame) => 'exit' in frame)?.exit, events: eventsIn(own.flatMap((frame) => (frame.event ? [frame.event] : [])).join('\n')) };
}

type Served = { code: number | null | undefined; events: Event[] };

/**
 * The served answer must be the lone one. Its record of what env.py read may hold more: the
 * server imports SQLAlchemy's modules ahead for every fork, and each fork's record holds what
 * that read too (a superset only ever makes the fast path step aside more often) — so those
 * extra entries must be Python's or the venv's own files, never the project's, and the rest equal.
 */
function expectAsAlone(served: Served, lone: Served): void {
  const python = [dirname(dirname(realpathSync(PYTHON))), VENV];
  const ownRecord = (events: Event[]) => events.find((event) => event.record)?.record as Record<string, Record<string, unknown>> | undefined;
  const mine = ownRecord(served.events);
  const theirs = ownRecord(lone.events);
  if (mine && theirs) {
    for (const part of ['files', 'listings'] as const) {
      for (const path of Object.keys(mine[part] ?? {})) {
        if (path in (theirs[part] ?? {})) continue;
        expect({ part, path, python: python.some((prefix) => path.startsWith(prefix)) }).toEqual({ part, path, python: true });
        delete mine[part][path];
      }
    }
  }
  expect(served).toEqual(lone);
}

describe('the helper as a server', () => {
  test('with FASTKIT_FORKS=1 the requests run one after the other, in the order sent, each answered as alone', () => {
    const projects = [exampleProject(), exampleProject(), exampleProject()];
    expect(fastkit(['migrate', 'run'], { cwd: projects[1] }).code).toBe(0);
    const frames = serve(
      projects.map((project) => ({ project })),
      1,
    );
    // one at a time: each request's frames end (exit) before the next request's first frame
    const order = frames.map((frame) => frame.id);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(frames.filter((frame) => 'exit' in frame).map((frame) => frame.id)).toEqual([1, 2, 3]);
    projects.forEach((project, index) => expectAsAlone(servedEvents(frames, index + 1), alone(project)));
    expect(servedEvents(frames, 2).events.find((event) => event.type === 'result')?.upToDate).toBe(true);
  });

  test('a database URL whose driver is not installed (pg8000) fails that request as it fails alone; the next request on the same URL too, and a SQLite one succeeds', () => {
    const [broken, healthy] = [exampleProject(), exampleProject()];
    const missing = { DATABASE_URL: 'postgresql+pg8000://app@127.0.0.1:1/app' };
    const frames = serve(
      [
        { project: broken, env: missing },
        { project: broken, env: missing },
        { project: healthy },
      ],
      2,
    );
    const lone = alone(broken, missing);
    expect(lone.code).toBe(1);
    expect(lone.events.find((event) => event.type === 'error')?.message).toMatch(/pg8000/);
    expectAsAlone(servedEvents(frames, 1), lone);
    expectAsAlone(servedEvents(frames, 2), lone);
    expectAsAlone(servedEvents(frames, 3), alone(healthy));
  });
});
