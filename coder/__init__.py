"""icdcoder: codes discharge diagnoses with the rule base, and keeps the logs coders audit.

Importing this package imports nothing heavy: the engine is pure, the database layer lives in
coder.db and the command line in coder.cli.
"""

__version__ = "0.1.0"
