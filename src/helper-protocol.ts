import type { RevisionGraph } from './revision-graph';

/**
 * The events the Python helper (python/fastkit_helper/protocol.py) reports, one JSON object a
 * line: each described once here, as a shape that both gives its TypeScript type and checks a
 * value at run time. test/integration/helper-protocol.spec.ts runs the real helper on every
 * supported Alembic and checks each event it emits against these shapes.
 */

/** A JSON value's expected form, with the TypeScript type it stands for. */
export interface Shape<T> {
  /** Adds to `problems` what in `value` (found at `path`) does not have this shape. */
  check(value: unknown, path: string, problems: string[]): void;
  /** Only in types: the value's TypeScript type. */
  readonly type?: T;
  /** A field of an object that may be left out. */
  readonly optional?: boolean;
}

export type TypeOf<S> = S extends Shape<infer T> ? T : never;

function primitive<T>(name: 'string' | 'boolean' | 'number'): Shape<T> {
  return {
    check(value, path, problems) {
      if (typeof value !== name) problems.push(`${path}: expected a ${name}, got ${JSON.stringify(value)}`);
    },
  };
}

const string = primitive<string>('string');
const boolean = primitive<boolean>('boolean');
const number = primitive<number>('number');

function oneOf<const T extends string | boolean>(...values: T[]): Shape<T> {
  return {
    check(value, path, problems) {
      if (!values.includes(value as T)) problems.push(`${path}: expected one of ${values.join(', ')}, got ${JSON.stringify(value)}`);
    },
  };
}

function nullable<T>(shape: Shape<T>): Shape<T | null> {
  return { check: (value, path, problems) => value === null || shape.check(value, path, problems) };
}

function optional<T>(shape: Shape<T>): Shape<T | undefined> & { readonly optional: true } {
  return { optional: true, check: (value, path, problems) => value === undefined || shape.check(value, path, problems) };
}

function array<T>(item: Shape<T>): Shape<T[]> {
  return {
    check(value, path, problems) {
      if (!Array.isArray(value)) problems.push(`${path}: expected an array, got ${JSON.stringify(value)}`);
      else value.forEach((element, index) => item.check(element, `${path}[${index}]`, problems));
    },
  };
}

function record<T>(item: Shape<T>): Shape<Record<string, T>> {
  return {
    check(value, path, problems) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) problems.push(`${path}: expected an object`);
      else for (const [key, element] of Object.entries(value)) item.check(element, `${path}.${key}`, problems);
    },
  };
}

/** Any JSON value (connect arguments, URL query values): checked only for being JSON. */
const json: Shape<unknown> = {
  check(value, path, problems) {
    if (value === undefined || typeof value === 'function') problems.push(`${path}: expected a JSON value`);
  },
};

/** A fixed-length array whose items have these shapes. */
function tuple<const S extends readonly Shape<unknown>[]>(...items: S): Shape<{ -readonly [K in keyof S]: TypeOf<S[K]> }> {
  return {
    check(value, path, problems) {
      if (!Array.isArray(value) || value.length !== items.length) problems.push(`${path}: expected ${items.length} items, got ${JSON.stringify(value)}`);
      else items.forEach((item, index) => item.check(value[index], `${path}[${index}]`, problems));
    },
  };
}

type Fields = Record<string, Shape<unknown>>;
type OptionalKeys<F extends Fields> = { [K in keyof F]: F[K] extends { optional: true } ? K : never }[keyof F];
type ObjectOf<F extends Fields> = { [K in Exclude<keyof F, OptionalKeys<F>>]: TypeOf<F[K]> } & {
  [K in OptionalKeys<F>]?: Exclude<TypeOf<F[K]>, undefined>;
};

/** An object with exactly these fields: a missing one, or one more, is a problem. */
function object<const F extends Fields>(fields: F): Shape<ObjectOf<F>> & { fields: F } {
  return {
    fields,
    check(value, path, problems) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        problems.push(`${path}: expected an object, got ${JSON.stringify(value)}`);
        return;
      }
      for (const [name, shape] of Object.entries(fields)) {
        if (!(name in value) && !shape.optional) problems.push(`${path}.${name}: missing`);
        else shape.check((value as Record<string, unknown>)[name], `${path}.${name}`, problems);
      }
      for (const name of Object.keys(value)) if (!(name in fields)) problems.push(`${path}.${name}: not part of the protocol`);
    },
  };
}

/** Any one of these object shapes (the one with the fewest problems is reported). */
function either<A, B>(a: Shape<A>, b: Shape<B>): Shape<A | B> {
  return {
    check(value, path, problems) {
      const [first, second]: string[][] = [[], []];
      a.check(value, path, first);
      b.check(value, path, second);
      if (first.length && second.length) problems.push(...(first.length <= second.length ? first : second));
    },
  };
}

// --- the events ---------------------------------------------------------------------------

