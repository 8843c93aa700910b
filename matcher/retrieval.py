"""Retrieval: the actors in a need's scope, their need-independent columns, and
text similarity from the inverted indexes.

A need's candidates are the rows of a few contiguous ranges of the table
(:mod:`matcher.table`); what depends only on (community, role) — the rows,
proximity, quality, free capacity — is cached per pair in :class:`ScopeCache`,
bounded in entries and in rows. Cosines come from one inverted index per
range, touching only the actors that share a term with the need.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .index import EngineIndex, RangeKey
from .records import ROLES
from .scoring import proximity_score

__all__ = ["Scope", "ScopeCache", "index_product"]

# Scopes are cached per (community, role); a city has thousands of communities, so
# the cache is bounded by the proximity values it holds (4 bytes each: ~200 MB) as
# well as by entries.
SCOPE_CACHE_SIZE = 20_000
SCOPE_CACHE_ROWS = 50_000_000


class Scope(NamedTuple):
    """What a (community, role) pair needs, whatever the need: cached per pair."""

    keys: list[RangeKey]
    rows: np.ndarray
    proximity: np.ndarray
    quality: np.ndarray
    capacity: np.ndarray
    served_any: np.ndarray
    open_group: np.ndarray


def index_product(index: sp.csr_matrix, x: sp.csr_matrix) -> np.ndarray:
    """``x @ index`` as a dense vector, touching only the actors that share a term.

    ``index`` is features × actors (an inverted index), ``x`` one need's 1 ×
    features row: a need has tens of terms, a city scope tens of thousands of
    actors, so gathering the posting lists of those terms beats a product over
    every actor's row. Plain numpy, to skip scipy's per-call checks on the
    hot path.

    Examples
    --------
    >>> idx = sp.csr_matrix(np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]))
    >>> index_product(idx, sp.csr_matrix(np.array([[1.0, 1.0]]))).tolist()
    [1.0, 3.0, 2.0]
    """
    starts, ends = index.indptr[x.indices], index.indptr[x.indices + 1]
    lengths = ends - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(index.shape[1])
    offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    postings = offsets + np.arange(total)
    weights = index.data[postings] * np.repeat(x.data, lengths)
    return np.bincount(index.indices[postings], weights=weights, minlength=index.shape[1])


class ScopeCache:
    """In-scope rows and need-independent columns per (community, role).

    Communities whose scope covers the same row ranges (every community for a
    city-wide fund) share one copy of the rows and their need-independent
    columns; only proximity is kept per community (float32).
    """

    def __init__(self, index: EngineIndex) -> None:
        self.index = index
        self._scopes: OrderedDict[tuple[str, str], Scope] = OrderedDict()
        self._ranges: dict[tuple[str, tuple[RangeKey, ...]], Scope] = {}
        self._rows = 0

    def get(self, community_id: str, role: str) -> Scope:
        """The scope of ``role`` around a community (computed once, then cached)."""
        key = (community_id, role)
        sc = self._scopes.get(key)
        if sc is not None:
            self._scopes.move_to_end(key)
            return sc
        ix = self.index
        t = ix.table
        keys = ix.range_keys(community_id, role)
        shared = self._ranges.get((role, tuple(keys)))
        if shared is None:
            rows = ix.in_scope(community_id, role)
            cap = np.maximum(t.capacity[rows], 1)
            shared = Scope(keys=keys, rows=rows, proximity=np.zeros(0),
                           quality=t.quality[rows].astype(np.float64),
                           capacity=((cap - t.load[rows]) / cap).astype(np.float64),
                           served_any=ix.served_any[rows], open_group=ix.open_group[rows])
            self._ranges[(role, tuple(keys))] = shared
        rows = shared.rows
        path = ix.path(community_id)
        codes = [ix.area_codes.get("/".join(path[:d]), -2) for d in range(1, 5)]
        hc = t.home_codes[rows]
        level = np.full(len(rows), 4)
        for lvl, depth in ((3, 0), (2, 1), (1, 2), (0, 3)):
            level = np.where(hc[:, depth] == codes[depth], lvl, level)
        c = ix.communities[community_id]
        km = ix.km(c.lat, c.lon, rows)
        sc = shared._replace(proximity=proximity_score(level, km, ix.params.distance_scale_km)
                             .astype(np.float32))
        self._scopes[key] = sc
        self._rows += len(rows)
        while len(self._scopes) > 1 and (len(self._scopes) > SCOPE_CACHE_SIZE
                                         or self._rows > SCOPE_CACHE_ROWS):
            _, old = self._scopes.popitem(last=False)
            self._rows -= len(old.rows)
        return sc

    def prepare(self) -> int:
        """Fill the cache for every (community, role); return how many (stops when full)."""
        n = 0
        for cid in sorted(self.index.communities):
            for role in ROLES:
                if self._rows >= SCOPE_CACHE_ROWS or n >= SCOPE_CACHE_SIZE:
                    return n
                self.get(cid, role)
                n += 1
        return n

    def refresh(self) -> None:
        """Recompute the cached capacity and quality columns after load or outcomes
        changed (proximity stays)."""
        t = self.index.table
        fresh = {}
        for rk, sh in self._ranges.items():
            cap = np.maximum(t.capacity[sh.rows], 1)
            fresh[rk] = sh._replace(capacity=((cap - t.load[sh.rows]) / cap).astype(np.float64),
                                    quality=t.quality[sh.rows].astype(np.float64))
        self._ranges = fresh
        for key, sc in self._scopes.items():
            now = fresh[(key[1], tuple(sc.keys))]
            self._scopes[key] = sc._replace(capacity=now.capacity, quality=now.quality)

    def cosines(self, keys: list[RangeKey], ok: np.ndarray, x: sp.csr_matrix) -> np.ndarray:
        """Text similarity of the rows of ``keys`` kept by ``ok``, from each range's
        inverted index."""
        out = []
        start = 0
        for key in keys:
            index = self.index.actor_index[key]
            n = index.shape[1]
            out.append(index_product(index, x)[ok[start:start + n]])
            start += n
        return np.concatenate(out) if out else np.zeros(0)
