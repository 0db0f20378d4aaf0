"""`alembic current`, with the heads and what `upgrade heads` would apply; with checksums on,
the applied revisions whose file no longer matches what the database ran (checksum_table.py)."""

from ..alembic_project import AlembicProject, alembic_config
from ..checksum_table import compare_checksums
from ..protocol import revision_facts


def status(request, events):
    project = AlembicProject(alembic_config(request, "current", []))
    state = {}

    def read_current(rev, context):
        state["current"] = list(context.get_current_heads())
        if request.get("checksums"):
            state["checksums"] = compare_checksums(project, context, state["current"])
        return []

    project.run_env(read_current, dont_mutate=True)
    current = state.get("current", [])
    heads = project.heads()
    pending = [revision_facts(step.revision) for step in project.upgrade_steps("heads", tuple(current))]
    facts = dict(current=current, heads=heads, pending=pending, upToDate=set(current) == set(heads))
    if "checksums" in state:
        compared = state["checksums"]
        facts["checksums"] = {
            "table": compared["table"],
            "changed": [revision_facts(revision) for revision in compared["changed"]],
            "unrecorded": [revision.revision for revision in compared["unrecorded"]],
        }
    events.result(**facts)
    events.graph(project.graph())
