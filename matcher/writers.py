"""Writers for the contract's outputs: suggestions JSONL, assignments CSV.

Files are written to a temporary name and renamed, so a reader never sees a
half-written file; output is byte-identical for the same input. CSV cells a
spreadsheet would run as a formula get a leading ``'`` (:func:`safe_cell`),
which the reader drops again.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .csvio import safe_cell

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "UNASSIGNED_COLUMNS",
    "atomic_open",
    "suggestion_line",
    "write_assignments_csv",
    "write_suggestions_jsonl",
    "write_unassigned_csv",
]

ASSIGNMENT_COLUMNS = ("need_id", "role", "actor_id", "score", "run_id")
UNASSIGNED_COLUMNS = ("need_id", "role", "reason")


@contextmanager
def atomic_open(path: str | Path, newline: str | None = None) -> Any:
    """Open a temporary file beside ``path`` for writing; rename on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as fh:
            yield fh
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def suggestion_line(need_id: str, suggestions: Mapping[str, Sequence[Any]],
                    inferred: Mapping[str, Any] | None = None) -> str:
    """One JSONL line of the contract; ``inferred`` (``Inference.as_dict()``) is the
    engine's category, groups and urgency with their confidence.

    Examples
    --------
    >>> from matcher.model import Suggestion
    >>> suggestion_line("N1", {"volunteer": [Suggestion("V1", 0.8, ["同在翠苑街道"], {})]})
    '{"need_id": "N1", "suggestions": {"volunteer": [{"actor_id": "V1", "score": 0.8, "reasons": ["同在翠苑街道"]}]}}'
    """
    obj: dict[str, Any] = {"need_id": need_id}
    if inferred is not None:
        obj["inferred"] = dict(inferred)
    obj["suggestions"] = {
        role: [{"actor_id": s.actor_id, "score": round(float(s.score), 4),
                "reasons": list(s.reasons)} for s in items]
        for role, items in suggestions.items()
    }
    return json.dumps(obj, ensure_ascii=False)


def write_suggestions_jsonl(path: str | Path, items: Iterable[tuple[Any, ...]]) -> int:
    """Write ``(need_id, {role: suggestions}[, inferred])`` tuples; return the line count."""
    n = 0
    with atomic_open(path) as fh:
        for item in items:
            fh.write(suggestion_line(*item) + "\n")
            n += 1
    return n


def _write_csv(fh: IO[str], columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> int:
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(columns)
    n = 0
    for r in rows:
        w.writerow(["" if r.get(c) is None else safe_cell(str(r[c])) for c in columns])
        n += 1
    return n


def write_assignments_csv(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> int:
    """``assignments.csv``: need_id, role, actor_id, score, run_id."""
    with atomic_open(path, newline="") as fh:
        return _write_csv(fh, ASSIGNMENT_COLUMNS, rows)


def write_unassigned_csv(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> int:
    """``unassigned.csv``: need_id, role, reason."""
    with atomic_open(path, newline="") as fh:
        return _write_csv(fh, UNASSIGNED_COLUMNS, rows)
