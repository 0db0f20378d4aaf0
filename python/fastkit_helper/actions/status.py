"""`alembic current`, with the heads and what `upgrade heads` would apply."""

from ..alembic_project import AlembicProject, alembic_config
from ..protocol import revision_facts


def status(request, events):
    project = AlembicProject(alembic_config(request, "current", []))
    # one entry per database env.py runs (the multidb template runs several, each with its own version table)
    currents = []

    def read_current(rev, context):
        currents.append(list(context.get_current_heads()))
        return []

    project.run_env(read_current, dont_mutate=True)
    currents = currents or [[]]
    current = _in_order(revision for revisions in currents for revision in revisions)
    heads = project.heads()
    pending = []
    for revisions in currents:
        for step in project.upgrade_steps("heads", tuple(revisions)):
            facts = revision_facts(step.revision)
            if facts not in pending:
                pending.append(facts)
    up_to_date = all(set(revisions) == set(heads) for revisions in currents)
    events.result(current=current, heads=heads, pending=pending, upToDate=up_to_date)
    events.graph(project.graph())



def _in_order(items):
    seen = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen
