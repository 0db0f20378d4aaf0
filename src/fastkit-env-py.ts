import { readFileSync } from 'node:fs';
import { templateFolder } from './package-root';

/** What fastkit may rely on in an env.py that is exactly its own template. */
export interface FastkitEnvPy {
  /** The embedded SQLite file, relative to the project folder (e.g. `api.db`). */
  databaseFile: string;
}

// What each template value may be in a generated env.py; every other character must be the template's.
const VALUES: Record<string, string> = {
  projectName: '[^\\n]*',
  databaseFile: '[A-Za-z0-9_.-]+',
  baseImport: 'from [\\w.]+ import \\w+',
  baseName: '\\w+',
  // a per-project table (alembic-setup --versionTable) is left to Alembic: the fast path reads alembic_version
  versionTable: 'alembic_version',
  // comments and plain `from x import A, B  # noqa` lines: nothing that runs code of its own
  modelBlock: '(?:#[^\\n]*|from [\\w.]+ import \\w+(?:, \\w+)*(?: +#[^\\n]*)?)(?:\\n(?:#[^\\n]*|from [\\w.]+ import \\w+(?:, \\w+)*(?: +#[^\\n]*)?))*',
};

let pattern: RegExp | undefined;

/**
 * Recognises an env.py that fastkit's `alembic-setup` wrote and nobody changed, apart from the
 * parts generators own (the model block, the Base import, the project's name). Only then does
 * fastkit know, without running it, which database it uses and where its version table is.
 */
export function readFastkitEnvPy(source: string): FastkitEnvPy | undefined {
  pattern ??= templatePattern();
  const match = pattern.exec(source.replace(/\r\n/g, '\n'));
  return match?.groups ? { databaseFile: match.groups.databaseFile } : undefined;
}

function templatePattern(): RegExp {
  const template = readFileSync(templateFolder('alembic-setup', 'migrations', 'alembic', 'env.py__tmpl__'), 'utf8');
  const seen = new Set<string>();
  let source = '';
  let last = 0;
  for (const token of template.matchAll(/<%-\s*(\w+)\s*%>/g)) {
    source += escape(template.slice(last, token.index));
    const name = token[1];
    if (!(name in VALUES)) throw new Error(`env.py template: unknown value ${name}`);
    source += seen.has(name) ? `\\k<${name}>` : `(?<${name}>${VALUES[name]})`;
    seen.add(name);
    last = token.index! + token[0].length;
  }
  source += escape(template.slice(last));
  return new RegExp(`^${source}$`);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
