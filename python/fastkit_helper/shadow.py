"""Shadow databases: throwaway databases fastkit makes for one request (verify, status --drift)
and always removes, so migrations can be run up and down without touching a real database.

    SQLite                   a temporary file
    PostgreSQL, MySQL,       a database named fastkit_shadow_<host>_<pid>_<UTC time>_<random>
    MariaDB                  on the server of FASTKIT_SHADOW_URL, dropped afterwards

Every connection any engine makes while a request runs env.py is redirected to a shadow
database (SQLAlchemy's `do_connect` event rewrites the DBAPI arguments), whatever env.py computed
its URL from: DATABASE_URL, sqlalchemy.url, pydantic settings, a constant. So nothing reaches
the real database. DATABASE_URL and sqlalchemy.url are also set to the shadow's URL, for the
env.py files that read them (and whatever else they do with the URL).

A shadow is dropped when the request ends, whether it succeeds, fails, or is stopped by Ctrl-C
or SIGTERM (the helper turns SIGTERM into an exception, and fastkit's death into a SIGTERM).
The name carries the owner's machine, pid and start time: a run killed outright (SIGKILL)
leaves its shadow behind, and the next run on the server drops it once that pid is gone.
"""

import datetime
import glob
import hashlib
import os
import random
import re
import signal
import socket
import string
import tempfile
import weakref
from contextlib import contextmanager

from .engine_events import listening
from .protocol import Failure

PREFIX = "fastkit_shadow_"
_NAME = re.compile(r"^fastkit_shadow_([0-9a-f]{8})_(\d+)_(\d{14})_[0-9a-z]{4}$")
_FILE = re.compile(r"^fastkit_shadow_(\d+)_(\d{14})_\w+\.sqlite$")
# a shadow whose owner ran on another machine is dropped once it is this old
_FOREIGN_AGE = datetime.timedelta(hours=24)

# the dialect families fastkit makes shadows for; MariaDB is a MySQL server to SQLAlchemy
FAMILIES = {"sqlite": "sqlite", "postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql"}
FAMILY_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mysql": "MySQL/MariaDB"}

SHADOW_URL_HINT = (
    "Set FASTKIT_SHADOW_URL (or the shadowUrl option) to a %s server fastkit may create and drop databases on, "
    "e.g. %s"
)
EXAMPLE_URLS = {
    "postgresql": "postgresql+psycopg://postgres@localhost/postgres",
    "mysql": "mysql+pymysql://root@localhost/mysql",
}


def family_of(dialect_name):
    return FAMILIES.get(dialect_name)


def _stamp(now=None):
    return (now or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y%m%d%H%M%S")


def _random4():
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(4))


def machine_tag():
    """Eight hex digits standing for this machine (its machine id and host name)."""
    parts = [socket.gethostname()]
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            with open(path) as handle:
                parts.append(handle.read().strip())
            break
        except OSError:
            continue
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()[:8]


def _owner_gone(pid, started):
    """Whether the process that made a shadow at `started` (UTC) with this pid has ended: no
    such pid, or (on Linux) the pid now belongs to a process that started after the shadow."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, someone else's
    except OSError:
        return False
    boot_and_ticks = _process_start(pid)
    if boot_and_ticks is not None and boot_and_ticks > started + datetime.timedelta(seconds=2):
        return True
    return False


def _process_start(pid):
    """When process `pid` started (UTC), from /proc; None where that cannot be read."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            stat = handle.read()
        ticks = int(stat[stat.rindex(")") + 2:].split()[19])
        with open("/proc/stat") as handle:
            boot = next(int(line.split()[1]) for line in handle if line.startswith("btime "))
        seconds = boot + ticks / os.sysconf("SC_CLK_TCK")
        return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).replace(tzinfo=None)
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def leftover(name, tag, now):
    """Whether a database called `name` is a shadow some earlier run left behind."""
    match = _NAME.match(name)
    if not match:
        return False
    started = datetime.datetime.strptime(match.group(3), "%Y%m%d%H%M%S")
    if match.group(1) != tag:
        return now - started > _FOREIGN_AGE
    pid = int(match.group(2))
    return pid != os.getpid() and _owner_gone(pid, started)


