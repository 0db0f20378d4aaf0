"""`alembic current`, with the heads and what `upgrade heads` would apply."""

from ..alembic_project import AlembicProject, alembic_config
from ..protocol import revision_facts


def status(request, events):
    project = AlembicProject(alembic_config(request, "current", []))
    state = {}

    def read_current(rev, context):
        state["current"] = list(context.get_current_heads())
        return []

    project.run_env(read_current, record=True, dont_mutate=True)
    current = state.get("current", [])
    heads = project.heads()
    pending = [revision_facts(step.revision) for step in project.upgrade_steps("heads", tuple(current))]
    events.result(current=current, heads=heads, pending=pending, upToDate=set(current) == set(heads))
    events.graph(project.graph())

