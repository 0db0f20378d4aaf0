/** Hand-written Alembic revisions for tests, and reading the ids of those Alembic wrote. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const REVISION_ID = /^revision(?:: str)? = ['"](\w+)['"]/m;

/** The id a revision file Alembic wrote declares (`revision: str = 'a1b2c3d4e5f6'`). */
export function revisionIdOf(source: string): string {
  const id = REVISION_ID.exec(source)?.[1];
  if (!id) throw new Error(`No revision id in:\n${source.slice(0, 400)}`);
  return id;
}

/** The ids the .py files of a versions folder declare (files that declare none, such as a broken one, left out). */
export function revisionIdsIn(folder: string): string[] {
  return readdirSync(folder)
    .filter((file) => file.endsWith('.py'))
    .map((file) => REVISION_ID.exec(readFileSync(join(folder, file), 'utf8'))?.[1])
    .filter((id): id is string => id !== undefined);
}

/** The id the revision file at `path` declares. */
export function revisionIdIn(path: string): string {
  return revisionIdOf(readFileSync(path, 'utf8'));
}
/**
 * The source of a revision file with a fixed id, as a test writes it into alembic/versions:
 * the lines a test expects (`Running upgrade base -> a1a1a1a1a1a1, create notes`) are then the
 * same on every run. `upgrade` and `downgrade` are the bodies of the two functions.
 */
export function revision(id: string, down: string | string[] | null, message: string, upgrade = 'pass', downgrade = 'pass'): string {
  return [
    `"""${message}`,
    '',
    `Revision ID: ${id}`,
    `Revises: ${Array.isArray(down) ? down.join(', ') : (down ?? '')}`,
    'Create Date: 2026-01-01 00:00:00',
    '',
    '"""',
    'from alembic import op',
    'import sqlalchemy as sa',
    '',
    `revision = ${JSON.stringify(id)}`,
    `down_revision = ${down === null ? 'None' : JSON.stringify(down)}`,
    'branch_labels = None',
    'depends_on = None',
    '',
    '',
    'def upgrade():',
    `    ${upgrade}`,
    '',
    '',
    'def downgrade():',
    `    ${downgrade}`,
    '',
  ].join('\n');
}

/**
 * A migration that takes a while and fails if it ever runs twice (its table exists), for lock
 * tests. With ALL_RUNS=N it first waits (30 s at most) until N fastkit helpers run in its
 * folder. Then it sleeps SLOW_SECONDS (default 2), or, with RELEASE_FILE, holds on until that
 * file exists: the test creates it once another run has said it waits for the lock
 * (`runsAtOnce` in test/support/processes.ts), so that every run meets the lock however
 * loaded the machine is. With ENTERED_DIR (a folder), for runs without a lock, each run marks
 * it and waits until all ALL_RUNS are inside the migration: they all collide.
 */
export const SLOW_REVISION = `"""slow migration

Revision ID: slow0001
Revises:
Create Date: 2026-01-01 00:00:00

"""
import os
import time

import sqlalchemy as sa
from alembic import op

revision = "slow0001"
down_revision = None
branch_labels = None
depends_on = None


def _helpers_here():
    here, count = os.getcwd(), 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                if b"fastkit_alembic.py" in handle.read() and os.readlink("/proc/%s/cwd" % pid) == here:
                    count += 1
        except OSError:
            pass
    return count


def upgrade():
    entered = os.environ.get("ENTERED_DIR")
    if entered:
        # with no lock every run gets here: each waits until all have, so they all collide
        open(os.path.join(entered, str(os.getpid())), "w").close()
        limit = time.time() + 60
        while len(os.listdir(entered)) < int(os.environ.get("ALL_RUNS", "1")) and time.time() < limit:
            time.sleep(0.05)
    limit = time.time() + 30
    while _helpers_here() < int(os.environ.get("ALL_RUNS", "1")) and time.time() < limit:
        time.sleep(0.1)
    release = os.environ.get("RELEASE_FILE")
    if release:
        # holds the lock until the test, having seen another run wait for it, creates this file
        limit = time.time() + 120
        while not os.path.exists(release) and time.time() < limit:
            time.sleep(0.05)
    else:
        time.sleep(float(os.environ.get("SLOW_SECONDS", "2")))
    op.create_table("ran_once", sa.Column("id", sa.Integer, primary_key=True))
    op.execute("INSERT INTO ran_once (id) VALUES (1)")


def downgrade():
    op.drop_table("ran_once")
`;