@contextmanager
def _signals_held():
    """Ctrl-C and SIGTERM wait (they are delivered after) while a shadow is being dropped."""
    held = {signal.SIGINT, signal.SIGTERM}
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, ValueError, OSError):  # not the main thread, or no such call
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def parse_url(text, what):
    """A SQLAlchemy URL from text, or a one-line usage failure naming `what` it came from."""
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.engine import make_url

    try:
        url = make_url(text)
        url.get_dialect()
    except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError, ValueError):
        raise Failure(
            "usage",
            "%s is not a database URL SQLAlchemy can use" % what,
            "Give one like %s." % EXAMPLE_URLS["postgresql"],
        )
    return url


def _shown(url):
    return url.render_as_string(hide_password=True)


def _full(url):
    return url.render_as_string(hide_password=False)


class _Server:
    """The server of the shadow URL: where shadow databases are made and dropped, through one
    connection of its own (to the database the URL names) kept for the whole request."""

    def __init__(self, url, family, events, exempt):
        self.url = url
        self.family = family
        self.events = events
        self.exempt = exempt
        self.engine = None
        self.connection = None
        self.made = []

    def connect(self):
        if self.connection is not None:
            return self.connection
        from sqlalchemy import create_engine, pool

        self.engine = create_engine(self.url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
        self.exempt.add(id(self.engine.dialect))
        try:
            self.connection = self.engine.connect()
        except Exception as error:  # noqa: BLE001 - said in one line, with where
            raise Failure(
                "shadow-connect",
                "Cannot connect to the shadow database server at %s: %s" % (_shown(self.url), _reason(error)),
                "Check FASTKIT_SHADOW_URL (or the shadowUrl option): the server must be running and the user able to log in.",
            )
        self._sweep()
        return self.connection

    @property
    def version(self):
        info = self.connection.dialect.server_version_info if self.connection is not None else None
        return ".".join(str(part) for part in info[:2]) if info else None

    def _names(self):
        if self.family == "postgresql":
            sql = "SELECT datname FROM pg_database WHERE datname LIKE 'fastkit\\_shadow\\_%%'"
        else:
            sql = "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'fastkit\\\\_shadow\\\\_%%'"
        return [row[0] for row in self.connection.exec_driver_sql(sql)]

    def _sweep(self):
        """Drops the shadows of earlier runs that were killed before they could."""
        tag, now = machine_tag(), datetime.datetime.utcnow()
        try:
            names = self._names()
        except Exception:  # noqa: BLE001 - a server that will not list its databases keeps them
            return
        for name in names:
            if leftover(name, tag, now):
                try:
                    self._drop(name)
                except Exception:  # noqa: BLE001 - another run may be dropping it right now
                    continue
                self.events.shadow("swept", self.family, name)

    def _quoted(self, name):
        return self.connection.dialect.identifier_preparer.quote_identifier(name)

    def create(self):
        """A new shadow database on this server; returns its name."""
        self.connect()
        name = "%s%s_%d_%s_%s" % (PREFIX, machine_tag(), os.getpid(), _stamp(), _random4())
        try:
            self.connection.exec_driver_sql("CREATE DATABASE %s" % self._quoted(name))
        except Exception as error:  # noqa: BLE001
            raise Failure(
                "shadow-create",
                "Cannot create a shadow database on %s: %s" % (_shown(self.url), _reason(error)),
                "Give the user of FASTKIT_SHADOW_URL the right to create databases "
                "(PostgreSQL: ALTER ROLE ... CREATEDB; MySQL: GRANT ALL ON `fastkit\\_shadow\\_%` ...).",
            )
        self.made.append(name)
        self.events.shadow("made", self.family, name)
        return name

    def _drop(self, name):
        quoted = self._quoted(name)
        if self.family == "postgresql":
            if (self.connection.dialect.server_version_info or (0,)) >= (13,):
                self.connection.exec_driver_sql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % quoted)
                return
            self.connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %(name)s AND pid <> pg_backend_pid()",
                {"name": name},
            )
        self.connection.exec_driver_sql("DROP DATABASE IF EXISTS %s" % quoted)

    def drop_all(self):
        """Drops every shadow this request made, then closes the server connection."""
        failed = []
        for name in self.made:
            try:
                self._drop(name)
                self.events.shadow("dropped", self.family, name)
            except Exception:  # noqa: BLE001 - keep dropping the others
                failed.append(name)
        self.made = failed
        if self.connection is not None:
            self.connection.close()
            self.engine.dispose()
        return failed


