"""The use cases, one function each: what the CLI calls and what the web workbench will call.

Each takes an Engine and plain values, opens the transaction it needs, and returns plain results
(dataclasses, dicts, lists). Nothing here parses options or prints: the CLI formats the results.
Modules: rules, normalization, dictionary, diagnoses, audit, run, demo.
"""


def planned_import(engine, plan, write, path, dry_run: bool):
    """An import as every importer does it: plan the whole file (ImportRejected names each problem),
    then write the plan in the same transaction unless it is a dry run; return the plan."""
    with engine.begin() as conn:
        result = plan(conn, path)
        if not dry_run:
            write(conn, result)
    return result
