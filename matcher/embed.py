"""TF-IDF embedding of needs and actor capabilities (words + character n-grams).

Word features come from :class:`ChineseTokenizer` (jieba words plus concept
tokens); character 2–3-grams of the normalised text catch typos and words
the dictionary does not know. Both are scikit-learn ``TfidfVectorizer``
outputs, weighted and L2-normalised together, so a dot product is a cosine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted

__all__ = ["TextEmbedder"]


_PLACEHOLDER = "\u2400\u2400"  # two SYMBOL FOR NULL: never in normalised text


def _identity(tokens: list[str]) -> list[str]:
    return tokens


class TextEmbedder(BaseEstimator):
    """Word + character-n-gram TF-IDF, persisted as plain arrays.

    Parameters
    ----------
    word_weight : float, default 0.75
        Share of the word block in the combined vector (the rest is chars).
    char_ngram_range : tuple of int, default (2, 3)
    min_df : int, default 1
        Minimum document frequency of a character n-gram.
    max_char_features : int or None, default 300_000

    Examples
    --------
    >>> emb = TextEmbedder().fit([["助餐", "#助餐"], ["调解", "#矛盾调解"]], ["助餐", "调解"])
    >>> X = emb.transform([["送饭", "#助餐"]], ["送饭"])
    >>> X.shape[0], round(float((X @ X.T).toarray()[0, 0]), 3)
    (1, 1.0)
    """

    def __init__(self, word_weight: float = 0.75, char_ngram_range: tuple[int, int] = (2, 3),
                 min_df: int = 1, max_char_features: int | None = 300_000) -> None:
        self.word_weight = word_weight
        self.char_ngram_range = char_ngram_range
        self.min_df = min_df
        self.max_char_features = max_char_features

    def _make(self) -> tuple[TfidfVectorizer, TfidfVectorizer]:
        words = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, lowercase=False)
        chars = TfidfVectorizer(analyzer="char", ngram_range=tuple(self.char_ngram_range),
                                sublinear_tf=True, min_df=self.min_df, lowercase=False,
                                max_features=self.max_char_features, dtype=np.float32)
        return words, chars

    def fit(self, token_lists: Sequence[list[str]], norm_texts: Sequence[str]) -> TextEmbedder:
        """Learn vocabularies and IDF weights from tokenised and normalised texts."""
        self.words_, self.chars_ = self._make()
        chars = [t.replace(" ", "") for t in norm_texts]
        # A corpus of nothing but stopwords or punctuation has no vocabulary; keep a
        # placeholder term so that transform works (every vector is then zero).
        self.words_.fit(token_lists if any(token_lists) else [[_PLACEHOLDER]])
        try:
            self.chars_.fit(chars)
        except ValueError:  # no n-gram left (empty texts, or min_df pruned them all)
            self.chars_.set_params(min_df=1)
            self.chars_.fit([*chars, _PLACEHOLDER])
        return self

    def transform(self, token_lists: Sequence[list[str]], norm_texts: Sequence[str]) -> sp.csr_matrix:
        """Combined, L2-normalised CSR matrix (float32), one row per text."""
        check_is_fitted(self, "words_")
        if len(token_lists) == 1:
            return self._transform_one(token_lists[0], norm_texts[0])
        xw = self.words_.transform(token_lists).astype(np.float32)
        xc = self.chars_.transform([t.replace(" ", "") for t in norm_texts]).astype(np.float32)
        ww = np.float32(np.sqrt(self.word_weight))
        wc = np.float32(np.sqrt(1.0 - self.word_weight))
        x = sp.hstack([xw * ww, xc * wc], format="csr", dtype=np.float32)
        return normalize(x, copy=False)

    def _block(self, vec: TfidfVectorizer, terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Column indices and L2-normalised sublinear TF-IDF of one document."""
        vocab = vec.vocabulary_
        counts: dict[int, int] = {}
        for t in terms:
            j = vocab.get(t)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        idx = np.fromiter(sorted(counts), dtype=np.int64, count=len(counts))
        tf = np.array([counts[j] for j in idx], dtype=np.float64)
        val = (np.log(tf) + 1.0) * vec.idf_[idx]
        return idx, val / np.linalg.norm(val)

    def _transform_one(self, tokens: list[str], norm: str) -> sp.csr_matrix:
        """The same vector as :meth:`transform` for one text, without scikit-learn's
        per-call input validation, which costs more than the arithmetic when a
        service embeds one need per request."""
        iw, vw = self._block(self.words_, tokens)
        lo, hi = self.char_ngram_range
        chars = norm.replace(" ", "")
        grams = [chars[i:i + n] for n in range(lo, hi + 1) for i in range(len(chars) - n + 1)]
        ic, vc = self._block(self.chars_, grams)
        vals = np.concatenate([vw * np.sqrt(self.word_weight),
                               vc * np.sqrt(1.0 - self.word_weight)])
        norm2 = np.linalg.norm(vals)
        if norm2 > 0:
            vals = vals / norm2
        cols = np.concatenate([iw, ic + len(self.words_.vocabulary_)])
        return sp.csr_matrix((vals.astype(np.float32), cols, np.array([0, len(cols)])),
                             shape=(1, len(self.words_.vocabulary_) + len(self.chars_.vocabulary_)))

    @property
    def n_word_features_(self) -> int:
        return len(self.words_.vocabulary_)

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON-able parameters/vocabularies and numpy arrays (no pickle)."""
        check_is_fitted(self, "words_")
        meta = {
            "word_weight": self.word_weight,
            "char_ngram_range": list(self.char_ngram_range),
            "min_df": self.min_df,
            "max_char_features": self.max_char_features,
            "word_vocabulary": _vocab_list(self.words_.vocabulary_),
            "char_vocabulary": _vocab_list(self.chars_.vocabulary_),
        }
        arrays = {"word_idf": self.words_.idf_, "char_idf": self.chars_.idf_}
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> TextEmbedder:
        """Rebuild a fitted embedder from :meth:`to_state` output."""
        emb = cls(meta["word_weight"], tuple(meta["char_ngram_range"]), meta["min_df"],
                  meta["max_char_features"])
        words, chars = emb._make()
        words.set_params(vocabulary={w: i for i, w in enumerate(meta["word_vocabulary"])})
        chars.set_params(vocabulary={w: i for i, w in enumerate(meta["char_vocabulary"])},
                         max_features=None, min_df=1)
        words.idf_ = np.asarray(arrays["word_idf"])
        chars.idf_ = np.asarray(arrays["char_idf"])
        emb.words_, emb.chars_ = words, chars
        return emb


def _vocab_list(vocab: dict[str, int]) -> list[str]:
    out = [""] * len(vocab)
    for term, i in vocab.items():
        out[i] = term
    return out
