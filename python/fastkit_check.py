"""fastkit's offline check of an Alembic revision history.

Every revision file is read with Python's ``ast``: nothing is imported or run, no database is
needed. The history must hold together (errors) and each upgrade is reviewed for what can lose
data (warnings). ``check_history`` returns the findings; fastkit_alembic.py finds the files
the way Alembic does and reports them.

Errors (the check fails):
  missing-version-location  a folder version_locations names does not exist
  syntax               the file does not compile
  no-revision          the file sets no ``revision`` (nor has a legacy hex file name)
  no-down-revision     the file sets no ``down_revision`` (Alembic cannot load it)
  duplicate-revision   two files set the same ``revision``
  missing-down-revision  ``down_revision`` names a revision no file defines
  cycle                the revisions revise each other in a circle
  multiple-heads       more than one head: two branches each added a revision (not reported
                       while a down_revision is missing or unset: the broken link is the error)

With a checksum file (fastkit.sum) in a versions folder, also errors (a folder without one is
not checked for checksums: having the file is the opt-in, and `fastkit migrate make` writes it):
  checksum-changed     a revision file no longer has the checksum recorded for it: edited after
                       it was made, so databases that ran it ran other code
  checksum-missing     a revision file the checksum file does not record
  checksum-gone        an entry whose revision file is gone
  checksum-conflict    the checksum file has git's conflict markers: two branches each added a
                       revision (the history then has two heads as well)
  checksum-total       its first line is not the sum of its entries (edited by hand)
  checksum-line        a line that is not an entry

Branch points (two revisions on one parent), merge revisions (several down_revisions) and
revision ids chosen by hand are valid history, as Alembic runs them.

Warnings (printed, the check passes):
  file-name            the file name is not one the project's ``file_template`` produces, for a
                       revision whose id Alembic generated (12 hex digits); Alembic never reads
                       names, and ids chosen by hand (``0001_initial_schema``) come with names
                       chosen by hand, as do names that start with a revision id
In upgrade():
  drop-table           op.drop_table: the table's rows are lost
  drop-column          op.drop_column (or batch_op.drop_column): the column's data is lost
  type-change          alter_column(type_=...) that can lose data, by TYPE_RULES below
  possible-rename      a drop and an add of the same type in one revision (a column, or a
                       table whose columns match): Alembic cannot detect renames
  noop-downgrade       downgrade() does nothing (only ``pass``, ``...`` or a docstring) while
                       upgrade() does something
  no-downgrade         upgrade() does something and there is no downgrade()
"""

import ast
import os
import re

# --- findings -----------------------------------------------------------------------------


def _finding(level, code, path, line, message, hint=None):
    return {"level": level, "code": code, "file": path, "line": line, "message": message, "hint": hint}


# --- reading a revision file --------------------------------------------------------------

IDENTIFIERS = ("revision", "down_revision", "branch_labels", "depends_on")
NOT_LITERAL = object()
LEGACY_REVISION_NAME = re.compile(r"([a-f0-9]+)\.py$")  # Alembic's fallback for a file without `revision`


class RevisionFile:
    """What one file says about itself, read without running it."""

    def __init__(self, path, name, tree):
        self.path = path
        self.name = name  # relative to its version location, without .py, with / separators
        self.tree = tree
        self.values = {}  # identifier -> value (NOT_LITERAL when it is computed)
        self.lines = {}  # identifier -> line
        for node in tree.body:
            targets, value = _assignment(node)
            for target in targets:
                if target in IDENTIFIERS:
                    self.values[target] = _literal(value)
                    self.lines[target] = node.lineno

    @property
    def revision(self):
        value = self.values.get("revision")
        return value if isinstance(value, str) else None

    @property
    def down_revisions(self):
        value = self.values.get("down_revision")
        if value is None or value is NOT_LITERAL:
            return ()
        return (value,) if isinstance(value, str) else tuple(value)

    def line_of(self, identifier):
        return self.lines.get(identifier, 1)


def _assignment(node):
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)], node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        return [node.target.id], node.value
    return [], None


def _literal(node):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return NOT_LITERAL


