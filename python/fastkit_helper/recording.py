"""What env.py used, and what it read to get there: the record fastkit's fast path
(src/fast-path.ts) relies on to answer `status` without Python.

While env.py runs (status, run, rollback), a Recording notes:

    database  the connection Alembic's MigrationContext used: dialect and driver, the URL as the
              engine saw it, the exact DBAPI connect arguments (SQLAlchemy's do_connect event),
              what libpq made of them (PostgreSQL), the version table and its schema. Secrets
              (passwords, tokens) are kept only as salted hashes.
    env       the names of the environment variables env.py and everything it imported read
              (os.environ is watched); `wholeEnv` when it went through all of them. fastkit
              (Node) knows the values it passed in, and keeps their hashes.
    files     every file opened for reading and every module file imported (sys.modules): a
              salted hash of the content, or (mtime, size) for the interpreter's own files
    paths     every path looked up with os.stat and friends, and what it was (missing, file...)
    listings  every folder listed (the import system lists sys.path folders) and the names in it,
              but for Python's own __pycache__
    usable    false when env.py did what fastkit cannot replay without Python (started a
              process, used the network, connected without connect arguments...), and why

Only reads through Python are seen: a C library's own reads (libpq's environment variables and
service file) are not, so fastkit (Node) keys its record on those variables itself.
"""

import hashlib
import os
import stat as stat_module
import sys
import threading
from contextlib import contextmanager

RECORD_VERSION = 1

# Audit events after which the answer depends on something outside the record.
NOT_REPLAYABLE = {
    "subprocess.Popen": "started a process",
    "os.system": "started a process",
    "os.exec": "started a process",
    "os.posix_spawn": "started a process",
    "os.spawn": "started a process",
    "os.fork": "forked the process",
    "os.forkpty": "forked the process",
    "socket.connect": "used the network",
    "socket.getaddrinfo": "used the network",
    "socket.gethostbyname": "used the network",
    "socket.gethostbyaddr": "used the network",
    "socket.gethostname": "asked for the host name",
    "socket.sendto": "used the network",
    "urllib.Request": "used the network",
    "http.client.connect": "used the network",
}

SECRET_WORDS = ("password", "passwd", "pwd", "secret", "token")

_active = None  # the Recording under way in this process, if any
_preloaded = []  # what a batch server imported ahead for its forks (preloading): each record holds it too
_hook_installed = False
_local = threading.local()


