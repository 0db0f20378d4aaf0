/**
 * Writing a generator's templates without ever overwriting a file a person changed: a file
 * that is new, or already exactly what the template gives, is fine; one that exists with other
 * content stops the generator, and then nothing at all is written (unless `force`).
 */
import { generateFiles, joinPathFragments, type Tree } from '@nx/devkit';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export { PACKAGE_ROOT, templateFolder } from './package-root';

/** A folder of templates (`name.py__tmpl__`, `__name__/` segments) and where they go. */
export interface Templates {
  folder: string;
  /** Tree path of the folder they are written into. */
  target: string;
  /** Values for the templates (`<%- name %>`) and for `__name__` segments of their paths. */
  substitutions: Record<string, string>;
}

export interface Written {
  /** Tree paths of every file the templates give, in order. */
  files: string[];
  /**
   * Files that already existed with other content. When there are any and `force` is off,
   * the tree is left exactly as it was.
   */
  clashes: string[];
  /** Files created or changed (none when everything was already in place, or on a clash). */
  changed: string[];
}

export function writeNewFiles(tree: Tree, groups: Templates[], options: { force?: boolean } = {}): Written {
  const files = groups.flatMap((group) => targetPaths(group));
  const before = new Map(files.map((file) => [file, tree.exists(file) ? tree.read(file) : null]));
  for (const group of groups) generateFiles(tree, group.folder, group.target, { ...group.substitutions, tmpl: '' });
  const clashes = files.filter((file) => {
    const old = before.get(file);
    return old != null && !old.equals(tree.read(file) as Buffer);
  });
  if (clashes.length && !options.force) {
    for (const [file, old] of before) {
      if (old == null) tree.delete(file);
      else tree.write(file, old);
    }
    return { files, clashes, changed: [] };
  }
  const changed = files.filter((file) => {
    const old = before.get(file);
    return old == null || !old.equals(tree.read(file) as Buffer);
  });
  return { files, clashes, changed };
}

/**
 * The text generateFiles writes for a template whose only tags are `<%- name %>` (all of
 * fastkit's), for a generator that needs it before writing (env.py's seal).
 */
export function renderTemplate(template: string, substitutions: Record<string, string>): string {
  if (/<%(?!-)/.test(template)) throw new Error('renderTemplate: only <%- name %> tags are supported');
  return template.replace(/<%-\s*(\w+)\s*%>/g, (_, name: string) => {
    if (!(name in substitutions)) throw new Error(`renderTemplate: no value for ${name}`);
    return substitutions[name];
  });
}

/** The Tree paths generateFiles writes a folder of templates to. */
function targetPaths(group: Templates): string[] {
  return filesIn(group.folder).map((file) => {
    let path = relative(group.folder, file).split(sep).join('/').replace(/__tmpl__/g, '');
    for (const [key, value] of Object.entries(group.substitutions)) path = path.split(`__${key}__`).join(value);
    return joinPathFragments(group.target, path);
  });
}

function filesIn(folder: string): string[] {
  return readdirSync(folder)
    .sort()
    .flatMap((name) => {
      const path = join(folder, name);
      return statSync(path).isDirectory() ? filesIn(path) : [path];
    });
}