def read_revision_file(path, name, run_module=None):
    """A RevisionFile, or a syntax finding. `run_module(path)` is used only for values that
    are computed rather than written as literals, as Alembic itself would read them."""
    with open(path, "rb") as handle:
        source = handle.read()
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as error:
        return _finding("error", "syntax", path, error.lineno or 1,
                        "does not compile: %s" % (error.msg or "invalid syntax"),
                        "Fix the file; Alembic cannot load the history until it compiles.")
    except ValueError as error:  # e.g. null bytes
        return _finding("error", "syntax", path, 1, "does not compile: %s" % error, "Fix the file.")
    revision_file = RevisionFile(path, name, tree)
    computed = [key for key, value in revision_file.values.items() if value is NOT_LITERAL]
    if computed and run_module is not None:
        module = run_module(path)
        for key in computed:
            revision_file.values[key] = getattr(module, key, None)
    return revision_file


# --- the history --------------------------------------------------------------------------


def check_history(files, file_template=None, run_module=None):
    """files: [(absolute path, name relative to its version location without .py)].
    Returns {"revisions", "heads", "findings"}."""
    findings = []
    revisions = []
    for path, name in files:
        read = read_revision_file(path, name, run_module)
        if isinstance(read, dict):
            findings.append(read)
        else:
            revisions.append(read)

    by_id = {}
    broken_links = False
    for rev in revisions:
        if rev.revision is None:
            legacy = LEGACY_REVISION_NAME.match(os.path.basename(rev.path))
            if legacy and "revision" not in rev.values:
                rev.values["revision"] = legacy.group(1)
            else:
                findings.append(_finding("error", "no-revision", rev.path, 1, "sets no revision id",
                                         "Add `revision = '<id>'` at the top level, as `alembic revision` writes it."))
                continue
        if "down_revision" not in rev.values:
            broken_links = True
            findings.append(_finding("error", "no-down-revision", rev.path, rev.line_of("revision"),
                                     "sets no down_revision",
                                     "Add `down_revision = '<parent id>'` (None for the first revision)."))
        if rev.revision in by_id:
            first = by_id[rev.revision]
            findings.append(_finding("error", "duplicate-revision", rev.path, rev.line_of("revision"),
                                     "revision %s is also defined in %s" % (rev.revision, os.path.basename(first.path)),
                                     "Give one of them a new id (and point its children's down_revision at it)."))
            continue
        by_id[rev.revision] = rev

    for rev in by_id.values():
        for down in rev.down_revisions:
            if down not in by_id:
                broken_links = True
                findings.append(_finding("error", "missing-down-revision", rev.path, rev.line_of("down_revision"),
                                         "down_revision %r names no revision of this history" % down,
                                         "Restore the missing revision file, or point down_revision at an existing revision."))

    cycle = _cycle(by_id)
    if cycle:
        first = by_id[cycle[0]]
        findings.append(_finding("error", "cycle", first.path, first.line_of("down_revision"),
                                 "the revisions revise each other in a circle: %s" % " -> ".join(cycle + [cycle[0]]),
                                 "Point one down_revision back at an older revision."))

    revised = {down for rev in by_id.values() for down in rev.down_revisions}
    heads = [rev for rev in by_id.values() if rev.revision not in revised]
    if len(heads) > 1 and not broken_links:  # a missing link splits the history; that error says why
        findings.append(_finding("error", "multiple-heads", heads[0].path, heads[0].line_of("revision"),
                                 "the history has %d heads: %s" % (len(heads), ", ".join(
                                     "%s (%s)" % (h.revision, os.path.basename(h.path)) for h in heads)),
                                 "Put this branch's revisions after the other head with `{rebase}`, "
                                 "or merge them with `{rebase} --merge`."))

    if file_template:
        pattern, readable = template_pattern(file_template)
        for rev in by_id.values():
            if _named_by_hand(rev, by_id) or pattern(rev.revision).match(rev.name):
                continue
            findings.append(_finding("warning", "file-name", rev.path, 1,
                                     "the file name does not follow the project's file_template (%s.py)" % readable,
                                     "Alembic does not mind; rename it to match if the project keeps to its template."))

    for rev in by_id.values():
        findings.extend(review_operations(rev))

    findings.sort(key=lambda f: (f["level"] != "error", f["file"], f["line"]))
    return {
        "revisions": len(by_id),
        "heads": [h.revision for h in heads],
        "findings": findings,
    }


GENERATED_ID = re.compile(r"[0-9a-f]{12}\Z")  # alembic.util.rev_id(): uuid4().hex[-12:]