class Recording:
    """One request's record. `start_env` is the environment fastkit passed in."""

    def __init__(self, start_env):
        self.salt = os.urandom(16).hex()
        self.start_env = dict(start_env)
        self.env_names = set()
        self.whole_env = False
        self.files = {}
        self.paths = {}
        self.listings = {}
        self.why_not = None
        self.database = None
        self._connecting = {}  # id(connection record) -> (dialect, args, kwargs, foreign listeners)
        self._connected = {}  # id(DBAPI connection) -> (dialect, args, kwargs, foreign listeners)
        self._prefixes = _interpreter_prefixes()

    # --- what env.py did ------------------------------------------------------------------

    def not_replayable(self, why):
        if self.why_not is None:
            self.why_not = why

    def read_env(self, key):
        if isinstance(key, bytes):
            key = os.fsdecode(key)
        if isinstance(key, str):
            self.env_names.add(key)

    def read_whole_env(self):
        self.whole_env = True

    def opened(self, path):
        path = _absolute(path)
        if path is None or path in self.files or _is_bytecode(path):
            return
        self.files[path] = self._fingerprint(path)

    def looked_up(self, path, follow, kind):
        path = _absolute(path)
        if path is not None:
            self.paths.setdefault((path, follow), kind)

    def listed(self, path):
        path = _absolute("." if path in (None, "", b"") else path)
        if path is None or path in self.listings:
            return
        try:
            names = os.listdir(path)
        except OSError:
            self.listings[path] = None
            return
        self.listings[path] = sorted((name for name in names if name != "__pycache__"), key=os.fsencode)

    def replay(self, earlier):
        """What `earlier` read (a batch server importing ahead of this request), read again
        for this record, as if env.py had imported those modules itself."""
        for path in earlier.files:
            self.opened(path)
        for path, follow in earlier.paths:
            self.looked_up(path, follow, _kind(path, follow))
        for path in earlier.listings:
            self.listed(path)
        self.env_names |= earlier.env_names
        self.whole_env = self.whole_env or earlier.whole_env
        if earlier.why_not:
            self.not_replayable(earlier.why_not)

    # --- the database ---------------------------------------------------------------------

    def connecting(self, dialect, connection_record, cargs, cparams):
        """SQLAlchemy's do_connect: the arguments as SQLAlchemy made them, before any other
        listener (fastkit's SQLite guard among them) changes them."""
        foreign = [fn for fn in dialect.dispatch.do_connect if fn not in OUR_CONNECT_LISTENERS]
        self._connecting[id(connection_record)] = (dialect, list(cargs), dict(cparams), bool(foreign))
        if dialect.driver in LIBPQ_DRIVERS:
            changed = sorted(name for name in set(os.environ) | set(self.start_env)
                             if name.startswith("PG") and os.environ.get(name) != self.start_env.get(name))
            if changed:
                self.not_replayable("set %s inside Python, which libpq reads" % ", ".join(changed))
        if dialect.name == "sqlite" and cargs and isinstance(cargs[0], str):
            # the file itself, even where fastkit's guard reads an empty in-memory database instead
            filename = connection_record.info.get(SQLITE_FILE_KEY, cargs[0])
            self._connecting[id(connection_record)][1][0] = _sqlite_file(filename, cparams)

    def connected(self, dbapi_connection, connection_record):
        """The pool made a connection: the arguments of do_connect belong to it."""
        made = self._connecting.pop(id(connection_record), None)
        self._connected[id(dbapi_connection)] = made

    def migration_context(self, context):
        """The MigrationContext env.py configured: the database and version table Alembic uses."""
        if context.as_sql or context.connection is None:
            return
        connection = context.connection
        dbapi_connection = connection.connection.dbapi_connection
        made = self._connected.get(id(dbapi_connection))
        url = connection.engine.url
        database = {
            "dialect": context.dialect.name,
            "driver": context.dialect.driver,
            "url": {
                "drivername": url.drivername,
                "username": url.username,
                "password": self.hash_text(url.password) if url.password is not None else None,
                "host": url.host,
                "port": url.port,
                "database": url.database,
                "query": {key: self._secret_safe(key, value) for key, value in url.query.items()},
            },
            "versionTable": context.version_table,
            "versionTableSchema": context.version_table_schema,
        }
        if made is None:
            self.not_replayable("connected without SQLAlchemy's connect arguments (a creator function or a connection from elsewhere)")
        else:
            dialect, cargs, cparams, foreign = made
            if foreign:
                self.not_replayable("has its own do_connect listener, which may change how it connects")
            database["connect"] = {
                "args": [self._secret_safe("", value) for value in cargs],
                "kwargs": {key: self._secret_safe(key, value) for key, value in cparams.items()},
            }
            if context.dialect.driver in LIBPQ_DRIVERS:
                database["server"] = _libpq_session(dbapi_connection)
        if self.database is not None and self.database != database:
            self.not_replayable("configured Alembic on more than one database")
        self.database = database

    # --- the record -----------------------------------------------------------------------

    def record(self):
        for module in list(sys.modules.values()):
            path = getattr(module, "__file__", None)
            if isinstance(path, str) and not getattr(module, "__name__", "").startswith(OWN_PACKAGE):
                self.opened(path)
        self.opened(sys.executable)
        self.opened(os.path.join(sys.prefix, "pyvenv.cfg"))
        for entry in sys.path:
            self.looked_up(entry or ".", True, _kind(entry or ".", True))
        for folder in _site_folders():
            self.listed(folder)
        for path in _pth_files():
            self.opened(path)
        self._forget_database_files()
        usable = self.why_not is None and self.database is not None
        return {
            "version": RECORD_VERSION,
            "usable": usable,
            "why": None if usable else (self.why_not or "env.py connected to no database"),
            "salt": self.salt,
            "database": self.database,
            "env": sorted(self.env_names),
            "wholeEnv": self.whole_env,
            "files": self.files,
            "paths": [[path, follow, kind] for (path, follow), kind in sorted(self.paths.items())],
            "listings": self.listings,
        }

    def _forget_database_files(self):
        """The SQLite file is the database the record names, not an input of the choice."""
        connect = (self.database or {}).get("connect") or {}
        if (self.database or {}).get("dialect") != "sqlite" or not connect.get("args"):
            return
        file = connect["args"][0]
        if not isinstance(file, str):
            return
        own = (file, file + "-journal", file + "-wal", file + "-shm")
        for path in own:
            self.files.pop(path, None)
            for follow in (True, False):
                self.paths.pop((path, follow), None)
        names = self.listings.get(os.path.dirname(file))
        if names is not None:  # it appears with the first run: not a file env.py may import
            names[:] = [name for name in names if os.path.join(os.path.dirname(file), name) not in own]

    # --- hashing --------------------------------------------------------------------------

    def hash(self, content):
        return hashlib.sha256(self.salt.encode() + b"\0" + content).hexdigest()

    def hash_text(self, text):
        return {"sha256": self.hash(str(text).encode("utf-8", "surrogateescape"))}

    def _secret_safe(self, key, value):
        if value is None or isinstance(value, (bool, int, float)):
            return value
        if isinstance(value, str):
            return self.hash_text(value) if any(word in key.lower() for word in SECRET_WORDS) else value
        if isinstance(value, (list, tuple)):
            return [self._secret_safe(key, item) for item in value]
        return {"object": type(value).__name__}

    def _fingerprint(self, path):
        """What a file was when it was read: the interpreter's own files by (mtime, size), others
        by a hash of their content."""
        try:
            info = os.stat(path)
            if not stat_module.S_ISREG(info.st_mode):
                return {"kind": _kind_of(info)}
            if path.startswith(self._prefixes):
                return {"mtime": str(info.st_mtime_ns), "size": info.st_size}
            with open(path, "rb") as handle:
                return {"sha256": self.hash(handle.read())}
        except OSError:
            return {"kind": "missing"}


