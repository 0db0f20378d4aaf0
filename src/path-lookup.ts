import { lstatSync, readdirSync, type Dirent } from 'node:fs';
import { basename, dirname } from 'node:path';

/** What a path is, as lstat sees it (a link is not followed). */
export type PathKind = 'dir' | 'link' | 'other' | 'missing';

/**
 * The file system as one graph computation looks at it: each folder listed at most once, each
 * path looked up at most once, and what a listing already says (a name absent, a link, a
 * folder) never asked again. The plugin runs over a thousand projects that sit in the same few
 * folders, where every system call counts (docs/performance.md).
 */
export class PathLookup {
  private readonly listings = new Map<string, Map<string, PathKind> | null>();
  private readonly kinds = new Map<string, PathKind>();
  private readonly real = new Set<string>();

  /** The names in a folder with what each is; null when it cannot be listed. */
  listing(folder: string): Map<string, PathKind> | null {
    let listed = this.listings.get(folder);
    if (listed === undefined) {
      try {
        listed = new Map(readdirSync(folder, { withFileTypes: true }).map((entry) => [entry.name, kindOfEntry(entry)]));
      } catch {
        listed = null;
      }
      this.listings.set(folder, listed);
    }
    return listed;
  }

  /** What a path is: from its folder's listing when that was read, else from lstat. */
  kind(path: string): PathKind {
    const listed = this.listings.get(dirname(path));
    if (listed) return listed.get(basename(path)) ?? 'missing';
    let kind = this.kinds.get(path);
    if (kind === undefined) {
      const stats = lstatSync(path, { throwIfNoEntry: false });
      kind = !stats ? 'missing' : stats.isSymbolicLink() ? 'link' : stats.isDirectory() ? 'dir' : 'other';
      this.kinds.set(path, kind);
    }
    return kind;
  }

  /**
   * Notes that a folder, and each above it up to `top`, is reached without a link: Nx found a
   * project's config in it, and Nx's own walk of the workspace does not follow links.
   */
  reachedWithoutLink(folder: string, top: string): void {
    for (let path = folder; path.length > top.length && !this.real.has(path); path = dirname(path)) this.real.add(path);
  }

  /** Whether {@link reachedWithoutLink} said so of this folder. */
  isReachedWithoutLink(folder: string): boolean {
    return this.real.has(folder);
  }
}

function kindOfEntry(entry: Dirent): PathKind {
  return entry.isSymbolicLink() ? 'link' : entry.isDirectory() ? 'dir' : 'other';
}
