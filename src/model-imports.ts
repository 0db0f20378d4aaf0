/**
 * The model imports of an env.py. Autogenerate only sees the tables whose models were
 * imported, so env.py imports every model in one marked block that fastkit's generators own:
 *
 *     # fastkit:models begin
 *     from modules.invoices.models import Invoice  # noqa: F401
 *     # fastkit:models end
 *
 * The block is found and edited through the statements and comments of the file, never by a
 * text search, so nothing lands inside a comment or a string, and the file still compiles.
 */
import { UsageError } from './errors';
import { readPythonSource, topLevel, type PythonSource } from './python-source';

export const BLOCK_BEGIN = '# fastkit:models begin';
export const BLOCK_END = '# fastkit:models end';
const BLOCK_COMMENT = [
  '# Importing a model registers its table on the metadata that autogenerate compares.',
  '# fastkit keeps this block sorted; add models to it with `nx g fastkit:module`.',
];

/** One import of the block. */
export interface ModelImport {
  /** The dotted module, e.g. `modules.invoices.models`. */
  module: string;
  /** The classes it imports; none means `import <module>`, which registers its tables too. */
  names: string[];
}

/** `from modules.invoices.models import Invoice  # noqa: F401` (the noqa: it is imported for its side effect). */
export function modelImportLine(entry: ModelImport): string {
  return entry.names.length
    ? `from ${entry.module} import ${[...entry.names].sort().join(', ')}  # noqa: F401`
    : `import ${entry.module}  # noqa: F401`;
}

/** The whole marked block as a new env.py gets it: a comment, the markers, the imports sorted by module. */
export function modelBlock(entries: ModelImport[]): string[] {
  const sorted = [...entries].sort((a, b) => compare(a.module, b.module));
  return [...BLOCK_COMMENT, BLOCK_BEGIN, ...sorted.map(modelImportLine), BLOCK_END];
}

export interface Registration {
  /** The env.py text afterwards; the same text when nothing changed. */
  source: string;
  changed: boolean;
  /** The env.py had no marked block and got one after its last top-level import. */
  blockAdded: boolean;
}

/**
 * Adds `entry` to the marked block of an env.py, keeping the block sorted by module. Where
 * there is no block yet, it is added after the last top-level import (the stock env.py's first
 * mention of `target_metadata` is a comment, so "before target_metadata" is not a place).
 * Registering an import that is already there changes nothing.
 */
export function registerModelImport(source: string, entry: ModelImport, file = 'env.py'): Registration {
  const parsed = readPythonSource(source);
  const block = findBlock(parsed, file);
  if (!block) {
    const at = blockPosition(parsed);
    const lines = [...parsed.lines];
    const added = [...(at > 0 ? [''] : []), ...modelBlock([entry])];
    if (lines[at] !== undefined && lines[at].trim() !== '') added.push('');
    lines.splice(at, 0, ...added);
    return { source: lines.join(parsed.eol), changed: true, blockAdded: true };
  }

  const existing = block.entries.find((candidate) => candidate.module === entry.module);
  if (existing) {
    const have = new Set(existing.names.map(boundName));
    const missing = entry.names.filter((name) => !have.has(name));
    if (missing.length === 0) return { source, changed: false, blockAdded: false };
    existing.names = [...existing.names, ...missing];
    existing.lines = [modelImportLine(existing)];
  } else {
    block.entries.push({ ...entry, lines: [modelImportLine(entry)] });
  }
  block.entries.sort((a, b) => compare(a.module, b.module));
  const inside = [...block.entries.flatMap((candidate) => candidate.lines), ...block.other];
  const lines = [...parsed.lines.slice(0, block.begin + 1), ...inside, ...parsed.lines.slice(block.end)];
  const result = lines.join(parsed.eol);
  return { source: result, changed: result !== source, blockAdded: false };
}

/** What {@link syncModelImports} did. */
export interface ModelSync {
  /** The env.py text afterwards; the same text when nothing changed. */
  source: string;
  changed: boolean;
  /** Modules whose import was added to the block, and those whose import was dropped. */
  added: string[];
  removed: string[];
}

/** The block entries that stand for a `modules/<name>/models.py` and so follow the files. */
const MODULE_MODELS = /^modules\.[A-Za-z_]\w*\.models$/;

/**
 * Makes the marked block import exactly the `modules/<name>/models.py` files that exist
 * (`present`): a missing one is added (unless env.py imports it elsewhere), an entry whose file
 * is gone is dropped, as is each entry `gone` says is (a library's model module whose file is
 * gone). Other entries, and the names an entry already imports, stay as they are.
 * An env.py without a block is left alone: its imports are the user's. Running it again
 * changes nothing.
 */
