"""`fastkit migrate verify`: every migration proven on a shadow database (shadow.py), through
env.py, in one connection:

    stairway              from base, each revision in order: upgrade, downgrade, upgrade again;
                          the schema after the downgrade must be the schema before the upgrade
    models vs migrations  at head, Alembic's own comparison (compare_metadata) of the models
                          with the schema the migrations made, as env.py configured it

The first revision that fails the stairway stops it (what follows could only fail after it),
and the models are compared only when the whole stairway held.
"""

import logging
import os
import sys
import traceback
from contextlib import contextmanager

from ..alembic_project import AlembicProject, alembic_config
from ..schema_snapshot import differences, snapshot
from ..shadow import ShadowDatabases


def verify(request, events):
    config = alembic_config(request, "upgrade", ["head"])
    project = AlembicProject(config)
    heads = project.single_head()
    stairway = Stairway(project, project.upgrade_steps("heads", ()))
    # the live URL as env.py most often finds it: DATABASE_URL, else the ini's sqlalchemy.url (Alembic's
    # own templates); the shadow keeps its driver (aiosqlite, asyncpg), and may never be that database
    live = os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    with ShadowDatabases(events, os.environ.get("FASTKIT_SHADOW_URL"), live) as shadows:
        with shadows.pointed_at_shadow(config):
            try:
                project.run_env(stairway.work, destination_rev="head")
            except Exception as error:  # noqa: BLE001 - a migration that raises is a finding, not a crash
                if stairway.running is None:
                    raise
                stairway.raised(error, error.__traceback__)
        server_version = shadows.server_version()
    events.graph(project.graph())
    events.result(
        dialect=stairway.dialect,
        serverVersion=server_version,
        revisions=len(stairway.steps),
        verified=stairway.verified,
        head=heads[0] if heads else None,
        modelsChecked=stairway.models_checked,
        findings=stairway.findings,
    )


class Stairway:
    """The work function of the one env.py run, and what it found."""

    def __init__(self, project, steps):
        self.project = project
        self.steps = steps
        self.running = None  # (step, phase) while Alembic runs one of the steps handed to it
        self.verified = 0
        self.findings = []
        self.models_checked = False
        self.dialect = None

    def work(self, rev, context):
        from alembic.runtime.migration import MigrationStep

        self.dialect = "mariadb" if getattr(context.dialect, "is_mariadb", False) else context.dialect.name
        revision_map = self.project.script.revision_map
        skip = [context.opts.get("version_table") or "alembic_version"]
        for up in self.steps:
            before = snapshot(context.connection, skip)
            yield self._running(up, "upgrade")
            yield self._running(MigrationStep.downgrade_from_script(revision_map, up.revision), "downgrade")
            self.running = None
            after = snapshot(context.connection, skip)
            left = differences(before, after)
            if left:
                self.findings += [_left_behind(up.revision, difference) for difference in left]
                return
            yield self._running(MigrationStep.upgrade_from_script(revision_map, up.revision), "again")
            self.running = None
            self.verified += 1
        self._compare_models(context)

    def _running(self, step, phase):
        self.running = (step, phase)
        return step

    def raised(self, error, tb):
        step, phase = self.running
        self.findings.append(_raised(step.revision, phase, error, tb))

    def _compare_models(self, context):
        from alembic.autogenerate import compare_metadata

        metadata = context.opts.get("target_metadata")
        if metadata is None:
            return
        self.models_checked = True
        files = _model_files(metadata)
        env_py = str(self.project.script.env_py_location)
        with _quiet("alembic.autogenerate", "alembic.ddl"):
            diffs = compare_metadata(context, metadata)
        for diff in diffs:
            self.findings.append(_model_difference(diff, context.dialect, files, env_py))


