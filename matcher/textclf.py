"""The shipped need-text classifier: category, target groups and urgency.

Trained on the team's labelled corpus (``data/corpus``, many voices) and
shipped inside the package (``matcher/resources/textclf.json`` + ``.npz``:
no pickle), so a dataset without labelled needs still gets it. Features
need no vocabulary: hashed character 1–3-grams of the normalised text, and
hashed words and lexicon concepts from the project's tokenizer, weighted by
a stored IDF. The sentences that carry the ask (希望, 请求, 恳请, 能否 …) are
counted twice, so a long letter's story does not drown its request.

Models: multinomial logistic regression for the category and for urgency
(1–4), one binary logistic regression per target group; category
probabilities are temperature-scaled on out-of-fold predictions (see
``calibration`` in the JSON for the expected calibration error).

Examples
--------
>>> clf = default_text_classifier()
>>> p = clf.category_proba(["我爸82岁一个人住，中风后下不了楼，天天吃泡面"])[0]
>>> max(p, key=p.get)
'elderly_care'
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from .text import ChineseTokenizer, normalize_text

__all__ = ["ASK_CUES", "TextClassifier", "ask_weighted", "default_text_classifier", "featurize",
           "infer_texts"]

N_CHAR = 2 ** 18
N_WORD = 2 ** 17
#: words that open the sentence carrying a resident's request
ASK_CUES = ("希望", "请求", "恳请", "恳求", "能否", "能不能", "可不可以", "可否", "怎么办", "帮帮",
            "帮忙", "麻烦", "诉求", "想请", "请问", "求助", "呼吁", "建议", "要求", "盼", "想找",
            "想要", "需要")
_SENT = re.compile(r"(?<=[。！？!?；;\n])")


def ask_weighted(norm: str) -> str:
    """The text with its asking sentences repeated (they weigh double).

    >>> ask_weighted("去年中风了。希望有人送饭。")
    '去年中风了。希望有人送饭。 希望有人送饭。'
    """
    asks = [s for s in _SENT.split(norm) if s.strip() and any(c in s for c in ASK_CUES)]
    return norm + (" " + " ".join(a.strip() for a in asks) if asks else "")


def _hashers() -> tuple[HashingVectorizer, HashingVectorizer]:
    chars = HashingVectorizer(analyzer="char", ngram_range=(1, 3), n_features=N_CHAR,
                              alternate_sign=False, norm=None, lowercase=False)
    words = HashingVectorizer(analyzer=_tokens_of, n_features=N_WORD, alternate_sign=False,
                              norm=None)
    return chars, words


def _tokens_of(tokens: list[str]) -> list[str]:
    return tokens


@lru_cache(maxsize=1)
def _tokenizer() -> ChineseTokenizer:
    return ChineseTokenizer()


def featurize(texts: Sequence[str], idf: np.ndarray | None = None) -> sp.csr_matrix:
    """Raw texts → hashed, sub-linear TF (× IDF when given), L2-normalised rows."""
    norms = [ask_weighted(normalize_text(t)) for t in texts]
    chars, words = _hashers()
    tok = _tokenizer()
    x = sp.hstack([chars.transform(norms), words.transform([tok.tokenize(t) for t in norms])],
                  format="csr", dtype=np.float64)
    x.sum_duplicates()
    x.data = 1.0 + np.log(x.data)
    if idf is not None:  # column scaling in place: a 2**20 diagonal matrix costs ms a call
        x.data *= idf[x.indices]
    per_row = np.diff(x.indptr)
    row_of = np.repeat(np.arange(x.shape[0]), per_row)
    n = np.sqrt(np.bincount(row_of, weights=x.data ** 2, minlength=x.shape[0]))
    n[n == 0] = 1.0
    x.data /= n[row_of]
    return x


def fit_idf(x: sp.csr_matrix) -> np.ndarray:
    """Smoothed IDF over hashed features (unseen features get the largest weight)."""
    df = np.bincount(x.indices, minlength=x.shape[1])
    n = x.shape[0]
    return np.log((1 + n) / (1 + df)) + 1.0


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class TextClassifier:
    """Linear models over :func:`featurize` features, as stored arrays."""

    categories: list[str]
    groups: list[str]
    idf: np.ndarray
    cat_coef: sp.csr_matrix
    cat_intercept: np.ndarray
    temperature: float
    grp_coef: sp.csr_matrix
    grp_intercept: np.ndarray
    urg_coef: sp.csr_matrix
    urg_intercept: np.ndarray
    meta: dict[str, Any]

    def _x(self, texts: Sequence[str]) -> sp.csr_matrix:
        return featurize(texts, self.idf)

    @cached_property
    def _weights(self) -> sp.csr_matrix:
        """All three heads' coefficients, features × (categories, groups, levels), as
        CSR: a text's few hundred features pick their rows (transposing per call cost
        tens of milliseconds)."""
        return sp.vstack([self.cat_coef, self.grp_coef, self.urg_coef]).T.tocsr()

    def _logits(self, x: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        z = (x @ self._weights).toarray()
        a, b = len(self.categories), len(self.categories) + len(self.groups)
        return (z[:, :a] + self.cat_intercept, z[:, a:b] + self.grp_intercept,
                z[:, b:] + self.urg_intercept)

    def category_logits(self, x: sp.csr_matrix) -> np.ndarray:
        return self._logits(x)[0]

    def category_proba(self, texts: Sequence[str]) -> list[dict[str, float]]:
        p = _softmax(self.category_logits(self._x(texts)) / self.temperature)
        return [{c: float(v) for c, v in zip(self.categories, row, strict=True)} for row in p]

    def group_proba(self, texts: Sequence[str]) -> list[dict[str, float]]:
        p = 1.0 / (1.0 + np.exp(-self._logits(self._x(texts))[1]))
        return [{g: float(v) for g, v in zip(self.groups, row, strict=True)} for row in p]

    def urgency_proba(self, texts: Sequence[str]) -> list[dict[int, float]]:
        p = _softmax(self._logits(self._x(texts))[2])
        return [{u + 1: float(v) for u, v in enumerate(row)} for row in p]

    def predict(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """Everything at once (one featurisation): category, groups and urgency."""
        zc, zg, zu = self._logits(self._x(texts))
        pc = _softmax(zc / self.temperature)
        pg = 1.0 / (1.0 + np.exp(-zg))
        pu = _softmax(zu)
        out = []
        for c, g, u in zip(pc, pg, pu, strict=True):
            out.append({"category": {k: float(v) for k, v in zip(self.categories, c, strict=True)},
                        "groups": {k: float(v) for k, v in zip(self.groups, g, strict=True)},
                        "urgency": {i + 1: float(v) for i, v in enumerate(u)}})
        return out

    # -- persistence: JSON + npz, no pickle

    def save(self, stem: Path) -> None:
        meta = {**self.meta, "categories": self.categories, "groups": self.groups,
                "temperature": self.temperature, "n_char": N_CHAR, "n_word": N_WORD}
        stem.with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False, indent=1),
                                             encoding="utf-8")
        arrays: dict[str, np.ndarray] = {"idf": self.idf.astype(np.float32),
                                         "cat_intercept": self.cat_intercept,
                                         "grp_intercept": self.grp_intercept,
                                         "urg_intercept": self.urg_intercept}
        for name in ("cat_coef", "grp_coef", "urg_coef"):
            m = sp.csr_matrix(getattr(self, name), dtype=np.float32)
            # half precision: the weights' rounding moves no probability by 1e-3
            arrays[f"{name}_data"] = m.data.astype(np.float16)
            arrays[f"{name}_indices"] = m.indices
            arrays[f"{name}_indptr"] = m.indptr
            arrays[f"{name}_shape"] = np.asarray(m.shape)
        np.savez_compressed(stem.with_suffix(".npz"), **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, json_text: str, npz: Any) -> TextClassifier:
        meta = json.loads(json_text)
        with np.load(npz, allow_pickle=False) as a:
            def mat(name: str) -> sp.csr_matrix:
                return sp.csr_matrix((a[f"{name}_data"].astype(np.float32), a[f"{name}_indices"],
                                      a[f"{name}_indptr"]), shape=tuple(a[f"{name}_shape"]))

            if meta.get("n_char") != N_CHAR or meta.get("n_word") != N_WORD:
                raise ValueError("text classifier built for other feature sizes")
            return cls(categories=meta["categories"], groups=meta["groups"],
                       idf=a["idf"].astype(np.float64), cat_coef=mat("cat_coef"),
                       cat_intercept=a["cat_intercept"], temperature=float(meta["temperature"]),
                       grp_coef=mat("grp_coef"), grp_intercept=a["grp_intercept"],
                       urg_coef=mat("urg_coef"), urg_intercept=a["urg_intercept"],
                       meta={k: v for k, v in meta.items()
                             if k not in ("categories", "groups", "temperature")})


@lru_cache(maxsize=1)
def default_text_classifier() -> TextClassifier | None:
    """The classifier shipped in ``matcher/resources``; None when it is absent."""
    pkg = resources.files("matcher.resources")
    js, npz = pkg / "textclf.json", pkg / "textclf.npz"
    if not (js.is_file() and npz.is_file()):
        return None
    with npz.open("rb") as fh:
        return TextClassifier.load(js.read_text(encoding="utf-8"), fh)


def infer_texts(texts: Sequence[str], *, given_categories: Sequence[str] | None = None,
                given_groups: Sequence[tuple[str, ...]] | None = None,
                given_urgency: Sequence[int | None] | None = None,
                weight: float | None = None) -> list[Any]:
    """:func:`matcher.infer.infer_need` for many raw texts, the shipped classifier blended in.

    What the engine infers for a need with no labelled dataset behind it (the
    service stores it for lists and filters): category, groups, and the urgency
    where ``given_urgency`` is None. One featurisation for the batch.
    """
    from .infer import infer_need
    from .lexicon import default_lexicon
    from .scoring import ScoringParams

    n = len(texts)
    cats = list(given_categories or [""] * n)
    groups = list(given_groups or [()] * n)
    urgency = list(given_urgency or [None] * n)
    norms = [normalize_text(t) for t in texts]
    w = ScoringParams.default().text_classifier_weight if weight is None else weight
    clf = default_text_classifier()
    pending = [i for i in range(n) if not cats[i] or urgency[i] is None]
    preds: dict[int, dict[str, Any]] = {}
    if clf is not None and pending:
        preds = dict(zip(pending, clf.predict([norms[i] for i in pending]), strict=True))
    lex = default_lexicon()
    out = []
    for i in range(n):
        pred = preds.get(i)
        proba = pred["category"] if pred is not None and w > 0 and not cats[i] else None
        out.append(infer_need(norms[i], lex, given_category=cats[i], given_groups=groups[i],
                              classifier_proba=proba, classifier_weight=w, fuzzy=True,
                              given_urgency=urgency[i],
                              urgency_proba=pred["urgency"] if pred is not None else None))
    return out