def _named_by_hand(rev, by_id):
    """A revision named outside the template on purpose: its id chosen by hand, or its file name
    starting with a revision id (its own or another's: a scheme of the project's own)."""
    if not GENERATED_ID.match(rev.revision):
        return True
    name = rev.name.rsplit("/", 1)[-1]
    return any(name == other or name.startswith(other + "_") for other in by_id)


def check_project(files, locations, explicit, file_template, config_file, run_module=None, sums=()):
    """The check of an Alembic project: its revision `files` ((path, name) as Alembic finds
    them), read without running them, and each of its version `locations` that does not exist
    reported as an error when the config names it (`explicit`: version_locations is set).
    `sums`: the checksum file of each folder that has one (see checksum_findings)."""
    findings = [_missing_location(config_file, location) for location in locations if explicit and not os.path.isdir(location)]
    report = check_history(files, file_template, run_module)
    recorded = [finding for checked in sums for finding in checksum_findings(**checked)]
    report["findings"] = findings + sorted(report["findings"] + recorded, key=lambda f: (f["level"] != "error", f["file"], f["line"]))
    return report


CHECKSUM_HASH_HINT = "record it again with `{hash}`"


def checksum_findings(path, entries, lines, conflict_line, total_matches, malformed, files):
    """The checksum file at `path` against the revision files of its folder. `entries`: {name:
    checksum} as recorded, `lines`: {name: line}, `conflict_line`: the first line of a git
    conflict marker (None), `total_matches`: whether its first line is the sum of its entries,
    `malformed`: [(line, text)] that are not entries, `files`: {name: (path, checksum)} of the
    revision files there now."""
    findings = []
    if conflict_line is not None:
        findings.append(_finding(
            "error", "checksum-conflict", path, conflict_line,
            "has git's conflict markers: two branches each added a revision",
            "Put this branch's revision after the other with `{rebase}`, or record the files as they are with `{hash}`"))
    elif not total_matches:
        findings.append(_finding(
            "error", "checksum-total", path, 1,
            "its first line is not the sum of its entries (edited by hand?)",
            "Check the entries, then write it again with `{hash}`"))
    for line, _text in malformed:
        findings.append(_finding(
            "error", "checksum-line", path, line,
            "this line is not `<revision file> sha256:<64 hex digits>`",
            "Write the file again with `{hash}`"))
    for name, (file, checksum) in sorted(files.items()):
        if name not in entries:
            findings.append(_finding(
                "error", "checksum-missing", file, 1, "not recorded in %s" % os.path.basename(path),
                "Record it with `{hash}` (fastkit's make records the revisions it writes)"))
        elif entries[name] != checksum:
            findings.append(_finding(
                "error", "checksum-changed", file, 1,
                "changed after %s recorded it: databases that ran it ran other code" % os.path.basename(path),
                "Undo the edit and make the change in a new revision; if no database ran it yet, " + CHECKSUM_HASH_HINT))
    for name in sorted(entries):
        if name not in files:
            findings.append(_finding(
                "error", "checksum-gone", path, lines.get(name, 1), "records %s, which is gone" % name,
                "Restore it (a revision that ran anywhere must stay), or drop the entry with `{hash}`"))
    return findings


def _missing_location(config_file, location):
    """A version location that is not a folder: Alembic would quietly read no revisions from it."""
    line = 1
    try:
        with open(config_file, encoding="utf-8") as handle:
            for number, text in enumerate(handle, start=1):
                if re.match(r"\s*version_locations\s*[=:]", text, re.IGNORECASE):
                    line = number
                    break
    except (OSError, UnicodeDecodeError):
        pass
    shown = os.path.relpath(location) if not os.path.relpath(location).startswith("..") else location
    return _finding("error", "missing-version-location", config_file, line,
                    "version_locations names %s, which is not a folder" % shown,
                    "Create it, or fix version_locations in %s." % os.path.basename(config_file))


def _cycle(by_id):
    """One cycle of down_revision links, as a list of ids, or None."""
    state = {}
    for start in by_id:
        if start in state:
            continue
        stack = [(start, iter(by_id[start].down_revisions))]
        path = [start]
        state[start] = "open"
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = "done"
                stack.pop()
                path.pop()
            elif child in by_id:
                if state.get(child) == "open":
                    return path[path.index(child):]
                if child not in state:
                    state[child] = "open"
                    stack.append((child, iter(by_id[child].down_revisions)))
                    path.append(child)
    return None


# --- file names ---------------------------------------------------------------------------

