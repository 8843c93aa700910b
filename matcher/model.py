"""The :class:`Matcher` estimator: fit on a dataset, suggest per role.

It wires the pure modules together: text (tokenizer, lexicon), inference,
embedding, the actor table, constraints and scoring. It is the only module
that knows the whole pipeline.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .constraints import ActorContext, NeedContext, slot_mask, violations
from .dataset import load_dataset
from .diagnosis import unconfirmed_funds, unserved
from .embed import TextEmbedder
from .errors import ParameterError, UnknownNeedError
from .explain import explain
from .geo import Places
from .index import EngineIndex
from .infer import Inference, infer_actor_categories
from .inferrer import NeedInferrer, train_dataset_classifier
from .kinds import budgeted, restricted
from .lexicon import default_lexicon
from .ranking import (
    GENERIC_CONCEPTS,
    Suggestion,
    SuggestionReport,
    components,
    covering,
    likely_categories,
    rank_key,
    top_k,
)
from .records import ROLES, TARGET_GROUPS, Actor, Dataset, Feedback, Need
from .retrieval import ScopeCache
from .rules import NeedColumns
from .scoring import RANKERS, ScoringParams
from .table import actor_quality, build_actor_table, feasible_rows
from .taxonomy import default_taxonomy
from .text import CONCEPT_PREFIX, ChineseTokenizer, normalize_text

__all__ = ["GENERIC_CONCEPTS", "IN_PLACE_FIELDS", "Matcher", "Suggestion"]

log = logging.getLogger(__name__)

#: what an actor edit may change and still be applied in place (Matcher.update_actors):
#: when and how much it can take, its name and certification. Text, kind, area and
#: categories change what it offers and where: those need a refit.
IN_PLACE_FIELDS = frozenset({"name", "active", "capacity", "budget_yuan", "time_slots",
                             "certification"})
_STRUCTURAL = tuple(f for f in Actor.__dataclass_fields__ if f not in IN_PLACE_FIELDS)


class Matcher(BaseEstimator):
    """Match residents' needs to organizations, social workers, volunteers and funds.

    Parameters
    ----------
    params : str, dict or None, default None
        Scoring parameters: a path to a JSON file, a dict, or ``None`` for the
        package's ``params.json``.
    word_weight : float, default 0.75
        Share of word (vs character n-gram) features in the text vectors.
    use_classifier : bool, default True
        Train a category classifier on the dataset's labelled needs (when
        there are enough) and blend it with the lexicon.
    fuzzy : bool, default True
        Also recognise service words in needs written with one homophone typo
        (送反 → 送饭), by their pinyin.
    random_state : int, default 0
    ranker : str, default "weighted"
        How the score parts of the feasible candidates become one score: a name
        in :data:`matcher.scoring.RANKERS` (``weighted``: the weighted mean of
        ``params.json``, with urgency shifting weight to proximity and capacity).

    Attributes
    ----------
    dataset_ : Dataset
    embedder_ : TextEmbedder
    table_ : ActorTable
    inference_ : dict[str, Inference]
        Category and groups the engine uses for each need of the dataset.

    Examples
    --------
    >>> m = Matcher().fit("data/sample")
    >>> out = m.suggest("N0001", k=2, roles=["volunteer"])
    >>> list(out), len(out["volunteer"]) <= 2
    (['volunteer'], True)
    """

    def __init__(self, params: str | dict[str, Any] | None = None, word_weight: float = 0.75,
                 use_classifier: bool = True, fuzzy: bool = True, random_state: int = 0,
                 use_text_classifier: bool = True, ranker: str = "weighted") -> None:
        self.params = params
        self.word_weight = word_weight
        self.use_classifier = use_classifier
        self.use_text_classifier = use_text_classifier
        self.fuzzy = fuzzy
        self.random_state = random_state
        self.ranker = ranker

    # ------------------------------------------------------------------ fit
    def _scoring_params(self) -> ScoringParams:
        if self.params is None:
            return ScoringParams.default()
        if isinstance(self.params, dict):
            base = ScoringParams.default().as_dict()
            base.update({k: v for k, v in self.params.items() if k != "weights"})
            base["weights"] = {**base["weights"], **self.params.get("weights", {})}
            return ScoringParams.from_dict(base)
        return ScoringParams.from_file(self.params)

    def fit(self, dataset: Dataset | str | Path, embedder: TextEmbedder | None = None,
            classifier: dict[str, Any] | None = None) -> Matcher:
        """Learn text vectors, inferences and the actor table from a dataset.

        ``embedder`` and ``classifier`` (as saved in a model folder) are reused
        instead of learned when given.
        """
        ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
        if not 0.0 <= self.word_weight <= 1.0:
            raise ParameterError(f"word_weight 应在 0 到 1 之间：{self.word_weight}",
                                 f"word_weight must be in [0, 1], got {self.word_weight}")
        if self.ranker not in RANKERS:
            raise ParameterError(f"未知的排序方式：{self.ranker}（可选：{'、'.join(RANKERS)}）",
                                 f"unknown ranker {self.ranker!r} (one of {', '.join(RANKERS)})")
        self.scoring_ = self._scoring_params()
        self.tokenizer_ = ChineseTokenizer()
        self.taxonomy_ = default_taxonomy()
        lex = default_lexicon()
        self.categories_ = list(self.taxonomy_.codes)
        for n in ds.needs.values():
            if n.category and n.category not in self.categories_:
                self.categories_.append(n.category)
        for a in ds.actors.values():
            self.categories_.extend(c for c in a.categories if c not in self.categories_)
        self.concepts_ = sorted(lex.concept_categories)
        actors = sorted(ds.actors.values(), key=lambda a: a.actor_id)
        needs = sorted(ds.needs.values(), key=lambda n: n.need_id)
        a_norm = [normalize_text(a.text) for a in actors]
        n_norm = [normalize_text(n.text) for n in needs]
        a_tok = self.tokenizer_.tokenize_many(a.text for a in actors)
        n_tok = self.tokenizer_.tokenize_many((n.text for n in needs), fuzzy=self.fuzzy)
        if embedder is None:
            embedder = TextEmbedder(word_weight=self.word_weight,
                                    min_df=2 if len(a_norm) + len(n_norm) > 5000 else 1)
            embedder.fit(a_tok + n_tok, a_norm + n_norm)
        self.embedder_ = embedder
        need_x = self.embedder_.transform(n_tok, n_norm)
        self.classifier_ = classifier if classifier is not None else train_dataset_classifier(
            needs, need_x, enabled=self.use_classifier,
            min_labelled=self.scoring_.min_labelled_for_classifier,
            random_state=self.random_state)
        self.dataset_ = ds
        self.places_ = Places(ds.communities)
        self.need_rows_ = {n.need_id: i for i, n in enumerate(needs)}
        self.need_x_ = need_x
        self.need_tokens_ = n_tok
        # the shipped classifier in one batch (a dataset's own labels train its own
        # category head; the shipped urgency head still fills blank urgency cells)
        self.inferrer_ = NeedInferrer(self.scoring_, self.classifier_,
                                      shipped=self.use_text_classifier, fuzzy=self.fuzzy)
        self.inferrer_.predict_texts(needs, n_tok)
        self.inference_ = {n.need_id: self.inferrer_.infer(n, n_norm[i], need_x[i])
                           for i, n in enumerate(needs)}
        self._build_table(actors, a_norm, a_tok)
        self.rejected_ = {(f.need_id, f.actor_id) for f in ds.feedback if f.outcome == "rejected"}
        self.scopes_ = ScopeCache(self.index_)
        log.info("fitted on %d needs, %d actors", len(needs), len(actors))
        return self

    def _build_table(self, actors: list[Any], a_norm: list[str], a_tok: list[list[str]]) -> None:
        lex = default_lexicon()
        ds = self.dataset_
        homes = [self.places_.actor_home(a) for a in actors]
        inferred = [infer_actor_categories(t, lex) for t in a_norm]
        cued = [tuple(g for g in TARGET_GROUPS if g in lex.groups(t)) for t in a_norm]
        concepts = [tuple(c[len(CONCEPT_PREFIX):] for c in toks if c.startswith(CONCEPT_PREFIX))
                    for toks in a_tok]
        fb: dict[str, list[Feedback]] = defaultdict(list)
        for f in ds.feedback:
            fb[f.actor_id].append(f)
        coords = []
        for a in actors:
            c = ds.communities.get(a.community_id)
            coords.append((a.lat, a.lon) if a.lat is not None and a.lon is not None
                          else ((c.lat, c.lon) if c else (None, None)))
        is_fund = [restricted(a.kind) for a in actors]
        area_codes: dict[str, int] = {}
        table, perm = build_actor_table(
            actors, homes,
            categories=self.categories_, concepts=self.concepts_,
            served_categories=[a.categories or inf for a, inf in zip(actors, inferred, strict=True)],
            served_groups=[a.target_groups or cg for a, cg in zip(actors, cued, strict=True)],
            # a fund's restrictions are its cells, blank = unrestricted (the contract);
            # its text only feeds text similarity, never a restriction
            fund_categories=[a.categories if f else () for a, f in zip(actors, is_fund, strict=True)],
            fund_groups=[a.target_groups if f else () for a, f in zip(actors, is_fund, strict=True)],
            actor_concepts=concepts, load=ds.load, feedback=fb,
            area_codes=area_codes, coords=coords,
        )
        x = self.embedder_.transform(a_tok, a_norm)[perm]
        # One inverted index (features × actors, CSR) per scope range: a query's few
        # terms pick out just the actors that share them, with no scan of the rest.
        self.index_ = EngineIndex(
            table=table,
            actor_index={key: sp.csr_matrix(x[s:e].T) for key, (s, e) in table.ranges.items()},
            categories=self.categories_, concepts=self.concepts_, area_codes=area_codes,
            actor_homes=[homes[i] for i in perm], actor_tokens=[a_tok[i] for i in perm],
            served_any=np.asarray(table.served_categories.any(axis=1)),
            open_group=np.asarray(~table.served_groups.any(axis=1)
                                  | table.served_groups[:, TARGET_GROUPS.index("全体居民")]),
            communities=ds.communities, params=self.scoring_)
        self.table_ = table

    # ---------------------------------------------------------- persistence
    def save(self, path: str | Path, *, metrics: dict[str, Any] | None = None) -> Path:
        """Write the learned state to a versioned model folder (JSON + npz, no pickle)."""
        from .persist import save_model

        check_is_fitted(self, "table_")
        return save_model(self, path, metrics=metrics)

    @classmethod
    def load(cls, path: str | Path, dataset: Dataset | str | Path,
             params: str | dict[str, Any] | None = None, ranker: str | None = None
             ) -> Matcher:
        """A ready Matcher from a model folder, applied to ``dataset``: the saved text
        model and classifier are reused, the actor side is built from the data;
        ``params`` / ``ranker`` override the saved ones. The folder's metadata is
        kept as ``model_meta_``."""
        from .persist import load_model

        meta, emb, clf = load_model(path)
        saved = meta.get("params") or {}
        m = cls(params=params or meta["scoring"], word_weight=meta["embedder"]["word_weight"],
                use_classifier=saved.get("use_classifier", True),
                use_text_classifier=saved.get("use_text_classifier", True),
                fuzzy=saved.get("fuzzy", True),
                ranker=ranker or saved.get("ranker", "weighted"))
        m.fit(dataset, embedder=emb, classifier=clf)
        m.model_meta_ = meta
        return m

    # -------------------------------------------------------------- suggest
    def need_context(self, need: str | Need) -> tuple[Need, Inference, sp.csr_matrix, list[str]]:
        """The need record, the engine's inference, its vector and its tokens."""
        check_is_fitted(self, "table_")
        if isinstance(need, str):
            row = self.need_rows_.get(need)
            if row is None:
                raise UnknownNeedError(f"需求 {need} 不在数据集中", f"need {need!r} is not in the dataset")
            return (self.dataset_.needs[need], self.inference_[need], self.need_x_[row],
                    self.need_tokens_[row])
        if need.community_id not in self.dataset_.communities:
            raise ParameterError(f"社区 {need.community_id} 不在数据集中",
                                 f"community {need.community_id!r} is not in the dataset")
        if self.dataset_.needs.get(need.need_id) == need:  # unchanged since fitting
            return self.need_context(need.need_id)
        cached = getattr(self, "_last_record", None)
        if cached is not None and cached[0] == need:
            return cached[1]
        norm = normalize_text(need.text)
        tokens = self.tokenizer_.tokenize(need.text, fuzzy=self.fuzzy)
        x = self.embedder_.transform([tokens], [norm])
        ctx = (need, self.inferrer_.infer(need, norm, x), x, tokens)
        # a service asks for a new record's inference, suggestions and reasons in turn
        self._last_record = (need, ctx)
        return ctx

    def suggest(self, need: str | Need, k: int = 10,
                roles: Iterable[str] | None = None) -> dict[str, list[Suggestion]]:
        """Ranked, explained, feasible suggestions per role the need wants.

        Parameters
        ----------
        need : str or Need
            A need id of the fitted dataset, or a new ``Need`` record.
        k : int, default 10
            Suggestions per role at most.
        roles : iterable of str, optional
            Restrict to these roles (still only those the need wants).

        Returns
        -------
        dict
            ``{role: [Suggestion, ...]}``, best first (ties: actor id).
        """
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ParameterError(f"k 必须是正整数：{k}", f"k must be a positive integer, got {k}")
        wanted = list(ROLES) if roles is None else list(roles)
        for r in wanted:
            if r not in ROLES:
                raise ParameterError(f"未知的角色：{r}", f"unknown role {r!r}")
        rec, inf, x, tokens = self.need_context(need)
        return {role: self._suggest_role(rec, inf, x, tokens, role, k)
                for role in ROLES if role in rec.roles and role in wanted}

    def report(self, need: str | Need, k: int = 10,
               exclude: Iterable[tuple[str, str]] = ()) -> SuggestionReport:
        """Suggestions, the unserved reasons, the funds awaiting a confirmed category and
        what each suggested actor has left, in one call (a need page's content).

        ``exclude`` holds ``(role, actor_id)`` pairs staff rejected: they are left
        out, and the role is still filled up to ``k`` when others are feasible.
        """
        rec, inf, _, _ = self.need_context(need)
        skip = set(exclude)
        t = self.index_.table
        out: dict[str, list[Suggestion]] = {}
        unserved_: dict[str, str] = {}
        remaining: dict[str, float] = {}
        for role, items in self.suggest(rec, k=k + len(skip)).items():
            out[role] = [x for x in items if (role, x.actor_id) not in skip][:k]
            for x in out[role]:
                r = t.position[x.actor_id]
                remaining[x.actor_id] = (float(t.budget[r]) if budgeted(role)
                                         else float(t.capacity[r] - t.load[r]))
            if not out[role]:
                unserved_[role] = unserved(self.index_, rec, inf, role)
        held = [f for f in unconfirmed_funds(self.index_, rec, inf)
                if (self.dataset_.actors[f[0]].kind, f[0]) not in skip]
        return SuggestionReport(rec.need_id, inf, self.likely_categories(inf), out, remaining,
                                unserved_, held)

    def _scored(self, need: Need, inf: Inference, x: sp.csr_matrix, tokens: list[str],
                role: str) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Feasible table rows for a role, their scores (rounded) and components."""
        ix = self.index_
        sc = self.scopes_.get(need.community_id, role)
        if not sc.keys:
            return np.zeros(0, dtype=np.int64), np.zeros(0), {}
        ok = feasible_rows(ix.table, sc.rows, ix.need_columns(need, inf, role))
        rows = sc.rows[ok]
        if len(rows) == 0:
            return rows, np.zeros(0), {}
        cos = self.scopes_.cosines(sc.keys, ok, x)
        comps = components(ix, need, inf, cos, tokens, rows, role, sc, ok)
        scores = RANKERS[self.ranker](comps, self.scoring_, inf.urgency)
        if self.rejected_:
            ids = ix.table.ids
            penal = np.array([(need.need_id, ids[r]) in self.rejected_ for r in rows])
            scores = np.where(penal, scores * self.scoring_.rejected_penalty, scores)
        return rows, np.round(scores, 4), comps

    def prepare_scopes(self) -> int:
        """Compute the scope cache of every (community, role) now; return how many.

        A service calls this once after fitting, so that no resident's first
        request pays for it. Stops early when the cache is full.
        """
        check_is_fitted(self, "table_")
        return self.scopes_.prepare()

    def need_columns(self, need: Need, inf: Inference, role: str,
                     min_mass: float | None = None) -> NeedColumns:
        """The vectorised rules' view of a need in ``role``."""
        return self.index_.need_columns(need, inf, role, min_mass)

    def likely_categories(self, inf: Inference) -> list[str]:
        """The categories the ranking serves first (see :func:`ranking.likely_categories`)."""
        return likely_categories(self.index_, inf)

    def _ranked(self, need: Need, inf: Inference, x: sp.csr_matrix, tokens: list[str],
                role: str) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray,
                                    list[str]]:
        """Feasible rows, scores, components, the ranking key and the likely categories.

        Funds rank by score alone: their restrictions are checked by the hard rules.
        """
        rows, scores, comps = self._scored(need, inf, x, tokens, role)
        likely = self.likely_categories(inf) if not restricted(role) else []
        return rows, scores, comps, rank_key(self.index_, rows, scores, likely), likely

    def _suggest_role(self, need: Need, inf: Inference, x: sp.csr_matrix, tokens: list[str],
                      role: str, k: int) -> list[Suggestion]:
        rows, scores, comps, key, likely = self._ranked(need, inf, x, tokens, role)
        ix = self.index_
        out = []
        for i in covering(ix, rows, key, likely, k):
            r = int(rows[i])
            aid = ix.table.ids[r]
            breakdown = {c: round(float(v[i]), 4) for c, v in comps.items()}
            reasons = explain(ix, self.dataset_.actors[aid], need, inf, tokens, r, role,
                              breakdown, taxonomy=self.taxonomy_,
                              rejected=(need.need_id, aid) in self.rejected_)
            out.append(Suggestion(aid, float(scores[i]), reasons, breakdown))
        return out

    def candidates(self, need: str | Need, role: str, limit: int = 20) -> list[tuple[str, float]]:
        """The ``limit`` best feasible ``(actor_id, score)`` for one role, without reasons.

        This is what the batch assignment builds its graph from (ranked as
        :meth:`suggest` ranks; the scores are the weighted scores).
        """
        rec, inf, x, tokens = self.need_context(need)
        rows, scores, _, key, _ = self._ranked(rec, inf, x, tokens, role)
        ids = self.index_.table.ids
        return [(ids[rows[i]], float(scores[i])) for i in top_k(rows, key, ids, limit)]

    def unserved_reason(self, need: str | Need, role: str) -> str:
        """Why no actor of ``role`` can take this need (:func:`diagnosis.unserved`)."""
        rec, inf, _, _ = self.need_context(need)
        return unserved(self.index_, rec, inf, role)

    def unconfirmed_funds(self, need: str | Need) -> list[tuple[str, str, float]]:
        """Funds withheld only because the need's category is inferred, not confirmed
        (:func:`diagnosis.unconfirmed_funds`)."""
        rec, inf, _, _ = self.need_context(need)
        return unconfirmed_funds(self.index_, rec, inf)

    def distance_km(self, need: Need, rows: Any) -> np.ndarray:
        """Kilometres from the need to each actor row (NaN where unknown)."""
        return self.index_.distance_km(need, rows)

    # ------------------------------------------------------------ checking
    def update_load(self, load: dict[str, int], budgets: dict[str, float] | None = None) -> None:
        """Set actors' current load (and funds' remaining budget) without refitting.

        A service records decisions all day; they change who has capacity
        left, not what anyone offers, so the text model stays as it is.
        Actors not named get load 0; funds not named keep their budget.
        """
        check_is_fitted(self, "table_")
        self.index_.set_load(load, budgets)
        actors = dict(self.dataset_.actors)
        for aid, yuan in (budgets or {}).items():
            if aid in actors:
                actors[aid] = replace(actors[aid], budget_yuan=yuan)
        self.dataset_ = replace(self.dataset_, actors=actors, load=dict(load))
        self.scopes_.refresh()

    def update_actors(self, actors: Iterable[Actor]) -> bool:
        """Apply edited actors in place when only ``IN_PLACE_FIELDS`` changed;
        return False (and change nothing) when any edit needs a refit or an actor
        is new."""
        check_is_fitted(self, "table_")
        edits = list(actors)
        known = self.dataset_.actors
        for a in edits:
            old = known.get(a.actor_id)
            if old is None or any(getattr(a, f) != getattr(old, f) for f in _STRUCTURAL):
                return False
        if not edits:
            return True
        t = self.table_
        fb: dict[str, list[Feedback]] = defaultdict(list)
        for f in self.dataset_.feedback:
            fb[f.actor_id].append(f)
        actors_now = dict(known)
        for a in edits:
            r = t.position[a.actor_id]
            t.active[r], t.capacity[r], t.budget[r] = a.active, a.capacity, a.budget_yuan
            t.slots[r] = slot_mask(a.time_slots)
            t.quality[r] = actor_quality(a, fb[a.actor_id])
            actors_now[a.actor_id] = a
        self.dataset_ = replace(self.dataset_, actors=actors_now)
        self.scopes_.refresh()
        return True

    def update_feedback(self, feedback: Iterable[Feedback]) -> None:
        """Learn from the outcomes recorded so far without refitting: the quality of
        the actors whose outcomes changed, and which pairs staff rejected."""
        check_is_fitted(self, "table_")
        fb = tuple(feedback)
        old: dict[str, list[Feedback]] = defaultdict(list)
        new: dict[str, list[Feedback]] = defaultdict(list)
        for f in self.dataset_.feedback:
            old[f.actor_id].append(f)
        for f in fb:
            new[f.actor_id].append(f)
        t = self.table_
        for aid in set(old) | set(new):
            r = t.position.get(aid)
            if r is not None and sorted(map(repr, old[aid])) != sorted(map(repr, new[aid])):
                t.quality[r] = actor_quality(self.dataset_.actors[aid], new[aid])
        self.rejected_ = {(f.need_id, f.actor_id) for f in fb if f.outcome == "rejected"}
        self.dataset_ = replace(self.dataset_, feedback=fb)
        self.scopes_.refresh()

    def pair_violations(self, need: str | Need, actor_id: str, role: str) -> list[str]:
        """Hard-constraint reason codes for a pair, by the scalar reference rules."""
        rec, inf, _, _ = self.need_context(need)
        return violations(self.need_ctx(rec, inf), self.actor_ctx(actor_id), role)

    def need_ctx(self, need: Need, inf: Inference) -> NeedContext:
        """The constraint view of a need (effective category and groups)."""
        return self.index_.need_ctx(need, inf)

    def actor_ctx(self, actor_id: str) -> ActorContext:
        """The constraint view of an actor (home, load, fund restrictions)."""
        a = self.dataset_.actors.get(actor_id)
        if a is None:
            raise ParameterError(f"资源 {actor_id} 不在数据集中", f"actor {actor_id!r} is not in the dataset")
        return self.index_.actor_ctx(a)
