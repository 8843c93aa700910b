"""What the engine believes of each need: :class:`NeedInferrer`.

It joins the lexicon (:mod:`matcher.infer`), a category classifier trained
on the dataset's own labelled needs (when there are enough), and the shipped
text classifier's heads (category, target groups, urgency;
:mod:`matcher.textclf`). The shipped classifier's answer is cached per
distinct text, so a text is predicted once whether it comes in a batch (a
fit) or alone (a new record from the service).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from .infer import Inference, infer_need
from .lexicon import default_lexicon
from .records import Need
from .scoring import ScoringParams
from .text import CONCEPT_PREFIX
from .textclf import TextClassifier, default_text_classifier

__all__ = ["NeedInferrer", "train_dataset_classifier"]

#: per distinct text: the shipped category head over its categories (or None),
#: the urgency head and the group head
_Cached = tuple[np.ndarray | None, dict[int, float], dict[str, float]]


def train_dataset_classifier(needs: Sequence[Need], x: sp.csr_matrix, *, enabled: bool,
                             min_labelled: int, random_state: int) -> dict[str, Any]:
    """A logistic regression on the dataset's labelled needs (their TF-IDF rows ``x``),
    as plain arrays (saved in the model folder); empty when too few are labelled."""
    labelled = [i for i, n in enumerate(needs) if n.category]
    classes = sorted({needs[i].category for i in labelled})
    if not enabled or len(labelled) < min_labelled or len(classes) < 2:
        return {}
    clf = LogisticRegression(C=4.0, max_iter=2000, random_state=random_state)
    clf.fit(x[labelled], [needs[i].category for i in labelled])
    return {"classes": [str(c) for c in clf.classes_],
            "coef": clf.coef_.astype(np.float32), "intercept": clf.intercept_}


class NeedInferrer:
    """Infer category, groups and urgency of needs (see the module docstring).

    ``classifier`` is the dataset's own category classifier (arrays, maybe
    empty); ``shipped`` the shipped text classifier, or None when switched off.
    """

    def __init__(self, params: ScoringParams, classifier: dict[str, Any], *,
                 shipped: bool = True, fuzzy: bool = True) -> None:
        self.params = params
        self.classifier = classifier
        self.shipped: TextClassifier | None = default_text_classifier() if shipped else None
        self.fuzzy = fuzzy
        self._cache: dict[str, _Cached] = {}

    def _classifier_proba(self, x: sp.csr_matrix) -> dict[str, float] | None:
        clf = self.classifier
        if not clf:
            return None
        logits = np.asarray(x @ clf["coef"].T).ravel() + clf["intercept"]
        if len(clf["classes"]) == 2:  # binary logistic regression: one column
            p1 = 1.0 / (1.0 + np.exp(-logits[0]))
            return {clf["classes"][0]: float(1 - p1), clf["classes"][1]: float(p1)}
        e = np.exp(logits - logits.max())
        p = e / e.sum()
        return {c: float(v) for c, v in zip(clf["classes"], p, strict=True)}

    def _entry(self, pred: dict[str, Any]) -> _Cached:
        assert self.shipped is not None
        cat = np.array([pred["category"][c] for c in self.shipped.categories], dtype=np.float32)
        return (cat, {u: round(p, 4) for u, p in pred["urgency"].items()},
                {g: round(p, 4) for g, p in pred["groups"].items()})

    @staticmethod
    def _pending(need: Need) -> bool:
        return not need.category or not need.urgency_given or not need.target_groups

    def predict_texts(self, needs: Sequence[Need], tokens: Sequence[list[str]]) -> None:
        """Run the shipped classifier once over the distinct texts that need it
        (their concepts are already among their ``tokens``)."""
        if self.shipped is None:
            return
        pending = [i for i, n in enumerate(needs) if self._pending(n)]
        first = {needs[i].text: i for i in reversed(pending) if needs[i].text not in self._cache}
        if not first:
            return
        texts = list(first)
        concepts = ([dict.fromkeys(t[len(CONCEPT_PREFIX):] for t in tokens[first[x]]
                                   if t.startswith(CONCEPT_PREFIX)) for x in texts]
                    if self.fuzzy else None)
        for text, pred in zip(texts, self.shipped.predict(texts, concepts), strict=True):
            self._cache[text] = self._entry(pred)

    def infer(self, need: Need, norm: str, x: sp.csr_matrix) -> Inference:
        """The engine's inference for one need (``norm``: its normalised text,
        ``x``: its TF-IDF row)."""
        p = self.params
        proba, weight = self._classifier_proba(x), p.classifier_weight
        urgency_proba = group_proba = None
        if self.shipped is not None and self._pending(need):
            if need.text not in self._cache:  # raw: the classifier finds the sentences itself
                self._cache[need.text] = self._entry(self.shipped.predict([need.text])[0])
            cat, urgency_proba, groups = self._cache[need.text]
            if p.text_classifier_weight > 0:
                group_proba = groups
            # the shipped category head, unless the dataset trains its own or its weight is 0
            if (proba is None and not need.category and cat is not None
                    and not self.classifier and p.text_classifier_weight > 0):
                proba = {c: float(v) for c, v in zip(self.shipped.categories, cat, strict=True)}
                weight = p.text_classifier_weight
        return infer_need(norm, default_lexicon(), given_category=need.category,
                          given_groups=need.target_groups, classifier_proba=proba,
                          classifier_weight=weight, fuzzy=self.fuzzy,
                          given_urgency=need.urgency if need.urgency_given else None,
                          urgency_proba=urgency_proba, group_proba=group_proba,
                          sure_category=p.fund_min_confidence,
                          group_floor=p.fund_min_group_confidence)
