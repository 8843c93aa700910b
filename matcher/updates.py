"""Changes a fitted engine takes in place, without refitting.

A station records decisions and outcomes all day and edits when an actor is
available or how much it can take; none of these change what anyone offers,
so the text model and the scope ranges stay as they are. Each function
updates the index's table in place and returns the dataset as it now is
(the caller keeps it and refreshes its scope cache).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

from .build import by_actor
from .constraints import slot_mask
from .index import EngineIndex
from .records import Actor, Dataset, Feedback
from .table import actor_quality

__all__ = ["IN_PLACE_FIELDS", "apply_actor_edits", "apply_feedback", "apply_load", "rejected_pairs"]

#: what an actor edit may change and still be applied in place: when and how much
#: it can take, its name and certification. Text, kind, area and categories change
#: what it offers and where: those need a refit.
IN_PLACE_FIELDS = frozenset({"name", "active", "capacity", "budget_yuan", "time_slots",
                             "certification"})
_STRUCTURAL = tuple(f for f in Actor.__dataclass_fields__ if f not in IN_PLACE_FIELDS)


def apply_load(ix: EngineIndex, ds: Dataset, load: dict[str, int],
               budgets: dict[str, float] | None = None) -> Dataset:
    """Actors' current load (and funds' remaining budget): actors not named get
    load 0, funds not named keep their budget."""
    ix.set_load(load, budgets)
    actors = dict(ds.actors)
    for aid, yuan in (budgets or {}).items():
        if aid in actors:
            actors[aid] = replace(actors[aid], budget_yuan=yuan)
    return replace(ds, actors=actors, load=dict(load))


def apply_actor_edits(ix: EngineIndex, ds: Dataset, edits: Iterable[Actor]) -> Dataset | None:
    """Edited actors applied when only :data:`IN_PLACE_FIELDS` changed; ``None`` (and
    nothing changed) when an edit needs a refit or an actor is new."""
    edits = list(edits)
    for a in edits:
        old = ds.actors.get(a.actor_id)
        if old is None or any(getattr(a, f) != getattr(old, f) for f in _STRUCTURAL):
            return None
    t = ix.table
    fb = by_actor(ds.feedback)
    actors = dict(ds.actors)
    for a in edits:
        r = t.position[a.actor_id]
        t.active[r], t.capacity[r], t.budget[r] = a.active, a.capacity, a.budget_yuan
        t.slots[r] = slot_mask(a.time_slots)
        t.quality[r] = actor_quality(a, fb.get(a.actor_id, []))
        actors[a.actor_id] = a
    return replace(ds, actors=actors)


def apply_feedback(ix: EngineIndex, ds: Dataset, feedback: Iterable[Feedback]) -> Dataset:
    """The outcomes recorded so far: the quality of each actor whose outcomes
    changed (compared as a multiset, so their order does not matter)."""
    fb = tuple(feedback)
    old, new = by_actor(ds.feedback), by_actor(fb)
    t = ix.table
    for aid in set(old) | set(new):
        r = t.position.get(aid)
        if r is not None and Counter(old.get(aid, [])) != Counter(new.get(aid, [])):
            t.quality[r] = actor_quality(ds.actors[aid], new.get(aid, []))
    return replace(ds, feedback=fb)


def rejected_pairs(feedback: Iterable[Feedback]) -> set[tuple[str, str]]:
    """The ``(need_id, actor_id)`` pairs staff rejected."""
    return {(f.need_id, f.actor_id) for f in feedback if f.outcome == "rejected"}
