import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { writeFileAtomically } from './write-atomically';

/**
 * Where Nx keeps per-workspace data such as plugin caches (`.nx/workspace-data`, or the
 * folder NX_WORKSPACE_DATA_DIRECTORY names), worked out here so the plugin need not load Nx.
 */
export function workspaceDataDirectory(workspaceRoot: string): string {
  const configured = process.env.NX_WORKSPACE_DATA_DIRECTORY ?? process.env.NX_PROJECT_GRAPH_CACHE_DIRECTORY;
  if (configured) return isAbsolute(configured) ? configured : join(workspaceRoot, configured);
  return join(workspaceRoot, '.nx', 'workspace-data');
}

/**
 * Computed values kept in one JSON file between Nx runs, keyed by a hash of their inputs, as
 * Nx's own plugins keep their targets. Saving keeps only the entries used in this run, so the
 * file holds the current workspace and does not grow with every edit.
 */
export class TargetsCache<T> {
  private readonly stored: Record<string, T>;
  private readonly used = new Map<string, T>();
  private changed = false;

  constructor(readonly file: string) {
    this.stored = process.env.NX_CACHE_PROJECT_GRAPH === 'false' ? {} : readEntries<T>(file);
  }

  /** The value for `hash`, computing (and remembering) it when it is not cached yet. */
  get(hash: string, compute: () => T): T {
    let value = this.used.get(hash) ?? this.stored[hash];
    if (value === undefined) {
      value = compute();
      this.changed = true;
    }
    this.used.set(hash, value);
    return value;
  }

  /** The value kept for `hash`, or undefined; computing one is the caller's part (then {@link set}). */
  peek(hash: string): T | undefined {
    const value = this.used.get(hash) ?? this.stored[hash];
    if (value !== undefined) this.used.set(hash, value);
    return value;
  }

  /** Keeps `value` for `hash`, in place of what was there. */
  set(hash: string, value: T): void {
    this.used.set(hash, value);
    this.changed = true;
  }

  /** Writes the file when something changed; a cache that cannot be written is only a slower next run. */
  save(): void {
    if (!this.changed && this.used.size === Object.keys(this.stored).length) return;
    try {
      writeFileAtomically(this.file, JSON.stringify(Object.fromEntries(this.used)));
    } catch {
      // read-only workspace or full disk: the targets are still right, only not cached
    }
  }
}

function readEntries<T>(file: string): Record<string, T> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, T>) : {};
  } catch {
    return {};
  }
}
