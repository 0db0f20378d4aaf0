/**
 * The revision ids a revision file declares, read from its text where starting Python is not an
 * option (a sync generator runs while Nx computes its graph): the top-level `revision = '…'`
 * and `down_revision = …` assignments, as Alembic's template writes them. A value fastkit cannot
 * read as a literal makes the answer uncertain (undefined), never a guess.
 */
import { readPythonSource, topLevel } from './python-source';

/** A revision as its file declares it. */
export interface DeclaredRevision {
  revision: string;
  /** The revisions it revises: none for the first, two or more for a merge revision. */
  down: string[];
}

const ASSIGNMENT = /^(revision|down_revision)\s*(?::[^=]+)?=\s*(.+)$/;
const STRING = /^[rRuU]?(['"])([^'"\\]*)\1$/;
/** Alembic's fallback for a file that sets no `revision` (script/base.py): a hex file name. */
const LEGACY_NAME = /^([a-f0-9]+)\.py$/;

/** What `source` (the file `fileName`) declares; undefined when it cannot be read without running it. */
export function declaredRevision(source: string, fileName: string): DeclaredRevision | undefined {
  const values = new Map<string, string[] | undefined>();
  for (const statement of topLevel(readPythonSource(source))) {
    const match = ASSIGNMENT.exec(statement.code);
    if (match) values.set(match[1], literalIds(match[2].trim()));
  }
  const revision = values.has('revision') ? values.get('revision') : LEGACY_NAME.exec(fileName)?.slice(1, 2);
  const down = values.get('down_revision');
  if (!revision || revision.length !== 1 || !down) return undefined;
  return { revision: revision[0], down };
}

/** `None`, `'id'`, `('a', 'b')` or `['a', 'b']` as a list of ids; undefined for anything else. */
function literalIds(value: string): string[] | undefined {
  if (value === 'None') return [];
  const single = STRING.exec(value);
  if (single) return [single[2]];
  const sequence = /^[([](.*)[)\]]$/.exec(value);
  if (!sequence) return undefined;
  const items = sequence[1].split(',').map((item) => item.trim()).filter((item) => item !== '');
  const ids = items.map((item) => STRING.exec(item)?.[2]);
  return ids.every((id): id is string => id !== undefined) ? ids : undefined;
}

/**
 * The heads of a history: the revisions no other revises. Undefined when the history does not
 * hold together (a down_revision naming no revision, an id declared twice): Alembic refuses
 * it then, and says why.
 */
export function historyHeads(revisions: DeclaredRevision[]): string[] | undefined {
  const ids = new Set(revisions.map(({ revision }) => revision));
  if (ids.size !== revisions.length) return undefined;
  const revised = new Set(revisions.flatMap(({ down }) => down));
  if ([...revised].some((id) => !ids.has(id))) return undefined;
  return revisions.map(({ revision }) => revision).filter((id) => !revised.has(id));
}
