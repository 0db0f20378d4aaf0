// One process for the masking row of bench/run.mjs: builds four lines of a megabyte each, in
// the shapes that make a backtracking masker slow (half-URLs without @, a chain of `scheme://u:`,
// a run of letters, a long JSON document), and with `mask` passes each through fastkit's masker
// (with a password in the environment); with `plain` it only builds them.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { maskSecrets, secretsIn } = require('../dist/src/mask.js');

const MB = 1 << 20;
const fill = (unit) => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);
const lines = [
  fill('pg://u:no-at-here '),
  fill('a://b:'),
  fill('x'),
  JSON.stringify({ pending: Array.from({ length: 25_000 }, (_, i) => ({ revision: `r${i}`, message: 'create invoices' })) }).slice(0, MB),
];
if (process.argv[2] === 'mask') {
  const secrets = secretsIn({ DATABASE_URL: 'postgresql://app:Hunter2pw@db/app?password=invoices' });
  let total = 0;
  for (const line of lines) total += maskSecrets(line, secrets).length;
  if (total === 0) throw new Error('nothing masked');
}