/** A revision as events name it. */
const revision = { revision: string, message: string, path: string } as const;
const upgraded = object({ ...revision, from: array(string) });
const downgraded = object({ ...revision, to: array(string) });

const STEP = object({
  type: oneOf('step'),
  direction: oneOf('upgrade', 'downgrade'),
  ...revision,
  /** Upgrade: the revision(s) it starts from, as Alembic logs them. */
  from: optional(array(string)),
  /** Downgrade: the revision(s) it returns to. */
  to: optional(array(string)),
  /** The database's SQLAlchemy dialect, e.g. `postgresql`, `mysql`, `mariadb`, `sqlite`. */
  dialect: string,
  /** Alembic's `transactional_ddl` for it (as env.py configured it): false on MySQL/MariaDB, whose DDL commits as it runs. */
  transactionalDdl: boolean,
});

/** A secret (a password, a token) as the helper reports it: its salted hash. */
const secret = object({ sha256: string });

/**
 * What env.py used and read while Alembic ran it (python/fastkit_helper/recording.py): the
 * fast path answers only while all of it is unchanged.
 */
const RECORD = object({
  /** The layout of this record. */
  version: number,
  /** False when env.py did something fastkit cannot replay without Python; `why` says what. */
  usable: boolean,
  why: nullable(string),
  /** Salt of every hash in the record. */
  salt: string,
  database: nullable(
    object({
      dialect: string,
      driver: string,
      /** The URL as the engine saw it, its password hashed. */
      url: object({
        drivername: string,
        username: nullable(string),
        password: nullable(secret),
        host: nullable(string),
        port: nullable(number),
        database: nullable(string),
        query: record(json),
      }),
      versionTable: string,
      versionTableSchema: nullable(string),
      /** The DBAPI connect arguments (SQLAlchemy's do_connect), secrets hashed; absolute SQLite file. */
      connect: optional(object({ args: array(json), kwargs: record(json) })),
      /** PostgreSQL through libpq: where libpq connected, and the session as the server describes it. */
      server: optional(
        object({ host: string, port: number, dbname: string, user: string, searchPath: string, currentUser: string, currentDatabase: string }),
      ),
    }),
  ),
  /** The environment variables env.py and what it imported read. */
  env: array(string),
  /** Whether it read all of them (iterated os.environ). */
  wholeEnv: boolean,
  /** Files read and module files imported: a hash of the content, (mtime in ns, size), or what the path was. */
  files: record(either(object({ sha256: string }), either(object({ mtime: string, size: number }), object({ kind: string })))),
  /** Paths looked up: [path, followed symlinks, missing | file | dir | link | other | unreadable]. */
  paths: array(tuple(string, boolean, string)),
  /** Folders listed: their names (but __pycache__ and the SQLite file's own), null when missing. */
  listings: record(nullable(array(string))),
});

const GRAPH = object({
  type: oneOf('graph'),
  envPy: string,
  revisions: array(object({ revision: string, down: array(string), message: string, branchLabels: array(string), dependsOn: array(string) })),
  heads: array(string),
  locations: array(string),
  files: record(string),
  /** From status, run and rollback: what env.py used and read. */
  record: optional(RECORD),
});

const ERROR = object({
  type: oneOf('error'),
  /** A stable name, e.g. `connect`, `nothing-to-roll-back`, `lock-timeout`. */
  code: string,
  message: string,
  /** What to do, with `{run}`/`{alembic}` placeholders for the door's own commands. */
  hint: nullable(string),
  traceback: nullable(string),
});

const SHADOW = object({
  type: oneOf('shadow'),
  /** `made`, `dropped`, or `swept`: a shadow an earlier, killed run left behind, dropped now. */
  state: oneOf('made', 'dropped', 'swept'),
  /** `sqlite`, `postgresql` or `mysql` (MariaDB included). */
  dialect: string,
  /** The database's name, or the SQLite file's path. */
  name: string,
});

/** What verify found: one line's worth, with the file it is about and what to do. */
const verifyFinding = object({
  /** `stairway` (upgrade, downgrade, upgrade again) or `models` (the models against head). */
  check: oneOf('stairway', 'models'),
  revision: nullable(string),
  /** The revision file (stairway), or the models' file (models; env.py when no model has it). */
  file: string,
  line: nullable(number),
  /** Alembic's autogenerate op (`add_column`, `modify_type`…) of a models finding. */
  op: nullable(string),
  message: string,
  /** What to do, with `{make}`/`{run}` placeholders for the door's own commands. */
  hint: string,
});

/** A difference between the live schema and the schema its revision should have. */
const drifted = object({
  /** `extra`: only in the database; `missing`: only in the revision's schema; `changed`: in both, not alike. */
  change: oneOf('extra', 'missing', 'changed'),
  /** `table`, `column`, `index`, `primary key`, `unique constraint`, `foreign key`, `check constraint`. */
  kind: string,
  name: string,
  message: string,
});

