"""The domain lexicon: concepts, their surface forms, target-group cues.

Residents say 送饭, 做不了饭 or 吃饭难; an organization writes 老年助餐.
Both map to the concept 助餐, and the concept to the category
``elderly_care``. The lexicon is package data (``resources/*.tsv``) so a
wheel install carries it; it is loaded once, lazily.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = ["Lexicon", "default_lexicon"]

_lock = threading.Lock()
_cache: dict[str, Lexicon] = {}


def _read(name: str) -> list[str]:
    text = resources.files("matcher.resources").joinpath(name).read_text("utf-8")
    return [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def _alternation(surfaces: list[str]) -> re.Pattern[str]:
    # Longest first: at each position the regex takes the first alternative that
    # matches, so 走路困难 wins over 困难 and 做不了饭 over 做饭.
    ordered = sorted(set(surfaces), key=lambda s: (-len(s), s))
    return re.compile("|".join(re.escape(s) for s in ordered))


@dataclass(frozen=True)
class Lexicon:
    """Concepts, group cues and stopwords of the domain.

    Examples
    --------
    >>> lex = default_lexicon()
    >>> lex.concepts("我爸一个人住，中风后做不了饭")
    {'探访关爱': ['一个人住'], '康复': ['中风'], '助餐': ['做不了饭']}
    >>> sorted(lex.groups("我家娃放学没人接"))
    ['儿童']
    """

    concept_categories: dict[str, dict[str, float]]
    surface_concept: dict[str, str]
    group_surfaces: dict[str, str | None]
    stopwords: frozenset[str]
    dictionary: tuple[tuple[str, int], ...]

    @property
    def _concept_re(self) -> re.Pattern[str]:
        return _compiled(self, "concept", list(self.surface_concept))

    @property
    def _group_re(self) -> re.Pattern[str]:
        return _compiled(self, "group", list(self.group_surfaces))

    def concepts(self, text: str, *, fuzzy: bool = False) -> dict[str, list[str]]:
        """Concepts found in ``text`` (normalised), with the surfaces that named them.

        With ``fuzzy=True`` homophone typos are found too: a stretch of the text
        that sounds exactly like a surface (same toneless pinyin) and differs
        from it in at most one character, e.g. 送反 for 送饭, 陪珍 for 陪诊.

        Examples
        --------
        >>> lex = default_lexicon()
        >>> lex.concepts("明天复珍", fuzzy=True)
        {'陪诊': ['复珍']}
        """
        found: dict[str, list[str]] = {}
        covered: set[int] = set()
        for m in self._concept_re.finditer(text):
            surface = m.group(0)
            found.setdefault(self.surface_concept[surface], []).append(surface)
            covered.update(range(m.start(), m.end()))
        if fuzzy:
            for concept, written in _homophones(self, text, covered):
                found.setdefault(concept, []).append(written)
        return found

    def groups(self, text: str) -> dict[str, list[str]]:
        """Target groups cued in ``text``, with the cue words."""
        found: dict[str, list[str]] = {}
        for m in self._group_re.finditer(text):
            group = self.group_surfaces[m.group(0)]
            if group is not None:
                found.setdefault(group, []).append(m.group(0))
        for group, cue in _age_groups(text):
            found.setdefault(group, []).append(cue)
        return found


_compiled_cache: dict[tuple[int, str], re.Pattern[str]] = {}
_pinyin_cache: dict[int, dict[tuple[str, ...], tuple[str, str] | None]] = {}
_CJK = re.compile(r"^[\u4e00-\u9fff]+$")


@lru_cache(maxsize=65536)
def _char_pinyin(ch: str) -> str:
    from pypinyin import lazy_pinyin

    return lazy_pinyin(ch)[0] if ch.strip() else ch


def _pinyin(chars: str) -> list[str]:
    # one syllable per character, so positions line up with the text
    return [_char_pinyin(ch) for ch in chars]


def _pinyin_index(lex: Lexicon) -> dict[tuple[str, ...], tuple[str, str] | None]:
    idx = _pinyin_cache.get(id(lex))
    if idx is None:
        idx = {}
        for surface, concept in lex.surface_concept.items():
            if 2 <= len(surface) <= 5 and _CJK.match(surface):
                key = tuple(_pinyin(surface))
                if key in idx and (idx[key] is None or idx[key][1] != concept):  # type: ignore[index]
                    idx[key] = None  # two concepts sound alike: not usable
                else:
                    idx.setdefault(key, (surface, concept))
        _pinyin_cache[id(lex)] = idx
    return idx


def _homophones(lex: Lexicon, text: str, covered: set[int]) -> list[tuple[str, str]]:
    """``(concept, written form)`` of surfaces written with one homophone typo.

    Windows overlapping an exact match (``covered``) or a longer fuzzy match
    are skipped.
    """
    idx = _pinyin_index(lex)
    py = _pinyin(text)
    cov = bytearray(len(text))
    for i in covered:
        if i < len(cov):
            cov[i] = 1
    out = []
    for n in (5, 4, 3, 2):
        for i in range(len(text) - n + 1):
            if 1 in cov[i:i + n]:
                continue
            hit = idx.get(tuple(py[i:i + n]))
            if hit is None:
                continue
            surface, concept = hit
            window = text[i:i + n]
            if sum(a == b for a, b in zip(window, surface, strict=True)) == n - 1:
                out.append((concept, window))
                cov[i:i + n] = b"\x01" * n
                covered.update(range(i, i + n))
    return out


def _compiled(lex: Lexicon, which: str, surfaces: list[str]) -> re.Pattern[str]:
    key = (id(lex), which)
    pat = _compiled_cache.get(key)
    if pat is None:
        pat = _compiled_cache[key] = _alternation(surfaces)
    return pat


_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9}
_NUM = r"(\d{1,3}|[一二两三四五六七八九十百零]{1,4})"
_AGE_PATTERNS = (
    re.compile(_NUM + r"\s*(?:多|来|几)?\s*(?:周)?岁"),
    re.compile(r"(?:今年|快|已经|已|都)" + _NUM + r"(?:多|来)?(?:了|岁)"),
    re.compile(r"(?:年过|年近|年逾|年满)" + _NUM + r"|快([六七八九]十)"),
    re.compile(r"([一二两三四五六七八九]十[一二三四五六七八九]?)多?了"),
    re.compile(r"([六七八九])旬"),
)


def _cn_number(s: str) -> int | None:
    """A small number written in digits or Chinese numerals (七八十 is 70)."""
    if s.isdigit():
        return int(s)
    if s in ("百", "一百"):
        return 100
    if "百" in s or "零" in s:
        return None
    if "十" not in s:
        return _CN_DIGITS.get(s) if len(s) == 1 else None
    tens, _, ones = s.partition("十")
    if len(tens) == 2 and all(c in _CN_DIGITS for c in tens):  # 七八十: seventy or eighty
        tens = tens[0]
    if len(tens) > 1 or len(ones) > 1:
        return None
    t = _CN_DIGITS.get(tens, 0) if tens else 1
    o = _CN_DIGITS.get(ones, 0) if ones else 0
    return t * 10 + o if (not tens or t) and (not ones or o) else None


def stated_ages(text: str) -> list[tuple[int, str]]:
    """Ages the text states, with the words that state them, in text order.

    Examples
    --------
    >>> [a for a, _ in stated_ages("我弟弟55岁，我妈七八十岁了，孩子十岁，爷爷年过八十")]
    [55, 70, 10, 80]
    >>> stated_ages("八旬老人")
    [(80, '八旬')]
    >>> stated_ages("三楼住了十年")
    []
    """
    found: list[tuple[int, int, str]] = []
    taken: set[int] = set()
    for pattern in _AGE_PATTERNS:
        for m in pattern.finditer(text):
            if taken.intersection(range(m.start(), m.end())):
                continue
            number = next(g for g in m.groups() if g)
            value = (_CN_DIGITS[number] * 10 if pattern.pattern.endswith("旬")
                     else _cn_number(number))
            if value is not None and 0 < value < 120:
                found.append((m.start(), value, m.group(0)))
                taken.update(range(m.start(), m.end()))
    return [(v, w) for _, v, w in sorted(found)]


def _age_groups(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for age, words in stated_ages(text):
        if age >= 60:
            out.append(("老年人", words))
        elif age <= 12:
            out.append(("儿童", words))
        elif age <= 18:
            out.append(("青少年", words))
    return out


def _build() -> Lexicon:
    concept_categories: dict[str, dict[str, float]] = {}
    surface_concept: dict[str, str] = {}
    for line in _read("concepts.tsv"):
        concept, cats, surfaces = line.split("\t")
        concept_categories[concept] = {
            c.split(":")[0]: float(c.split(":")[1]) for c in cats.split(",") if c
        }
        for s in [concept, *surfaces.split("|")]:
            surface_concept.setdefault(s.lower(), concept)
    group_surfaces: dict[str, str | None] = {}
    for line in _read("groups.tsv"):
        group, surfaces = line.split("\t")
        for s in surfaces.split("|"):
            if group == "!":
                group_surfaces[s] = None
            else:
                group_surfaces.setdefault(s, group)
    words: dict[str, int] = {}
    for line in _read("thuocl_domain.txt"):
        w, f = line.split("\t")
        words[w] = min(int(f), 50_000)
    for s in [*surface_concept, *(g for g in group_surfaces if g)]:
        if len(s) >= 2:
            words[s] = max(words.get(s, 0), 50_000)
    return Lexicon(
        concept_categories=concept_categories,
        surface_concept=surface_concept,
        group_surfaces=group_surfaces,
        stopwords=frozenset(_read("stopwords.txt")),
        dictionary=tuple(sorted(words.items())),
    )


def default_lexicon() -> Lexicon:
    """The package's lexicon, built once per process (thread-safe)."""
    lex = _cache.get("default")
    if lex is None:
        with _lock:
            lex = _cache.get("default")
            if lex is None:
                lex = _cache["default"] = _build()
    return lex
