"""`alembic current`, with the heads and what `upgrade heads` would apply; with checksums on,
the applied revisions whose file no longer matches what the database ran (checksum_table.py)."""

from ..alembic_project import AlembicProject, alembic_config
from ..checksum_table import compare_checksums
from ..protocol import revision_facts


def status(request, events):
    project = AlembicProject(alembic_config(request, "current", []))
    # one entry per database env.py runs (the multidb template runs several, each with its own version table)
    currents = []
    compared = []  # with --checksums: what each database's side table says of the files

    def read_current(rev, context):
        revisions = list(context.get_current_heads())
        currents.append(revisions)
        if request.get("checksums"):
            compared.append(compare_checksums(project, context, revisions))
        return []

    project.run_env(read_current, record=True, dont_mutate=True)
    currents = [project.current_heads(revisions) for revisions in currents] or [[]]
    current = _in_order(revision for revisions in currents for revision in revisions)
    heads = project.heads()
    pending = []
    for revisions in currents:
        for step in project.upgrade_steps("heads", tuple(revisions)):
            facts = revision_facts(step.revision)
            if facts not in pending:
                pending.append(facts)
    up_to_date = all(set(revisions) == set(heads) for revisions in currents)
    facts = dict(current=current, heads=heads, pending=pending, upToDate=up_to_date)
    if compared:
        facts["checksums"] = {
            "table": compared[0]["table"],
            "changed": [revision_facts(revision) for each in compared for revision in each["changed"]],
            "unrecorded": [revision.revision for each in compared for revision in each["unrecorded"]],
        }
    events.result(**facts)
    events.graph(project.graph())


def _in_order(items):
    seen = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen
