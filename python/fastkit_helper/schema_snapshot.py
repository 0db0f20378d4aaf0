"""A database's schema in a form two schemas can be compared in: each table's columns (type and
nullability), primary key, indexes, and unique, foreign-key and check constraints, each keyed by
its kind and name and rendered as one short text. The version table is left out.

Read on the connection the migrations run on. On PostgreSQL, in one query of the system catalog
(pg_get_indexdef, pg_get_constraintdef), which is what lets verify take a snapshot before and
after every step of a long history: SQLAlchemy's Inspector needs a dozen queries for the same.
Elsewhere through the Inspector: with SQLAlchemy 2's multi-table reflection where it has it,
else table by table. Both give the same keys, and on PostgreSQL tell the same schemas apart
(test/integration/migrate-verify.spec.ts compares them).
"""

KINDS = ("column", "primary key", "index", "unique constraint", "foreign key", "check constraint")


def snapshot(connection, skip_tables=()):
    """{table: {(kind, name): text}} for every table of the connection's default schema."""
    if connection.dialect.name == "postgresql":
        return postgresql_snapshot(connection, skip_tables)
    return inspected_snapshot(connection, skip_tables)


def _kept(name, skip):
    return name not in skip and not name.startswith("_alembic_tmp_")


# One row per fact of every table of the current schema: its columns, its constraints (primary
# key, unique, foreign key, check, exclusion), and its indexes that no constraint stands behind.
POSTGRESQL_SCHEMA = """
SELECT c.relname, 'table', '', ''
  FROM pg_catalog.pg_class c
 WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
UNION ALL
SELECT c.relname, 'column', a.attname,
       pg_catalog.format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE ' NULL' END
  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
 WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT c.relname,
       CASE k.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique constraint' WHEN 'f' THEN 'foreign key'
                      WHEN 'c' THEN 'check constraint' ELSE 'constraint' END,
       k.conname, pg_catalog.pg_get_constraintdef(k.oid, true)
  FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
 WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND k.contype IN ('p', 'u', 'f', 'c', 'x')
UNION ALL
SELECT c.relname, 'index', i.relname,
       CASE WHEN x.indisunique THEN 'UNIQUE ' ELSE '' END || regexp_replace(pg_catalog.pg_get_indexdef(x.indexrelid), '^.* USING ', '')
  FROM pg_catalog.pg_index x
  JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
  JOIN pg_catalog.pg_class c ON c.oid = x.indrelid
 WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conindid = x.indexrelid AND k.contype IN ('p', 'u', 'x'))
"""


def postgresql_snapshot(connection, skip_tables=()):
    """The snapshot of a PostgreSQL schema, from one query of its catalog."""
    skip = set(skip_tables)
    schema = {}
    for table, kind, name, text in connection.exec_driver_sql(POSTGRESQL_SCHEMA):
        if not _kept(table, skip):
            continue
        items = schema.setdefault(table, {})
        if kind != "table":
            items[(kind, name)] = " ".join(text.split())
    return schema


def inspected_snapshot(connection, skip_tables=()):
    """The snapshot as SQLAlchemy's Inspector reflects the schema."""
    from sqlalchemy import inspect

    inspector = inspect(connection)
    skip = set(skip_tables)
    names = sorted(name for name in inspector.get_table_names() if _kept(name, skip))
    if not names:
        return {}
    reflected = _reflect_all(inspector, names) if hasattr(inspector, "get_multi_columns") else None
    dialect = connection.dialect
    schema = {}
    for name in names:
        if reflected is not None:
            facts = {kind: found.get((None, name), empty) for kind, (found, empty) in reflected.items()}
        else:
            facts = _reflect_one(inspector, name)
        schema[name] = _table(facts, dialect)
    return schema