# --- fastkit's listeners and hooks -------------------------------------------------------------

LIBPQ_DRIVERS = ("psycopg", "psycopg2", "psycopg_async", "psycopg2cffi")
OWN_PACKAGE = "_fastkit_helper"
# where fastkit's SQLite guard (sqlite_guards.py) keeps the file it kept sqlite3 from creating
SQLITE_FILE_KEY = "fastkit_sqlite_file"


def _on_do_connect(dialect, connection_record, cargs, cparams):
    recording = _active
    if recording is not None:
        with _own_work():
            recording.connecting(dialect, connection_record, cargs, cparams)


def _on_pool_connect(dbapi_connection, connection_record):
    recording = _active
    if recording is not None:
        recording.connected(dbapi_connection, connection_record)


OUR_CONNECT_LISTENERS = [_on_do_connect]


def our_connect_listener(fn):
    """fastkit's own do_connect listeners (sqlite_guards) are not env.py's."""
    OUR_CONNECT_LISTENERS.append(fn)
    return fn


def _audit(event, args):
    recording = _active
    if recording is None or getattr(_local, "busy", False):
        return
    if event == "open":
        path, mode, flags = (tuple(args) + (None, None, None))[:3]
        if isinstance(path, int) or not _reads(mode, flags):
            return
        with _own_work():
            recording.opened(path)
    elif event in ("os.listdir", "os.scandir"):
        path = args[0] if args else None
        if not isinstance(path, int):
            with _own_work():
                recording.listed(path)
    elif event in NOT_REPLAYABLE:
        if event in DRIVER_NETWORK_EVENTS and _in_libpq_driver_connect():
            return
        recording.not_replayable("%s (%s)" % (NOT_REPLAYABLE[event], event))


