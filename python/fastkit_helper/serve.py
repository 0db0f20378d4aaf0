"""The helper as a server: Alembic and SQLAlchemy imported once, then a fork per request.

fastkit (Node, src/alembic-server.ts) starts `python fastkit_alembic.py serve` for the projects
of one interpreter during a batched Nx run (`nx run-many`). Requests come on stdin, one JSON
object a line:

    {"id": 7, "request": {...what FASTKIT_REQUEST holds...}, "cwd": "/abs/project", "env": {...}}

Each is performed by handle() in a fork of this process made after the imports, so it starts as
a lone `python fastkit_alembic.py` would, less the import time: the project's own modules
(`modules.invoices`), env.py's logging set-up and whatever else a request imports or changes
die with its fork and never meet the next project's. What the fork prints and reports comes
back on the frames channel (the file descriptor FASTKIT_FRAMES_FD), one JSON object a line,
tagged with the request's id:

    {"id": 7, "out": "a line it printed on stdout"}
    {"id": 7, "err": "a line on stderr"}
    {"id": 7, "event": "a line of its events (protocol.py), as the lone helper writes it"}
    {"id": 7, "exit": 0, "signal": null}        it is over: its exit code, or the signal that ended it

Ctrl-C, SIGTERM or SIGHUP is passed on to every running fork, which rolls back and ends as a
lone helper does (130, 143); requests that arrive after it are not started. At most
FASTKIT_FORKS requests run at once, the others wait in order. The server ends once
stdin has closed (fastkit has no more requests, or is gone) and every fork has ended. POSIX
only: without os.fork (Windows) fastkit starts a process per request instead.
"""

import configparser
import gc
import importlib
import json
import logging
import os
import selectors
import signal
import sys

from . import handle, preload, process, recording
from .protocol import open_sink

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
EXIT_CODES = {signal.SIGINT: process.EXIT_INTERRUPTED, signal.SIGTERM: process.EXIT_TERMINATED}
STREAMS = ("out", "err", "event")


def serve(environ):
    """The server's life: imports, then requests until stdin closes. Returns its exit code."""
    frames = int(environ["FASTKIT_FRAMES_FD"])
    try:
        server = _Server(frames, _forks(environ))
    except process.Terminated:  # fastkit was already gone
        return process.EXIT_TERMINATED
    try:
        preload()
        _import_for_every_project()
    except Exception:  # noqa: BLE001 - each request reports it (alembic-missing) as a lone helper would
        pass
    gc.freeze()  # what the forks share stays shared: the collector no longer writes to it
    return server.loop()


# What env.py and the projects' models import on top of Alembic, the same for every project:
# imported in each fork they cost more than the rest of a request (measured: a status request
# went from 0.64 s to 0.30 s of CPU without them). Only SQLAlchemy's own modules and the
# standard library's: a project's modules, or any package it could shadow, are never imported here.
FOR_EVERY_PROJECT = (
    "logging.config",  # env.py's fileConfig()
    "sqlalchemy.orm",  # the models' declarative Base
    "sqlalchemy.ext.declarative",
    "sqlalchemy.dialects.sqlite",  # the generated env.py's default database
    "sqlite3",
)

# Drivers whose import starts no thread and reads no setting a project could set differently
# (psycopg's PSYCOPG_IMPL is the reason psycopg is imported only where its variables are unset).
FORK_SAFE_DRIVERS = ("sqlite3", "psycopg", "psycopg2", "asyncpg", "pymysql", "aiosqlite", "pg8000", "MySQLdb")


def _import_for_every_project():
    with recording.preloading():
        for name in FOR_EVERY_PROJECT:
            _try_import(name)


def _try_import(name):
    """An import that may fail: then the fork that needs it fails the same way, and reports it."""
    try:
        importlib.import_module(name)
    except Exception:  # noqa: BLE001
        pass


