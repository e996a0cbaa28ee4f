"""PostgreSQL's wake-up call for `icdcoder watch`: a NOTIFY on one channel whenever lines may wait.

Statement-level triggers on diagnosis (AFTER INSERT; AFTER UPDATE OF status, description) send one
notification per statement, not per row, delivered when the statement's transaction commits. watch
LISTENs on CHANNEL and, woken, checks cheaply whether a line waits; a notification that wakes it
for nothing (a run's own status updates, a person's audit action) costs that check only.

Migration 0007 installed the same function and triggers with its own frozen copy of this text
(a revision that has shipped is history); sql/postgresql/schema.sql gets it from here
(coder.db.ddl). Changing it here means a new migration as well.
"""

from __future__ import annotations

CHANNEL = "icdcoder_pending"

NOTIFY_FUNCTION = f"""CREATE OR REPLACE FUNCTION icdcoder_notify_pending() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql"""

NOTIFY_TRIGGERS = (
    "CREATE TRIGGER diagnosis_pending_insert AFTER INSERT ON diagnosis "
    "FOR EACH STATEMENT EXECUTE FUNCTION icdcoder_notify_pending()",
    "CREATE TRIGGER diagnosis_pending_update AFTER UPDATE OF status, description ON diagnosis "
    "FOR EACH STATEMENT EXECUTE FUNCTION icdcoder_notify_pending()",
)
