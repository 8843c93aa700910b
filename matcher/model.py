"""The :class:`Matcher` estimator: fit on a dataset, suggest per role.

It wires the pure modules together: text (tokenizer, lexicon), inference,
embedding, the actor table, constraints and scoring. It is the only module
that knows the whole pipeline.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from .constraints import ActorContext, NeedContext, slot_mask, violations
from .dataset import load_dataset
from .embed import TextEmbedder
from .errors import ParameterError, UnknownNeedError
from .explain import explain
from .geo import Places, community_path
from .infer import Inference, infer_actor_categories, infer_need
from .kinds import budgeted, restricted
from .lexicon import default_lexicon
from .records import ROLES, TARGET_GROUPS, Dataset, Feedback, Need
from .rules import NeedColumns, unserved_reason
from .scoring import RANKERS, ScoringParams, proximity_score
from .table import build_actor_table, feasible_rows, need_columns, need_range_keys
from .taxonomy import default_taxonomy
from .text import CONCEPT_PREFIX, ChineseTokenizer, normalize_text
from .textclf import default_text_classifier

__all__ = ["GENERIC_CONCEPTS", "Matcher", "Suggestion"]

log = logging.getLogger(__name__)

# Concepts that say what kind of actor something is, not what service a need wants.
GENERIC_CONCEPTS = frozenset({"志愿服务", "社会工作", "慈善资金", "工作用语"})


class _Scope(NamedTuple):
    """What a (community, role) pair needs, whatever the need: cached per pair."""

    keys: list[tuple[int, str, str]]
    rows: np.ndarray
    proximity: np.ndarray
    quality: np.ndarray
    capacity: np.ndarray
    served_any: np.ndarray
    open_group: np.ndarray


# Scopes are cached per (community, role); a city has thousands of communities, so
# the cache is bounded by the proximity values it holds (4 bytes each: ~200 MB) as
# well as by entries.
_SCOPE_CACHE_SIZE = 20_000
_SCOPE_CACHE_ROWS = 50_000_000


def _index_product(index: sp.csr_matrix, x: sp.csr_matrix) -> np.ndarray:
    """``x @ index`` as a dense vector, touching only the actors that share a term.

    ``index`` is features × actors (an inverted index), ``x`` one need's 1 ×
    features row: a need has tens of terms, a city scope tens of thousands of
    actors, so gathering the posting lists of those terms beats a product over
    every actor's row. Plain numpy, to skip scipy's per-call checks on the
    hot path.
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


