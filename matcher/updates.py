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

import numpy as np
import scipy.sparse as sp

from .build import actor_table, assemble, by_actor
from .constraints import slot_mask
from .embed import TextEmbedder
from .geo import Places
from .index import EngineIndex, RangeKey
from .records import Actor, Dataset, Feedback
from .table import actor_quality, merge_tables, row_keys
from .text import ChineseTokenizer, normalize_text

__all__ = [
    "IN_PLACE_FIELDS",
    "MAX_UNSEEN_SHARE",
    "ActorChange",
    "apply_actor_edits",
    "apply_feedback",
    "apply_load",
    "reindex_actors",
    "rejected_pairs",
]

#: what an actor edit may change and still be applied in place: when and how much
#: it can take, its name and certification. Text, kind, area and categories change
#: what it offers and where: those need a refit.
IN_PLACE_FIELDS = frozenset({"name", "active", "capacity", "budget_yuan", "time_slots",
                             "certification"})
_STRUCTURAL = tuple(f for f in Actor.__dataclass_fields__ if f not in IN_PLACE_FIELDS)
#: above this share of word tokens unknown to the frozen text model, new or
#: rewritten actors' texts are too far from what it learned: refit instead
MAX_UNSEEN_SHARE = 0.5


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


class ActorChange:
    """Why :func:`reindex_actors` declined (the caller refits): one of these codes."""

    NEW_CATEGORY = "new_category"
    UNSEEN_TERMS = "unseen_terms"


def reindex_actors(ix: EngineIndex, ds: Dataset, actors: Iterable[Actor], *,
                   embedder: TextEmbedder, tokenizer: ChineseTokenizer, places: Places
                   ) -> tuple[EngineIndex, Dataset] | str:
    """New actors, and edits of what actors offer or where (text, kind, area,
    categories), applied with the text model frozen: only these actors are
    tokenised, read and embedded; every other actor keeps its row, and every
    scope range none of them enters or leaves keeps its inverted index.

    Returns the new index and dataset, or an :class:`ActorChange` code when a
    refit is needed instead: an actor names a category the fitted engine does
    not know, or more than :data:`MAX_UNSEEN_SHARE` of the new texts' words
    are unknown to the frozen vocabulary (character n-grams cover a few new
    words; many mean the model no longer fits the data).
    """
    changed = {a.actor_id: a for a in actors}
    if not changed:
        return ix, ds
    new = list(changed.values())
    if any(c not in ix.categories for a in new for c in a.categories):
        return ActorChange.NEW_CATEGORY
    a_tok = tokenizer.tokenize_many(a.text for a in new)
    vocab = embedder.words_.vocabulary_
    words = [t for toks in a_tok for t in toks]
    if words and sum(t not in vocab for t in words) / len(words) > MAX_UNSEEN_SHARE:
        return ActorChange.UNSEEN_TERMS
    ds = replace(ds, actors={**ds.actors, **changed})
    a_norm = [normalize_text(a.text) for a in new]
    area_codes = dict(ix.area_codes)
    part, perm, homes = actor_table(ds, new, a_norm, a_tok, categories=ix.categories,
                                    concepts=ix.concepts, places=places, area_codes=area_codes)
    x_new = embedder.transform([a_tok[i] for i in perm], [a_norm[i] for i in perm])
    old = ix.table
    keep = np.array([i for i, aid in enumerate(old.ids) if aid not in changed], dtype=np.int64)
    table, src = merge_tables(old, keep, part)
    # the ranges a changed actor enters or leaves get a new inverted index
    old_keys = row_keys(old)
    touched: set[RangeKey] = {k for k in row_keys(part) if k is not None}
    touched |= {k for aid in changed if aid in old.position
                for k in [old_keys[old.position[aid]]] if k is not None}
    n_keep = len(keep)
    old_row = np.concatenate([keep, np.full(len(part.ids), -1)])[src]
    new_row = np.concatenate([np.full(n_keep, -1), np.arange(len(part.ids))])[src]
    index: dict[RangeKey, sp.csr_matrix] = {}
    for key, (s0, e0) in table.ranges.items():
        if key not in touched:
            index[key] = ix.actor_index[key]
            continue
        # an actor that stayed keeps its range: its vector is a column of the old index
        if key in old.ranges:
            before = ix.actor_index[key].T.tocsr()
            base = old.ranges[key][0]
        else:
            before, base = sp.csr_matrix((0, x_new.shape[1])), 0
        pick = np.where(new_row[s0:e0] >= 0, before.shape[0] + new_row[s0:e0],
                        old_row[s0:e0] - base)
        index[key] = sp.csr_matrix(sp.vstack([before, x_new]).tocsr()[pick].T)
    tokens_all = [ix.actor_tokens[i] for i in keep.tolist()] + [a_tok[i] for i in perm]
    homes_all = [ix.actor_homes[i] for i in keep.tolist()] + [homes[i] for i in perm]
    return assemble(table, index, categories=ix.categories, concepts=ix.concepts,
                    area_codes=area_codes, homes=[homes_all[i] for i in src.tolist()],
                    tokens=[tokens_all[i] for i in src.tolist()], communities=ix.communities,
                    params=ix.params), ds