@contextmanager
def _quiet(*names):
    """Autogenerate's "Detected ..." lines: each is a finding fastkit reports itself."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


# --- findings ---------------------------------------------------------------------------------


def _finding(check, revision, file, message, hint, line=None, op=None):
    return {"check": check, "revision": revision, "file": file, "line": line, "op": op, "message": message, "hint": hint}


PHASES = {
    "upgrade": ("upgrade() raises", "Fix upgrade(): `{run}` fails the same way on a database at the revision before."),
    "downgrade": ("downgrade() raises", "Fix downgrade() so that it undoes upgrade(): a rollback of this revision fails the same way."),
    "again": (
        "upgrade() fails when run again after downgrade()",
        "downgrade() must undo all that upgrade() does, so the revision can be applied again after a rollback.",
    ),
}


def _raised(script, phase, error, tb):
    from ..explain import _driver_reason, _first_line

    orig = getattr(error, "orig", None)
    reason = _driver_reason(_first_line(orig)) if orig is not None else "%s: %s" % (type(error).__name__, _first_line(error))
    frames = [frame for frame in traceback.extract_tb(tb) if os.path.abspath(frame.filename) == os.path.abspath(str(script.path))]
    line = frames[-1].lineno if frames else None
    what, hint = PHASES[phase]
    return _finding("stairway", script.revision, str(script.path), "%s: %s" % (what, reason.rstrip(".")), hint, line)


def _left_behind(script, difference):
    change, kind, name, expected, actual = difference
    if change == "extra":
        shown = " " + actual if actual else ""
        message, hint = "downgrade() leaves %s %s%s behind" % (kind, name, shown), "Remove it in downgrade()."
    elif change == "missing":
        shown = " " + expected if expected else ""
        message = "downgrade() removes %s %s%s, which was there before upgrade()" % (kind, name, shown)
        hint = "downgrade() must undo only what upgrade() did: leave it in place."
    else:
        message = "after downgrade() %s %s is %s; before upgrade() it was %s" % (kind, name, actual, expected)
        hint = "Restore it in downgrade()."
    return _finding("stairway", script.revision, str(script.path), message, hint)


MAKE_HINT = "Make a migration for it: `{make}`."


def _model_difference(diff, dialect, files, env_py):
    """One of compare_metadata's differences as a finding: its op, what differs, and the file of
    the model it concerns (env.py when no model has it)."""
    if isinstance(diff, list):  # modify_* come as a list of changes to one column
        diff = diff[0]
    op = diff[0]
    table, message = _describe(op, diff, dialect)
    return _finding("models", None, files.get(table, env_py), message, MAKE_HINT, op=op)


def _describe(op, diff, dialect):
    def type_of(type_):
        try:
            return type_.compile(dialect=dialect)
        except Exception:  # noqa: BLE001
            return repr(type_)

    def columns_of(constraint):
        names = [getattr(column, "name", str(column)) for column in getattr(constraint, "columns", [])]
        if not names and hasattr(constraint, "expressions"):
            names = [str(expression) for expression in constraint.expressions]
        return "(%s)" % ", ".join(names)

    def named(constraint, kind):
        name = getattr(constraint, "name", None)
        return "%s%s on %s %s" % (kind, " " + name if name else "", constraint.table.name, columns_of(constraint))

    in_models, in_migrations = "is in the models; no migration has it", "is in the migrations; the models do not have it"
    if op in ("add_table", "remove_table"):
        return diff[1].name, "table %s %s" % (diff[1].name, in_models if op == "add_table" else in_migrations)
    if op in ("add_column", "remove_column"):
        _, _schema, table, column = diff
        return table, "column %s.%s %s %s" % (table, column.name, type_of(column.type), in_models if op == "add_column" else in_migrations)
    if op in ("add_index", "remove_index"):
        index = diff[1]
        return index.table.name, "%s %s" % (named(index, "index"), in_models if op == "add_index" else in_migrations)
    if op in ("add_constraint", "remove_constraint", "add_fk", "remove_fk"):
        constraint = diff[1]
        kind = "foreign key" if op.endswith("_fk") else _constraint_kind(constraint)
        return constraint.table.name, "%s %s" % (named(constraint, kind), in_models if op.startswith("add") else in_migrations)
    if op.startswith("modify_"):
        _, _schema, table, column, _existing, old, new = diff
        if op == "modify_type":
            old, new = type_of(old), type_of(new)
        elif op == "modify_nullable":
            old, new = ("NULL" if old else "NOT NULL"), ("NULL" if new else "NOT NULL")
        what = op[len("modify_"):]
        return table, "column %s.%s: %s %s in the migrations, %s in the models" % (table, column, what, _shown(old), _shown(new))
    if op in ("add_table_comment", "remove_table_comment"):
        return diff[1].name, "the comment of table %s differs between the models and the migrations" % diff[1].name
    return "", "%s: %s" % (op, " ".join(str(part) for part in diff[1:]))


def _constraint_kind(constraint):
    name = type(constraint).__name__
    return {"UniqueConstraint": "unique constraint", "CheckConstraint": "check constraint",
            "PrimaryKeyConstraint": "primary key"}.get(name, "constraint")


def _shown(value):
    if value is None:
        return "none"
    text = getattr(value, "arg", value)  # a server default shows its SQL text
    return str(getattr(text, "text", text))


def _model_files(metadata):
    """{table name: the file of the model class mapped to it}, from the modules env.py loaded
    (those outside the standard library and site-packages)."""
    import inspect as python_inspect

    tables = {}
    metadatas = metadata if isinstance(metadata, (list, tuple)) else [metadata]
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not path or "site-packages" in path or "dist-packages" in path:
            continue
        for value in list(vars(module).values()):
            table = getattr(value, "__table__", None) if isinstance(value, type) else None
            if table is None or getattr(table, "metadata", None) not in metadatas:
                continue
            try:
                tables.setdefault(table.name, python_inspect.getsourcefile(value) or path)
            except TypeError:
                continue
    return tables
