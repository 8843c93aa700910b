"""The re-match against the database: one run at a time, written atomically.

A run reads a snapshot (open needs, active actors, decisions), solves with
:func:`matcher.rematch.rematch`, and writes its plan in one transaction that
also retires the previous run's undecided suggestions. A crash or kill
before that commit leaves the previous run untouched. Decisions taken while
the run was solving are respected at write time: their slots and pairs are
left alone and capacity is re-checked.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from matcher import Matcher
from matcher.kinds import budgeted
from matcher.pipeline import RunInputs, plan_run
from matcher.protocols import FittedEngine
from matcher.rematch import AssignmentRow, MatchOptions

from .audit import record
from .convert import dataset_from_db
from .engine import package_version
from .errors import ApiError
from .orm import HOLDING, Assignment, MatchRun, NeedRow, RunLock, utcnow

__all__ = ["RunBusy", "acquire", "beat_interval", "execute_run", "start_run"]

log = logging.getLogger("wushe.service")
_LOCK = "match"


class RunBusy(ApiError):
    def __init__(self, run_id: str) -> None:
        super().__init__(409, "run_in_progress", f"已有匹配任务正在运行（{run_id}），请稍后再试",
                         f"another match run is in progress ({run_id})")


def _aware(t: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were stored in UTC.
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def acquire(factory: sessionmaker[Session], who: str, stale_after: float) -> str:
    """Take the run lock and create the run row; raise :class:`RunBusy` if held.

    A lock whose holder has not beaten for ``stale_after`` seconds is taken
    over, and its run is marked interrupted.
    """
    run_id = "run-" + utcnow().strftime("%Y%m%dT%H%M%S%f")
    holder = f"{socket.gethostname()}:{os.getpid()}"
    with factory() as s:
        old = s.get(RunLock, _LOCK)
        if old is not None:
            if utcnow() - _aware(old.heartbeat_at) < timedelta(seconds=stale_after):
                raise RunBusy(old.run_id)
            log.warning("taking over stale run lock of %s (%s)", old.run_id, old.holder)
            s.execute(update(MatchRun).where(MatchRun.run_id == old.run_id,
                                             MatchRun.status == "running")
                      .values(status="interrupted", finished_at=utcnow(),
                              error="进程中断 / the process stopped"))
            s.execute(delete(RunLock).where(RunLock.name == _LOCK,
                                            RunLock.run_id == old.run_id))
            s.commit()
        try:
            s.add(RunLock(name=_LOCK, run_id=run_id, holder=holder))
            s.add(MatchRun(run_id=run_id, status="running", stage="queued", triggered_by=who,
                           model_version=package_version()))
            record(s, who, "run.start", "run", run_id)
            s.commit()
        except IntegrityError:
            s.rollback()
            held = s.get(RunLock, _LOCK)
            raise RunBusy(held.run_id if held else "?") from None
    return run_id


def _heartbeat(factory: sessionmaker[Session], run_id: str, stage: str, progress: float) -> None:
    with factory() as s:
        s.execute(update(MatchRun).where(MatchRun.run_id == run_id)
                  .values(stage=stage, progress=round(progress, 3)))
        s.execute(update(RunLock).where(RunLock.run_id == run_id).values(heartbeat_at=utcnow()))
        s.commit()


@contextlib.contextmanager
def _beating(factory: sessionmaker[Session], run_id: str, every: float) -> Iterator[None]:
    """Beat the lock every ``every`` seconds while the block runs (fit and solve are long).

    A run that stops beating — killed, or its machine gone — leaves a lock that
    :func:`acquire` takes over once it is stale, so a retry a minute later works.
    """
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            try:
                with factory() as s:
                    s.execute(update(RunLock).where(RunLock.run_id == run_id)
                              .values(heartbeat_at=utcnow()))
                    s.commit()
            except Exception:  # a missed beat is retried; the run itself reports failures
                log.warning("run %s: heartbeat failed", run_id, exc_info=True)

    t = threading.Thread(target=beat, name=f"wushe-beat-{run_id}", daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join(timeout=5)


def _snapshot(s: Session) -> tuple[Any, list[AssignmentRow], list[tuple[str, str, str]],
                                   list[tuple[str, str, str]]]:
    ds = dataset_from_db(s, open_needs_hold=False)
    previous, pins, forbids = [], [], []
    q = select(Assignment.need_id, Assignment.role, Assignment.actor_id, Assignment.score,
               Assignment.status, Assignment.run_id)
    for nid, role, aid, score, status, run in s.execute(q):
        need = ds.needs.get(nid)
        if need is None or aid not in ds.actors:
            continue
        if status == "suggested":
            previous.append(AssignmentRow(nid, role, aid, score, run or ""))
        elif status in HOLDING and need.status == "open":
            pins.append((nid, role, aid))
        elif status in ("rejected", "failed"):
            forbids.append((nid, role, aid))
    return ds, previous, pins, forbids


def execute_run(factory: sessionmaker[Session], run_id: str, *,
                options: MatchOptions | None = None,
                after_solve: Callable[[], None] | None = None,
                beat_every: float = 10.0) -> dict[str, Any]:
    """Compute and write run ``run_id`` (lock already held); return its summary.

    The lock's heartbeat is renewed every ``beat_every`` seconds throughout.
    """
    with _beating(factory, run_id, beat_every):
        return _execute(factory, run_id, options, after_solve)


def _execute(factory: sessionmaker[Session], run_id: str, options: MatchOptions | None,
             after_solve: Callable[[], None] | None) -> dict[str, Any]:
    timings: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        _heartbeat(factory, run_id, "load", 0.05)
        with factory() as s:
            ds, previous, pins, forbids = _snapshot(s)
        timings["load"] = time.perf_counter() - t0

        def progress(items: list[Any], desc: str) -> Iterator[Any]:
            n = max(len(items), 1)
            step = max(1, n // 20)
            for i, item in enumerate(items, 1):
                yield item
                if i % step == 0:
                    _heartbeat(factory, run_id, "candidates", 0.2 + 0.5 * i / n)

        run = plan_run(RunInputs(ds, previous, pins, forbids), run_id=run_id,
                       fit=lambda d: Matcher().fit(d), options=options, progress=progress,
                       on_stage=lambda name, share: _heartbeat(factory, run_id, name, share),
                       timings=timings)
        m, res, timings = run.engine, run.result, run.timings
        if after_solve is not None:
            after_solve()
        t0 = time.perf_counter()
        with factory() as s, s.begin():
            dropped = _write(s, m, run_id, res.assignments, set(pins))
            timings["write"] = time.perf_counter() - t0
            summary = run.summary(run_id=run_id, infeasible_pins=res.infeasible_pins,
                                  dropped_at_write=dropped)
            s.execute(update(MatchRun).where(MatchRun.is_current.is_(True))
                      .values(is_current=False))
            s.execute(update(MatchRun).where(MatchRun.run_id == run_id).values(
                status="succeeded", stage="done", progress=1.0, finished_at=utcnow(),
                is_current=True, summary=json.dumps(summary, ensure_ascii=False),
                unassigned=json.dumps(res.unassigned, ensure_ascii=False)))
            s.execute(delete(RunLock).where(RunLock.name == _LOCK, RunLock.run_id == run_id))
            record(s, "system", "run.finish", "run", run_id,
                   {"needs_fully_served": summary.get("needs_fully_served"),
                    "dropped_at_write": dropped})
        return summary
    except BaseException as exc:
        log.exception("match run %s failed", run_id)
        with factory() as s, s.begin():
            s.execute(update(MatchRun).where(MatchRun.run_id == run_id).values(
                status="failed", finished_at=utcnow(), error=f"{type(exc).__name__}: {exc}"))
            s.execute(delete(RunLock).where(RunLock.name == _LOCK, RunLock.run_id == run_id))
        raise


def _write(s: Session, m: FittedEngine, run_id: str, rows: list[AssignmentRow],
           pins: set[tuple[str, str, str]]) -> int:
    """Insert the plan, honouring decisions taken since the snapshot; return rows dropped.

    Decisions are read afresh inside the writing transaction, so one taken
    while the run was solving wins over the plan.
    """
    holding = defaultdict(set)
    taken: Counter[str] = Counter()
    refused = set()
    for nid, role, aid, status in s.execute(
            select(Assignment.need_id, Assignment.role, Assignment.actor_id, Assignment.status)
            .where(Assignment.status.in_((*HOLDING, "rejected", "failed")))):
        if status in HOLDING:
            holding[(nid, role)].add(aid)
            taken[aid] += 1
        else:
            refused.add((nid, role, aid))
    need_status = dict(s.execute(select(NeedRow.need_id, NeedRow.status)).all())
    ds = m.dataset_
    # retire the previous run's undecided suggestions
    s.execute(update(Assignment).where(Assignment.status == "suggested")
              .values(status="superseded", updated_at=utcnow()))
    dropped = 0
    now = utcnow()
    for r in sorted(rows, key=lambda r: (-r.score, r.need_id, r.role, r.actor_id)):
        if (r.need_id, r.role, r.actor_id) in pins or r.actor_id in holding[(r.need_id, r.role)]:
            continue  # already held by a decision
        need = ds.needs[r.need_id]
        want = need.volunteers_needed if r.role == "volunteer" else 1
        if (need_status.get(r.need_id) != "open" or (r.need_id, r.role, r.actor_id) in refused
                or len(holding[(r.need_id, r.role)]) >= want):
            dropped += 1
            continue
        if not budgeted(r.role):
            if taken[r.actor_id] >= ds.actors[r.actor_id].capacity:
                dropped += 1
                continue
            taken[r.actor_id] += 1
        s.add(Assignment(need_id=r.need_id, role=r.role, actor_id=r.actor_id,
                         score=round(r.score, 4), run_id=run_id, status="suggested",
                         source="run", created_at=now, updated_at=now))
    return dropped


def beat_interval(stale_after: float) -> float:
    """How often a live run beats: three beats fit in the stale period."""
    return max(min(stale_after / 3, 10.0), 0.05)


def start_run(factory: sessionmaker[Session], who: str, stale_after: float,
              options: MatchOptions | None = None) -> str:
    """Take the lock and run in a background thread; return the run id at once."""
    run_id = acquire(factory, who, stale_after)

    def work() -> None:
        # a failure is already logged and recorded on the run
        with contextlib.suppress(BaseException):
            execute_run(factory, run_id, options=options, beat_every=beat_interval(stale_after))

    threading.Thread(target=work, name=f"wushe-{run_id}", daemon=True).start()
    return run_id
