"""The two ways fastkit reads a PostgreSQL schema (python/fastkit_helper/schema_snapshot.py): one
query of the catalog, and SQLAlchemy's Inspector. Prints, as JSON, the keys each gives for a
schema with every kind of fact, and the differences each sees for one change of each kind.
Usage: python schema_snapshot_differential.py <url of an empty PostgreSQL database>"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
from sqlalchemy import create_engine
from fastkit_helper.schema_snapshot import postgresql_snapshot, inspected_snapshot, differences
DDL = [
 "CREATE TABLE clients (id serial PRIMARY KEY, email varchar(200) NOT NULL UNIQUE, name text, score numeric(5,2) CHECK (score >= 0), created_at timestamp DEFAULT now())",
 "CREATE TABLE invoices (id bigserial, client_id integer NOT NULL REFERENCES clients(id) ON DELETE CASCADE, number varchar(20), total numeric(10,2), CONSTRAINT pk_invoices PRIMARY KEY (id), CONSTRAINT uq_number UNIQUE (number, client_id))",
 "CREATE INDEX ix_invoices_total ON invoices (total)",
 "CREATE UNIQUE INDEX ix_clients_lower ON clients (lower(email))",
 "CREATE INDEX ix_partial ON invoices (client_id) WHERE total > 0",
]
CHANGES = {
 "column type": "ALTER TABLE clients ALTER COLUMN name TYPE varchar(50)",
 "nullability": "ALTER TABLE invoices ALTER COLUMN number SET NOT NULL",
 "extra column": "ALTER TABLE clients ADD COLUMN phone text",
 "dropped index": "DROP INDEX ix_invoices_total",
 "index columns": "DROP INDEX ix_invoices_total; CREATE INDEX ix_invoices_total ON invoices (total, number)",
 "unique dropped": "ALTER TABLE invoices DROP CONSTRAINT uq_number",
 "fk dropped": "ALTER TABLE invoices DROP CONSTRAINT invoices_client_id_fkey",
 "check dropped": "ALTER TABLE clients DROP CONSTRAINT clients_score_check",
 "table added": "CREATE TABLE notes (id int)",
}
url = sys.argv[1]
engine = create_engine(url)
out = {}
with engine.connect() as c:
    for sql in DDL: c.exec_driver_sql(sql)
    before_pg, before_in = postgresql_snapshot(c), inspected_snapshot(c)
    out["keys"] = [{t: sorted(map(list, v)) for t, v in s.items()} for s in (before_pg, before_in)]
    out["changes"] = {}
    for name, sql in CHANGES.items():
        t = c.begin_nested()
        for stmt in sql.split("; "): c.exec_driver_sql(stmt)
        after_pg, after_in = postgresql_snapshot(c), inspected_snapshot(c)
        t.rollback()
        out["changes"][name] = [sorted(["%s %s %s" % d[:3] for d in differences(before_pg, after_pg)]), sorted(["%s %s %s" % d[:3] for d in differences(before_in, after_in)])]
print(json.dumps(out))