TEMPLATE_TOKEN = re.compile(r"%%|%\((\w+)\)([-#0 +]*)(\d*)(?:\.(\d+))?([sdi])")
READABLE = {"year": "YYYY", "month": "MM", "day": "DD", "hour": "HH", "minute": "MM", "second": "SS",
            "rev": "<rev>", "slug": "<slug>", "epoch": "<epoch>"}


def template_pattern(template):
    """The names `template` produces, as fn(revision) -> compiled regex, and in words.

    Numbers: `%(month).2d` is exactly two digits, `%(year)d` four, `%(epoch)d` any; `%(rev)s` is
    the file's own revision id; `%(slug)s` is word characters (Alembic's slug of the message,
    possibly empty). fastkit's make may append `_2`, `_3`… when a name is taken.
    """
    parts = []
    readable = []
    position = 0
    for match in TEMPLATE_TOKEN.finditer(template):
        literal = template[position:match.start()]
        parts.append(("literal", literal))
        readable.append(literal)
        position = match.end()
        if match.group(0) == "%%":
            parts.append(("literal", "%"))
            readable.append("%")
            continue
        key, width, precision, conversion = match.group(1), match.group(3), match.group(4), match.group(5)
        digits = int(precision or width or 0)
        if key == "rev":
            parts.append(("rev", None))
        elif key == "slug":
            parts.append(("regex", r"\w*"))
        elif conversion in "di":
            if key == "year" and not digits:
                parts.append(("regex", r"\d{4}"))
            elif key in ("month", "day", "hour", "minute", "second") and digits:
                parts.append(("regex", r"\d{%d}" % max(digits, 2) if digits <= 2 else r"\d{%d,}" % digits))
            else:
                parts.append(("regex", r"\d{%d,}" % digits if digits else r"\d+"))
        else:
            parts.append(("regex", r".+?"))
        readable.append(READABLE.get(key, "<%s>" % key))
    parts.append(("literal", template[position:]))
    readable.append(template[position:])

    def pattern(revision):
        regex = "".join(
            re.escape(value) if kind == "literal" else re.escape(revision) if kind == "rev" else value
            for kind, value in parts
        )
        return re.compile(r"(?:%s)(?:_\d+)?\Z" % regex)

    return pattern, "".join(readable)


# --- what an upgrade does -----------------------------------------------------------------


def review_operations(rev):
    functions = {node.name: node for node in rev.tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    upgrades = [f for name, f in functions.items() if name == "upgrade" or name.startswith("upgrade_")]
    downgrades = [f for name, f in functions.items() if name == "downgrade" or name.startswith("downgrade_")]
    op_names = _op_names(rev.tree)
    findings = []
    up_ops = [operation for f in upgrades for operation in _operations(f, op_names)]
    down_ops = [operation for f in downgrades for operation in _operations(f, op_names)]
    recreated = _recreated_in_downgrade(down_ops)

    for operation in up_ops:
        name, table = operation["name"], operation["table"]
        if name == "drop_table":
            findings.append(_finding("warning", "drop-table", rev.path, operation["line"],
                                     "drops table %s: its rows are lost" % _shown(table)))
        elif name == "drop_column":
            findings.append(_finding("warning", "drop-column", rev.path, operation["line"],
                                     "drops column %s.%s: its data is lost" % (_shown(table), _shown(operation["column"]))))
        elif name == "alter_column" and operation.get("type") is not None:
            loss = type_change_loss(operation.get("existing_type"), operation["type"])
            if loss:
                findings.append(_finding("warning", "type-change", rev.path, operation["line"],
                                         "changes %s.%s %s" % (_shown(table), _shown(operation["column"]), loss)))

    findings.extend(_possible_renames(rev, up_ops, recreated))

    does_something = any(not _does_nothing(f) for f in upgrades)
    if does_something:
        if not downgrades:
            findings.append(_finding("warning", "no-downgrade", rev.path, upgrades[0].lineno,
                                     "has no downgrade(), so this revision cannot be rolled back"))
        for f in downgrades:
            if _does_nothing(f):
                findings.append(_finding("warning", "noop-downgrade", rev.path, f.lineno,
                                         "%s() does nothing, so rolling this revision back does not undo %s()"
                                         % (f.name, f.name.replace("downgrade", "upgrade", 1))))
    return findings


def _shown(name):
    return name if isinstance(name, str) else "?"


def _op_names(tree):
    """Names `alembic.op` is bound to in the file (`from alembic import op [as x]`)."""
    names = {"op"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "alembic":
            names.update(alias.asname or alias.name for alias in node.names if alias.name == "op")
    return names


def _does_nothing(function):
    for statement in function.body:
        if isinstance(statement, ast.Pass):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) and (
            isinstance(statement.value.value, str) or statement.value.value is Ellipsis
        ):
            continue
        return False
    return True


def _operations(function, op_names):
    """The Alembic operations a function calls, in order: `op.X(...)`, and `batch.X(...)` on a
    name bound by `with op.batch_alter_table(TABLE) as batch`."""
    batches = {}
    for node in ast.walk(function):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                call = item.context_expr
                if (
                    _is_call_on(call, op_names, "batch_alter_table")
                    and isinstance(item.optional_vars, ast.Name)
                ):
                    batches[item.optional_vars.id] = _argument(call, 0, "table_name")
    operations = []
    for node in ast.walk(function):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        receiver = node.func.value
        if not isinstance(receiver, ast.Name):
            continue
        name = node.func.attr
        if receiver.id in op_names:
            operations.append(_operation(name, node, table=_argument(node, 0, "table_name"), shift=1))
        elif receiver.id in batches:
            operations.append(_operation(name, node, table=batches[receiver.id], shift=0))
    operations.sort(key=lambda operation: operation["line"])
    return operations


def _operation(name, call, table, shift):
    operation = {"name": name, "line": call.lineno, "table": table}
    if name in ("drop_column", "alter_column"):
        operation["column"] = _argument(call, shift, "column_name")
    if name == "alter_column":
        operation["type"] = _keyword(call, "type_")
        operation["existing_type"] = _keyword(call, "existing_type")
        operation["new_name"] = _keyword(call, "new_column_name")
    if name == "add_column":
        column = _keyword(call, "column") or (call.args[shift] if len(call.args) > shift else None)
        operation["columns"] = [_column(column)] if _column(column) else []
    if name == "create_table":
        operation["columns"] = [c for c in (_column(arg) for arg in call.args[1:]) if c]
    return operation


def _is_call_on(node, receivers, attribute):
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == attribute
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in receivers
    )


