"""The fitted engine the service answers from, kept in step with the database.

Actors' texts change rarely (imports, edits): those refit the model. Decisions
change all day: they only move actors' load and funds' budget, applied with
:meth:`matcher.Matcher.update_load` without refitting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher import Matcher

from .convert import dataset_from_db, holdings
from .orm import ActorRow, Meta

__all__ = ["EngineCache", "bump", "package_version"]

log = logging.getLogger("wushe.service")


def package_version() -> str:
    try:
        return version("wushe")
    except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
        return "0+unknown"


def _counter(s: Session, key: str) -> int:
    row = s.get(Meta, key)
    return int(row.value) if row is not None else 0


def bump(s: Session, key: str) -> None:
    """Bump ``data_version`` (actors or communities changed) or ``load_version``."""
    row = s.scalar(select(Meta).where(Meta.key == key).with_for_update())
    if row is None:
        s.add(Meta(key=key, value="1"))
    else:
        row.value = str(int(row.value) + 1)


@dataclass
class _Fitted:
    matcher: Matcher
    data_version: int
    load_version: int


class EngineCache:
    """One fitted :class:`Matcher` per process, refreshed on demand (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._fitted: _Fitted | None = None

    def model_version(self) -> str:
        f = self._fitted
        return f"{package_version()}+d{f.data_version}" if f else f"{package_version()}+unfitted"

    @contextmanager
    def use(self, s: Session) -> Iterator[Matcher]:
        """The engine for the database's current state, held for this thread.

        The matcher's caches are not thread-safe, and suggestions take a few
        milliseconds of CPU under the GIL anyway, so callers take turns.
        """
        with self._lock:
            yield self._current(s)

    def _current(self, s: Session) -> Matcher:
        dv, lv = _counter(s, "data_version"), _counter(s, "load_version")
        f = self._fitted
        if f is None or f.data_version != dv:
            t0 = time.perf_counter()
            m = Matcher().fit(dataset_from_db(s))
            log.info("engine fitted (data v%d) in %.1fs", dv, time.perf_counter() - t0)
            self._fitted = _Fitted(m, dv, lv)
        elif f.load_version != lv:
            load, spent = holdings(s)
            base = s.execute(select(ActorRow.actor_id, ActorRow.budget_yuan)
                             .where(ActorRow.kind == "fund")).all()
            f.matcher.update_load(load, {aid: max(b - spent.get(aid, 0.0), 0.0)
                                         for aid, b in base})
            f.load_version = lv
        return self._fitted.matcher  # type: ignore[union-attr]
