"""Map a function over many items in forked processes that share a fitted engine.

A fitted :class:`~matcher.model.Matcher` at city scale holds gigabytes; forked
children read it copy-on-write, so nothing large is pickled. Results come back
in input order, identical to a serial run. Where ``fork`` is unavailable, or
the work is small, it runs serially.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

__all__ = ["fork_map"]

T = TypeVar("T")
R = TypeVar("R")
_SHARED: dict[str, Any] = {}


def _run_chunk(chunk: Sequence[Any]) -> list[Any]:
    fn = _SHARED["fn"]
    return [fn(item) for item in chunk]


def fork_map(fn: Callable[[T], R], items: Sequence[T], processes: int = 1, *,
             min_items: int = 200,
             progress: Callable[[list[Any], str], Iterator[Any]] | None = None,
             desc: str = "") -> list[R]:
    """``[fn(x) for x in items]``, in ``processes`` forked processes when worth it.

    Examples
    --------
    >>> fork_map(len, ["社区", "社工站"], processes=2)
    [2, 3]
    """
    prog = progress or (lambda xs, _desc: iter(xs))
    if processes <= 1 or len(items) < min_items or "fork" not in mp.get_all_start_methods():
        return [fn(x) for x in prog(list(items), desc)]
    size = max(20, len(items) // (processes * 20))
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    _SHARED["fn"] = fn
    try:
        with mp.get_context("fork").Pool(processes) as pool:
            parts = list(prog(list(pool.imap(_run_chunk, chunks)), desc))
    finally:
        _SHARED.clear()
    return [r for part in parts for r in part]