def _reflect_all(inspector, names):
    kwargs = {"filter_names": names}
    return {
        "columns": (inspector.get_multi_columns(**kwargs), []),
        "pk": (inspector.get_multi_pk_constraint(**kwargs), {}),
        "indexes": (inspector.get_multi_indexes(**kwargs), []),
        "uniques": (inspector.get_multi_unique_constraints(**kwargs), []),
        "fks": (inspector.get_multi_foreign_keys(**kwargs), []),
        "checks": (_or_empty(lambda: inspector.get_multi_check_constraints(**kwargs), {}), []),
    }


def _reflect_one(inspector, name):
    return {
        "columns": inspector.get_columns(name),
        "pk": inspector.get_pk_constraint(name),
        "indexes": inspector.get_indexes(name),
        "uniques": _or_empty(lambda: inspector.get_unique_constraints(name), []),
        "fks": inspector.get_foreign_keys(name),
        "checks": _or_empty(lambda: inspector.get_check_constraints(name), []),
    }


def _or_empty(read, empty):
    """Dialects that cannot reflect a kind (NotImplementedError) have none of it to compare."""
    try:
        return read()
    except NotImplementedError:
        return empty


def _table(facts, dialect):
    items = {}
    for column in facts["columns"]:
        items[("column", column["name"])] = "%s %s" % (_type(column["type"], dialect), "NULL" if column["nullable"] else "NOT NULL")
    pk = facts["pk"] or {}
    if pk.get("constrained_columns"):
        items[("primary key", pk.get("name") or "")] = _columns(pk["constrained_columns"])
    for index in facts["indexes"]:
        if "duplicates_constraint" in index:  # PostgreSQL's index behind a unique constraint: the constraint says it
            continue
        columns = index.get("column_names") or []
        expressions = index.get("expressions") or []
        shown = _columns([e if c is None else c for c, e in _zip_longest(columns, expressions)])
        items[("index", index.get("name") or shown)] = ("UNIQUE " if index.get("unique") else "") + shown
    for unique in facts["uniques"]:
        shown = _columns(unique["column_names"])
        items[("unique constraint", unique.get("name") or shown)] = shown
    for fk in facts["fks"]:
        shown = "%s -> %s%s" % (
            _columns(fk["constrained_columns"]),
            fk["referred_table"],
            _columns(fk["referred_columns"]),
        )
        ondelete = (fk.get("options") or {}).get("ondelete")
        if ondelete:
            shown += " ON DELETE %s" % ondelete.upper()
        items[("foreign key", fk.get("name") or shown)] = shown
    for check in facts["checks"]:
        text = " ".join(str(check.get("sqltext", "")).split())
        items[("check constraint", check.get("name") or text)] = text
    return items


def _zip_longest(columns, expressions):
    length = max(len(columns), len(expressions))
    return [(columns[i] if i < len(columns) else None, expressions[i] if i < len(expressions) else None) for i in range(length)]


def _columns(names):
    return "(%s)" % ", ".join(str(name) for name in names)


def _type(type_, dialect):
    try:
        return type_.compile(dialect=dialect)
    except Exception:  # noqa: BLE001 - a type the dialect cannot render (NullType) is shown as SQLAlchemy names it
        return repr(type_)


def differences(expected, actual):
    """What differs between two snapshots, as (change, kind, name, expected text, actual text)
    with change one of "extra" (only in `actual`), "missing" (only in `expected`), "changed";
    a table that is extra or missing as a whole is one difference, not one per column."""
    found = []
    for table in sorted(set(expected) | set(actual)):
        if table not in expected:
            found.append(("extra", "table", table, None, None))
            continue
        if table not in actual:
            found.append(("missing", "table", table, None, None))
            continue
        before, after = expected[table], actual[table]
        for key in sorted(set(before) | set(after), key=lambda key: (KINDS.index(key[0]), key[1])):
            kind, name = key
            shown = "%s.%s" % (table, name) if kind == "column" else ("%s %s" % (name, "on " + table) if name else "of " + table)
            if key not in before:
                found.append(("extra", kind, shown, None, after[key]))
            elif key not in after:
                found.append(("missing", kind, shown, before[key], None))
            elif before[key] != after[key]:
                found.append(("changed", kind, shown, before[key], after[key]))
    return found