class Suggestion(NamedTuple):
    """One ranked suggestion: actor, score in [0, 1], reasons (Chinese), breakdown."""

    actor_id: str
    score: float
    reasons: list[str]
    breakdown: dict[str, float]


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
        self.classifier_ = classifier if classifier is not None else self._train_classifier(
            needs, need_x)
        self.dataset_ = ds
        self.places_ = Places(ds.communities)
        self.need_rows_ = {n.need_id: i for i, n in enumerate(needs)}
        self.need_x_ = need_x
        self.need_tokens_ = n_tok
        # the shipped classifier, in one batch (a dataset's own labels train its own
        # category head; the shipped urgency head still fills blank urgency cells)
        self._text_proba: dict[str, tuple[np.ndarray | None, dict[int, float],
                                         dict[str, float]]] = {}
        shipped = self._shipped()
        pending = [i for i, n in enumerate(needs)
                   if not n.category or not n.urgency_given or not n.target_groups]
        if shipped is not None and pending:
            # each distinct text once; its concepts are already among its tokens
            first = {needs[i].text: i for i in reversed(pending)}
            texts = list(first)
            concepts = ([dict.fromkeys(t[len(CONCEPT_PREFIX):] for t in n_tok[first[x]]
                                       if t.startswith(CONCEPT_PREFIX)) for x in texts]
                        if self.fuzzy else None)
            for text, pred in zip(texts, shipped.predict(texts, concepts), strict=True):
                self._text_proba[text] = self._cache_entry(shipped, pred)
        self.inference_ = {n.need_id: self._infer(n, n_norm[i], need_x[i])
                           for i, n in enumerate(needs)}
        self._build_table(actors, a_norm, a_tok)
        self.rejected_ = {(f.need_id, f.actor_id) for f in ds.feedback if f.outcome == "rejected"}
        self._scopes: OrderedDict[tuple[str, str], _Scope] = OrderedDict()
        self._ranges: dict[tuple[str, tuple[Any, ...]], _Scope] = {}
        self._scope_rows = 0
        log.info("fitted on %d needs, %d actors", len(needs), len(actors))
        return self

    def _train_classifier(self, needs: list[Need], x: sp.csr_matrix) -> dict[str, Any]:
        labelled = [i for i, n in enumerate(needs) if n.category]
        classes = sorted({needs[i].category for i in labelled})
        if (not self.use_classifier or len(labelled) < self.scoring_.min_labelled_for_classifier
                or len(classes) < 2):
            return {}
        clf = LogisticRegression(C=4.0, max_iter=2000, random_state=self.random_state)
        clf.fit(x[labelled], [needs[i].category for i in labelled])
        return {"classes": [str(c) for c in clf.classes_],
                "coef": clf.coef_.astype(np.float32), "intercept": clf.intercept_}

    def _classifier_proba(self, x: sp.csr_matrix) -> dict[str, float] | None:
        clf = self.classifier_
        if not clf:
            return None
        logits = np.asarray(x @ clf["coef"].T).ravel() + clf["intercept"]
        if len(clf["classes"]) == 2:  # binary logistic regression: one column
            p1 = 1.0 / (1.0 + np.exp(-logits[0]))
            return {clf["classes"][0]: float(1 - p1), clf["classes"][1]: float(p1)}
        e = np.exp(logits - logits.max())
        p = e / e.sum()
        return {c: float(v) for c, v in zip(clf["classes"], p, strict=True)}

    def _shipped(self) -> Any:
        """The shipped text classifier, unless it is switched off."""
        return default_text_classifier() if self.use_text_classifier else None

    def _text_classifier(self) -> Any:
        """The shipped classifier's category head, unless the dataset trains its own or
        its weight is 0."""
        if self.classifier_ or self.scoring_.text_classifier_weight <= 0:
            return None
        return self._shipped()

    @staticmethod
    def _cache_entry(shipped: Any, pred: dict[str, Any]
                     ) -> tuple[np.ndarray | None, dict[int, float], dict[str, float]]:
        cat = np.array([pred["category"][c] for c in shipped.categories], dtype=np.float32)
        return (cat, {u: round(p, 4) for u, p in pred["urgency"].items()},
                {g: round(p, 4) for g, p in pred["groups"].items()})

    def _infer(self, need: Need, norm: str, x: sp.csr_matrix) -> Inference:
        proba, weight = self._classifier_proba(x), self.scoring_.classifier_weight
        shipped = self._shipped()
        urgency_proba = group_proba = None
        if shipped is not None and (not need.category or not need.urgency_given
                                    or not need.target_groups):
            cache = self.__dict__.setdefault("_text_proba", {})
            if need.text not in cache:  # raw: the classifier finds the sentences itself
                cache[need.text] = self._cache_entry(shipped, shipped.predict([need.text])[0])
            cat, urgency_proba, groups = cache[need.text]
            if self.scoring_.text_classifier_weight > 0:
                group_proba = groups
            if (proba is None and not need.category and cat is not None
                    and self._text_classifier() is not None):
                proba = {c: float(v) for c, v in zip(shipped.categories, cat, strict=True)}
                weight = self.scoring_.text_classifier_weight
        return infer_need(norm, default_lexicon(), given_category=need.category,
                          given_groups=need.target_groups, classifier_proba=proba,
                          classifier_weight=weight, fuzzy=self.fuzzy,
                          given_urgency=need.urgency if need.urgency_given else None,
                          urgency_proba=urgency_proba, group_proba=group_proba,
                          sure_category=self.scoring_.fund_min_confidence,
                          group_floor=self.scoring_.fund_min_group_confidence)

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
        self.area_codes_: dict[str, int] = {}
        self.table_, perm = build_actor_table(
            actors, homes,
            categories=self.categories_, concepts=self.concepts_,
            served_categories=[a.categories or inf for a, inf in zip(actors, inferred, strict=True)],
            served_groups=[a.target_groups or cg for a, cg in zip(actors, cued, strict=True)],
            # a fund's restrictions are its cells, blank = unrestricted (the contract);
            # its text only feeds text similarity, never a restriction
            fund_categories=[a.categories if f else () for a, f in zip(actors, is_fund, strict=True)],
            fund_groups=[a.target_groups if f else () for a, f in zip(actors, is_fund, strict=True)],
            actor_concepts=concepts, load=ds.load, feedback=fb,
            area_codes=self.area_codes_, coords=coords,
        )
        x = self.embedder_.transform(a_tok, a_norm)[perm]
        # One inverted index (features × actors, CSR) per scope range: a query's few
        # terms pick out just the actors that share them, with no scan of the rest.
        self.actor_index_ = {key: sp.csr_matrix(x[s:e].T)
                             for key, (s, e) in self.table_.ranges.items()}
        t = self.table_
        self.served_any_ = np.asarray(t.served_categories.any(axis=1))
        self.open_group_ = np.asarray(~t.served_groups.any(axis=1)
                            | t.served_groups[:, TARGET_GROUPS.index("全体居民")])
        self.actor_tokens_ = [a_tok[i] for i in perm]
        self.actor_homes_ = [homes[i] for i in perm]

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
        ctx = (need, self._infer(need, norm, x), x, tokens)
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

    def _scored(self, need: Need, inf: Inference, x: sp.csr_matrix, tokens: list[str],
                role: str) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Feasible table rows for a role, their scores (rounded) and components."""
        t = self.table_
        sc = self._scope(need.community_id, role)
        if not sc.keys:
            return np.zeros(0, dtype=np.int64), np.zeros(0), {}
        ok = self._feasible(need, inf, sc.rows, role)
        rows = sc.rows[ok]
        if len(rows) == 0:
            return rows, np.zeros(0), {}
        cos = self._cosines(sc.keys, ok, x)
        comps = self._components(need, inf, cos, tokens, rows, role, sc, ok)
        scores = RANKERS[self.ranker](comps, self.scoring_, inf.urgency)
        if self.rejected_:
            penal = np.array([(need.need_id, t.ids[r]) in self.rejected_ for r in rows])
            scores = np.where(penal, scores * self.scoring_.rejected_penalty, scores)
        return rows, np.round(scores, 4), comps

    def _refresh_capacity(self) -> None:
        """Recompute the cached capacity column after load changed (proximity stays)."""
        t = self.table_
        fresh = {}
        for rk, sh in self._ranges.items():
            cap = np.maximum(t.capacity[sh.rows], 1)
            fresh[rk] = sh._replace(capacity=((cap - t.load[sh.rows]) / cap).astype(np.float64))
        self._ranges = fresh
        for key, sc in self._scopes.items():
            self._scopes[key] = sc._replace(capacity=fresh[(key[1], tuple(sc.keys))].capacity)

    def prepare_scopes(self) -> int:
        """Compute the scope cache of every (community, role) now; return how many.

        A service calls this once after fitting, so that no resident's first
        request pays for it. Stops early when the cache is full.
        """
        check_is_fitted(self, "table_")
        n = 0
        for cid in sorted(self.dataset_.communities):
            for role in ROLES:
                if self._scope_rows >= _SCOPE_CACHE_ROWS or n >= _SCOPE_CACHE_SIZE:
                    return n
                self._scope(cid, role)
                n += 1
        return n

    def _cosines(self, keys: list[tuple[int, str, str]], ok: np.ndarray,
                 x: sp.csr_matrix) -> np.ndarray:
        """Text similarity of the feasible rows, from each range's inverted index."""
        out = []
        start = 0
        for key in keys:
            index = self.actor_index_[key]
            n = index.shape[1]
            out.append(_index_product(index, x)[ok[start:start + n]])
            start += n
        return np.concatenate(out) if out else np.zeros(0)

    def _scope(self, community_id: str, role: str) -> _Scope:
        """In-scope rows and need-independent components for a community and role.

        Communities whose scope covers the same row ranges (every community for a
        city-wide fund) share one copy of the rows and their need-independent
        columns; only proximity is kept per community (float32).
        """
        key = (community_id, role)
        sc = self._scopes.get(key)
        if sc is not None:
            self._scopes.move_to_end(key)
            return sc
        t, p = self.table_, self.scoring_
        path = community_path(self.dataset_.communities[community_id])
        keys = [k for k in need_range_keys(role, path) if k in t.ranges]
        shared = self._ranges.get((role, tuple(keys)))
        if shared is None:
            rows = (np.concatenate([np.arange(*t.ranges[k]) for k in keys]) if keys
                    else np.zeros(0, dtype=np.int64))
            cap = np.maximum(t.capacity[rows], 1)
            shared = _Scope(keys=keys, rows=rows, proximity=np.zeros(0),
                            quality=t.quality[rows].astype(np.float64),
                            capacity=((cap - t.load[rows]) / cap).astype(np.float64),
                            served_any=self.served_any_[rows], open_group=self.open_group_[rows])
            self._ranges[(role, tuple(keys))] = shared
        rows = shared.rows
        codes = [self.area_codes_.get("/".join(path[:d]), -2) for d in range(1, 5)]
        hc = t.home_codes[rows]
        level = np.full(len(rows), 4)
        for lvl, depth in ((3, 0), (2, 1), (1, 2), (0, 3)):
            level = np.where(hc[:, depth] == codes[depth], lvl, level)
        c = self.dataset_.communities[community_id]
        km = self._km(c.lat, c.lon, rows)
        sc = shared._replace(proximity=proximity_score(level, km, p.distance_scale_km)
                             .astype(np.float32))
        self._scopes[key] = sc
        self._scope_rows += len(rows)
        while len(self._scopes) > 1 and (len(self._scopes) > _SCOPE_CACHE_SIZE
                                         or self._scope_rows > _SCOPE_CACHE_ROWS):
            _, old = self._scopes.popitem(last=False)
            self._scope_rows -= len(old.rows)
        return sc

    def _feasible(self, need: Need, inf: Inference, rows: np.ndarray, role: str,
                  *, capacity: bool = True, min_mass: float | None = None) -> np.ndarray:
        return feasible_rows(self.table_, rows, self.need_columns(need, inf, role, min_mass),
                             capacity=capacity)

    def need_columns(self, need: Need, inf: Inference, role: str,
                      min_mass: float | None = None) -> NeedColumns:
        """The vectorised rules' view of a need in ``role`` (the fund confidence
        gate at ``min_mass``, default ``fund_min_confidence``)."""
        cat_ix = self.categories_.index(inf.category) if inf.category in self.categories_ else -1
        mass = inf.certainty * np.array([inf.category_scores.get(c, 0.0)
                                         for c in self.categories_])
        # a fund restricted to a group admits only the groups sure enough for it
        groups = np.array([g in inf.fund_groups for g in TARGET_GROUPS])
        return need_columns(role, slots=slot_mask(need.time_slots), budget=need.budget_yuan,
                            category=cat_ix, groups=groups,
                            path=community_path(self.dataset_.communities[need.community_id]),
                            area_codes=self.area_codes_, category_mass=mass,
                            min_mass=(self.scoring_.fund_min_confidence if min_mass is None
                                      else min_mass))

    @staticmethod
    def _top(rows: np.ndarray, scores: np.ndarray, ids: list[str], k: int) -> list[int]:
        """Indices of the k best (score desc, then actor id), without sorting everything."""
        idx = np.arange(len(rows))
        if len(rows) > k:
            kth = np.partition(scores, len(scores) - k)[len(scores) - k]
            idx = idx[scores >= kth]
        return sorted(idx.tolist(), key=lambda i: (-scores[i], ids[rows[i]]))[:k]

    def likely_categories(self, inf: Inference) -> list[str]:
        """The categories the ranking serves first: the need's own when given or
        confident, else the two most likely (each with a share of at least 0.15)."""
        if not inf.category:
            return []
        if inf.category_given or inf.category_confidence >= self.scoring_.confident_category:
            return [inf.category]
        top = sorted(inf.category_scores.items(), key=lambda kv: (-kv[1], kv[0]))
        return [c for c, share in top[:2] if share >= 0.15 and c in self.categories_]

    def _serving(self, rows: np.ndarray, category: str) -> np.ndarray:
        j = self.categories_.index(category)
        return self.table_.served_categories[rows, j].astype(bool)

    def _ranked(self, need: Need, inf: Inference, x: sp.csr_matrix, tokens: list[str],
                role: str) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray,
                                    list[str]]:
        """Feasible rows, scores, components and the ranking key.

        An actor offering a likely category ranks above one that only shares
        words with the need (a place, a passing word, a group word): the key is
        the score plus 1 for such an actor. Funds rank by score: their
        restrictions are checked by the hard rules. (Dropping volunteers that
        offer no likely category cost 0.02 NDCG@5 on every development set:
        what a volunteer offers is read from a few words and is often missed.)
        """
        rows, scores, comps = self._scored(need, inf, x, tokens, role)
        likely = self.likely_categories(inf) if not restricted(role) else []
        if not len(rows) or not likely:
            return rows, scores, comps, scores, likely
        offers = np.zeros(len(rows), dtype=bool)
        for c in likely:
            offers |= self._serving(rows, c)
        return rows, scores, comps, scores + offers, likely

    def _covering(self, rows: np.ndarray, key: np.ndarray, likely: list[str],
                  k: int) -> list[int]:
        """The top ``k`` by ``key``; when two categories are likely, each of them is
        offered by at least one of the ``k`` if any feasible actor offers it."""
        ids = self.table_.ids
        top = self._top(rows, key, ids, k)
        if len(likely) < 2 or k < 2:
            return top
        for c in likely:
            serves = self._serving(rows, c)
            if serves[top].any() or not serves.any():
                continue
            best = self._top(rows, np.where(serves, key, -np.inf), ids, 1)[0]
            others = [c2 for c2 in likely if c2 != c]
            # drop the lowest suggestion not needed to cover another category
            for pos in range(len(top) - 1, -1, -1):
                needed = any(self._serving(rows[[top[pos]]], c2)[0]
                             and self._serving(rows[top], c2).sum() == 1 for c2 in others)
                if not needed:
                    top[pos] = best
                    break
            top = sorted(top, key=lambda i: (-key[i], ids[rows[i]]))
        return top

    def _suggest_role(self, need: Need, inf: Inference, x: sp.csr_matrix, tokens: list[str],
                      role: str, k: int) -> list[Suggestion]:
        rows, scores, comps, key, likely = self._ranked(need, inf, x, tokens, role)
        t = self.table_
        path = community_path(self.dataset_.communities[need.community_id])
        out = []
        for i in self._covering(rows, key, likely, k):
            r = int(rows[i])
            breakdown = {c: round(float(v[i]), 4) for c, v in comps.items()}
            reasons = explain(self, need, inf, tokens, r, role, breakdown, path)
            out.append(Suggestion(t.ids[r], float(scores[i]), reasons, breakdown))
        return out

    def candidates(self, need: str | Need, role: str, limit: int = 20) -> list[tuple[str, float]]:
        """The ``limit`` best feasible ``(actor_id, score)`` for one role, without reasons.

        This is what the batch assignment builds its graph from (ranked as
        :meth:`suggest` ranks; the scores are the weighted scores).
        """
        rec, inf, x, tokens = self.need_context(need)
        rows, scores, _, key, _ = self._ranked(rec, inf, x, tokens, role)
        ids = self.table_.ids
        return [(ids[rows[i]], float(scores[i])) for i in self._top(rows, key, ids, limit)]

    def unserved_reason(self, need: str | Need, role: str) -> str:
        """Why no actor of ``role`` can take this need (a diagnosis code).

        The first rule of :data:`matcher.rules.RULES`, in their order (a
        coordinator's: anyone in scope at all, at a matching time, admitted by a
        fund's rules, with budget or capacity left), that leaves nobody.
        """
        rec, inf, _, _ = self.need_context(need)
        rows = self._in_scope(rec, role)
        return unserved_reason(self.table_, rows, self.need_columns(rec, inf, role))

    def _in_scope(self, need: Need, role: str) -> np.ndarray:
        """Table rows of the actors of ``role`` whose scope covers the need."""
        t = self.table_
        path = community_path(self.dataset_.communities[need.community_id])
        keys = [key for key in need_range_keys(role, path) if key in t.ranges]
        return (np.concatenate([np.arange(*t.ranges[key]) for key in keys]) if keys
                else np.zeros(0, dtype=np.int64))

    def _active_in_scope(self, need: Need, role: str) -> np.ndarray:
        """Table rows of the active actors of ``role`` whose scope covers the need."""
        rows = self._in_scope(need, role)
        return rows[self.table_.active[rows]]

    def unconfirmed_funds(self, need: str | Need) -> list[tuple[str, str, float]]:
        """Funds withheld only because the need's category is inferred, not confirmed.

        A fund restricted to the inferred category that passes every other
        check (scope, groups, budget) is not suggested while the inference is
        unsure (below ``fund_min_confidence``). Returned as ``(fund id, the
        inferred category, its confidence)`` so staff can confirm the category
        and get the fund. Empty when the category was given.
        """
        rec, inf, _, _ = self.need_context(need)
        if rec.category:
            return []
        ids = self.table_.ids
        out = []
        for role in rec.roles:
            if not restricted(role):
                continue
            rows = self._active_in_scope(rec, role)
            held = (self._feasible(rec, inf, rows, role, min_mass=0.0)
                    & ~self._feasible(rec, inf, rows, role))
            out += [(ids[r], inf.category, inf.category_confidence) for r in rows[held]]
        return sorted(out)

    def _components(self, need: Need, inf: Inference, cos: np.ndarray, tokens: list[str],
                    rows: np.ndarray, role: str, sc: _Scope,
                    ok: np.ndarray) -> dict[str, np.ndarray]:
        t, p = self.table_, self.scoring_
        groups = np.array([g in inf.groups for g in TARGET_GROUPS])
        need_con = [self.concepts_.index(c[len(CONCEPT_PREFIX):]) for c in tokens
                    if c.startswith(CONCEPT_PREFIX)
                    and c[len(CONCEPT_PREFIX):] not in GENERIC_CONCEPTS]
        concept = np.zeros(len(rows))
        for j in need_con:  # column by column: np.ix_ over many rows is several times slower
            concept += t.concepts[rows, j]
        if need_con:
            concept /= len(need_con)
        # gather only the columns in play: scopes are large, a need's categories few
        fit = np.zeros(len(rows))
        for j, c in enumerate(self.categories_):
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
            km = self._km(need.lat, need.lon, rows)
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

    def distance_km(self, need: Need, rows: Any) -> np.ndarray:
        """Kilometres from the need to each actor row (NaN where unknown)."""
        c = self.dataset_.communities[need.community_id]
        lat = need.lat if need.lat is not None else c.lat
        lon = need.lon if need.lon is not None else c.lon
        return self._km(lat, lon, rows)

    def _km(self, lat: float | None, lon: float | None, rows: Any) -> np.ndarray:
        ll = self.table_.latlon[rows]
        if lat is None or lon is None:
            return np.full(len(rows), np.nan)
        if len(ll) == 1:  # one reason line: plain floats beat numpy's per-call overhead
            p1, p2 = math.radians(lat), math.radians(ll[0, 0])
            h = (math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2)
                 * math.sin(math.radians(ll[0, 1] - lon) / 2) ** 2)
            return np.array([2 * 6371.0 * math.asin(math.sqrt(min(max(h, 0.0), 1.0)))
                             if h == h else np.nan])
        p1, p2 = np.radians(lat), np.radians(ll[:, 0])
        dl = np.radians(ll[:, 1] - lon)
        h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
        return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))

    # ------------------------------------------------------------ checking
    def update_load(self, load: dict[str, int], budgets: dict[str, float] | None = None) -> None:
        """Set actors' current load (and funds' remaining budget) without refitting.

        A service records decisions all day; they change who has capacity
        left, not what anyone offers, so the text model stays as it is.
        Actors not named get load 0; funds not named keep their budget.
        """
        check_is_fitted(self, "table_")
        t = self.table_
        t.load[:] = 0
        for aid, n in load.items():
            r = t.position.get(aid)
            if r is not None:
                t.load[r] = n
        actors = dict(self.dataset_.actors)
        for aid, yuan in (budgets or {}).items():
            r = t.position.get(aid)
            if r is not None:
                t.budget[r] = yuan
                actors[aid] = replace(actors[aid], budget_yuan=yuan)
        self.dataset_ = replace(self.dataset_, actors=actors, load=dict(load))
        self._refresh_capacity()

    def pair_violations(self, need: str | Need, actor_id: str, role: str) -> list[str]:
        """Hard-constraint reason codes for a pair, by the scalar reference rules."""
        rec, inf, _, _ = self.need_context(need)
        return violations(self.need_ctx(rec, inf), self.actor_ctx(actor_id), role)

    def need_ctx(self, need: Need, inf: Inference) -> NeedContext:
        """The constraint view of a need (effective category and groups)."""
        path = community_path(self.dataset_.communities[need.community_id])
        return NeedContext(need, path, inf.category, inf.groups)

    def actor_ctx(self, actor_id: str) -> ActorContext:
        """The constraint view of an actor (home, load, fund restrictions)."""
        t = self.table_
        r = t.position.get(actor_id)
        if r is None:
            raise ParameterError(f"资源 {actor_id} 不在数据集中", f"actor {actor_id!r} is not in the dataset")
        a = self.dataset_.actors[actor_id]
        fc = tuple(c for c, on in zip(self.categories_, t.fund_categories[r], strict=True) if on)
        fg = tuple(g for g, on in zip(TARGET_GROUPS, t.fund_groups[r], strict=True) if on)
        return ActorContext(a, self.actor_homes_[r], int(t.load[r]), fc, fg)