def _reason(error):
    from .explain import _driver_reason, _first_line

    return _driver_reason(_first_line(getattr(error, "orig", None) or error))


class _Shadow:
    """One shadow database: a file (SQLite) or a database on the shadow server."""

    def __init__(self, family, name):
        self.family = family
        self.name = name


class ShadowDatabases:
    """The shadow databases of one request, and the redirection of every connection to them.

    Used as a context manager around everything that runs env.py against shadows: on the way
    out, whatever the reason, every shadow made is dropped (SQLite files removed)."""

    def __init__(self, events, shadow_url_text, live_url_text):
        self.events = events
        self.server = None
        self.exempt = set()
        self.sqlite_files = []
        self.planned = {}
        self._by_identity = {}
        self._engines = weakref.WeakSet()
        if shadow_url_text:
            url = parse_url(shadow_url_text, "The shadow URL (FASTKIT_SHADOW_URL or shadowUrl)")
            family = family_of(url.get_dialect().name)
            if family not in ("postgresql", "mysql"):
                raise Failure(
                    "usage",
                    "The shadow URL names a %s database; fastkit makes shadow databases on PostgreSQL, MySQL and MariaDB servers"
                    % url.get_dialect().name,
                    "Leave FASTKIT_SHADOW_URL unset for a SQLite project (its shadow is a temporary file), "
                    "or point it at a PostgreSQL, MySQL or MariaDB server.",
                )
            self.server = _Server(url, family, events, self.exempt)
        self.live = _live_url(live_url_text)
        if self.live is not None and self.server is not None:
            refuse_same_database(self.server.url, self.live, "DATABASE_URL")

    def refuse_live(self, live_url, what):
        """Refuses a shadow server URL that names this live database."""
        if self.server is not None:
            refuse_same_database(self.server.url, live_url, what)

    # --- what env.py is told ------------------------------------------------------------------

    def planned_family(self, dialect_name=None):
        """The family of the database env.py is expected to use: the one given, else DATABASE_URL's,
        else the shadow server's, else SQLite (the default of fastkit's env.py)."""
        if dialect_name is not None:
            return family_of(dialect_name)
        if self.live is not None:
            return family_of(self.live.get_dialect().name)
        return self.server.family if self.server is not None else "sqlite"

    def planned_url(self, dialect_name=None):
        """The URL env.py is given (DATABASE_URL, sqlalchemy.url): a shadow of the planned family,
        with DATABASE_URL's driver where that names the same family."""
        family = self.planned_family(dialect_name)
        if family is None:
            raise _unsupported(dialect_name)
        live_family = family_of(self.live.get_dialect().name) if self.live is not None else None
        driver = self.live.drivername if live_family == family else None
        shadow = self.planned.get(family) or self._new(family)
        self.planned[family] = shadow
        return self._url_of(shadow, driver)

    @contextmanager
    def pointed_at_shadow(self, config, dialect_name=None):
        """env.py's two usual sources of the URL, DATABASE_URL and sqlalchemy.url, name the
        shadow while it runs; and every connection is redirected to a shadow all the same."""
        url = self.planned_url(dialect_name)
        saved = os.environ.get("DATABASE_URL")
        os.environ["DATABASE_URL"] = _full(url)
        section = config.config_ini_section
        had = config.get_section_option(section, "sqlalchemy.url")
        # the ini parser reads % as interpolation: a URL's %2F is written %%2F
        config.set_section_option(section, "sqlalchemy.url", _full(url).replace("%", "%%"))
        try:
            with self.redirected():
                yield url
        finally:
            if saved is None:
                os.environ.pop("DATABASE_URL", None)
            else:
                os.environ["DATABASE_URL"] = saved
            if had is not None:
                config.set_section_option(section, "sqlalchemy.url", had.replace("%", "%%"))

    @contextmanager
    def redirected(self):
        """Every DBAPI connection any engine opens goes to a shadow database while this lasts."""
        from sqlalchemy.engine import Engine

        with listening([(Engine, "do_connect", self._redirect), (Engine, "engine_connect", self._remember_engine)]):
            yield

    def _remember_engine(self, connection, *legacy_branch):  # SQLAlchemy 1.4 also passes `branch`
        self._engines.add(connection.engine)

    def _redirect(self, dialect, connection_record, cargs, cparams):
        if id(dialect) in self.exempt:
            return None
        family = family_of(dialect.name)
        if family is None:
            raise _unsupported(dialect.name)
        identity = _identity(dialect, cargs, cparams)
        shadow = self._by_identity.get((family, identity))
        if shadow is None:
            planned = self.planned.get(family)
            shadow = planned if planned is not None and planned.name in _named_database(cargs, cparams) else self._new(family)
            self._by_identity[(family, identity)] = shadow
        new_cargs, new_cparams = dialect.create_connect_args(self._url_of(shadow, "%s+%s" % (dialect.name, dialect.driver)))
        for name in _url_keys(dialect):
            cparams.pop(name, None)
        cargs[:] = list(new_cargs)
        cparams.update(new_cparams)
        return None

    # --- making them ---------------------------------------------------------------------------

    def _new(self, family):
        if family == "sqlite":
            _sweep_sqlite_files()
            handle, path = tempfile.mkstemp(prefix="%s%d_%s_" % (PREFIX, os.getpid(), _stamp()), suffix=".sqlite")
            os.close(handle)  # an empty file is an empty SQLite database
            self.sqlite_files.append(path)
            self.events.shadow("made", "sqlite", path)
            return _Shadow(family, path)
        return _Shadow(family, self._server_of(family).create())

    def _server_of(self, family):
        if self.server is None:
            raise Failure(
                "shadow-url-missing",
                "This project's database is %s: checking it needs a shadow database server" % FAMILY_NAMES[family],
                SHADOW_URL_HINT % (FAMILY_NAMES[family], EXAMPLE_URLS[family]) + ".",
            )
        if self.server.family != family:
            raise Failure(
                "usage",
                "env.py connects to a %s database, but the shadow URL names a %s server"
                % (FAMILY_NAMES[family], FAMILY_NAMES[self.server.family]),
                "Point FASTKIT_SHADOW_URL at a %s server, so the migrations run on the database they are written for."
                % FAMILY_NAMES[family],
            )
        return self.server

    def _url_of(self, shadow, drivername=None):
        from sqlalchemy.engine import make_url

        if shadow.family == "sqlite":
            return make_url("sqlite:///" + shadow.name).set(drivername=drivername or "sqlite")
        url = self.server.url
        return url.set(drivername=drivername or url.drivername, database=shadow.name)

    def server_version(self):
        return self.server.version if self.server is not None else None

    # --- the end -------------------------------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        with _signals_held():
            for engine in list(self._engines):
                try:
                    engine.dispose()
                except Exception:  # noqa: BLE001
                    pass
            for path in self.sqlite_files:
                _remove_sqlite_file(path)
                self.events.shadow("dropped", "sqlite", path)
            self.sqlite_files = []
            if self.server is not None:
                self.server.drop_all()
        return False


