"""Text normalisation and the project's jieba tokenizer.

One picklable :class:`ChineseTokenizer` owns its own ``jieba.Tokenizer``,
built lazily (and under a lock) with the domain dictionary; jieba's global
tokenizer is never touched.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Iterable
from typing import Any

from .lexicon import Lexicon, default_lexicon

__all__ = ["CONCEPT_PREFIX", "ChineseTokenizer", "normalize_text"]

CONCEPT_PREFIX = "#"
# Built jieba tokenizers, shared by every ChineseTokenizer in the process: building
# one loads ~350k dictionary entries plus the domain words (about two seconds), and a
# built tokenizer is only read from afterwards.
_BUILT: dict[str, Any] = {}
_BUILD_LOCK = threading.Lock()
_NON_WORD = re.compile(r"[^\w\u4e00-\u9fff]+")
_SPACES = re.compile(r"\s+")


@functools.cache
def _t2s() -> Any:
    """OpenCC's phrase-aware traditional → simplified converter, built once."""
    import opencc

    return opencc.OpenCC("t2s")


def _to_simplified(text: str) -> str:
    """Residents writing from Hong Kong, Taiwan or a phone set to traditional
    input (獨居, 輪椅, 調解) then meet the simplified lexicon and dictionary."""
    return str(_t2s().convert(text))


def normalize_text(text: str) -> str:
    """Simplified characters, full-width to half-width, lower case, punctuation to single spaces.

    Examples
    --------
    >>> normalize_text("老人ＡＢＣ，需要送餐！！  ")
    '老人abc 需要送餐'
    >>> normalize_text("獨居老人，輪椅壞了")
    '独居老人 轮椅坏了'
    """
    t = _to_simplified(unicodedata.normalize("NFKC", text)).lower()
    t = _NON_WORD.sub(" ", t.replace("_", " "))
    return _SPACES.sub(" ", t).strip()


class ChineseTokenizer:
    """jieba segmentation with the domain dictionary, stopwords and concepts.

    ``tokenize`` returns the content words of a text followed by one
    ``#concept`` token per domain concept it mentions, so that 送饭 and
    助餐 meet in the same feature.

    Parameters
    ----------
    hmm : bool, default True
        Let jieba guess unknown words (names, dialect) with its HMM.
    concepts : bool, default True
        Append concept tokens.

    Examples
    --------
    >>> tok = ChineseTokenizer()
    >>> tok.tokenize("独居老人中风了，吃饭难")
    ['独居老人', '中风', '吃饭难', '#探访关爱', '#康复', '#助餐']
    """

    def __init__(self, hmm: bool = True, concepts: bool = True) -> None:
        self.hmm = hmm
        self.concepts = concepts
        self._jieba: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"hmm": self.hmm, "concepts": self.concepts}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    @property
    def lexicon(self) -> Lexicon:
        return default_lexicon()

    def _tokenizer(self) -> Any:
        if self._jieba is None:
            with _BUILD_LOCK:
                tk = _BUILT.get("domain")
                if tk is None:
                    import logging

                    import jieba

                    jieba.setLogLevel(logging.WARNING)
                    tk = jieba.Tokenizer()
                    tk.initialize()
                    for word, freq in self.lexicon.dictionary:
                        tk.add_word(word, freq)
                    _BUILT["domain"] = tk
                self._jieba = tk
        return self._jieba

    def words(self, text: str) -> list[str]:
        """Content words of an already normalised text."""
        stop = self.lexicon.stopwords
        return [w for w in self._tokenizer().cut(text, HMM=self.hmm)
                if w.strip() and w not in stop]

    def tokenize(self, text: str, *, fuzzy: bool = False) -> list[str]:
        """Words plus concept tokens of a raw text (``fuzzy``: homophone typos too)."""
        norm = normalize_text(text)
        tokens = self.words(norm)
        if self.concepts:
            tokens.extend(CONCEPT_PREFIX + c for c in self.lexicon.concepts(norm, fuzzy=fuzzy))
        return tokens

    def tokenize_many(self, texts: Iterable[str], *, fuzzy: bool = False) -> list[list[str]]:
        """``tokenize`` over many texts, each distinct text segmented once."""
        cache: dict[str, list[str]] = {}
        out = []
        for t in texts:
            toks = cache.get(t)
            if toks is None:
                toks = cache[t] = self.tokenize(t, fuzzy=fuzzy)
            out.append(toks)
        return out
