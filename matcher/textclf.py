"""The shipped need-text classifier: category, target groups and urgency.

Trained on the team's labelled corpus (``data/corpus``, many voices) and
shipped inside the package (``matcher/resources/textclf.json`` + ``.npz``:
no pickle), so a dataset without labelled needs still gets it. Features
need no vocabulary: hashed (CRC-32) character 1–3-grams of the normalised
text and one token per lexicon concept it names (homophone typos included),
weighted by a stored IDF. The sentences that carry the ask (希望, 请求, 恳请,
能否 …), found in the raw text, are counted twice, so a long letter's story
does not drown its request.

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
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from .lexicon import default_lexicon
from .text import CONCEPT_PREFIX, normalize_text

__all__ = ["ASK_CUES", "FEATURES", "TextClassifier", "ask_weighted", "default_text_classifier",
           "feature_counts", "featurize", "infer_texts"]

N_CHAR = 2 ** 18
N_WORD = 2 ** 17
#: the feature recipe; a stored model built with another one is refused
FEATURES = "crc32 char 1-3 + fuzzy concepts, ask sentences twice (v2)"
#: words that open the sentence carrying a resident's request
ASK_CUES = ("希望", "请求", "恳请", "恳求", "能否", "能不能", "可不可以", "可否", "怎么办", "帮帮",
            "帮忙", "麻烦", "诉求", "想请", "请问", "求助", "呼吁", "建议", "要求", "盼", "想找",
            "想要", "需要")
# sentence ends, found in the raw text: normalising turns punctuation into spaces
_SENT = re.compile(r"(?<=[。！？!?；;\n])")
_WS = re.compile(r"\s\s+")


def _sentences(raw: str) -> tuple[list[str], list[bool]]:
    """The text's normalised sentences and which of them carry an ask."""
    parts = [p for p in (normalize_text(s) for s in _SENT.split(raw)) if p]
    return parts, [any(c in p for c in ASK_CUES) for p in parts]


def ask_weighted(raw: str) -> str:
    """The normalised text with its asking sentences repeated (they weigh double).

    >>> ask_weighted("去年中风了。希望有人送饭。")
    '去年中风了 希望有人送饭 希望有人送饭'
    >>> ask_weighted("楼道灯坏了")
    '楼道灯坏了'
    """
    parts, asks = _sentences(raw)
    return " ".join(parts + [p for p, a in zip(parts, asks, strict=True) if a])


def _h(s: str, n: int) -> int:
    return zlib.crc32(s.encode("utf-8")) % n


def _char_ids(text: str, out: list[int]) -> None:
    t = _WS.sub(" ", text)
    for n in (1, 2, 3):
        for i in range(len(t) - n + 1):
            out.append(_h(t[i:i + n], N_CHAR))


