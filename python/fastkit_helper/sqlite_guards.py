"""What fastkit adds to every SQLite connection env.py opens, for one request, then takes back.

The listeners are attached to SQLAlchemy's Engine class (env.py creates its own engines) and
removed when the request ends, so nothing of one request stays for the next.
"""

import os
import weakref
from contextlib import contextmanager

from .engine_events import listening
from .recording import SQLITE_FILE_KEY, our_connect_listener


@contextmanager
def sqlite_guards(may_create_database):
    from sqlalchemy.engine import Engine

    listeners = [(Engine, "engine_connect", _atomic_sqlite_migrations())]
    if not may_create_database:
        listeners.append((Engine, "do_connect", _no_new_sqlite_file))
    with listening(listeners):
        yield


def _atomic_sqlite_migrations():
    """Makes each migration on SQLite commit or roll back as a whole, as on PostgreSQL.

    Python's sqlite3 driver opens a transaction only before INSERT/UPDATE/DELETE, so a
    migration's DDL (ALTER TABLE, CREATE TABLE) commits the moment it runs: a migration that
    fails or is interrupted (Ctrl-C) is left half-applied while alembic_version still names
    the previous revision, and the next run fails with "duplicate column". This is SQLAlchemy's
    documented pysqlite recipe (emit BEGIN when SQLAlchemy begins), attached to every engine
    env.py creates, after env.py's own listeners, so an env.py that already applies the recipe
    keeps working.
    """
    from sqlalchemy import event

    seen = weakref.WeakSet()

    def begin(connection):
        dbapi_connection = connection.connection.dbapi_connection
        if not getattr(dbapi_connection, "in_transaction", True):
            connection.exec_driver_sql("BEGIN")

    def engine_connect(connection, *legacy_branch):  # SQLAlchemy 1.4 also passes `branch`
        engine = connection.engine
        if engine.dialect.driver == "pysqlite" and engine not in seen:
            seen.add(engine)
            event.listen(engine, "begin", begin)

    return engine_connect


@our_connect_listener
def _no_new_sqlite_file(dialect, connection_record, cargs, cparams):
    """status, make and rollback never create a SQLite database that does not exist yet.

    sqlite3 creates a missing file on connect; these commands would leave an empty database
    behind (in the wrong folder, for a mistyped URL). A missing file is an empty database, so
    they read an empty in-memory one instead, with the same result. `run` creates the file.
    """
    if dialect.name != "sqlite" or cparams.get("uri") or not cargs:
        return
    path = cargs[0]
    if not isinstance(path, str) or not path or path == ":memory:" or os.path.exists(path):
        return
    if os.path.isdir(os.path.dirname(os.path.abspath(path))):  # else sqlite3 says it cannot open it
        connection_record.info[SQLITE_FILE_KEY] = path  # the file Alembic would read: the record names it
        cargs[0] = ":memory:"