# What a libpq driver does on the network while SQLAlchemy's dialect connects (psycopg 3 looks the
# host name up in Python before libpq connects): the fast path opens its own session to the same
# host, which it looks up itself, with the arguments recorded at do_connect.
DRIVER_NETWORK_EVENTS = {"socket.getaddrinfo", "socket.gethostbyname", "socket.connect"}


def _in_libpq_driver_connect():
    """Whether the running code was called by SQLAlchemy's DefaultDialect.connect of a libpq
    driver: the DBAPI's connect itself, after every do_connect listener has run (an env.py that
    has its own listener is not replayable anyway) and before any pool listener."""
    import traceback

    for frame, _ in traceback.walk_stack(None):
        code = frame.f_code
        if code.co_name == "connect" and code.co_filename.replace("\\", "/").endswith("/sqlalchemy/engine/default.py"):
            dialect = frame.f_locals.get("self")
            return getattr(dialect, "driver", None) in LIBPQ_DRIVERS
    return False


@contextmanager
def _own_work():
    _local.busy = True
    try:
        yield
    finally:
        _local.busy = False


def _reads(mode, flags):
    if isinstance(mode, str) and mode:
        return "r" in mode or "+" in mode
    if isinstance(flags, int):
        return flags & os.O_ACCMODE != os.O_WRONLY
    return True