class _Dialects:
    """The SQLAlchemy dialect (and its driver, where it is safe before a fork) of each database
    URL the requests name (DATABASE_URL, else the ini's sqlalchemy.url), imported here once
    instead of in every fork that connects to such a database."""

    def __init__(self):
        self.seen = set()

    def import_for(self, message):
        url = self._url(message)
        scheme = url.split("://", 1)[0] if "://" in url else ""
        if not scheme or scheme in self.seen:
            return
        self.seen.add(scheme)
        env = message.get("env") or {}
        try:
            from sqlalchemy.engine import make_url

            with recording.preloading():
                dialect = make_url(scheme + "://").get_dialect()
            import_dbapi = getattr(dialect, "import_dbapi", None) or getattr(dialect, "dbapi", None)  # SQLAlchemy 2, 1.4
            driver = _driver_module(dialect)
            settings = _driver_settings(driver, env) + _driver_settings(driver, os.environ)
            if callable(import_dbapi) and driver in FORK_SAFE_DRIVERS and not settings:
                with recording.preloading():
                    import_dbapi()
        except Exception:  # noqa: BLE001 - the fork that connects reports it as a lone helper would
            pass
        gc.freeze()

    @staticmethod
    def _url(message):
        env = message.get("env") or {}
        if env.get("DATABASE_URL"):
            return env["DATABASE_URL"]
        request = message.get("request") or {}
        try:
            ini = configparser.RawConfigParser()
            ini.read(request["config"], encoding="utf-8")
            return ini.get(request.get("name") or "alembic", "sqlalchemy.url", fallback="").strip()
        except Exception:  # noqa: BLE001 - not an ini (pyproject.toml), or none: nothing to import ahead
            return ""


def _driver_module(dialect):
    """The top-level module of a dialect's driver, as SQLAlchemy names it (pysqlite: sqlite3)."""
    driver = getattr(dialect, "driver", "") or ""
    return {"pysqlite": "sqlite3", "mysqldb": "MySQLdb"}.get(driver, driver)


def _driver_settings(driver, env):
    """Variables a driver reads when it is imported (PSYCOPG_IMPL...), set for this request."""
    prefix = driver.upper() + "_"
    return [name for name in env if name.startswith(prefix)]


class _Request:
    """A request running in its fork: the read ends of its three pipes, and what is left of a line."""

    def __init__(self, id, pid, pipes):
        self.id = id
        self.pid = pid
        self.pipes = pipes  # fd -> stream name
        self.partial = {fd: b"" for fd in pipes}
        self.status = None


