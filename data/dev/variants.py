"""Derived copies of the dev set that differ only in how the need texts are written.

Used by typos.py (data/dev_typo) and traditional.py (data/dev_trad): actors,
labels and judgements are copied unchanged, so a score difference measures only
the change to the texts.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

SRC = Path(__file__).resolve().parent


def derive(out: Path, rewrite: Callable[[str], str]) -> tuple[int, int]:
    """Copy the dev set to ``out`` with every need text rewritten; (changed, total)."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(SRC, out, ignore=shutil.ignore_patterns("*.py", "*.txt", "*_src.csv",
                                                            "README.md", "__pycache__"))
    with (SRC / "needs.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    changed = 0
    for r in rows:
        text = rewrite(r["text"])
        changed += text != r["text"]
        r["text"] = text
    with (out / "needs.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return changed, len(rows)
