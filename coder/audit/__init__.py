"""The audit loop: the review queue and actions, the Excel worklist, feedback for rule authors,
reports, and rule changes judged against the audited history (ruletest)."""