def _argument(call, index, keyword):
    node = _keyword(call, keyword)
    if node is None and len(call.args) > index:
        node = call.args[index]
    value = _literal(node) if node is not None else None
    return value if isinstance(value, str) else None


def _keyword(call, name):
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def _column(node):
    """`sa.Column('name', TYPE, ...)` -> (name, TypeInfo) or None."""
    if not isinstance(node, ast.Call) or _callee_name(node.func) != "Column" or not node.args:
        return None
    name = _literal(node.args[0])
    if not isinstance(name, str):
        return None
    type_node = node.args[1] if len(node.args) > 1 else _keyword(node, "type_")
    return name, (parse_type(type_node) if type_node is not None else None)


def _callee_name(node):
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def _recreated_in_downgrade(down_ops):
    """What downgrade() adds back: {(table, column): type} and {table: [(column, type)]}."""
    columns = {}
    tables = {}
    for operation in down_ops:
        if operation["name"] == "add_column":
            for column, type_ in operation["columns"]:
                columns[(operation["table"], column)] = type_
        elif operation["name"] == "create_table":
            tables[operation["table"]] = operation["columns"]
    return {"columns": columns, "tables": tables}


def _possible_renames(rev, up_ops, recreated):
    findings = []
    dropped_columns = [o for o in up_ops if o["name"] == "drop_column"]
    added_columns = [(o, column, type_) for o in up_ops if o["name"] == "add_column" for column, type_ in o["columns"]]
    for drop in dropped_columns:
        old_type = recreated["columns"].get((drop["table"], drop["column"]))
        if old_type is None:
            continue
        for add, column, new_type in added_columns:
            if add["table"] == drop["table"] and column != drop["column"] and new_type is not None and new_type.same_as(old_type):
                findings.append(_finding(
                    "warning", "possible-rename", rev.path, drop["line"],
                    "drops %s.%s and adds %s.%s of the same type (%s): possibly a rename — Alembic cannot detect renames"
                    % (_shown(drop["table"]), drop["column"], _shown(add["table"]), column, old_type.text),
                    "To keep the data, rename it instead: op.alter_column(%r, %r, new_column_name=%r)."
                    % (drop["table"], drop["column"], column)))
    dropped_tables = [o for o in up_ops if o["name"] == "drop_table"]
    created_tables = [o for o in up_ops if o["name"] == "create_table"]
    for drop in dropped_tables:
        old_columns = recreated["tables"].get(drop["table"])
        if not old_columns:
            continue
        for create in created_tables:
            if create["table"] != drop["table"] and _same_columns(old_columns, create["columns"]):
                findings.append(_finding(
                    "warning", "possible-rename", rev.path, drop["line"],
                    "drops table %s and creates %s with the same columns: possibly a rename — Alembic cannot detect renames"
                    % (_shown(drop["table"]), _shown(create["table"])),
                    "To keep the rows, rename it instead: op.rename_table(%r, %r)." % (drop["table"], create["table"])))
    return findings


