"""The coding run: alone under the run lock, as a shared worker, as N local workers, or watching for new lines."""

from coder.run.loop import ENGINES, RunResult, run_coding
from coder.run.sources import pending_count
from coder.run.watch import watch
from coder.run.workers import WorkersResult, run_workers
from coder.run.writer import COUNT_KEYS

__all__ = [
    "COUNT_KEYS",
    "ENGINES",
    "RunResult",
    "WorkersResult",
    "pending_count",
    "run_coding",
    "run_workers",
    "watch",
]