@contextmanager
def recording(start_env):
    """Records what env.py reads while the block runs; yields the Recording. The watch on
    os.environ and os.stat is taken off again when the block ends; the audit hook stays (Python
    cannot remove one) and does nothing outside a recording."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    current = Recording(start_env)
    for earlier in _preloaded:
        current.replay(earlier)
    listeners = [(Engine, "do_connect", _on_do_connect), (Pool, "connect", _on_pool_connect)]
    for target, name, fn in listeners:
        event.listen(target, name, fn)
    try:
        with _recording_into(current):
            yield current
    finally:
        for target, name, fn in listeners:
            if event.contains(target, name, fn):
                event.remove(target, name, fn)


@contextmanager
def preloading():
    """Records what the block imports ahead of the requests (a batch server, before it forks),
    so that every later record holds it too: a fork's record is then the one the request would
    have made alone."""
    current = Recording({})
    _preloaded.append(current)  # even when an import fails part-way: what it read is read again by each fork
    with _recording_into(current):
        yield current


@contextmanager
def _recording_into(current):
    """While the block runs, the audit hook and the watches on os.environ and os.stat note into `current`."""
    global _active, _hook_installed
    import importlib

    if not _hook_installed:
        sys.addaudithook(_audit)
        _hook_installed = True
    # the import system lists each folder again on its next lookup, so the listings are seen
    importlib.invalidate_caches()
    _active = current
    try:
        with _watching_environ(), _watching_lookups():
            yield
    finally:
        _active = None


@contextmanager
def _watching_environ():
    """os.environ (and os.environb) note each name read, and a read of all of them."""
    environ_class = type(os.environ)
    saved = {name: environ_class.__dict__[name] for name in ("__getitem__", "__iter__", "__len__", "__repr__")}

    def getitem(self, key):
        recording = _active
        if recording is not None and not getattr(_local, "busy", False):
            recording.read_env(key)
        return saved["__getitem__"](self, key)

    def whole(name):
        def read_all(self, *args):
            recording = _active
            if recording is not None and not getattr(_local, "busy", False):
                recording.read_whole_env()
            return saved[name](self, *args)

        return read_all

    environ_class.__getitem__ = getitem
    for name in ("__iter__", "__len__", "__repr__"):
        setattr(environ_class, name, whole(name))
    try:
        yield
    finally:
        for name, fn in saved.items():
            setattr(environ_class, name, fn)


@contextmanager
def _watching_lookups():
    """os.stat, os.lstat and os.access (and so os.path.exists, isfile, pathlib's is_file...)
    note each path looked up and what it was."""
    saved = {"stat": os.stat, "lstat": os.lstat, "access": os.access}

    def watched(name, follow_default):
        original = saved[name]

        def lookup(path, *args, **kwargs):
            recording = _active
            if recording is None or getattr(_local, "busy", False) or isinstance(path, int) or kwargs.get("dir_fd") is not None:
                return original(path, *args, **kwargs)
            follow = kwargs.get("follow_symlinks", follow_default)
            try:
                result = original(path, *args, **kwargs)
            except FileNotFoundError:
                recording.looked_up(path, follow, "missing")
                raise
            except NotADirectoryError:
                recording.looked_up(path, follow, "missing")
                raise
            except OSError:
                recording.looked_up(path, follow, "unreadable")
                raise
            with _own_work():
                recording.looked_up(path, follow, _kind(path, follow))
            return result

        lookup.__wrapped__ = original
        return lookup

    os.stat = watched("stat", True)
    os.lstat = watched("lstat", False)
    os.access = watched("access", True)
    try:
        yield
    finally:
        os.stat, os.lstat, os.access = saved["stat"], saved["lstat"], saved["access"]


# --- small pieces ------------------------------------------------------------------------------


def _absolute(path):
    try:
        path = os.fsdecode(os.fspath(path))
    except TypeError:
        return None
    return os.path.normpath(os.path.join(os.getcwd(), path))


def _is_bytecode(path):
    return path.endswith((".pyc", ".pyo")) and os.sep + "__pycache__" + os.sep in path


def _kind(path, follow):
    try:
        info = os.stat(path) if follow else os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    except OSError:
        return "unreadable"
    return _kind_of(info)


def _kind_of(info):
    if stat_module.S_ISREG(info.st_mode):
        return "file"
    if stat_module.S_ISDIR(info.st_mode):
        return "dir"
    if stat_module.S_ISLNK(info.st_mode):
        return "link"
    return "other"


def _sqlite_file(filename, cparams):
    """The file a pysqlite connection opens: absolute, as sqlite3 resolves it from the current
    folder; a URI filename or :memory: stays as it is (fastkit declines those)."""
    if cparams.get("uri") or filename in ("", ":memory:"):
        return filename
    return os.path.abspath(filename)


def _libpq_session(dbapi_connection):
    """What libpq made of the connect arguments (with its environment variables and defaults),
    and what the server says the session is: the fast path connects to exactly this and checks
    that the server says the same."""
    info = dbapi_connection.info
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT current_setting('search_path'), current_user, current_database()")
        search_path, user, database = cursor.fetchone()
    finally:
        cursor.close()
    return {
        "host": info.host,
        "port": int(info.port),
        "dbname": info.dbname,
        "user": info.user,
        "searchPath": search_path,
        "currentUser": user,
        "currentDatabase": database,
    }


def _interpreter_prefixes():
    prefixes = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}
    return tuple(os.path.join(os.path.abspath(prefix), "") for prefix in prefixes if prefix)


def _site_folders():
    import site

    folders = list(getattr(site, "getsitepackages", lambda: [])())
    user = getattr(site, "ENABLE_USER_SITE", False) and site.getusersitepackages()
    if user:
        folders.append(user)
    return [folder for folder in folders if os.path.isdir(folder)]


def _pth_files():
    """The .pth files of the site folders: they decide sys.path before anything runs."""
    found = []
    for folder in _site_folders():
        try:
            found += [os.path.join(folder, name) for name in os.listdir(folder) if name.endswith(".pth")]
        except OSError:
            pass
    return found
