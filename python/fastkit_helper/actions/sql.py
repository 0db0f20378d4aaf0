"""`alembic upgrade [FROM:]head --sql` into request["output"]: env.py's offline mode, no database."""

import os

from ..alembic_project import AlembicProject, alembic_config, stepper
from ..protocol import Failure

UNKNOWN_REVISION_HINT = "Give a revision id of this history (or a unique prefix of one)."


def sql(request, events):
    start = request.get("from") or None
    if start == "base":
        start = None
    revision = "%s:head" % start if start else "head"
    config = alembic_config(request, "upgrade", [revision, "--sql"])
    url = request.get("url")
    if url:
        _check_dialect_url(url, request.get("dialect"))
        # the stock env.py's offline mode reads sqlalchemy.url; fastkit's reads DATABASE_URL (set by fastkit)
        config.set_main_option("sqlalchemy.url", url)
    project = AlembicProject(config)
    heads = project.single_head()
    shown_start = _known_revision(project, start) if start else None
    state = {"dialect": None, "elsewhere": []}
    work, done = stepper(events, lambda rev: project.upgrade_steps("head", rev))

    def render(rev, context):
        state["dialect"] = context.dialect.name
        buffer = context.opts.get("output_buffer")
        if buffer is not None and buffer is not output:
            # env.py renders into a file of its own (the multidb template: one per database)
            state["elsewhere"].append(getattr(buffer, "name", None))
        return work(rev, context)

    with open(request["output"], "w", encoding="utf-8") as output:
        config.output_buffer = output
        project.run_env(render, as_sql=True, starting_rev=start, destination_rev="head")
        written = _gather(state["elsewhere"], output)
    wanted = _dialect_name(url) if url else None
    if wanted and state["dialect"] and state["dialect"] != wanted:
        raise Failure(
            "dialect-ignored",
            "env.py rendered the SQL for %s, not %s: its offline mode does not use DATABASE_URL or sqlalchemy.url"
            % (state["dialect"], wanted),
            "Make run_migrations_offline() in env.py take the URL from DATABASE_URL (as fastkit's env.py does) "
            "or from config.get_main_option(\"sqlalchemy.url\").",
        )
    events.result(dialect=state["dialect"], applied=done, heads=heads, start=shown_start, written=written)


def _gather(files, output):
    """The SQL env.py wrote into files of its own, copied into fastkit's output after a comment naming
    each (so the output file holds all of it, and Nx's cache can restore it); returns their paths."""
    written = []
    for name in [name for index, name in enumerate(files) if name not in files[:index]]:
        if not isinstance(name, str) or not os.path.isfile(name):
            raise Failure(
                "sql-elsewhere",
                "env.py rendered the SQL into an output buffer of its own that fastkit cannot read back",
                "Let run_migrations_offline() in env.py write to the default buffer (no output_buffer), or into named files.",
            )
        written.append(os.path.abspath(name))
        with open(name, encoding="utf-8") as handle:
            output.write("-- %s (written by env.py)\n" % os.path.basename(name))
            output.write(handle.read())
    return written


def _dialect_name(url):
    from sqlalchemy.engine import make_url

    return make_url(url).get_dialect().name


def _check_dialect_url(url, dialect):
    from sqlalchemy import exc as sa_exc

    try:
        _dialect_name(url)
    except (sa_exc.NoSuchModuleError, sa_exc.ArgumentError):
        raise Failure(
            "usage",
            "Unknown dialect %s" % (dialect or url),
            "Use one SQLAlchemy knows, e.g. postgresql, mysql, mariadb, sqlite, mssql or oracle.",
        )


def _known_revision(project, revision):
    from alembic.util import CommandError

    try:
        found = project.script.get_revisions(revision)
    except CommandError as error:
        raise Failure("unknown-revision", "--from %s: %s" % (revision, str(error).strip().splitlines()[0]), UNKNOWN_REVISION_HINT)
    if not found or found[0] is None:
        raise Failure("unknown-revision", "--from %s names no revision of this history" % revision, UNKNOWN_REVISION_HINT)
    return found[0].revision
