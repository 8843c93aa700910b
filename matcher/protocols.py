"""What the modules around the engine may use of a fitted one: :class:`FittedEngine`.

The re-match, its checker and summary, the evaluator and the model folder
take a fitted engine typed by this protocol, not the :class:`~matcher.model.Matcher`
class itself: they depend on these public attributes and calls only, and mypy
checks every use (ARCHITECTURE.md, "What may import what").
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from .embed import TextEmbedder
from .index import EngineIndex
from .infer import Inference
from .ranking import Suggestion
from .records import Dataset, Need
from .scoring import ScoringParams
from .table import ActorTable
from .taxonomy import Taxonomy

__all__ = ["FittedEngine"]


class FittedEngine(Protocol):
    """A fitted engine (see the module docstring)."""

    dataset_: Dataset
    table_: ActorTable
    index_: EngineIndex
    inference_: dict[str, Inference]
    categories_: list[str]
    taxonomy_: Taxonomy
    scoring_: ScoringParams
    embedder_: TextEmbedder
    classifier_: dict[str, Any]

    def get_params(self, deep: bool = True) -> dict[str, Any]: ...

    def save(self, path: str | Path, *, metrics: dict[str, Any] | None = None) -> Path: ...

    def suggest(self, need: str | Need, k: int = 10,
                roles: Iterable[str] | None = None) -> dict[str, list[Suggestion]]: ...

    def candidates(self, need: str | Need, role: str,
                   limit: int = 20) -> list[tuple[str, float]]: ...

    def unserved_reason(self, need: str | Need, role: str) -> str: ...

    def unconfirmed_funds(self, need: str | Need) -> list[tuple[str, str, float]]: ...

    def pair_violations(self, need: str | Need, actor_id: str, role: str) -> list[str]: ...
