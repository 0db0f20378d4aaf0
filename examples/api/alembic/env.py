"""Alembic environment for api, written by fastkit (nx g fastkit:alembic-setup).

The database URL comes from DATABASE_URL, else from fastkit_core's ConfigManager when it is
installed, else it is the embedded SQLite file api.db in the project folder.

Migrations take a lock per database, so deploys that run them at the same time apply each
revision once.
"""

# fastkit:env-py 2 ee7de2fc9d5a556f
# (The line above tells fastkit this file is as it wrote it, apart from the model block, so
# `fastkit migrate status` may answer without starting Python. Any other edit turns that off.)

import os
import sys
import time
import zlib
from contextlib import contextmanager
from logging.config import fileConfig
from pathlib import Path

from alembic import context
from alembic.util import CommandError
from sqlalchemy import create_engine, pool, text

from database import Base

# Importing a model registers its table on the metadata that autogenerate compares.
# fastkit keeps this block sorted; add models to it with `nx g fastkit:module`.
# fastkit:models begin
from modules.clients.models import Client  # noqa: F401
from modules.invoices.models import Invoice  # noqa: F401
# fastkit:models end

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

target_metadata = Base.metadata

PROJECT_DIR = Path(__file__).resolve().parent.parent
DATABASE_FILE = "api.db"  # the embedded SQLite database, in the project folder
DEFAULT_URL = "sqlite:///" + (PROJECT_DIR / DATABASE_FILE).as_posix()
VERSION_TABLE = "alembic_version"
LOCK_TIMEOUT = float(os.environ.get("FASTKIT_LOCK_TIMEOUT", "600"))  # seconds


def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    try:
        from fastkit_core.config import ConfigManager
    except ImportError:
        return DEFAULT_URL
    settings = ConfigManager(modules=["database"], auto_load=True)
    return settings.database.DATABASE_URL


def skip_empty_revisions(context, revision, directives) -> None:
    """`revision --autogenerate` with no model change writes no file."""
    if getattr(config.cmd_opts, "autogenerate", False) and directives:
        if all(ops.is_empty() for ops in directives[0].upgrade_ops_list):
            directives[:] = []


def configure(**kwargs) -> None:
    url = kwargs.get("url") or kwargs["connection"].engine.url
    context.configure(
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        compare_type=True,
        render_as_batch=str(url).startswith("sqlite"),
        process_revision_directives=skip_empty_revisions,
        **kwargs,
    )


def run_migrations_offline() -> None:
    """Render the migrations as SQL (`alembic upgrade head --sql`); no database is contacted."""
    configure(url=database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = database_url()
    connect_args = {"timeout": 30} if url.startswith("sqlite") else {}  # SQLite busy timeout, seconds
    # future=True: Connection.commit() on SQLAlchemy 1.4 as well (the only mode of 2.x)
    engine = create_engine(url, poolclass=pool.NullPool, connect_args=connect_args, future=True)
    with engine.connect() as connection:
        configure(connection=connection)
        read_only = context.get_context().opts.get("dont_mutate", False)
        with migration_lock(connection, skip=read_only):
            with context.begin_transaction():
                context.run_migrations()


# --- the migration lock -------------------------------------------------------------------


@contextmanager
def migration_lock(connection, skip=False):
    """Holds a per-database lock while migrations run; released when the connection closes,
    so a killed holder (even kill -9) never leaves it behind."""
    dialect = connection.dialect.name
    if skip:
        yield
    elif dialect == "postgresql":
        with _postgresql_lock(connection):
            yield
    elif dialect in ("mysql", "mariadb"):
        with _mysql_lock(connection):
            yield
    elif dialect == "sqlite":
        with _sqlite_lock(connection):
            yield
    else:
        yield


def _waiting(holder):
    print(
        "Waiting for another migration to finish%s (up to %d s; FASTKIT_LOCK_TIMEOUT sets it)..."
        % (" (" + holder + ")" if holder else "", LOCK_TIMEOUT),
        file=sys.stderr,
        flush=True,
    )


class MigrationLockTimeout(CommandError):
    """The migration lock was not free in time; fastkit reports it by this code, not by its text."""

    fastkit_code = "lock-timeout"


def _timed_out(holder):
    return MigrationLockTimeout(
        "Timed out after %d s waiting for the migration lock%s; "
        "wait for that migration to finish or stop it, or raise FASTKIT_LOCK_TIMEOUT"
        % (LOCK_TIMEOUT, " held by " + holder if holder else "")
    )


@contextmanager
def _postgresql_lock(connection):
    # Polled with pg_try_advisory_lock rather than blocking, so a waiting run can never
    # deadlock with CREATE INDEX CONCURRENTLY in the running one.
    key = zlib.crc32(("fastkit:" + VERSION_TABLE).encode()) & 0x7FFFFFFF
    deadline = time.monotonic() + LOCK_TIMEOUT
    holder = None
    while not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar():
        if holder is None:
            holder = _postgresql_holder(connection, key)
            _waiting(holder)
        connection.commit()
        if time.monotonic() >= deadline:
            raise _timed_out(_postgresql_holder(connection, key))
        time.sleep(0.1)
    connection.commit()  # end the implicit transaction, so Alembic begins its own
    try:
        yield
    finally:
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            connection.commit()
        except Exception:  # the connection is gone: so is the lock
            pass


def _postgresql_holder(connection, key):
    row = connection.execute(
        text(
            "SELECT a.pid, a.application_name, a.client_addr, a.backend_start"
            " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = :key"
        ),
        {"key": key},
    ).first()
    if row is None:
        return ""
    where = " from %s" % row.client_addr if row.client_addr else ""
    return "server pid %s%s, connected since %s" % (row.pid, where, row.backend_start.strftime("%H:%M:%S"))


@contextmanager
def _mysql_lock(connection):
    name = ("fastkit:%s:%s" % (connection.engine.url.database, VERSION_TABLE))[:64]
    got = connection.execute(text("SELECT GET_LOCK(:name, 0)"), {"name": name}).scalar()
    if got != 1:
        holder = connection.execute(text("SELECT IS_USED_LOCK(:name)"), {"name": name}).scalar()
        holder = "connection id %s" % holder if holder else ""
        _waiting(holder)
        got = connection.execute(
            text("SELECT GET_LOCK(:name, :timeout)"), {"name": name, "timeout": int(LOCK_TIMEOUT)}
        ).scalar()
        if got != 1:
            raise _timed_out(holder)
    connection.commit()
    try:
        yield
    finally:
        try:
            connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
            connection.commit()
        except Exception:
            pass


@contextmanager
def _sqlite_lock(connection):
    # An flock on the database file: independent of SQLite's own (fcntl) locks, released by
    # the kernel when the process ends. In-memory databases need no lock, nor does a file that
    # does not exist yet (a make before the first run): opening it here would create it.
    path = connection.engine.url.database
    try:
        import fcntl
    except ImportError:
        fcntl = None
    if not path or path == ":memory:" or fcntl is None or not os.path.exists(path):
        yield
        return
    with open(path, "ab") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _waiting("")
            deadline = time.monotonic() + LOCK_TIMEOUT
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise _timed_out("")
                    time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