export function syncModelImports(source: string, present: ModelImport[], file = 'env.py', gone: (module: string) => boolean = () => false): ModelSync {
  const unchanged = { source, changed: false, added: [], removed: [] };
  const parsed = readPythonSource(source);
  const block = findBlock(parsed, file);
  if (!block) return unchanged;
  const wanted = new Set(present.map((entry) => entry.module));
  const removed = block.entries.filter(
    (entry) => (MODULE_MODELS.test(entry.module) && !wanted.has(entry.module)) || gone(entry.module),
  );
  const imported = new Set([...block.entries.map((entry) => entry.module), ...importedOutside(parsed, block)]);
  const added = present.filter((entry) => !imported.has(entry.module));
  if (removed.length === 0 && added.length === 0) return unchanged;

  const entries = [
    ...block.entries.filter((entry) => !removed.includes(entry)),
    ...added.map((entry) => ({ ...entry, lines: [modelImportLine(entry)] })),
  ].sort((a, b) => compare(a.module, b.module));
  const inside = [...entries.flatMap((entry) => entry.lines), ...block.other];
  const lines = [...parsed.lines.slice(0, block.begin + 1), ...inside, ...parsed.lines.slice(block.end)];
  return {
    source: lines.join(parsed.eol),
    changed: true,
    added: added.map((entry) => entry.module),
    removed: removed.map((entry) => entry.module),
  };
}

/** Modules env.py imports at top level outside the block. */
function importedOutside(parsed: PythonSource, block: Block): string[] {
  return topLevel(parsed)
    .filter((statement) => statement.lastLine < block.begin || statement.firstLine > block.end)
    .map((statement) => parseImport(statement.code)?.module)
    .filter((module): module is string => module !== undefined);
}

/** The imports in an env.py's marked block (none when it has no block). */
export function registeredModels(source: string, file = 'env.py'): ModelImport[] {
  return findBlock(readPythonSource(source), file)?.entries.map(({ module, names }) => ({ module, names: names.map(boundName) })) ?? [];
}

/** True when the env.py sets `target_metadata = None` at top level, as the stock one does. */
export function targetMetadataIsNone(source: string): boolean {
  return topLevel(readPythonSource(source)).some((statement) =>
    /^target_metadata\s*(?::[^=]*)?=\s*None$/.test(statement.code),
  );
}

interface BlockEntry extends ModelImport {
  /** Its text as it stands (a hand-made entry may span several lines). */
  lines: string[];
}

interface Block {
  /** Line index of the begin marker and of the end marker. */
  begin: number;
  end: number;
  entries: BlockEntry[];
  /** Anything else a person put inside the block (comments, other code), kept after the imports. */
  other: string[];
}

function findBlock(parsed: PythonSource, file: string): Block | undefined {
  const markers = (text: string) =>
    parsed.comments.filter((comment) => comment.column === 0 && comment.text.trim() === text).map((comment) => comment.line);
  const begins = markers(BLOCK_BEGIN);
  const ends = markers(BLOCK_END);
  if (begins.length === 0 && ends.length === 0) return undefined;
  const [begin] = begins;
  const [end] = ends;
  if (begins.length !== 1 || ends.length !== 1 || end < begin) {
    throw new UsageError(
      `${file} has a broken model block (${begins.length} "${BLOCK_BEGIN}" and ${ends.length} "${BLOCK_END}" lines)`,
      `Keep exactly one "${BLOCK_BEGIN}" line followed by one "${BLOCK_END}" line, or remove both`,
    );
  }

  const entries: BlockEntry[] = [];
  const other: string[] = [];
  const covered = new Set<number>();
  for (const statement of parsed.statements) {
    if (statement.lastLine <= begin || statement.firstLine >= end) continue;
    if (statement.firstLine < begin || statement.lastLine > end) {
      throw new UsageError(
        `${file}: a statement crosses a marker of the model block (line ${statement.firstLine + 1})`,
        `Move "${BLOCK_BEGIN}" and "${BLOCK_END}" so the block holds whole import lines`,
      );
    }
    const lines = parsed.lines.slice(statement.firstLine, statement.lastLine + 1);
    for (let line = statement.firstLine; line <= statement.lastLine; line += 1) covered.add(line);
    const parsedImport = parseImport(statement.code);
    if (parsedImport) entries.push({ ...parsedImport, lines });
    else other.push(...lines);
  }
  for (let line = begin + 1; line < end; line += 1) {
    if (!covered.has(line) && parsed.lines[line].trim() !== '') other.push(parsed.lines[line]);
  }
  return { begin, end, entries, other };
}

function parseImport(code: string): ModelImport | undefined {
  const from = /^from\s+([\w.]+)\s+import\s+\(?([^)]*)\)?\s*;?$/.exec(code);
  if (from) {
    const names = from[2].split(',').map((name) => name.trim().replace(/\s+/g, ' ')).filter(Boolean);
    return { module: from[1], names };
  }
  const plain = /^import\s+([\w.]+)\s*;?$/.exec(code);
  return plain ? { module: plain[1], names: [] } : undefined;
}

/** `Invoice as Bill` binds `Bill`; a plain name binds itself. */
function boundName(name: string): string {
  return name.split(/\s+as\s+/).pop() as string;
}

/**
 * Where a new block goes: after the last top-level import; where there is none, after the
 * module docstring; else at the top.
 */
function blockPosition(parsed: PythonSource): number {
  const statements = topLevel(parsed);
  const imports = statements.filter((statement) => /^(import|from)\s/.test(statement.code));
  if (imports.length) return imports[imports.length - 1].lastLine + 1;
  const first = statements[0];
  if (first && /^[rRuUbBfF]{0,2}['"]/.test(first.code)) return first.lastLine + 1;
  return 0;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