def _same_columns(a, b):
    if len(a) != len(b):
        return False
    index = {name: type_ for name, type_ in b}
    return all(name in index and type_ is not None and index[name] is not None and type_.same_as(index[name])
               for name, type_ in a)


# --- types --------------------------------------------------------------------------------

INTEGER_BITS = {"TINYINT": 8, "SMALLINT": 16, "SMALLINTEGER": 16, "MEDIUMINT": 24, "INTEGER": 32, "INT": 32,
                "BIGINT": 64, "BIGINTEGER": 64}
STRING_TYPES = {"STRING", "VARCHAR", "NVARCHAR", "CHAR", "NCHAR", "UNICODE", "CHARACTER", "VARCHAR2", "NVARCHAR2"}
FIXED_DEFAULT_ONE = {"CHAR", "NCHAR", "CHARACTER"}  # CHAR without a length is CHAR(1)
TEXT_TYPES = {"TEXT", "UNICODETEXT", "CLOB", "NCLOB", "MEDIUMTEXT", "LONGTEXT", "CITEXT"}
TINYTEXT = {"TINYTEXT": 255}
NUMERIC_TYPES = {"NUMERIC", "DECIMAL", "NUMBER", "MONEY"}
FLOAT_TYPES = {"FLOAT": 53, "DOUBLE": 53, "DOUBLE_PRECISION": 53, "REAL": 24}
BOOLEAN_TYPES = {"BOOLEAN", "BOOL"}
DATETIME_TYPES = {"DATETIME", "TIMESTAMP", "DATETIME2", "SMALLDATETIME", "DATETIMEOFFSET"}
DATE_TYPES = {"DATE"}
TIME_TYPES = {"TIME"}
ENUM_TYPES = {"ENUM"}
# What text can become without fastkit judging it lossy: text holds any value's text.
NOT_FROM_TEXT = {"integer", "numeric", "float", "date", "datetime", "time", "uuid", "json"}
UUID_TYPES = {"UUID", "UNIQUEIDENTIFIER", "UUIDTYPE"}
JSON_TYPES = {"JSON", "JSONB"}


class TypeInfo:
    """A column type as a revision file writes it, e.g. `sa.String(length=100)`."""

    def __init__(self, name, args, kwargs, text):
        self.name = name
        self.key = name.upper()
        self.args = args
        self.kwargs = kwargs
        self.text = text
        self.family, self.size = self._classify()

    def _classify(self):
        key = self.key
        if key in INTEGER_BITS:
            return "integer", INTEGER_BITS[key]
        if key in STRING_TYPES:
            length = self._number(0, "length")
            if length is None:
                return ("string", 1) if key in FIXED_DEFAULT_ONE else ("text", None)
            return "string", length
        if key in TINYTEXT:
            return "string", TINYTEXT[key]
        if key in TEXT_TYPES:
            return "text", None
        if key in NUMERIC_TYPES:
            return "numeric", (self._number(0, "precision"), self._number(1, "scale"))
        if key in FLOAT_TYPES:
            precision = self._number(0, "precision")
            if key == "FLOAT" and precision is not None:
                return "float", 24 if precision <= 24 else 53
            return "float", FLOAT_TYPES[key]
        if key in BOOLEAN_TYPES:
            return "boolean", None
        if key in DATETIME_TYPES:
            return "datetime", None
        if key in DATE_TYPES:
            return "date", None
        if key in TIME_TYPES:
            return "time", None
        if key in ENUM_TYPES:
            return "enum", tuple(a for a in self.args if isinstance(a, str))
        if key in UUID_TYPES:
            return "uuid", None
        if key in JSON_TYPES:
            return "json", None
        return None, None

    def _number(self, index, keyword):
        value = self.kwargs.get(keyword, self.args[index] if len(self.args) > index else None)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def same_as(self, other):
        if self.family is not None and self.family == other.family:
            return self.size == other.size
        return self.key == other.key and self.args == other.args and self.kwargs == other.kwargs


