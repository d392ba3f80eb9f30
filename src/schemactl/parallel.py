"""Work spread over forked worker processes, for the stages that are per package.

``fork_map(n, work)`` deals the indexes ``0..n-1`` to this process and ``jobs() - 1``
forked workers (a fork shares everything loaded so far, so nothing is sent but indexes).
``work(indexes, in_worker)`` returns one result per index; a worker's results come back
through pickle, so a worker should return cheap plain data (bytes, lists) and let
``finish`` turn it back into objects here.  Below ``MIN_ITEMS``, with one job, or off
Linux (fork is the cheap, safe start method only there) everything runs in this process.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

MIN_ITEMS = 64  # fewer items than this are not worth a fork
MAIN_WEIGHT = 1.4  # this process also finishes the workers' results: it takes a larger share

_work: Callable[[list[int], bool], list[Any]] | None = None
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


def shares(n: int, jobs: int) -> list[list[int]]:
    """Indexes 0..n-1 dealt to ``jobs`` processes, interleaved (neighbouring packages are
    often alike in size), this process's share first and larger by ``MAIN_WEIGHT``."""
    if jobs <= 1:
        return [list(range(n))]
    main = round(n * MAIN_WEIGHT / (MAIN_WEIGHT + jobs - 1))
    out: list[list[int]] = [[] for _ in range(jobs)]
    w = 0
    for i in range(n):
        if (i + 1) * main // n > i * main // n:
            out[0].append(i)
        else:
            out[1 + w % (jobs - 1)].append(i)
            w += 1
    return out


def _run_share(indexes: list[int]) -> list[Any]:
    assert _work is not None
    return _work(indexes, True)


def fork_map(
    n: int,
    work: Callable[[list[int], bool], list[Any]],
    *,
    finish: Callable[[Any], Any] = lambda x: x,
) -> list[Any]:
    """``[result of index i for i in range(n)]``, computed by this process and forked workers."""
    global _work
    j = jobs()
    if n < MIN_ITEMS or j <= 1:
        return work(list(range(n)), False)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    while _threads:
        _threads.pop().join()
    dealt = shares(n, j)
    out: list[Any] = [None] * n
    _work = work  # the workers are forked at the first submit and inherit it
    try:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(j - 1, mp_context=ctx) as ex:
            futures = [ex.submit(_run_share, share) for share in dealt[1:]]
            for i, res in zip(dealt[0], work(dealt[0], False), strict=True):
                out[i] = res
            for share, fut in zip(dealt[1:], futures, strict=True):
                for i, res in zip(share, fut.result(), strict=True):
                    out[i] = finish(res)
    finally:
        _work = None
    return out
