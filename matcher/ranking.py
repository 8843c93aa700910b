"""Ranking the feasible candidates: score parts, the ranking key, top-k.

The score parts (:func:`components`) are combined by a ranker
(:data:`matcher.scoring.RANKERS`, ``weighted`` by default). The ranking key
then puts an actor that offers a likely category of the need above one that
only shares side words with it (a place, a passing word, a group word), and
:func:`covering` makes sure that, when two categories are likely, both are
offered among the top ``k``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .index import EngineIndex
from .infer import Inference
from .kinds import budgeted, restricted
from .records import TARGET_GROUPS, Need
from .retrieval import Scope, ScopeCache
from .scoring import RANKERS
from .table import feasible_rows
from .text import CONCEPT_PREFIX

__all__ = ["GENERIC_CONCEPTS", "Ranked", "Suggestion", "SuggestionReport", "components", "covering",
           "likely_categories", "rank", "rank_key", "serving", "top_k"]

class Suggestion(NamedTuple):
    """One ranked suggestion: actor, score in [0, 1], reasons (Chinese), breakdown."""

    actor_id: str
    score: float
    reasons: list[str]
    breakdown: dict[str, float]


@dataclass(frozen=True)
class SuggestionReport:
    """Everything a station's need page shows, from one engine call.

    ``suggestions`` per role the need wants, best first; ``remaining`` per
    suggested actor (capacity left, or a fund's balance); ``unserved`` the
    diagnosis of each role left with no suggestion; ``unconfirmed_funds``
    ``(fund id, inferred category, confidence)`` withheld until staff confirm
    the category; ``likely_categories`` what the ranking served first.
    """

    need_id: str
    inference: Inference
    likely_categories: list[str]
    suggestions: dict[str, list[Suggestion]]
    remaining: dict[str, float]
    unserved: dict[str, str]
    unconfirmed_funds: list[tuple[str, str, float]]


# Concepts that say what kind of actor something is, not what service a need wants.
GENERIC_CONCEPTS = frozenset({"志愿服务", "社会工作", "慈善资金", "工作用语"})


def components(ix: EngineIndex, need: Need, inf: Inference, cos: np.ndarray,
               tokens: list[str], rows: np.ndarray, role: str, sc: Scope,
               ok: np.ndarray) -> dict[str, np.ndarray]:
    """The score parts of the feasible ``rows`` (``ok`` over the scope's rows)."""
    t, p = ix.table, ix.params
    groups = np.array([g in inf.groups for g in TARGET_GROUPS])
    need_con = [ix.concepts.index(c[len(CONCEPT_PREFIX):]) for c in tokens
                if c.startswith(CONCEPT_PREFIX)
                and c[len(CONCEPT_PREFIX):] not in GENERIC_CONCEPTS]
    concept = np.zeros(len(rows))
    for j in need_con:  # column by column: np.ix_ over many rows is several times slower
        concept += t.concepts[rows, j]
    if need_con:
        concept /= len(need_con)
    # gather only the columns in play: scopes are large, a need's categories few
    fit = np.zeros(len(rows))
    for j, c in enumerate(ix.categories):
        w = inf.category_scores.get(c, 0.0)
        if w:
            fit += t.served_categories[rows, j] * w
    category = np.where(sc.served_any[ok], fit, p.unknown_category_fit)
    if groups.any():
        served = np.zeros(len(rows), dtype=bool)
        for g in np.flatnonzero(groups):
            served |= t.served_groups[rows, g]
        group = np.where(served, 1.0, np.where(sc.open_group[ok], p.open_group_fit, 0.0))
    else:
        group = np.full(len(rows), p.open_group_fit)
    proximity = sc.proximity[ok]
    if need.lat is not None and need.lon is not None:  # the need's own location wins
        km = ix.km(need.lat, need.lon, rows)
        proximity = np.where(np.isnan(km), proximity,
                             np.exp(-np.nan_to_num(km) / p.distance_scale_km))
    if budgeted(role):
        b = t.budget[rows]
        capacity = np.where(b > 0, np.clip(1 - need.budget_yuan / np.maximum(b, 1e-9), 0, 1),
                            1.0)
    else:
        capacity = sc.capacity[ok]
    return {
        "text": np.sqrt(np.clip(cos, 0, 1)),
        "concept": concept,
        "category": np.clip(category, 0, 1),
        "group": group,
        "proximity": proximity,
        "capacity": capacity.astype(np.float64),
        "quality": sc.quality[ok],
    }


def top_k(rows: np.ndarray, scores: np.ndarray, ids: list[str], k: int) -> list[int]:
    """Indices of the k best (score desc, then actor id), without sorting everything.

    Examples
    --------
    >>> top_k(np.array([0, 1, 2]), np.array([0.5, 0.9, 0.5]), ["b", "c", "a"], 2)
    [1, 2]
    """
    idx = np.arange(len(rows))
    if len(rows) > k:
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        idx = idx[scores >= kth]
    return sorted(idx.tolist(), key=lambda i: (-scores[i], ids[rows[i]]))[:k]


def likely_categories(ix: EngineIndex, inf: Inference) -> list[str]:
    """The categories the ranking serves first: the need's own when given or
    confident, else the two most likely (each with a share of at least 0.15)."""
    if not inf.category:
        return []
    if inf.category_given or inf.category_confidence >= ix.params.confident_category:
        return [inf.category]
    top = sorted(inf.category_scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return [c for c, share in top[:2] if share >= 0.15 and c in ix.categories]


def serving(ix: EngineIndex, rows: np.ndarray, category: str) -> np.ndarray:
    """Which ``rows`` offer ``category`` (given or read from their text)."""
    return ix.table.served_categories[rows, ix.categories.index(category)].astype(bool)


def rank_key(ix: EngineIndex, rows: np.ndarray, scores: np.ndarray,
             likely: list[str]) -> np.ndarray:
    """The score plus 1 for an actor that offers a likely category.

    (Dropping volunteers that offer no likely category cost 0.02 NDCG@5 on
    every development set: what a volunteer offers is read from a few words and
    is often missed.)
    """
    if not len(rows) or not likely:
        return scores
    offers = np.zeros(len(rows), dtype=bool)
    for c in likely:
        offers |= serving(ix, rows, c)
    return scores + offers


def covering(ix: EngineIndex, rows: np.ndarray, key: np.ndarray, likely: list[str],
             k: int) -> list[int]:
    """The top ``k`` by ``key``; when two categories are likely, each of them is
    offered by at least one of the ``k`` if any feasible actor offers it."""
    ids = ix.table.ids
    top = top_k(rows, key, ids, k)
    if len(likely) < 2 or k < 2:
        return top
    for c in likely:
        serves = serving(ix, rows, c)
        if serves[top].any() or not serves.any():
            continue
        best = top_k(rows, np.where(serves, key, -np.inf), ids, 1)[0]
        others = [c2 for c2 in likely if c2 != c]
        # drop the lowest suggestion not needed to cover another category
        for pos in range(len(top) - 1, -1, -1):
            needed = any(serving(ix, rows[[top[pos]]], c2)[0]
                         and serving(ix, rows[top], c2).sum() == 1 for c2 in others)
            if not needed:
                top[pos] = best
                break
        top = sorted(top, key=lambda i: (-key[i], ids[rows[i]]))
    return top


class Ranked(NamedTuple):
    """The feasible table rows of one role for a need, their scores (rounded),
    score parts, ranking key and the likely categories the key served first."""

    rows: np.ndarray
    scores: np.ndarray
    components: dict[str, np.ndarray]
    key: np.ndarray
    likely: list[str]


def rank(ix: EngineIndex, scopes: ScopeCache, need: Need, inf: Inference, x: sp.csr_matrix,
         tokens: list[str], role: str, *, ranker: str,
         rejected: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset()) -> Ranked:
    """Score and order the feasible actors of ``role`` in the need's scope.

    The ``ranker`` (a name in :data:`~matcher.scoring.RANKERS`) combines the
    score parts; a pair staff rejected keeps ``rejected_penalty`` of its score.
    Funds rank by score alone: their restrictions are checked by the hard rules.
    """
    sc = scopes.get(need.community_id, role)
    empty = np.zeros(0)
    if not sc.keys:
        return Ranked(np.zeros(0, dtype=np.int64), empty, {}, empty, [])
    ok = feasible_rows(ix.table, sc.rows, ix.need_columns(need, inf, role))
    rows = sc.rows[ok]
    if len(rows) == 0:
        return Ranked(rows, empty, {}, empty, [])
    comps = components(ix, need, inf, scopes.cosines(sc.keys, ok, x), tokens, rows, role, sc, ok)
    scores = RANKERS[ranker](comps, ix.params, inf.urgency)
    if rejected:
        ids = ix.table.ids
        penal = np.array([(need.need_id, ids[r]) in rejected for r in rows])
        scores = np.where(penal, scores * ix.params.rejected_penalty, scores)
    scores = np.round(scores, 4)
    likely = likely_categories(ix, inf) if not restricted(role) else []
    return Ranked(rows, scores, comps, rank_key(ix, rows, scores, likely), likely)
