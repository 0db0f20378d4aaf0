/**
 * The action table is the one list of actions: the files Nx reads are generated from it (and
 * must be current), and the actions this wave adds are each one entry that every door derives.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ACTIONS, type ActionSpec, type ActionTable } from '../../src/actions';
import { helpText } from '../../src/cli';
import { cliParseOptions, optionsFromCli } from '../../src/door-options';
import { nxSchemaFiles } from '../../src/nx-schemas';
import { REPO } from '../support/workspace';

describe('the files Nx reads come from the action table', () => {
  test.each(Object.entries(nxSchemaFiles()))('%s is what the table generates (npm run build rewrites it)', (path, generated) => {
    expect(readFileSync(join(REPO, path), 'utf8')).toBe(generated);
  });

  test('every executor in executors.json has its one-line executor.ts, naming its action', () => {
    const { executors } = JSON.parse(readFileSync(join(REPO, 'executors.json'), 'utf8'));
    const withExecutor = Object.entries(ACTIONS as ActionTable).filter(([, spec]) => spec.executor);
    expect(Object.keys(executors)).toEqual(withExecutor.map(([action]) => `migrate-${action}`));
    for (const [action] of withExecutor) {
      const source = readFileSync(join(REPO, 'executors', `migrate-${action}`, 'executor.ts'), 'utf8');
      expect(source).toContain(`export default nxExecutor('${action}');`);
    }
  });

  test('the init generator names every target the plugin infers', () => {
    const { description } = JSON.parse(readFileSync(join(REPO, 'generators', 'init', 'schema.json'), 'utf8'));
    const targets = Object.entries(ACTIONS as ActionTable).filter(([, spec]) => spec.executor);
    for (const [action] of targets) expect(description).toContain(`migrate-${action}`);
  });
});

describe('one entry per action: the actions of this wave, as the table states them', () => {
  const core = () => async () => undefined;
  const boolean = (description: string, help: string) => ({ type: 'boolean', default: false, description, cli: { help } }) as const;
  const WAVE: ActionTable = {
    ...ACTIONS,
    status: {
      ...ACTIONS.status,
      options: {
        ...ACTIONS.status.options,
        drift: boolean('Compare the live schema with the one its revision should have.', 'compare the live schema with its revision'),
        checksums: boolean('Check the revision files against the checksum file.', 'check the revision files against their checksums'),
      },
    },
    verify: {
      summary: 'Verifies the history on a shadow database',
      docs: 'https://alembic.sqlalchemy.org/en/latest/autogenerate.html',
      title: 'Verify migrations',
      options: {
        shadowUrl: { type: 'string', description: 'The throwaway database to verify on.', cli: { value: 'URL', help: 'the shadow database' } },
        json: ACTIONS.check.options.json,
      },
      database: 'shadow',
      cache: { inputs: 'project' },
      executor: true,
      gulp: true,
      core,
    },
    rebase: {
      summary: "Re-parents this branch's revisions onto the other head",
      docs: 'https://alembic.sqlalchemy.org/en/latest/branches.html',
      title: 'Rebase migrations',
      options: {
        onto: { type: 'string', description: 'The head to rebase onto.', cli: { value: 'REV', help: 'the head to rebase onto' } },
        merge: boolean('Write a merge revision instead.', 'write a merge revision instead'),
      },
      database: 'none',
      executor: true,
      gulp: false,
      core,
    },
    hash: {
      summary: 'Writes the checksum file of the revision files',
      docs: 'https://alembic.sqlalchemy.org/en/latest/tutorial.html',
      title: 'Hash migrations',
      options: {},
      database: 'none',
      executor: false,
      gulp: false,
      core,
    } satisfies ActionSpec,
  };

  test('an action with an executor gets its schema and executors.json entry; a CLI-only action gets neither', () => {
    const files = nxSchemaFiles(WAVE);
    const verify = JSON.parse(files['executors/migrate-verify/schema.json']);
    expect(Object.keys(verify.properties)).toEqual(['shadowUrl', 'json', 'config', 'cwd', 'alembic', 'env', 'args', 'name', 'verbose']);
    expect(verify.description).toContain('Cacheable.');
    expect(files['executors/migrate-verify/schema.d.ts']).toContain('shadowUrl?: string;');
    expect(JSON.parse(files['executors/migrate-rebase/schema.json']).properties.merge).toMatchObject({ type: 'boolean', default: false });
    expect(Object.keys(JSON.parse(files['executors.json']).executors)).toEqual(
      expect.arrayContaining(['migrate-verify', 'migrate-rebase']),
    );
    expect(files['executors.json']).not.toContain('migrate-hash');
    expect(JSON.parse(files['executors/migrate-status/schema.json']).properties).toMatchObject({ drift: { type: 'boolean' }, checksums: { type: 'boolean' } });
    expect(JSON.parse(files['generators/init/schema.json']).description).toContain('migrate-rebase and migrate-verify targets');
  });

  test('the CLI takes the new subcommands and flags (kebab-case), and its help lists them', () => {
    const help = helpText(WAVE);
    expect(help).toMatch(/^ {2}fastkit migrate hash +writes the checksum file/m);
    expect(help).toMatch(/^ {6}--shadow-url URL +the shadow database \(verify\)$/m);
    expect(help).toMatch(/^ {6}--drift +compare the live schema with its revision \(status\)$/m);
    expect(Object.keys(cliParseOptions(WAVE))).toEqual(expect.arrayContaining(['shadow-url', 'onto', 'merge', 'drift', 'checksums']));
    expect(optionsFromCli(WAVE.verify.options, { 'shadow-url': 'sqlite://', json: true })).toEqual({ shadowUrl: 'sqlite://', json: true });
  });
});
