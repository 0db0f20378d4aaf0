"""The database's record of what it ran (checksums on): the checksum of each applied revision's
file, in a table next to Alembic's version table (same schema, `<version_table>_checksums`).

`run` records a revision in the same transaction as its migration (Alembic's on_version_apply
hook runs inside it, also with transaction_per_migration) and `rollback` removes it, so the
record holds exactly the applied revisions wherever the database's DDL is transactional. On
MySQL and MariaDB, whose DDL commits as it runs, it is written right after each migration.
`status` compares it with the files.
"""

from .checksum_file import file_checksum, recorded_checksum


def table_name(context):
    return "%s_checksums" % context.version_table


class ChecksumTable:
    """The side table of one MigrationContext (the connection env.py opened)."""

    def __init__(self, context):
        from sqlalchemy import Column, MetaData, String, Table

        self.name = table_name(context)
        self.connection = context.connection
        self.table = Table(
            self.name,
            MetaData(),
            Column("version_num", String(32), primary_key=True),
            Column("checksum", String(64), nullable=False),
            schema=context.version_table_schema,
        )

    def exists(self):
        from sqlalchemy import inspect

        return inspect(self.connection).has_table(self.table.name, schema=self.table.schema)

    def create(self):
        self.table.create(self.connection)

    def recorded(self):
        """{revision: checksum} of every revision recorded."""
        rows = self.connection.execute(self.table.select())
        return {row[0]: row[1] for row in rows}

    def record(self, revision, checksum):
        self.forget(revision)
        self.connection.execute(self.table.insert().values(version_num=revision, checksum=checksum))

    def forget(self, revision):
        self.connection.execute(self.table.delete().where(self.table.c.version_num == revision))


def recording_checksums(project, work, state):
    """`run` with checksums: the work function `work`, with each migration's checksum recorded as
    Alembic applies it (or removed as it undoes it). The first time (no table yet), and whenever
    applied revisions have no record, their checksums are filled in: from the checksum file
    where it has them (what they were when made), else from the files as they are now. What was
    filled in is kept in state["backfilled"]."""

    def with_checksums(current, context):
        table = ChecksumTable(context)
        state["table"] = table.name
        state["backfilled"] = []
        # In a transaction as Alembic gives each migration one (MigrationContext.run_migrations):
        # inside env.py's where the DDL is transactional, else its own, committed at the end of
        # the block, also when no migration follows (SQLite, MySQL).
        with context.begin_transaction(_per_migration=True):
            if not table.exists():
                table.create()
            recorded = table.recorded()
            for revision in project.applied_revisions(current):
                if revision.revision not in recorded:
                    checksum = recorded_checksum(project, revision.path) or file_checksum(revision.path)
                    table.record(revision.revision, checksum)
                    state["backfilled"].append(revision.revision)

        def on_version_apply(ctx, step, heads, run_args):
            if step.is_stamp:
                return
            for revision in step.up_revision_ids:
                if step.is_upgrade:
                    table.record(revision, file_checksum(project.script.get_revision(revision).path))
                else:
                    table.forget(revision)

        # Alembic calls these inside each migration's transaction (MigrationContext.run_migrations)
        context.on_version_apply_callbacks = tuple(context.on_version_apply_callbacks) + (on_version_apply,)
        for step in work(current, context):
            yield step

    return with_checksums


def forgetting_checksums(project, work, state):
    """`rollback` with checksums: each revision undone leaves the record (where there is one)."""

    def with_checksums(current, context):
        table = ChecksumTable(context)
        state["table"] = table.name
        if table.exists():

            def on_version_apply(ctx, step, heads, run_args):
                if not step.is_upgrade and not step.is_stamp:
                    for revision in step.up_revision_ids:
                        table.forget(revision)

            context.on_version_apply_callbacks = tuple(context.on_version_apply_callbacks) + (on_version_apply,)
        for step in work(current, context):
            yield step

    return with_checksums


def compare_checksums(project, context, current):
    """status with checksums: the applied revisions whose file no longer matches what the
    database ran, and those it has no record of (applied without checksums on)."""
    table = ChecksumTable(context)
    recorded = table.recorded() if table.exists() else {}
    changed, unrecorded = [], []
    for revision in project.applied_revisions(current):
        if revision.revision not in recorded:
            unrecorded.append(revision)
        elif recorded[revision.revision] != file_checksum(revision.path):
            changed.append(revision)
    return {"table": table.name, "changed": changed, "unrecorded": unrecorded}
