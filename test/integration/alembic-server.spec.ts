/**
 * The helper as a server (python/fastkit_helper/serve.py), driven over its real pipes as
 * src/alembic-server.ts drives it during a batched `nx run-many`: requests wait their turn
 * beyond FASTKIT_FORKS, and what the server imports ahead for the projects' databases changes
 * no answer, not even a failure's.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { HELPER } from '../../src/alembic';
import { exampleProject, fastkit, PYTHON } from '../support/workspace';

interface Frame {
  id: number;
  out?: string;
  err?: string;
  event?: string;
  exit?: number | null;
}

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

function eventsIn(text: string): Event[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Event);
}

function servedEvents(frames: Frame[], id: number): { code: number | null | undefined; events: Event[] } {
  const own = frames.filter((frame) => frame.id === id);
  return { code: own.find((frame) => 'exit' in frame)?.exit, events: eventsIn(own.flatMap((frame) => (frame.event ? [frame.event] : [])).join('\n')) };
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
    projects.forEach((project, index) => expect(servedEvents(frames, index + 1)).toEqual(alone(project)));
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
    expect(servedEvents(frames, 1)).toEqual(lone);
    expect(servedEvents(frames, 2)).toEqual(lone);
    expect(servedEvents(frames, 3)).toEqual(alone(healthy));
  });
});
