"""Work spread over forked worker processes, for the stages that are per package.

``fork_map(n, work)`` runs ``work`` over the indexes ``0..n-1`` in this process and
``jobs() - 1`` forked workers (a fork shares everything loaded so far, so nothing is sent
but indexes).  The indexes are cut into small runs that each process takes, one at a
time, from a shared counter, so a slower process simply takes fewer runs and all finish
at about the same moment.  A worker's results come back through its future (the
executor's own channel, which turns a failed or killed worker into an error here rather
than a hang), and this process applies ``finish`` to them.

``work(indexes, in_worker)`` returns one result per index; a worker's results come back
through pickle, so a worker should return cheap plain data (bytes, lists) and let
``finish`` turn it back into objects here.  ``worker_done`` runs in each worker after its
last run.  Below ``MIN_ITEMS``, with one job, or off Linux (fork is the cheap, safe
start method only there) everything runs in this process.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

MIN_ITEMS = 64  # fewer items than this are not worth a fork
RUNS_PER_JOB = 24  # runs small enough that the last one barely delays the others

_work: Callable[[list[int], bool], list[Any]] | None = None
_worker_done: Callable[[], None] | None = None
_runs: list[list[int]] = []
_next: Any = None  # the shared counter: the number of the next run to take
# threads to finish before forking (a fork copies no thread, but does copy any lock one
# of them holds, in hashlib or the I/O layer)
_threads: list[Any] = []


def before_fork(thread: Any) -> None:
    """Have ``fork_map`` wait for ``thread`` before it forks."""
    _threads[:] = [t for t in _threads if t.is_alive()]
    _threads.append(thread)


def jobs() -> int:
    env = os.environ.get("SCHEMACTL_JOBS")
    if env and env.isdigit():
        return max(1, int(env))
    if sys.platform != "linux":
        return 1
    return min(4, len(os.sched_getaffinity(0)))


def runs(n: int, jobs: int) -> list[list[int]]:
    """Indexes 0..n-1 cut into consecutive runs, about ``RUNS_PER_JOB`` per process."""
    size = max(1, -(-n // (max(1, jobs) * RUNS_PER_JOB)))
    return [list(range(s, min(n, s + size))) for s in range(0, n, size)]


def _take() -> int | None:
    """The number of the next run nobody has taken, or None when all are taken."""
    with _next.get_lock():
        r: int = _next.value
        _next.value = r + 1
    return r if r < len(_runs) else None


def _run_worker() -> list[tuple[int, list[Any]]]:
    assert _work is not None
    done = []
    while (r := _take()) is not None:
        done.append((r, _work(_runs[r], True)))
    if _worker_done is not None:
        _worker_done()
    return done


def fork_map(
    n: int,
    work: Callable[[list[int], bool], list[Any]],
    *,
    finish: Callable[[Any], Any] = lambda x: x,
    worker_done: Callable[[], None] | None = None,
) -> list[Any]:
    """``[result of index i for i in range(n)]``, computed by this process and forked workers."""
    global _work, _worker_done, _runs, _next
    j = jobs()
    if n < MIN_ITEMS or j <= 1:
        return work(list(range(n)), False)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    while _threads:
        _threads.pop().join()
    out: list[Any] = [None] * n
    ctx = multiprocessing.get_context("fork")
    # the workers are forked at the first submit and inherit all of these
    _work, _worker_done, _runs, _next = work, worker_done, runs(n, j), ctx.Value("q", 0)
    try:
        with ProcessPoolExecutor(j - 1, mp_context=ctx) as ex:
            futures = [ex.submit(_run_worker) for _ in range(j - 1)]
            try:
                while (r := _take()) is not None:
                    for i, res in zip(_runs[r], work(_runs[r], False), strict=True):
                        out[i] = res
                for fut in futures:
                    for r, results in fut.result():  # a worker's error is raised here
                        for i, res in zip(_runs[r], results, strict=True):
                            out[i] = finish(res)
            except BaseException:
                with _next.get_lock():  # the other workers stop after the run they are in
                    _next.value = len(_runs)
                raise
    finally:
        _work, _worker_done, _runs, _next = None, None, [], None
    return out
