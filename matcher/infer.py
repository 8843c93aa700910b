"""Inference of a need's category and target groups (and an actor's categories).

Pure functions over the lexicon's concept hits, optionally blended with a
classifier's probabilities. Confidence is reported so that callers (and
station staff) can see how sure the engine is.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .lexicon import Lexicon, stated_ages

__all__ = [
    "CLASSIFIER_GROUP_MIN",
    "FUND_GROUP_CUED_MIN",
    "FUND_GROUP_HEAD_MIN",
    "IMPLIED_GROUPS",
    "SURE_IMPLIED_GROUPS",
    "Inference",
    "category_distribution",
    "fund_groups",
    "infer_actor_categories",
    "infer_groups",
    "infer_need",
    "infer_urgency",
    "too_young_for_elderly",
    "vulnerability",
]

#: a group the shipped classifier's group head gives at least this joins the
#: lexicon's cued groups (dev sets: group F1 +0.04 to +0.07 over the lexicon alone)
CLASSIFIER_GROUP_MIN = 0.6

#: which inferred groups open a fund restricted to them (``Inference.fund_groups``),
#: chosen on the corpus's out-of-fold predictions (README "Quality"): the group head
#: gives the group at least FUND_GROUP_HEAD_MIN, or the text cues it and the head gives
#: it at least FUND_GROUP_CUED_MIN, or a sure category implies it. On needs with a sure
#: category: precision 0.850, recall 0.734; the lexicon's cues alone: 0.523 / 0.717
FUND_GROUP_HEAD_MIN = 0.6
FUND_GROUP_CUED_MIN = 0.4
#: a sure category that serves this group whatever else the text names (corpus: 老年人
#: on 98.8 % of needs with a sure elderly_care, 残疾人 on 93.7 % with a sure disability)
SURE_IMPLIED_GROUPS = {"elderly_care": "老年人", "disability": "残疾人"}

#: below this age nobody is 老年人 (the 老年人权益保障法 threshold)
ELDERLY_AGE = 60


def too_young_for_elderly(text_norm: str, cued: dict[str, list[str]]) -> bool:
    """True when the text states ages, all under ``ELDERLY_AGE``, and no word in it
    names an older person: then 老年人 is neither inferred nor opens a fund, even
    when the category (rehabilitation, home care) usually serves older people.
    Corpus, needs with a sure category: 4 wrong 老年人 fund openings removed, no
    right one.

    Examples
    --------
    >>> too_young_for_elderly("我弟弟55岁 脑出血后要做康复", {})
    True
    >>> too_young_for_elderly("我42岁 婆婆瘫痪在床", {"老年人": ["婆婆"]})
    False
    >>> too_young_for_elderly("脑出血后要做康复", {})
    False
    """
    ages = stated_ages(text_norm)
    return bool(ages) and max(a for a, _ in ages) < ELDERLY_AGE and "老年人" not in cued


# A group named in the text is weak evidence for the category that usually serves it.
GROUP_PRIORS = {
    "老年人": ("elderly_care", 0.4),
    "儿童": ("child_welfare", 0.4),
    "青少年": ("child_welfare", 0.2),
    "残疾人": ("disability", 0.4),
    "困难群众": ("social_assistance", 0.3),
}

# A category that, when nothing else names the group, implies who is served.
IMPLIED_GROUPS = {
    "elderly_care": "老年人",
    "child_welfare": "儿童",
    "disability": "残疾人",
    "social_assistance": "困难群众",
    "governance": "全体居民",
    "environment": "全体居民",
    "emergency": "全体居民",
    "culture_sports": "全体居民",
}


@dataclass(frozen=True)
class Inference:
    """What the engine believes of a need: category, groups, and how sure it is."""

    category: str
    category_confidence: float
    category_scores: dict[str, float]
    groups: tuple[str, ...]
    group_confidence: dict[str, float]
    certainty: float = 1.0  # how much evidence there was (1 for given values)
    urgency: int = 2
    urgency_confidence: float = 1.0
    urgency_given: bool = True
    category_given: bool = False
    groups_given: bool = False
    #: groups only the shipped classifier's group head proposed: they rank, but do
    #: not open a fund restricted to them (dev sets: they opened wrong funds)
    learned_groups: tuple[str, ...] = ()
    #: the groups sure enough to open a fund restricted to them (``fund_groups``)
    fund_groups: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """The ``inferred`` object of the suggestions JSONL (and the API).

        Examples
        --------
        >>> from matcher.lexicon import default_lexicon
        >>> d = infer_need("楼上天天吵", default_lexicon()).as_dict()
        >>> d["category"], d["category_given"], d["urgency"], d["urgency_given"]
        ('mediation', False, 2, False)
        """
        top = sorted(self.category_scores.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        return {"category": self.category, "category_confidence": self.category_confidence,
                "category_given": self.category_given,
                "category_alternatives": [{"category": c, "share": round(v, 4)}
                                          for c, v in top if c != self.category][:2],
                "groups": list(self.groups),
                "group_confidence": {g: self.group_confidence.get(g, 1.0) for g in self.groups},
                "groups_given": self.groups_given,
                "groups_learned": list(self.learned_groups),
                "fund_groups": list(self.fund_groups),
                "urgency": self.urgency, "urgency_confidence": self.urgency_confidence,
                "urgency_given": self.urgency_given}


def category_distribution(concepts: dict[str, list[str]], lex: Lexicon) -> dict[str, float]:
    """Unnormalised category evidence from concept hits.

    Repeated mentions of one concept add a little; each concept counts once
    fully.

    Examples
    --------
    >>> from matcher.lexicon import default_lexicon
    >>> lex = default_lexicon()
    >>> category_distribution(lex.concepts("送饭 做不了饭"), lex)
    {'elderly_care': 1.3}
    """
    scores: dict[str, float] = {}
    for concept, surfaces in concepts.items():
        boost = 1.0 + 0.3 * (len(surfaces) - 1)
        for cat, w in lex.concept_categories[concept].items():
            scores[cat] = round(scores.get(cat, 0.0) + w * boost, 6)
    return scores


def _normalise(scores: dict[str, float]) -> dict[str, float]:
    total = sum(scores.values())
    return {k: v / total for k, v in scores.items()} if total > 0 else {}


def infer_need(text_norm: str, lex: Lexicon, *, given_category: str = "",
               given_groups: tuple[str, ...] = (),
               classifier_proba: dict[str, float] | None = None,
               classifier_weight: float = 0.4, fuzzy: bool = False,
               given_urgency: int | None = None,
               urgency_proba: dict[int, float] | None = None,
               concepts: dict[str, list[str]] | None = None,
               group_proba: dict[str, float] | None = None,
               sure_category: float = 0.65, group_floor: float = 0.6) -> Inference:
    """Infer a need's category and groups from its normalised text.

    Given values win with confidence 1. Otherwise the lexicon's evidence (and
    a classifier's probabilities, when one was trained on labelled needs) are
    blended; confidence is the top share damped by how much evidence there
    was. Urgency is the given one, else the most probable level of
    ``urgency_proba`` (the shipped classifier's urgency head), else 2 (the
    contract's default). ``concepts`` are the text's lexicon concepts when the
    caller found them already (the shipped classifier's features use them).
    Groups are the given ones, else those the lexicon cues plus those the
    shipped classifier's group head gives at least ``CLASSIFIER_GROUP_MIN``
    (``group_proba``), else the one the category implies. ``fund_groups`` are
    those that may open a fund restricted to them (:func:`fund_groups`; a category
    is sure from ``sure_category``, the engine's ``fund_min_confidence``).

    Examples
    --------
    >>> from matcher.lexicon import default_lexicon
    >>> inf = infer_need("我爸82岁一个人住 做不了饭", default_lexicon())
    >>> inf.category, inf.groups
    ('elderly_care', ('老年人',))
    >>> infer_need("楼上天天吵", default_lexicon()).category
    'mediation'
    """
    if concepts is None:
        concepts = lex.concepts(text_norm, fuzzy=fuzzy)
    lex_scores = category_distribution(concepts, lex)
    evidence = sum(lex_scores.values())
    if lex_scores:
        for group in lex.groups(text_norm):
            cat, prior = GROUP_PRIORS.get(group, ("", 0.0))
            if cat:
                lex_scores[cat] = lex_scores.get(cat, 0.0) + prior
    lex_dist = _normalise(lex_scores)
    if classifier_proba:
        w = classifier_weight if lex_dist else 1.0
        keys = set(lex_dist) | set(classifier_proba)
        dist = {k: (1 - w) * lex_dist.get(k, 0.0) + w * classifier_proba.get(k, 0.0)
                for k in keys}
        evidence = max(evidence, 1.0)
    else:
        dist = lex_dist
    certainty = 1.0 - math.exp(-1.5 * evidence)
    if given_category:
        category, confidence, certainty = given_category, 1.0, 1.0
        dist = {given_category: 1.0}
    elif dist:
        category = min(dist, key=lambda k: (-dist[k], k))
        confidence = round(dist[category] * certainty, 4)
    else:
        category, confidence, certainty = "", 0.0, 0.0
    # a group only implied by the category is as sure as the category is
    cued = lex.groups(text_norm) if not given_groups else {}
    young = not given_groups and too_young_for_elderly(text_norm, cued)
    if young and group_proba:
        group_proba = {**group_proba, "老年人": 0.0}
    groups, group_conf, learned = infer_groups(text_norm, lex, category=category,
                                               given=given_groups, proba=group_proba,
                                               cued=cued,
                                               implied_confidence=min(0.6, confidence),
                                               exclude=("老年人",) if young else ())
    if given_groups:
        opened = given_groups
    else:
        implied = SURE_IMPLIED_GROUPS.get(category, "") if confidence >= sure_category else ""
        opened = fund_groups(groups, group_conf, cued, proba=group_proba,
                             sure_implied="" if young and implied == "老年人" else implied,
                             floor=group_floor)
        for g in opened:  # a group a sure category implies is shown as well
            if g not in group_conf:
                group_conf[g] = round(confidence, 4)
        groups = tuple(sorted(group_conf, key=_group_order))
    urgency, u_conf, u_given = infer_urgency(given_urgency, urgency_proba)
    return Inference(category, confidence, {k: round(v, 4) for k, v in sorted(dist.items())},
                     groups, group_conf, round(certainty, 4), urgency=urgency,
                     urgency_confidence=u_conf, urgency_given=u_given,
                     category_given=bool(given_category), groups_given=bool(given_groups),
                     learned_groups=learned, fund_groups=opened)


def fund_groups(groups: tuple[str, ...], confidence: dict[str, float],
                cued: dict[str, list[str]], *, proba: dict[str, float] | None,
                sure_implied: str = "", floor: float = 0.6) -> tuple[str, ...]:
    """The inferred groups sure enough to open a fund restricted to them.

    With the shipped classifier's group head (``proba``): a group it gives at least
    ``FUND_GROUP_HEAD_MIN``; a group the text cues (``cued``) that it gives at least
    ``FUND_GROUP_CUED_MIN`` (a word such as 孩子 in passing is not enough alone);
    and ``sure_implied``, the group a sure category implies. Without it: the
    groups whose confidence reaches ``floor`` (cued, or implied by the category).

    Examples
    --------
    >>> fund_groups(("儿童", "老年人"), {"儿童": 0.8, "老年人": 0.8}, {"儿童": ["孩子"],
    ...             "老年人": ["老人"]}, proba={"儿童": 0.1, "老年人": 0.45})
    ('老年人',)
    >>> fund_groups(("儿童",), {"儿童": 0.8}, {"儿童": ["孩子"]}, proba={"儿童": 0.2},
    ...             sure_implied="老年人")
    ('老年人',)
    >>> fund_groups(("儿童",), {"儿童": 0.8}, {"儿童": ["孩子"]}, proba=None)
    ('儿童',)
    """
    if proba is None:
        return tuple(g for g in groups if confidence.get(g, 1.0) >= floor)
    out = {g for g, p in proba.items() if p >= FUND_GROUP_HEAD_MIN}
    out |= {g for g in cued if proba.get(g, 0.0) >= FUND_GROUP_CUED_MIN}
    if sure_implied:
        out.add(sure_implied)
    return tuple(sorted(out, key=_group_order))


def infer_urgency(given: int | None, proba: dict[int, float] | None
                  ) -> tuple[int, float, bool]:
    """``(urgency, confidence, given?)``: the given level wins; else the most
    probable level (ties: the more urgent); else the contract's default 2.

    Examples
    --------
    >>> infer_urgency(3, {4: 0.9})
    (3, 1.0, True)
    >>> infer_urgency(None, {1: 0.1, 2: 0.2, 3: 0.2, 4: 0.5})
    (4, 0.5, False)
    >>> infer_urgency(None, None)
    (2, 0.0, False)
    """
    if given is not None:
        return given, 1.0, True
    if not proba:
        return 2, 0.0, False
    level = max(proba, key=lambda u: (proba[u], u))
    return int(level), round(float(proba[level]), 4), False


def infer_groups(text_norm: str, lex: Lexicon, *, category: str = "",
                 given: tuple[str, ...] = (), implied_confidence: float = 0.6,
                 proba: dict[str, float] | None = None,
                 cued: dict[str, list[str]] | None = None, exclude: tuple[str, ...] = ()
                 ) -> tuple[tuple[str, ...], dict[str, float], tuple[str, ...]]:
    """Target groups ``(groups, confidence, learned)``: the given ones; else those
    the lexicon cues (or, when none is cued, the one the category implies) plus
    those the classifier's group head gives at least ``CLASSIFIER_GROUP_MIN``
    (``proba``; returned again as ``learned``). ``cued`` is ``lex.groups(text_norm)``
    when the caller has it already. The category does not imply a group in
    ``exclude`` (老年人 when :func:`too_young_for_elderly`).

    Examples
    --------
    >>> from matcher.lexicon import default_lexicon
    >>> infer_groups("腿脚不便出门难", default_lexicon(), proba={"老年人": 0.82, "儿童": 0.1})
    (('老年人',), {'老年人': 0.82}, ('老年人',))
    >>> infer_groups("孩子放学没人接", default_lexicon(), proba={"老年人": 0.7})[2]
    ('老年人',)
    """
    if given:
        return given, dict.fromkeys(given, 1.0), ()
    if cued is None:
        cued = lex.groups(text_norm)
    conf = {g: round(min(0.95, 0.7 + 0.1 * len(c)), 4) for g, c in cued.items()}
    implied = IMPLIED_GROUPS.get(category)
    if not conf and implied and implied not in exclude:
        conf[implied] = round(implied_confidence, 4)
    learned = tuple(g for g, p in (proba or {}).items()
                    if p >= CLASSIFIER_GROUP_MIN and g not in conf)
    for g in learned:
        conf[g] = round(float((proba or {})[g]), 4)
    return tuple(sorted(conf, key=_group_order)), conf, learned


def _group_order(g: str) -> int:
    from .records import TARGET_GROUPS

    return TARGET_GROUPS.index(g)


def infer_actor_categories(text_norm: str, lex: Lexicon, *, min_score: float = 0.9,
                           relative: float = 0.4) -> tuple[str, ...]:
    """Categories an actor's own words show it serves (multi-label).

    Examples
    --------
    >>> from matcher.lexicon import default_lexicon
    >>> infer_actor_categories("提供老年助餐 居家照护 陪诊服务", default_lexicon())
    ('elderly_care',)
    """
    scores = category_distribution(lex.concepts(text_norm), lex)
    if not scores:
        return ()
    top = max(scores.values())
    keep = [c for c, s in scores.items() if s >= min_score and s >= relative * top]
    return tuple(sorted(keep, key=lambda c: (-scores[c], c)))


_VULNERABLE_CUES = {
    "独居/高龄老人": ("独居", "孤寡", "孤老", "空巢", "一个人住", "一个人过", "高龄", "失能",
                 "无儿无女", "失独"),
    "困境儿童": ("困境儿童", "留守儿童", "孤儿", "事实无人抚养", "无人抚养", "监护缺失"),
}
_OLD_AGE = re.compile(r"(?:[89]\d|1\d\d)\s*(?:多)?\s*岁|[八九]十(?:多|几)?岁")


def vulnerability(text_norm: str, groups: tuple[str, ...]) -> str:
    """Why a need counts as vulnerable (for priority under shortage), or ``""``.

    Vulnerable: 困难群众 and 残疾人 (by group), 独居/高龄老人 (an elderly need
    with a living-alone or age-80+ cue), 困境儿童 (a child need with a
    left-behind/orphan cue).

    Examples
    --------
    >>> vulnerability("我爸82岁 一个人住", ("老年人",))
    '独居/高龄老人'
    >>> vulnerability("想学跳舞", ("老年人",))
    ''
    """
    for group in ("困难群众", "残疾人"):
        if group in groups:
            return group
    if "老年人" in groups and (any(c in text_norm for c in _VULNERABLE_CUES["独居/高龄老人"])
                             or _OLD_AGE.search(text_norm)):
        return "独居/高龄老人"
    if "儿童" in groups and any(c in text_norm for c in _VULNERABLE_CUES["困境儿童"]):
        return "困境儿童"
    return ""
