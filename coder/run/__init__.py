"""The coding run, by job: the lock (lock), where batches come from (sources), what a batch writes
(writer), the loop (loop), the in-database engine (sqlmatch), local shared workers (workers)."""