def _unsupported(dialect_name):
    return Failure(
        "usage",
        "env.py connects to a %s database; fastkit makes shadow databases for SQLite, PostgreSQL, MySQL and MariaDB only"
        % dialect_name,
        "Run this check on one of those, or leave it out for this project.",
    )


def _named_database(cargs, cparams):
    """The database names or file a connection's arguments hold, for matching a planned shadow."""
    names = [str(arg) for arg in cargs if isinstance(arg, str)]
    names += [str(cparams[key]) for key in ("dbname", "database", "db") if key in cparams]
    return names


def _remove_sqlite_file(path):
    for leftover_path in (path, path + "-journal", path + "-wal", path + "-shm"):
        try:
            os.remove(leftover_path)
        except OSError:
            pass


def _live_url(text):
    if not text:
        return None
    try:
        from sqlalchemy.engine import make_url

        url = make_url(text)
        url.get_dialect()
        return url
    except Exception:  # noqa: BLE001 - a DATABASE_URL SQLAlchemy cannot read names no database to protect
        return None


def _host_of(url):
    host = url.host or url.query.get("host") or url.query.get("unix_socket") or "localhost"
    if isinstance(host, (tuple, list)):
        host = host[0]
    return "localhost" if host in ("127.0.0.1", "::1") else host


