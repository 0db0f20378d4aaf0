import { UsageError } from './errors';
import { PYTHON_KEYWORDS } from './python-source';

/** snake_case: lower-case words of letters and digits, joined by single underscores. */
const SNAKE_CASE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

/**
 * Refuses a module name that cannot be a Python package under modules/, with one line that
 * says why and what would work.
 */
export function checkModuleName(name: string | undefined): string {
  const given = (name ?? '').trim();
  const example = 'e.g. invoices or order_items';
  if (!given) {
    throw new UsageError('The module needs a name', `Pass one in snake_case, ${example}`);
  }
  if (/[\\/]/.test(given) || given.startsWith('.')) {
    throw new UsageError(
      `Module name "${given}" is a path`,
      `Give a plain snake_case name (${example}); modules always go to <project>/modules/<name>`,
    );
  }
  if (!SNAKE_CASE.test(given)) {
    throw new UsageError(
      `Module name "${given}" is not a snake_case Python identifier`,
      `Use lower-case letters, digits and single underscores, starting with a letter, ${example}`,
    );
  }
  if (PYTHON_KEYWORDS.has(given)) {
    throw new UsageError(`Module name "${given}" is a Python keyword`, `Choose another name, ${example}`);
  }
  return given;
}

/** The model class a module defines: `invoices` → `Invoice`, `order_items` → `OrderItem`. */
export function modelClassName(moduleName: string): string {
  const words = moduleName.split('_');
  words[words.length - 1] = singular(words[words.length - 1]);
  return words.map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join('');
}

/** Words whose singular no suffix rule gets right. */
const IRREGULAR: Record<string, string> = {
  people: 'person',
  men: 'man',
  women: 'woman',
  children: 'child',
  mice: 'mouse',
  geese: 'goose',
  feet: 'foot',
  teeth: 'tooth',
  indices: 'index',
  vertices: 'vertex',
  matrices: 'matrix',
  analyses: 'analysis',
  crises: 'crisis',
  theses: 'thesis',
  criteria: 'criterion',
  phenomena: 'phenomenon',
  quizzes: 'quiz',
  caches: 'cache',
  niches: 'niche',
  movies: 'movie',
  cookies: 'cookie',
  calories: 'calorie',
  leaves: 'leaf',
  knives: 'knife',
  lives: 'life',
  wives: 'wife',
  shelves: 'shelf',
  halves: 'half',
  wolves: 'wolf',
  heroes: 'hero',
  potatoes: 'potato',
  tomatoes: 'tomato',
};

/** Words that are the same in the singular. */
const UNCOUNTABLE = new Set([
  'data', 'metadata', 'media', 'news', 'series', 'species', 'information', 'equipment', 'feedback',
  'staff', 'software', 'hardware', 'sheep', 'fish', 'deer', 'aircraft',
]);

/**
 * The singular of an English plural, for table names, which are usually plural. Not a full
 * inflector: the common suffixes and a list of irregular words. A word that is not a plural
 * (`status`, `address`, `analysis`) comes back as it is.
 */
export function singular(word: string): string {
  if (UNCOUNTABLE.has(word)) return word;
  if (IRREGULAR[word]) return IRREGULAR[word];
  if (word.length <= 3) return word; // bus, gas, ids: too short to tell
  if (/(ss|us|is)$/.test(word)) return word; // address, status, analysis
  if (/[^aeiou]ies$/.test(word)) return word.slice(0, -3) + 'y'; // categories, companies
  if (/(sses|xes|zzes|ches|shes)$/.test(word)) return word.slice(0, -2); // addresses, boxes, batches, wishes
  if (/[^aeiou]uses$/.test(word)) return word.slice(0, -2); // statuses, buses, campuses
  if (word.endsWith('s')) return word.slice(0, -1); // invoices, items, houses
  return word;
}
