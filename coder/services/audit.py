"""The coders' side: the review queue, the three actions, the Excel worklist, feedback and reports."""

from __future__ import annotations

from sqlalchemy import Engine

from coder.audit.actions import ACTIONS, Outcome, apply_action, queue, queue_row
from coder.audit.feedback import feedback, write_feedback_xlsx
from coder.audit.report import GROUPINGS, report, write_report_xlsx
from coder.audit.worklist import export_worklist, import_worklist

__all__ = [
    "ACTIONS",
    "GROUPINGS",
    "act",
    "export_worklist",
    "feedback",
    "import_worklist",
    "queue",
    "queue_row",
    "report",
    "write_feedback_xlsx",
    "write_report_xlsx",
]


def act(
    engine: Engine, d_id: int, action: str, person: str, code: str | None = None, remark: str | None = None
) -> Outcome:
    """Confirm, correct or code one diagnosis; the person's code is final."""
    with engine.begin() as conn:
        return apply_action(conn, d_id, action, person, code, remark)
