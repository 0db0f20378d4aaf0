"""The events the helper reports to fastkit (Node): one JSON object a line, on its own channel.

Human output (Alembic's logs, prints from env.py and migrations) stays on stdout/stderr; these
events carry the facts. Every event is written here and nowhere else. Their shapes are described
for TypeScript in src/helper-protocol.ts; test/integration/helper-protocol.spec.ts runs the real
helper and checks each event it emits against those shapes, so the two cannot drift apart.

    step    a migration Alembic is about to run (upgrade) or undo (downgrade)
    graph   Alembic's view of the revision history, with the files it read
    shadow  a shadow database made, dropped, or swept (left behind by a killed run)
    result  the facts an action ends with (one per action, its fields per action)
    error   a failure: a stable code, one line, a hint, the traceback (shown with --verbose)
"""

import json
import os
import sys


class Failure(Exception):
    """A failure fastkit knows how to explain: a code, a one-line message and a hint."""

    def __init__(self, code, message, hint=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint


def open_sink(fd):
    """The channel events go to: the file descriptor fastkit opened for them, else stderr."""
    if fd:
        try:
            return os.fdopen(int(fd), "w", buffering=1, encoding="utf-8")
        except (OSError, ValueError):
            pass
    return sys.stderr


def revision_facts(revision):
    """A revision as events name it: its id, its message and its file."""
    return {"revision": revision.revision, "message": revision.doc, "path": str(revision.path)}


class Events:
    """Writes one request's events to its sink."""

    def __init__(self, sink):
        self._sink = sink

    def _emit(self, kind, fields):
        fields["type"] = kind
        self._sink.write(json.dumps(fields, default=str) + "\n")
        self._sink.flush()

    def step(self, step, dialect, transactional_ddl):
        """Alembic is about to run `step` (a RevisionStep). `dialect` and `transactional_ddl` say
        whether a failure half-way rolls the migration back (PostgreSQL, SQLite) or leaves it
        partly applied (MySQL, MariaDB: their DDL commits as it runs). Returns the step as the
        action's result lists it: {revision, message, path, from} or {..., to}."""
        facts = revision_facts(step.revision)
        # the ends Alembic itself logs: "Running upgrade <from> -> <to>"
        if step.is_upgrade:
            facts["from"] = list(step.from_revisions_no_deps)
        else:
            facts["to"] = list(step.to_revisions_no_deps)
        self._emit(
            "step",
            dict(
                facts,
                direction="upgrade" if step.is_upgrade else "downgrade",
                dialect=dialect,
                transactionalDdl=bool(transactional_ddl),
            ),
        )
        return facts

    def graph(self, graph):
        """Alembic's view of the history (AlembicProject.graph): {envPy, revisions, heads,
        locations, files}; nothing where it has none to give."""
        if graph is not None:
            self._emit("graph", dict(graph))

    def shadow(self, state, dialect, name):
        """A shadow database (shadow.py) was `made`, `dropped`, or `swept` (an earlier run's
        leftover, dropped); `name` is the database's name, or the SQLite file's path."""
        self._emit("shadow", {"state": state, "dialect": dialect, "name": name})

    def result(self, **fields):
        self._emit("result", fields)

    def error(self, code, message, hint=None, traceback=None):
        self._emit("error", {"code": code, "message": message, "hint": hint, "traceback": traceback})
