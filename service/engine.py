"""The fitted engine the service answers from, kept in step with the database.

An import refits the model. Everything else a station does all day is applied
to the fitted engine without refitting: decisions and reported outcomes move
actors' load, funds' budget, actors' quality and the rejected pairs
(:meth:`matcher.Matcher.update_load`, :meth:`~matcher.Matcher.update_feedback`);
new and edited actors are indexed with the text model frozen
(:meth:`~matcher.Matcher.update_actors`), and refit only when it declines.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matcher import Matcher
from matcher.kinds import KINDS, budgeted

from .convert import actor_record, dataset_from_db, feedback_from_db, holdings
from .orm import ActorRow, Meta

__all__ = ["EngineCache", "bump", "package_version"]

log = logging.getLogger("wushe.service")


@lru_cache(maxsize=1)
def package_version() -> str:
    try:
        return version("wushe")
    except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
        return "0+unknown"


def bump(s: Session, key: str) -> None:
    """Bump ``data_version`` (actors or communities changed) or ``load_version``."""
    row = s.scalar(select(Meta).where(Meta.key == key).with_for_update())
    if row is None:
        s.add(Meta(key=key, value="1"))
    else:
        row.value = str(int(row.value) + 1)


def _settle() -> None:
    """Collect once, then move every surviving object out of the collector's sight.

    A fitted city model is over a million objects that live until the next
    refit; a full collection pass over them takes about a second, and Python
    starts one whenever enough new objects survive — a second-long stall in
    the middle of serving. Frozen objects are still freed by reference
    counting; ``gc.unfreeze()`` before the next fit returns them to the
    collector.
    """
    gc.collect()
    gc.freeze()


@dataclass
class _Fitted:
    matcher: Matcher
    data_version: int
    load_version: int
    actors_seen: datetime | None = None  # the latest actor edit the engine holds


class EngineCache:
    """One fitted :class:`Matcher` per process, refreshed on demand (thread-safe)."""

    #: seconds a check of the database's version counters stays good; writes made
    #: through this process call :meth:`mark_stale`, other processes' within this delay
    recheck_after = 1.0

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._fitted: _Fitted | None = None
        self._checked_at = float("-inf")

    def mark_stale(self) -> None:
        """Check the database again on the next use (this process just wrote)."""
        self._checked_at = float("-inf")

    def commit(self, s: Session) -> None:
        """Commit a write that may change what the engine suggests, then re-check."""
        s.commit()
        self.mark_stale()

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

    @staticmethod
    def _apply_actor_edits(s: Session, f: _Fitted) -> bool:
        """Actors created or edited since the engine last looked, applied without a
        refit (False: the engine declined, refit)."""
        q = select(ActorRow)
        if f.actors_seen is not None:
            q = q.where(ActorRow.updated_at > f.actors_seen)
        rows = list(s.scalars(q))
        if not rows:
            return True
        if not f.matcher.update_actors(actor_record(r) for r in rows):
            return False
        f.actors_seen = max(r.updated_at for r in rows)
        return True

    def _current(self, s: Session) -> Matcher:
        now = time.monotonic()
        if self._fitted is not None and now - self._checked_at < self.recheck_after:
            return self._fitted.matcher
        self._checked_at = now
        counters = {k: v for k, v in s.execute(select(Meta.key, Meta.value))}
        dv, lv = int(counters.get("data_version", 0)), int(counters.get("load_version", 0))
        f = self._fitted
        if f is None or f.data_version != dv:
            t0 = time.perf_counter()
            gc.unfreeze()  # the model being replaced may be collected now
            seen = s.scalar(select(func.max(ActorRow.updated_at)))
            m = Matcher().fit(dataset_from_db(s))
            scopes = m.prepare_scopes()
            self._fitted = _Fitted(m, dv, lv, seen)
            del f
            _settle()
            log.info("engine fitted (data v%d, %d scopes ready) in %.1fs", dv, scopes,
                     time.perf_counter() - t0)
        elif f.load_version != lv:
            if not self._apply_actor_edits(s, f):
                self._fitted = None  # an edit needs a refit after all
                self._checked_at = float("-inf")
                return self._current(s)
            load, spent = holdings(s)
            base = s.execute(select(ActorRow.actor_id, ActorRow.budget_yuan)
                             .where(ActorRow.kind.in_([k for k in KINDS if budgeted(k)]))).all()
            f.matcher.update_load(load, {aid: max(b - spent.get(aid, 0.0), 0.0)
                                         for aid, b in base})
            f.matcher.update_feedback(feedback_from_db(s))
            f.load_version = lv
        return self._fitted.matcher  # type: ignore[union-attr]
