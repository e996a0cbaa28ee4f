"""The use cases, one function each: what the CLI calls and what the web workbench will call.

Each takes an Engine and plain values, opens the transaction it needs, and returns plain results
(dataclasses, dicts, lists). Nothing here parses options or prints: the CLI formats the results.
Modules: rules, normalization, dictionary, diagnoses, audit, run, demo.
"""
