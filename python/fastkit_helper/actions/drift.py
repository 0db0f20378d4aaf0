"""`fastkit migrate status --drift`: the live database's schema compared with the schema its
applied revision should have, which the migrations up to that revision make on a shadow
database (shadow.py). The live database is only read: env.py runs on it as for `alembic
current` (dont_mutate), and its schema is reflected in that run."""

import os

from ..alembic_project import AlembicProject, alembic_config
from ..protocol import revision_facts
from ..schema_snapshot import differences, snapshot
from ..shadow import ShadowDatabases


def drift(request, events):
    config = alembic_config(request, "current", [])
    project = AlembicProject(config)
    live = {}

    def read_live(rev, context):
        live["current"] = list(context.get_current_heads())
        live["dialect"] = context.dialect.name  # the dialect env.py connects with: its shadow has the same
        live["url"] = context.connection.engine.url
        live["schema"] = snapshot(context.connection, [_version_table(context)])
        return []

    project.run_env(read_live, dont_mutate=True)
    current = live.get("current", [])
    heads = project.heads()
    pending = [revision_facts(step.revision) for step in project.upgrade_steps("heads", tuple(current))]
    replay = project.upgrade_steps(tuple(current), ()) if current else []
    expected = {}

    def replay_on_shadow(rev, context):
        for step in replay:
            yield step
        expected["schema"] = snapshot(context.connection, [_version_table(context)])

    with ShadowDatabases(events, os.environ.get("FASTKIT_SHADOW_URL"), None) as shadows:
        shadows.refuse_live(live["url"], "the database env.py connects to")
        with shadows.pointed_at_shadow(config, live["dialect"]):
            project.run_env(replay_on_shadow, destination_rev="heads")
    found = [_drifted(difference) for difference in differences(expected["schema"], live["schema"])]
    events.graph(project.graph())
    events.result(
        current=current,
        heads=heads,
        pending=pending,
        upToDate=set(current) == set(heads),
        dialect=live["dialect"],
        drift=found,
    )


def _version_table(context):
    return context.opts.get("version_table") or "alembic_version"


def _drifted(difference):
    change, kind, name, expected, actual = difference
    if change == "extra":
        shown = " " + actual if actual else ""
        message = "%s %s%s is in the database, not in the migrations: added by hand?" % (kind, name, shown)
    elif change == "missing":
        shown = " " + expected if expected else ""
        message = "%s %s%s of the migrations is not in the database: removed by hand?" % (kind, name, shown)
    else:
        message = "%s %s is %s in the database, %s in the migrations: changed by hand?" % (kind, name, actual, expected)
    return {"change": change, "kind": kind, "name": name, "message": message}