def parse_type(node):
    """`sa.String(length=100)`, `String(100)`, `sa.Integer()`, `sa.Integer` -> TypeInfo (or None)."""
    if isinstance(node, ast.Call):
        name = _callee_name(node.func)
        args = [_literal(a) for a in node.args]
        kwargs = {k.arg: _literal(k.value) for k in node.keywords if k.arg}
    else:
        name = _callee_name(node)
        args, kwargs = [], {}
    if name is None:
        return None
    try:
        text = ast.unparse(node)
    except Exception:  # noqa: BLE001 - only for display
        text = name
    for prefix in ("sa.", "sqlalchemy.", "postgresql.", "mysql.", "sqlite.", "mssql.", "oracle.", "types."):
        if text.startswith(prefix):
            text = text[len(prefix):]
    if text.endswith("()"):
        text = text[:-2]
    return TypeInfo(name, args, kwargs, text)


def type_change_loss(existing_node, new_node):
    """Why changing a column from `existing_node` to `new_node` can lose data, or None.

    TYPE_RULES (old -> new; sizes as the revision file states them):
      any non-Boolean -> Boolean                  only true/false survive
      String(n) -> String(m), m < n               values longer than m characters
      Text / String without length -> String(m)   values longer than m characters
      Float / Numeric -> any integer type         the fractional part is dropped
      integer -> narrower integer                 BigInteger > Integer > SmallInteger (> TINYINT)
      Numeric(p, s) -> Numeric(p2, s2), p2 < p or s2 < s   rounding or out-of-range values
      Float -> Numeric                            rounding to the numeric's scale
      Double precision -> REAL / Float(<=24)      precision is lost
      DateTime -> Date / DateTime -> Time         the time of day / the date is dropped
      Enum(values) -> Enum(fewer values)          rows holding a removed value
      Text or String -> a number, date, time,     text that is not a valid value of the new
        UUID or JSON type                         type is rejected (or, on MySQL, zeroed)
      no existing_type                            the old type is unknown, so it may lose data
    Types fastkit does not know (custom or dialect-specific ones outside these families) are not
    judged, and neither are changes that keep or widen the data (Integer -> BigInteger,
    String(50) -> Text, Date -> DateTime, a number -> Text).
    """
    new = parse_type(new_node)
    if new is None:
        return None
    if existing_node is None:
        return ("to %s without existing_type: the old type is unknown, so check the change keeps the data"
                % new.text)
    old = parse_type(existing_node)
    if old is None:
        return None
    change = "from %s to %s" % (old.text, new.text)
    if new.family == "boolean" and old.family != "boolean":
        return "%s: only true/false survive" % change
    if new.family == "string":
        if old.family == "string" and old.size is not None and new.size < old.size:
            return "%s: values longer than %d characters are cut or rejected" % (change, new.size)
        if old.family == "text":
            return "%s: values longer than %d characters are cut or rejected" % (change, new.size)
    if new.family == "integer":
        if old.family in ("float", "numeric"):
            return "%s: the fractional part is dropped" % change
        if old.family == "integer" and new.size < old.size:
            return "%s: values outside the smaller integer range are rejected" % change
    if new.family == "numeric":
        if old.family == "numeric":
            (p1, s1), (p2, s2) = old.size, new.size
            if (p1 is not None and p2 is not None and p2 < p1) or (s1 is not None and s2 is not None and s2 < s1):
                return "%s: values are rounded or out of range" % change
        if old.family == "float":
            return "%s: values are rounded to the numeric's scale" % change
    if new.family == "float" and old.family == "float" and new.size < old.size:
        return "%s: precision is lost" % change
    if new.family == "date" and old.family == "datetime":
        return "%s: the time of day is dropped" % change
    if new.family == "time" and old.family == "datetime":
        return "%s: the date is dropped" % change
    if new.family == "enum" and old.family == "enum" and old.size and new.size is not None:
        removed = [value for value in old.size if value not in new.size]
        if removed:
            return "%s: rows holding %s no longer fit" % (change, ", ".join(repr(v) for v in removed))
    if new.family in NOT_FROM_TEXT and old.family in ("string", "text"):
        return "%s: text that is not a valid %s is rejected (or, on MySQL, zeroed)" % (change, new.family)
    return None
