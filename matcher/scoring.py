"""Scoring feasible candidates and explaining the score in Chinese.

A score is a weighted mean of components in [0, 1]:

- ``text``: cosine of the TF-IDF vectors (square-rooted, so typical values
  spread over the range);
- ``concept``: share of the need's service concepts the actor offers;
- ``category``: probability mass of the need's category the actor serves;
- ``group``: the actor serves the need's target group (open actors half);
- ``proximity``: same community > street > district > city, or distance;
- ``capacity``: share of capacity (or fund budget) still free;
- ``quality``: certification / rating and past outcomes.

Urgent needs (urgency 3–4) weigh proximity and free capacity more: help that
is near and free now matters most for 急难愁盼.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ParameterError

__all__ = ["COMPONENTS", "RANKERS", "Ranker", "ScoringParams", "combine", "proximity_score"]

COMPONENTS: tuple[str, ...] = (
    "text", "concept", "category", "group", "proximity", "capacity", "quality",
)


@dataclass(frozen=True)
class ScoringParams:
    """Weights and knobs of the score, read from a parameters file.

    Examples
    --------
    >>> p = ScoringParams.default()
    >>> round(sum(p.weights.values()), 6)
    1.0
    >>> ScoringParams.from_dict({"weights": {"text": -1}})
    Traceback (most recent call last):
    ...
    matcher.errors.ParameterError: 权重 text 必须是非负数：-1 / weight text must be a non-negative number, got -1
    """

    weights: dict[str, float] = field(default_factory=dict)
    urgency_boost: float = 0.25
    distance_scale_km: float = 3.0
    unknown_category_fit: float = 0.3
    open_group_fit: float = 0.5
    classifier_weight: float = 0.4
    #: weight of the shipped text classifier against the lexicon; 0 = the lexicon alone
    text_classifier_weight: float = 0.8
    min_labelled_for_classifier: int = 200
    rejected_penalty: float = 0.5
    #: a fund restricted by category admits an inferred category only at this mass
    #: (0.65: the lowest threshold at which each of the corpus's five out-of-fold
    #: folds is right at least 95 % of the time; README "Quality")
    fund_min_confidence: float = 0.65
    #: from this category confidence on, actors offering the category rank first;
    #: below it, the two most likely categories do, and both are covered
    confident_category: float = 0.5
    #: without the shipped group head, a fund restricted by group admits an inferred
    #: group only at this confidence (with it: ``matcher.infer.fund_groups``)
    fund_min_group_confidence: float = 0.6

    @classmethod
    def default(cls) -> ScoringParams:
        """The package's ``params.json``."""
        raw = resources.files("matcher.resources").joinpath("params.json").read_text("utf-8")
        return cls.from_dict(json.loads(raw))

    @classmethod
    def from_file(cls, path: str | Path) -> ScoringParams:
        """Read a parameters JSON file; missing keys take the defaults."""
        p = Path(path)
        try:
            raw = json.loads(p.read_text("utf-8"))
        except FileNotFoundError as exc:
            raise ParameterError(f"参数文件不存在：{p}", f"parameters file not found: {p}") from exc
        except json.JSONDecodeError as exc:
            raise ParameterError(f"参数文件不是有效的 JSON：{p}（第 {exc.lineno} 行）",
                                 f"parameters file is not valid JSON: {p} (line {exc.lineno})"
                                 ) from exc
        if not isinstance(raw, dict):
            raise ParameterError(f"参数文件应为 JSON 对象：{p}", f"parameters file must be an object: {p}")
        base = cls.default().as_dict()
        base["weights"] = {**base["weights"], **raw.get("weights", {})}
        base.update({k: v for k, v in raw.items() if k != "weights"})
        return cls.from_dict(base)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ScoringParams:
        weights = dict(raw.get("weights", {}))
        for name, w in weights.items():
            if name not in COMPONENTS:
                raise ParameterError(f"未知的权重名：{name}（可用：{'、'.join(COMPONENTS)}）",
                                     f"unknown weight {name!r} (known: {', '.join(COMPONENTS)})")
            if not isinstance(w, (int, float)) or isinstance(w, bool) or w < 0:
                raise ParameterError(f"权重 {name} 必须是非负数：{w}",
                                     f"weight {name} must be a non-negative number, got {w}")
        full = {c: float(weights.get(c, 0.0)) for c in COMPONENTS}
        if sum(full.values()) <= 0:
            raise ParameterError("权重之和必须大于 0", "weights must not all be zero")
        known = {f for f in cls.__dataclass_fields__ if f != "weights"}
        unknown = set(raw) - known - {"weights"}
        if unknown:
            name = sorted(unknown)[0]
            raise ParameterError(f"未知的参数：{name}", f"unknown parameter {name!r}")
        total = sum(full.values())
        kwargs = {k: raw[k] for k in known if k in raw}
        return cls(weights={k: v / total for k, v in full.items()}, **kwargs)

    @classmethod
    def resolve(cls, params: str | Path | dict[str, Any] | None) -> ScoringParams:
        """The package's parameters (``None``), a JSON file's, or the package's with
        a dict's entries (and its ``weights`` entries) laid over them."""
        if params is None:
            return cls.default()
        if isinstance(params, dict):
            base = cls.default().as_dict()
            base.update({k: v for k, v in params.items() if k != "weights"})
            base["weights"] = {**base["weights"], **params.get("weights", {})}
            return cls.from_dict(base)
        return cls.from_file(params)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict, as written into a model folder."""
        return {
            "weights": dict(self.weights),
            **{f: getattr(self, f) for f in self.__dataclass_fields__ if f != "weights"},
        }


def proximity_score(level: np.ndarray, km: np.ndarray, scale_km: float) -> np.ndarray:
    """Proximity from the shared area level (0 community … 3 city, 4 none) or km.

    Distances (where both sides have coordinates; NaN elsewhere) take
    precedence over the area level.

    Examples
    --------
    >>> proximity_score(np.array([0, 1, 4]), np.array([np.nan, np.nan, 1.0]), 3.0).round(3)
    array([1.   , 0.75 , 0.717])
    """
    by_level = np.array([1.0, 0.75, 0.5, 0.25, 0.1])[np.clip(level, 0, 4)]
    by_km = np.exp(-np.nan_to_num(km, nan=0.0) / scale_km)
    return np.where(np.isnan(km), by_level, by_km)


def combine(components: dict[str, np.ndarray], params: ScoringParams,
            urgency: int) -> np.ndarray:
    """Weighted mean of the components; urgency shifts weight to proximity and capacity.

    Examples
    --------
    >>> comps = {c: np.array([1.0, 0.0]) for c in COMPONENTS}
    >>> combine(comps, ScoringParams.default(), urgency=2).round(3)
    array([1., 0.])
    """
    w = dict(params.weights)
    boost = 1.0 + params.urgency_boost * max(0, urgency - 2)
    w["proximity"] *= boost
    w["capacity"] *= boost
    total = sum(w.values())
    n = len(next(iter(components.values())))
    out = np.zeros(n, dtype=np.float64)
    for name, weight in w.items():
        out += weight * components[name]
    return out / total


#: A ranker turns the score parts of a need's feasible candidates into scores
#: (higher is better): ``ranker(components, params, urgency) -> scores``.
Ranker = Callable[[dict[str, np.ndarray], ScoringParams, int], np.ndarray]

#: The rankers ``Matcher(ranker=...)`` can name (a name, so a model folder can
#: record which one it used). ``weighted`` is :func:`combine`.
RANKERS: dict[str, Ranker] = {"weighted": combine}