const finding = object({
  level: oneOf('error', 'warning'),
  code: string,
  file: string,
  line: number,
  message: string,
  hint: nullable(string),
});

/** With checksums on: the side table, and the applied revisions status found changed or unrecorded. */
const COMPARED_CHECKSUMS = object({ table: string, changed: array(object(revision)), unrecorded: array(string) });
/** With checksums on: the side table, and the applied revisions run recorded before applying anything (back-filled). */
const RECORDED_CHECKSUMS = object({ table: string, backfilled: array(string) });

/** A checksum file `hash` looked at: how many revisions it records, and what changed in it. */
const HASHED = object({
  path: string,
  revisions: number,
  added: array(string),
  changed: array(string),
  removed: array(string),
  conflicted: boolean,
  written: boolean,
});

/** The two branches of a history with two heads: each head's own revisions, oldest first. */
const BRANCH = object({ head: string, revisions: array(object({ ...revision, down: array(string) })) });

/** The `result` event of each action. */
const RESULTS = {
  status: object({
    type: oneOf('result'),
    current: array(string),
    heads: array(string),
    pending: array(object(revision)),
    upToDate: boolean,
    checksums: optional(COMPARED_CHECKSUMS),
  }),
  run: object({ type: oneOf('result'), applied: array(upgraded), heads: array(string), checksums: optional(RECORDED_CHECKSUMS) }),
  rollback: object({ type: oneOf('result'), reverted: array(downgraded) }),
  make: either(object({ type: oneOf('result'), noChanges: oneOf(true) }), object({ type: oneOf('result'), noChanges: oneOf(false), ...revision })),
  check: object({ type: oneOf('result'), revisions: number, heads: array(string), findings: array(finding) }),
  sql: object({
    type: oneOf('result'),
    dialect: string,
    applied: array(upgraded),
    heads: array(string),
    start: nullable(string),
    /** Files env.py rendered the SQL into itself (the multidb template: one per database), copied into the output too. */
    written: optional(array(string)),
  }),
  hash: object({ type: oneOf('result'), files: array(HASHED) }),
  branches: object({ type: oneOf('result'), heads: array(string), branches: array(BRANCH) }),
  rebase: object({ type: oneOf('result'), ...revision, from: array(string), onto: string, head: string, sums: array(string) }),
  merge: either(
    object({ type: oneOf('result'), noChanges: oneOf(true), heads: array(string) }),
    object({ type: oneOf('result'), noChanges: oneOf(false), ...revision, merged: array(string) }),
  ),
  verify: object({
    type: oneOf('result'),
    /** The dialect the migrations ran on (the shadow's), null when env.py never connected. */
    dialect: nullable(string),
    /** The shadow server's version (`15.4`); null for SQLite. */
    serverVersion: nullable(string),
    /** Revisions in the history, and how many held the stairway (it stops at the first that fails). */
    revisions: number,
    verified: number,
    head: nullable(string),
    /** Whether the models were compared (only once the whole stairway held, and where env.py gives target_metadata). */
    modelsChecked: boolean,
    findings: array(verifyFinding),
  }),
  drift: object({
    type: oneOf('result'),
    current: array(string),
    heads: array(string),
    pending: array(object(revision)),
    upToDate: boolean,
    dialect: string,
    drift: array(drifted),
  }),
} as const;

export type HelperAction = keyof typeof RESULTS;
export type StepEvent = TypeOf<typeof STEP>;
export type GraphEvent = TypeOf<typeof GRAPH>;
export type ErrorEvent = TypeOf<typeof ERROR>;
export type ShadowEvent = TypeOf<typeof SHADOW>;
export type ResultEvent<A extends HelperAction> = TypeOf<(typeof RESULTS)[A]>;
/** A result as the core reads it (without its `type`). */
export type ResultOf<A extends HelperAction> = Omit<ResultEvent<A>, 'type'>;
export type HelperEvent = StepEvent | GraphEvent | ErrorEvent | ShadowEvent | ResultEvent<HelperAction>;

export type RecordEvent = TypeOf<typeof RECORD>;

// The graph event is what src/revision-graph.ts keeps: the two stay one shape.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const graphIsRevisionGraph: Same<Omit<GraphEvent, 'type'>, RevisionGraph> = true;
void graphIsRevisionGraph;

/** What in an event of `action` does not follow the protocol; empty when it does. */
export function protocolProblems(action: HelperAction, event: unknown): string[] {
  const problems: string[] = [];
  const type = (event as { type?: unknown } | null)?.type;
  const shape = { step: STEP, graph: GRAPH, error: ERROR, shadow: SHADOW, result: RESULTS[action] }[String(type)];
  if (!shape) problems.push(`type: ${JSON.stringify(type)} is not an event type`);
  else shape.check(event, type as string, problems);
  return problems;
}