def _forks(environ):
    """How many requests run at once: FASTKIT_FORKS (fastkit sets it to its CPUs), else this
    machine's. More wait in order, so fastkit can send the next request before one ends and no
    CPU idles between two."""
    try:
        return max(1, int(environ["FASTKIT_FORKS"]))
    except (KeyError, ValueError):
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class _Server:
    def __init__(self, frames, forks):
        self.frames = frames
        self.forks = forks
        self.waiting = []  # requests read, not yet started: at most `forks` run at once
        self.pid = os.getpid()
        self.selector = selectors.DefaultSelector()
        self.running = {}  # pid -> _Request
        self.signalled = None
        self.reading = True
        self.requests = b""
        self.dialects = _Dialects()
        wake_read, self.wake = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(self.wake, False)
        self.selector.register(wake_read, selectors.EVENT_READ, "wake")
        self.selector.register(0, selectors.EVENT_READ, "requests")
        process.prepare()  # parent death: SIGTERM, handled below
        signal.set_wakeup_fd(self.wake)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # wakes the loop (set_wakeup_fd)
        for signum in FORWARDED:
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum, frame):
        if os.getpid() != self.pid:  # a fork before it set its own handlers: behave as it will
            raise KeyboardInterrupt() if signum == signal.SIGINT else process.Terminated()
        self.signalled = self.signalled or signum
        for pid in list(self.running):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    def loop(self):
        while True:
            self._start_waiting()
            if not (self.reading or self.running):
                break
            try:
                ready = self.selector.select()
            except InterruptedError:
                ready = []
            for key, _ in ready:
                if key.data == "requests":
                    self._read_requests()
                elif key.data == "wake":
                    self._drain(key.fd)
                else:
                    self._read_output(key.data, key.fd)
            self._reap()
        if self.signalled:
            return EXIT_CODES.get(self.signalled, process.EXIT_TERMINATED)
        return 0

    # --- requests -------------------------------------------------------------------------

    def _read_requests(self):
        chunk = os.read(0, 65536)
        if not chunk:
            self.reading = False
            self.selector.unregister(0)
            lines, self.requests = [self.requests], b""
        else:
            lines = (self.requests + chunk).split(b"\n")
            self.requests = lines.pop()
        for line in lines:
            if line.strip():
                self.waiting.append(json.loads(line))

    def _start_waiting(self):
        """Starts what waits, in order, while fewer than `forks` run (all at once when interrupted: they end at once)."""
        while self.waiting and (len(self.running) < self.forks or self.signalled):
            self._start(self.waiting.pop(0))

    def _start(self, message):
        if self.signalled:  # interrupted: it is not started, and ends as if it had been at once
            self._frame({"id": message["id"], "exit": EXIT_CODES.get(self.signalled, process.EXIT_TERMINATED), "signal": None})
            return
        self.dialects.import_for(message)
        pipes = [os.pipe() for _ in STREAMS]
        sys.stdout.flush()
        sys.stderr.flush()
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED + (signal.SIGCHLD,))
        try:
            pid = os.fork()
            if pid == 0:
                self._child(message, pipes, blocked)  # never returns
            for read, write in pipes:
                os.close(write)
                os.set_blocking(read, False)
            request = _Request(message["id"], pid, {read: name for (read, _), name in zip(pipes, STREAMS)})
            self.running[pid] = request
            for fd in request.pipes:
                self.selector.register(fd, selectors.EVENT_READ, request)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def _child(self, message, pipes, blocked):
        """The fork: the request performed as a lone helper performs it, then gone."""
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGHUP, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            (out, _), (err, _), (events, _) = [(write, read) for read, write in pipes]
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(out, 1)
            os.dup2(err, 2)
            keep = {0, 1, 2, events}
            for fd in [devnull, self.frames, self.wake, out, err] + [fd for fd in self._server_fds()] + [
                fd for pair in pipes for fd in pair
            ]:
                if fd not in keep:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            self.selector = None
            del sys.argv[1:]  # env.py sees the argv of a lone helper, without `serve`
            process.prepare()  # SIGTERM -> Terminated, and the end of this fork if the server dies
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            code = handle(message["request"], open_sink(str(events)), message["cwd"], message["env"])
        except KeyboardInterrupt:
            code = process.EXIT_INTERRUPTED
        except process.Terminated:
            code = process.EXIT_TERMINATED
        finally:
            # What a lone helper's exit does that matters (logging's handlers flushed, stdio
            # flushed), then os._exit: the interpreter's full exit after a fork of a process that
            # imported Alembic costs ~10x the request itself (measured 0.73 s against 0.085 s).
            try:
                logging.shutdown()
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)

    def _server_fds(self):
        fds = []
        for key in list(self.selector.get_map().values()) if self.selector else []:
            fds.append(key.fd)
        try:
            fds.append(self.selector.fileno())
        except (AttributeError, ValueError, OSError):
            pass
        return fds

    # --- the forks' output, and their end -------------------------------------------------

    def _read_output(self, request, fd):
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        if chunk:
            self._lines(request, fd, chunk)
        else:
            self._close(request, fd)
            self._finish(request)

    def _lines(self, request, fd, chunk):
        lines = (request.partial[fd] + chunk).split(b"\n")
        request.partial[fd] = lines.pop()
        for line in lines:
            self._line(request, fd, line)

    def _line(self, request, fd, line):
        text = line.decode("utf-8", "replace")
        if text.endswith("\r"):
            text = text[:-1]
        self._frame({"id": request.id, request.pipes[fd]: text})

    def _close(self, request, fd):
        """Its end of a pipe: what is left of a line is a line, as at the end of any stream."""
        rest = request.partial.pop(fd, b"")
        if rest:
            self._line(request, fd, rest)
        self.selector.unregister(fd)
        os.close(fd)
        del request.pipes[fd]

    def _reap(self):
        while self.running:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            request = self.running.get(pid)
            if request is None:
                continue
            request.status = os.waitstatus_to_exitcode(status)
            # What it wrote before it ended is in its pipes: read it all. A process it left
            # behind may hold a pipe open; what is not there now is not waited for.
            for fd in list(request.pipes):
                while True:
                    try:
                        chunk = os.read(fd, 65536)
                    except BlockingIOError:
                        chunk = b""
                    if not chunk:
                        self._close(request, fd)
                        break
                    self._lines(request, fd, chunk)
            self._finish(request)

    def _finish(self, request):
        """Once it has ended and its pipes are read: its exit, the last frame of the request."""
        if request.status is None or request.pipes:
            return
        del self.running[request.pid]
        if request.status < 0:
            self._frame({"id": request.id, "exit": None, "signal": signal.Signals(-request.status).name})
        else:
            self._frame({"id": request.id, "exit": request.status, "signal": None})

    def _drain(self, fd):
        try:
            while os.read(fd, 4096):
                pass
        except BlockingIOError:
            pass

    def _frame(self, frame):
        data = (json.dumps(frame) + "\n").encode("utf-8")
        while data:
            try:
                written = os.write(self.frames, data)
            except InterruptedError:
                continue
            except BrokenPipeError:
                self._orphaned()
                return
            data = data[written:]

    def _orphaned(self):
        """fastkit is gone: nobody reads what the forks report. They end as on SIGTERM."""
        self.reading = False
        try:
            self.selector.unregister(0)
        except (KeyError, ValueError):
            pass
        self._on_signal(signal.SIGTERM, None)
        self.frames = os.open(os.devnull, os.O_WRONLY)