def _port_of(url, family):
    return url.port or {"postgresql": 5432, "mysql": 3306}.get(family)


def refuse_same_database(shadow_url, live_url, what):
    """A shadow URL that names the real database is refused: fastkit never works in it."""
    family = family_of(shadow_url.get_dialect().name)
    if family_of(live_url.get_dialect().name) != family:
        return
    if (_host_of(shadow_url), _port_of(shadow_url, family), shadow_url.database) == (
        _host_of(live_url),
        _port_of(live_url, family),
        live_url.database,
    ):
        raise Failure(
            "usage",
            "The shadow URL names the database of %s (%s); fastkit never runs its checks there" % (what, live_url.database),
            "Point FASTKIT_SHADOW_URL at another database of that server (e.g. %s): fastkit creates its own shadow "
            "database beside it and drops it afterwards." % ("postgres" if family == "postgresql" else "mysql"),
        )


def _identity(dialect, cargs, cparams):
    """What names the database a connection is for (host, port, database, file), without its password."""
    keys = _url_keys(dialect)
    return (tuple(str(arg) for arg in cargs), tuple(sorted((k, str(v)) for k, v in cparams.items() if k in keys and "pass" not in k)))


_URL_KEYS = {}


def _url_keys(dialect):
    """The DBAPI arguments a dialect makes from a URL (user, host, database…): those a shadow replaces."""
    from sqlalchemy.engine import make_url

    name = "%s+%s" % (dialect.name, dialect.driver)
    if name not in _URL_KEYS:
        if dialect.name == "sqlite":
            probe = make_url("%s:///probe.db" % name)
        else:
            probe = make_url("%s://probe_user:probe_password@probe_host:1/probe_database" % name)
        _cargs, params = dialect.create_connect_args(probe)
        _URL_KEYS[name] = set(params) | {"host", "port", "user", "password", "database", "dbname", "db", "passwd",
                                         "unix_socket", "uri"}
    return _URL_KEYS[name]


def _sweep_sqlite_files():
    """Removes the SQLite shadows earlier runs on this machine left behind when they were killed."""
    now = datetime.datetime.utcnow()
    for path in glob.glob(os.path.join(tempfile.gettempdir(), PREFIX + "*.sqlite")):
        match = _FILE.match(os.path.basename(path))
        if not match:
            continue
        pid = int(match.group(1))
        started = datetime.datetime.strptime(match.group(2), "%Y%m%d%H%M%S")
        if pid != os.getpid() and (_owner_gone(pid, started) or now - started > _FOREIGN_AGE * 7):
            _remove_sqlite_file(path)
