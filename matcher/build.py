"""Build the fitted actor side of the engine, :class:`~matcher.index.EngineIndex`.

``Matcher.fit`` calls :func:`build_index` once per fit: the actors' homes,
served categories and groups (their cells, else inferred from their text for
scoring), fund restrictions (their cells only: blank = unrestricted, the
contract), load, quality and coordinates become the columns of one actor
table, and the actors' text vectors one inverted index per scope range.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from .embed import TextEmbedder
from .geo import Places
from .index import EngineIndex, RangeKey
from .infer import infer_actor_categories
from .kinds import restricted
from .lexicon import default_lexicon
from .records import TARGET_GROUPS, Actor, Community, Dataset, Feedback
from .scoring import ScoringParams
from .table import ActorTable, build_actor_table
from .taxonomy import Taxonomy
from .text import CONCEPT_PREFIX

__all__ = ["actor_table", "assemble", "build_index", "by_actor", "engine_categories"]


def by_actor(feedback: Iterable[Feedback]) -> dict[str, list[Feedback]]:
    """Reported outcomes grouped by actor id, in their order."""
    out: dict[str, list[Feedback]] = defaultdict(list)
    for f in feedback:
        out[f.actor_id].append(f)
    return out


def engine_categories(ds: Dataset, taxonomy: Taxonomy) -> list[str]:
    """The taxonomy's codes, then any other code a need or an actor names."""
    cats = list(taxonomy.codes)
    for n in ds.needs.values():
        if n.category and n.category not in cats:
            cats.append(n.category)
    for a in ds.actors.values():
        cats.extend(c for c in a.categories if c not in cats)
    return cats


def _coords(ds: Dataset, a: Actor) -> tuple[float | None, float | None]:
    if a.lat is not None and a.lon is not None:
        return a.lat, a.lon
    c = ds.communities.get(a.community_id)
    return (c.lat, c.lon) if c else (None, None)


def actor_table(ds: Dataset, actors: Sequence[Actor], a_norm: Sequence[str],
                a_tok: list[list[str]], *, categories: list[str], concepts: list[str],
                places: Places, area_codes: dict[str, int]
                ) -> tuple[ActorTable, np.ndarray, list[tuple[str, ...] | None]]:
    """The table of ``actors`` (``a_norm`` / ``a_tok``: their normalised texts and
    tokens, in the same order), its permutation (table row → input index) and
    the actors' homes (input order). New areas are added to ``area_codes``."""
    lex = default_lexicon()
    homes = [places.actor_home(a) for a in actors]
    inferred = [infer_actor_categories(t, lex) for t in a_norm]
    cued = [tuple(g for g in TARGET_GROUPS if g in lex.groups(t)) for t in a_norm]
    is_fund = [restricted(a.kind) for a in actors]
    table, perm = build_actor_table(
        actors, homes, categories=categories, concepts=concepts,
        served_categories=[a.categories or inf for a, inf in zip(actors, inferred, strict=True)],
        served_groups=[a.target_groups or cg for a, cg in zip(actors, cued, strict=True)],
        # a fund's restrictions are its cells, blank = unrestricted (the contract);
        # its text only feeds text similarity, never a restriction
        fund_categories=[a.categories if f else () for a, f in zip(actors, is_fund, strict=True)],
        fund_groups=[a.target_groups if f else () for a, f in zip(actors, is_fund, strict=True)],
        actor_concepts=[tuple(c[len(CONCEPT_PREFIX):] for c in toks
                              if c.startswith(CONCEPT_PREFIX)) for toks in a_tok],
        load=ds.load, feedback=by_actor(ds.feedback), area_codes=area_codes,
        coords=[_coords(ds, a) for a in actors],
    )
    return table, perm, homes


def assemble(table: ActorTable, actor_index: dict[RangeKey, sp.csr_matrix], *,
             categories: list[str], concepts: list[str], area_codes: dict[str, int],
             homes: list[tuple[str, ...] | None], tokens: list[list[str]],
             communities: dict[str, Community], params: ScoringParams) -> EngineIndex:
    """An :class:`EngineIndex` from a table and its inverted indexes (``homes`` and
    ``tokens`` per table row)."""
    return EngineIndex(
        table=table, actor_index=actor_index, categories=categories, concepts=concepts,
        area_codes=area_codes, actor_homes=homes, actor_tokens=tokens,
        served_any=np.asarray(table.served_categories.any(axis=1)),
        open_group=np.asarray(~table.served_groups.any(axis=1)
                              | table.served_groups[:, TARGET_GROUPS.index("全体居民")]),
        communities=communities, params=params)


def build_index(ds: Dataset, actors: Sequence[Actor], a_norm: Sequence[str],
                a_tok: list[list[str]], embedder: TextEmbedder, *, categories: list[str],
                concepts: list[str], places: Places, params: ScoringParams) -> EngineIndex:
    """The engine index of ``actors`` (sorted by id; ``a_norm`` / ``a_tok`` their
    normalised texts and tokens, in the same order)."""
    area_codes: dict[str, int] = {}
    table, perm, homes = actor_table(ds, actors, a_norm, a_tok, categories=categories,
                                     concepts=concepts, places=places, area_codes=area_codes)
    x = embedder.transform(a_tok, list(a_norm))[perm]
    # One inverted index (features × actors, CSR) per scope range: a query's few
    # terms pick out just the actors that share them, with no scan of the rest.
    return assemble(table, {key: sp.csr_matrix(x[s:e].T) for key, (s, e) in table.ranges.items()},
                    categories=categories, concepts=concepts, area_codes=area_codes,
                    homes=[homes[i] for i in perm], tokens=[a_tok[i] for i in perm],
                    communities=ds.communities, params=params)
