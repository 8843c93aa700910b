"""The :class:`Matcher` estimator: fit on a dataset, suggest per role.

It wires the pure modules together: text (tokenizer, lexicon), inference,
embedding, the actor table, constraints and scoring. It is the only module
that knows the whole pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .build import build_index, engine_categories
from .constraints import violations
from .dataset import load_dataset
from .diagnosis import unconfirmed_funds, unserved
from .embed import TextEmbedder
from .errors import ParameterError, UnknownNeedError
from .explain import explain
from .geo import Places
from .infer import Inference
from .inferrer import NeedInferrer, train_dataset_classifier
from .kinds import budgeted
from .lexicon import default_lexicon
from .ranking import (
    GENERIC_CONCEPTS,
    Suggestion,
    SuggestionReport,
    covering,
    likely_categories,
    rank,
    top_k,
)
from .records import ROLES, Actor, Dataset, Feedback, Need
from .retrieval import ScopeCache
from .scoring import RANKERS, ScoringParams
from .taxonomy import default_taxonomy
from .text import ChineseTokenizer, normalize_text
from .updates import (
    IN_PLACE_FIELDS,
    apply_actor_edits,
    apply_feedback,
    apply_load,
    reindex_actors,
    rejected_pairs,
)

__all__ = ["GENERIC_CONCEPTS", "IN_PLACE_FIELDS", "Matcher", "Suggestion"]

log = logging.getLogger(__name__)


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
        self.scoring_ = ScoringParams.resolve(self.params)
        self.tokenizer_ = ChineseTokenizer()
        self.taxonomy_ = default_taxonomy()
        lex = default_lexicon()
        self.categories_ = engine_categories(ds, self.taxonomy_)
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
        self.index_ = build_index(ds, actors, a_norm, a_tok, embedder,
                                  categories=self.categories_, concepts=self.concepts_,
                                  places=self.places_, params=self.scoring_)
        self.table_ = self.index_.table
        self.rejected_ = rejected_pairs(ds.feedback)
        self.scopes_ = ScopeCache(self.index_)
        log.info("fitted on %d needs, %d actors", len(needs), len(actors))
        return self

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
        return SuggestionReport(rec.need_id, inf, likely_categories(self.index_, inf), out,
                                remaining,
                                unserved_, held)

    def prepare_scopes(self) -> int:
        """Compute the scope cache of every (community, role) now; return how many.

        A service calls this once after fitting, so that no resident's first
        request pays for it. Stops early when the cache is full.
        """
        check_is_fitted(self, "table_")
        return self.scopes_.prepare()

    def _suggest_role(self, need: Need, inf: Inference, x: sp.csr_matrix, tokens: list[str],
                      role: str, k: int) -> list[Suggestion]:
        ix = self.index_
        r_ = rank(ix, self.scopes_, need, inf, x, tokens, role, ranker=self.ranker,
                  rejected=self.rejected_)
        out = []
        for i in covering(ix, r_.rows, r_.key, r_.likely, k):
            r = int(r_.rows[i])
            aid = ix.table.ids[r]
            breakdown = {c: round(float(v[i]), 4) for c, v in r_.components.items()}
            reasons = explain(ix, self.dataset_.actors[aid], need, inf, tokens, r, role,
                              breakdown, taxonomy=self.taxonomy_,
                              rejected=(need.need_id, aid) in self.rejected_)
            out.append(Suggestion(aid, float(r_.scores[i]), reasons, breakdown))
        return out

    def candidates(self, need: str | Need, role: str, limit: int = 20) -> list[tuple[str, float]]:
        """The ``limit`` best feasible ``(actor_id, score)`` for one role, without reasons.

        This is what the batch assignment builds its graph from (ranked as
        :meth:`suggest` ranks; the scores are the weighted scores).
        """
        rec, inf, x, tokens = self.need_context(need)
        r = rank(self.index_, self.scopes_, rec, inf, x, tokens, role, ranker=self.ranker,
                 rejected=self.rejected_)
        ids = self.index_.table.ids
        return [(ids[r.rows[i]], float(r.scores[i])) for i in top_k(r.rows, r.key, ids, limit)]

    def unserved_reason(self, need: str | Need, role: str) -> str:
        """Why no actor of ``role`` can take this need (:func:`diagnosis.unserved`)."""
        rec, inf, _, _ = self.need_context(need)
        return unserved(self.index_, rec, inf, role)

    def unconfirmed_funds(self, need: str | Need) -> list[tuple[str, str, float]]:
        """Funds withheld only because the need's category is inferred, not confirmed
        (:func:`diagnosis.unconfirmed_funds`)."""
        rec, inf, _, _ = self.need_context(need)
        return unconfirmed_funds(self.index_, rec, inf)

    # ------------------------------------------------------------ checking
    def update_load(self, load: dict[str, int], budgets: dict[str, float] | None = None) -> None:
        """Set actors' current load (and funds' remaining budget) without refitting
        (:func:`updates.apply_load`)."""
        check_is_fitted(self, "table_")
        self.dataset_ = apply_load(self.index_, self.dataset_, load, budgets)
        self.scopes_.refresh()

    def update_actors(self, actors: Iterable[Actor]) -> bool:
        """Apply new and edited actors without refitting the text model; return False
        (and change nothing) when a refit is needed (:func:`updates.reindex_actors`).

        Edits of ``IN_PLACE_FIELDS`` only change the table's columns; new actors
        and edits of what an actor offers or where rebuild the actor side with
        the text model frozen.
        """
        check_is_fitted(self, "table_")
        edits = list(actors)
        ds = apply_actor_edits(self.index_, self.dataset_, edits)
        if ds is not None:
            self.dataset_ = ds
            self.scopes_.refresh()
            return True
        out = reindex_actors(self.index_, self.dataset_, edits, embedder=self.embedder_,
                             tokenizer=self.tokenizer_, places=self.places_)
        if isinstance(out, str):
            log.info("actor changes need a refit (%s)", out)
            return False
        self.index_, self.dataset_ = out
        self.table_ = self.index_.table
        self.scopes_ = ScopeCache(self.index_)
        return True

    def update_feedback(self, feedback: Iterable[Feedback]) -> None:
        """Learn from the outcomes recorded so far without refitting: the quality of
        the actors whose outcomes changed, and which pairs staff rejected."""
        check_is_fitted(self, "table_")
        self.dataset_ = apply_feedback(self.index_, self.dataset_, feedback)
        self.rejected_ = rejected_pairs(self.dataset_.feedback)
        self.scopes_.refresh()

    def pair_violations(self, need: str | Need, actor_id: str, role: str) -> list[str]:
        """Hard-constraint reason codes for a pair, by the scalar reference rules."""
        rec, inf, _, _ = self.need_context(need)
        a = self.dataset_.actors.get(actor_id)
        if a is None:
            raise ParameterError(f"资源 {actor_id} 不在数据集中", f"actor {actor_id!r} is not in the dataset")
        return violations(self.index_.need_ctx(rec, inf), self.index_.actor_ctx(a), role)
