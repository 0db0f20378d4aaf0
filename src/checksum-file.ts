/**
 * `fastkit migrate hash`: the checksum file of each versions folder (`fastkit.sum`) written from
 * its revision files as they are now. The file's format and every rule about it live in the
 * Python helper (python/fastkit_helper/checksum_file.py), which make, check, rebase and run use
 * too; this is the door's half: what it did, said in a few lines.
 */
import { callAlembic } from './alembic';
import type { ResultEvent } from './helper-protocol';
import type { MigrateOptions } from './options';
import { counted, displayPath } from './output';
import { withProject } from './project';

/** A checksum file as `hash` left it. */
export type HashedFile = ResultEvent<'hash'>['files'][number];

/**
 * Records every revision file as it is now: for a history that predates fastkit, to accept an
 * edit made on purpose (a revision no database has run), or to settle a checksum file a git
 * merge left with conflict markers. Says which entries it added, renewed or dropped.
 */
export function hash(options: MigrateOptions): Promise<HashedFile[]> {
  return withProject(options, async (project) => {
    const { files } = await callAlembic<ResultEvent<'hash'>>(project, 'hash');
    const { out } = project.output;
    if (files.length === 0) out('No revisions yet: nothing to record');
    for (const file of files) {
      const shown = displayPath(file.path);
      if (!file.written) {
        out(`${shown} is up to date: ${counted(file.revisions, 'revision')}`);
        continue;
      }
      out(`Wrote ${shown}: ${counted(file.revisions, 'revision')}${file.conflicted ? " (it had git's conflict markers)" : ''}`);
      for (const name of file.added) out(`  recorded ${name}`);
      for (const name of file.changed) out(`  recorded again ${name}: it changed since it was recorded`);
      for (const name of file.removed) out(`  dropped ${name}: its file is gone`);
    }
    return files;
  });
}
