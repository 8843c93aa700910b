"""The fitted actor side of the engine as typed data: :class:`EngineIndex`.

``Matcher.fit`` builds one; retrieval, ranking, diagnosis and the reasons take
it (or the pieces they need) as an argument, so no module reads another's
private state. The arrays of its table change in place only where the
service's decisions change load and budgets (:meth:`EngineIndex.set_load`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .constraints import ActorContext, NeedContext, slot_mask
from .errors import ParameterError
from .geo import community_path
from .infer import Inference
from .records import TARGET_GROUPS, Actor, Community, Need
from .rules import NeedColumns
from .scoring import ScoringParams
from .table import ActorTable, need_columns, need_range_keys

__all__ = ["EngineIndex", "RangeKey"]

RangeKey = tuple[int, str, str]


@dataclass(frozen=True)
class EngineIndex:
    """What a fitted engine knows of its actors and places.

    ``table`` holds the actor columns in row ranges; ``actor_index`` one
    inverted index (features × actors, CSR) per range; ``categories`` the
    table's category columns; ``concepts`` its concept columns; ``area_codes``
    the codes of ``home_codes``; ``actor_homes`` / ``actor_tokens`` per table
    row; ``served_any`` / ``open_group`` per row: the actor names a category /
    serves everyone.
    """

    table: ActorTable
    actor_index: dict[RangeKey, sp.csr_matrix]
    categories: list[str]
    concepts: list[str]
    area_codes: dict[str, int]
    actor_homes: list[tuple[str, ...] | None]
    actor_tokens: list[list[str]]
    served_any: np.ndarray
    open_group: np.ndarray
    communities: dict[str, Community]
    params: ScoringParams

    def path(self, community_id: str) -> tuple[str, str, str, str]:
        """The (city, district, street, community) of a community."""
        return community_path(self.communities[community_id])

    def range_keys(self, community_id: str, role: str) -> list[RangeKey]:
        """The row ranges whose actors of ``role`` may serve the community."""
        return [k for k in need_range_keys(role, self.path(community_id))
                if k in self.table.ranges]

    def in_scope(self, community_id: str, role: str) -> np.ndarray:
        """Table rows of the actors of ``role`` whose scope covers the community."""
        keys = self.range_keys(community_id, role)
        return (np.concatenate([np.arange(*self.table.ranges[k]) for k in keys]) if keys
                else np.zeros(0, dtype=np.int64))

    def need_columns(self, need: Need, inf: Inference, role: str,
                     min_mass: float | None = None) -> NeedColumns:
        """The vectorised rules' view of a need in ``role`` (the fund confidence
        gate at ``min_mass``, default ``fund_min_confidence``)."""
        cats = self.categories
        cat_ix = cats.index(inf.category) if inf.category in cats else -1
        mass = inf.certainty * np.array([inf.category_scores.get(c, 0.0) for c in cats])
        # a fund restricted to a group admits only the groups sure enough for it
        groups = np.array([g in inf.fund_groups for g in TARGET_GROUPS])
        return need_columns(role, slots=slot_mask(need.time_slots), budget=need.budget_yuan,
                            category=cat_ix, groups=groups, path=self.path(need.community_id),
                            area_codes=self.area_codes, category_mass=mass,
                            min_mass=(self.params.fund_min_confidence if min_mass is None
                                      else min_mass))

    def need_ctx(self, need: Need, inf: Inference) -> NeedContext:
        """The scalar rules' view of a need (effective category and groups)."""
        return NeedContext(need, self.path(need.community_id), inf.category, inf.groups)

    def actor_ctx(self, actor: Actor) -> ActorContext:
        """The scalar rules' view of an actor (home, load, fund restrictions)."""
        t = self.table
        r = t.position.get(actor.actor_id)
        if r is None:
            raise ParameterError(f"资源 {actor.actor_id} 不在数据集中",
                                 f"actor {actor.actor_id!r} is not in the dataset")
        fc = tuple(c for c, on in zip(self.categories, t.fund_categories[r], strict=True) if on)
        fg = tuple(g for g, on in zip(TARGET_GROUPS, t.fund_groups[r], strict=True) if on)
        return ActorContext(actor, self.actor_homes[r], int(t.load[r]), fc, fg)

    def km(self, lat: float | None, lon: float | None, rows: np.ndarray | list[int]
           ) -> np.ndarray:
        """Kilometres from a point to each actor row (NaN where unknown)."""
        ll = self.table.latlon[rows]
        if lat is None or lon is None:
            return np.full(len(ll), np.nan)
        if len(ll) == 1:  # one reason line: plain floats beat numpy's per-call overhead
            p1, p2 = math.radians(lat), math.radians(ll[0, 0])
            h = (math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2)
                 * math.sin(math.radians(ll[0, 1] - lon) / 2) ** 2)
            return np.array([2 * 6371.0 * math.asin(math.sqrt(min(max(h, 0.0), 1.0)))
                             if h == h else np.nan])
        p1, p2 = np.radians(lat), np.radians(ll[:, 0])
        dl = np.radians(ll[:, 1] - lon)
        h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
        return np.asarray(2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0, 1))))

    def distance_km(self, need: Need, rows: np.ndarray | list[int]) -> np.ndarray:
        """Kilometres from the need (or its community) to each actor row."""
        c = self.communities[need.community_id]
        lat = need.lat if need.lat is not None else c.lat
        lon = need.lon if need.lon is not None else c.lon
        return self.km(lat, lon, rows)

    def set_load(self, load: dict[str, int], budgets: dict[str, float] | None = None) -> None:
        """Set current load (and remaining budgets) in the table, in place."""
        t = self.table
        t.load[:] = 0
        for aid, n in load.items():
            r = t.position.get(aid)
            if r is not None:
                t.load[r] = n
        for aid, yuan in (budgets or {}).items():
            r = t.position.get(aid)
            if r is not None:
                t.budget[r] = yuan
