"""`icdcoder run --workers N`: N local processes sharing the work as shared workers (run.loop.run_coding
with shared=True); their counts are added up. Workers on other machines run `icdcoder run --shared`.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass, field

from sqlalchemy import Engine

from coder.errors import IcdCoderError, describe

from .loop import counts_line, skipped_line
from .writer import COUNT_KEYS


def _worker(url: str, kwargs: dict, out) -> None:
    from coder.db.connect import make_engine

    from .loop import run_coding

    engine = make_engine(url)
    try:
        out.put(("ok", run_coding(engine, shared=True, **kwargs).to_json()))
    except IcdCoderError as exc:
        out.put(("error", str(exc)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the command
        out.put(("error", describe(exc)))  # the driver's words, never the statement's values
    finally:
        engine.dispose()


@dataclass
class WorkersResult:
    runs: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def skipped_rules(self) -> dict[int, str]:
        return {int(k): v for r in self.runs for k, v in r.get("skipped_rules", {}).items()}

    def skipped_line(self) -> str | None:
        return skipped_line(self.skipped_rules)

    def totals(self) -> dict[str, int]:
        return {k: sum(r[k] for r in self.runs) for k in COUNT_KEYS}

    def to_json(self) -> dict:
        return {
            "run_id": None,
            "run_ids": [r["run_id"] for r in self.runs],
            **self.totals(),
            "seconds": round(self.seconds, 3),
        }

    def summary_line(self) -> str:
        ids = ", ".join(str(r["run_id"]) for r in self.runs)
        return f"{len(self.runs)} workers (runs {ids}): {counts_line(self.totals())} in {self.seconds:.1f}s"


def run_workers(engine: Engine, workers: int, **kwargs) -> WorkersResult:
    if workers < 1:
        raise IcdCoderError("--workers must be at least 1")
    if engine.dialect.name == "sqlite":
        raise IcdCoderError(
            "SQLite has no row locks, so one run codes at a time there: --workers needs "
            "PostgreSQL or Oracle (use icdcoder run without --workers)"
        )
    url = engine.url.render_as_string(hide_password=False)  # handed to children in memory, never argv
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    started = time.perf_counter()
    procs = [ctx.Process(target=_worker, args=(url, kwargs, out)) for _ in range(workers)]
    for p in procs:
        p.start()
    result, errors = WorkersResult(), []
    for _ in procs:
        status, payload = out.get()
        (result.runs if status == "ok" else errors).append(payload)
    for p in procs:
        p.join()
    result.seconds = time.perf_counter() - started
    result.runs.sort(key=lambda r: r["run_id"])
    if errors:
        raise IcdCoderError(f"{len(errors)} of {workers} workers failed: " + "; ".join(errors))
    return result