def feature_counts(raw: str, concepts: Iterable[str] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Hashed feature ids (sorted) and their counts for one raw text.

    Character 1–3-grams of each sentence, once more for each sentence that
    carries an ask; one token per lexicon concept (homophone typos included;
    pass ``concepts`` when they were found already). No word segmentation:
    jieba words added nothing in cross-validation (0.803 either way) and cost
    most of the time.
    """
    parts, asks = _sentences(raw)
    ids: list[int] = []
    for part, ask in zip(parts, asks, strict=True):
        start = len(ids)
        _char_ids(part, ids)
        if ask:
            ids.extend(ids[start:])
    if concepts is None:
        concepts = default_lexicon().concepts(" ".join(parts), fuzzy=True)
    ids.extend(N_CHAR + _h(CONCEPT_PREFIX + c, N_WORD) for c in concepts)
    if not ids:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    u, c = np.unique(np.asarray(ids, dtype=np.int64), return_counts=True)
    return u, c.astype(np.float64)


def _weigh(ids: np.ndarray, counts: np.ndarray, idf: np.ndarray | None) -> np.ndarray:
    """Sub-linear TF (× IDF), L2-normalised."""
    v = 1.0 + np.log(counts)
    if idf is not None:
        v *= idf[ids]
    n = float(np.sqrt(v @ v))
    return v / n if n > 0 else v


def featurize(texts: Sequence[str], idf: np.ndarray | None = None,
              concepts: Sequence[Iterable[str] | None] | None = None) -> sp.csr_matrix:
    """Raw texts → hashed, sub-linear TF (× IDF when given), L2-normalised rows."""
    rows = [feature_counts(t, concepts[i] if concepts is not None else None)
            for i, t in enumerate(texts)]
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(u) for u, _ in rows])
    data = np.concatenate([np.zeros(0)] + [_weigh(u, c, idf) for u, c in rows])
    ids = np.concatenate([np.zeros(0, dtype=np.int64)] + [u for u, _ in rows]).astype(np.int32)
    return sp.csr_matrix((data, ids, indptr), shape=(len(texts), N_CHAR + N_WORD))


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

    @cached_property
    def _compact(self) -> tuple[np.ndarray, np.ndarray]:
        """``(row of each feature or -1, dense weights of the features that carry
        any)``: the three heads side by side, features × (categories, groups,
        levels). A text's few hundred features pick their rows with one gather."""
        w = sp.vstack([self.cat_coef, self.grp_coef, self.urg_coef]).T.tocsr()
        used = np.flatnonzero(np.diff(w.indptr))
        row_of = np.full(w.shape[0], -1, dtype=np.int32)
        row_of[used] = np.arange(len(used), dtype=np.int32)
        return row_of, np.asarray(w[used].toarray(), dtype=np.float32)

    def _logits(self, texts: Sequence[str],
                concepts: Sequence[Iterable[str] | None] | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        row_of, dense = self._compact
        z = np.zeros((len(texts), dense.shape[1]))
        for i, t in enumerate(texts):
            ids, counts = feature_counts(t, concepts[i] if concepts is not None else None)
            v = _weigh(ids, counts, self.idf)
            r = row_of[ids]
            keep = r >= 0
            z[i] = v[keep] @ dense[r[keep]]
        a, b = len(self.categories), len(self.categories) + len(self.groups)
        return (z[:, :a] + self.cat_intercept, z[:, a:b] + self.grp_intercept,
                z[:, b:] + self.urg_intercept)

    def category_proba(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Calibrated category probabilities of raw texts."""
        p = _softmax(self._logits(texts)[0] / self.temperature)
        return [{c: float(v) for c, v in zip(self.categories, row, strict=True)} for row in p]

    def group_proba(self, texts: Sequence[str]) -> list[dict[str, float]]:
        p = 1.0 / (1.0 + np.exp(-self._logits(texts)[1]))
        return [{g: float(v) for g, v in zip(self.groups, row, strict=True)} for row in p]

    def urgency_proba(self, texts: Sequence[str]) -> list[dict[int, float]]:
        p = _softmax(self._logits(texts)[2])
        return [{u + 1: float(v) for u, v in enumerate(row)} for row in p]

    def predict(self, texts: Sequence[str],
                concepts: Sequence[Iterable[str] | None] | None = None
                ) -> list[dict[str, Any]]:
        """Everything at once for raw texts: category, groups and urgency.

        ``concepts``: each text's lexicon concepts (fuzzy) when the caller has them.
        """
        zc, zg, zu = self._logits(texts, concepts)
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
                "temperature": self.temperature, "n_char": N_CHAR, "n_word": N_WORD,
                "features": FEATURES}
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

            if (meta.get("n_char") != N_CHAR or meta.get("n_word") != N_WORD
                    or meta.get("features") != FEATURES):
                raise ValueError("text classifier built with other features; retrain it "
                                 "(wushe train-text)")
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


@lru_cache(maxsize=1)
def _default_params() -> tuple[float, float, float]:
    """The package's ``text_classifier_weight``, ``fund_min_confidence`` and
    ``fund_min_group_confidence`` (read once)."""
    from .scoring import ScoringParams

    p = ScoringParams.default()
    return p.text_classifier_weight, p.fund_min_confidence, p.fund_min_group_confidence


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
    default_weight, sure, floor = _default_params()
    n = len(texts)
    cats = list(given_categories or [""] * n)
    groups = list(given_groups or [()] * n)
    urgency = list(given_urgency or [None] * n)
    norms = [normalize_text(t) for t in texts]
    lex = default_lexicon()
    concepts = [lex.concepts(t, fuzzy=True) for t in norms]  # once: features and evidence
    w = default_weight if weight is None else weight
    clf = default_text_classifier()
    pending = [i for i in range(n) if not cats[i] or urgency[i] is None or not groups[i]]
    preds: dict[int, dict[str, Any]] = {}
    if clf is not None and pending:
        preds = dict(zip(pending, clf.predict([texts[i] for i in pending],
                                              [concepts[i] for i in pending]), strict=True))
    out = []
    for i in range(n):
        pred = preds.get(i)
        proba = pred["category"] if pred is not None and w > 0 and not cats[i] else None
        out.append(infer_need(norms[i], lex, given_category=cats[i], given_groups=groups[i],
                              classifier_proba=proba, classifier_weight=w, fuzzy=True,
                              given_urgency=urgency[i], concepts=concepts[i],
                              urgency_proba=pred["urgency"] if pred is not None else None,
                              group_proba=pred["groups"] if pred is not None and w > 0
                              else None, sure_category=sure, group_floor=floor))
    return out
