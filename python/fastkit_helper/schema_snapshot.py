"""A database's schema as SQLAlchemy reflects it, in a form two schemas can be compared in: each
table's columns (type and nullability), primary key, indexes, and unique, foreign-key and check
constraints, each rendered as one short text. The version table is left out.

Reflected through SQLAlchemy's Inspector on the connection the migrations run on; with
SQLAlchemy 2's multi-table reflection where it has it (one query per kind on PostgreSQL and
MySQL, whatever the number of tables), else table by table.
"""

KINDS = ("column", "primary key", "index", "unique constraint", "foreign key", "check constraint")


def snapshot(connection, skip_tables=()):
    """{table: {(kind, name): text}} for every table of the connection's default schema."""
    from sqlalchemy import inspect

    inspector = inspect(connection)
    skip = set(skip_tables)
    names = sorted(name for name in inspector.get_table_names() if name not in skip and not name.startswith("_alembic_tmp_"))
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
