"""Make data/dev_typo: the dev set with homophone typos, to measure typo robustness.

Each need text gets two characters, at random CJK positions (seed 7), replaced
by another character with the same toneless pinyin, drawn from the characters
of the dev and generator texts. Everything else is copied unchanged.

Run from the repository root: python data/dev/typos.py
"""

from __future__ import annotations

import csv
import random
import shutil
from collections import defaultdict
from pathlib import Path

from pypinyin import lazy_pinyin

SRC = Path(__file__).resolve().parent
OUT = SRC.parent / "dev_typo"


def main() -> None:
    rng = random.Random(7)
    pool_text = (SRC / "actors_src.csv").read_text("utf-8") + (
        SRC.parent.parent / "matcher" / "resources" / "intents.json").read_text("utf-8")
    by_sound: dict[str, set[str]] = defaultdict(set)
    for ch in set(pool_text):
        if "\u4e00" <= ch <= "\u9fff":
            by_sound[lazy_pinyin(ch)[0]].add(ch)
    shutil.rmtree(OUT, ignore_errors=True)
    shutil.copytree(SRC, OUT, ignore=shutil.ignore_patterns("*.py", "*.txt", "*_src.csv",
                                                            "README.md", "__pycache__"))
    with (SRC / "needs.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    changed = 0
    for r in rows:
        text = list(r["text"])
        spots = [i for i, ch in enumerate(text) if "\u4e00" <= ch <= "\u9fff"
                 and len(by_sound[lazy_pinyin(ch)[0]] - {ch}) > 0]
        for i in rng.sample(spots, min(2, len(spots))):
            text[i] = rng.choice(sorted(by_sound[lazy_pinyin(text[i])[0]] - {text[i]}))
            changed += 1
        r["text"] = "".join(text)
    with (OUT / "needs.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(f"{changed} characters changed in {len(rows)} needs → {OUT}")


if __name__ == "__main__":
    main()
