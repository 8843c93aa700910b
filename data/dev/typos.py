"""Make data/dev_typo: the dev set with homophone typos, to measure typo robustness.

Each need text gets two characters, at random CJK positions (seed 7), replaced
by another character with the same toneless pinyin, drawn from the characters
of the dev and generator texts. Everything else is copied unchanged.

Run from the repository root: python data/dev/typos.py
"""

from __future__ import annotations

import random
from collections import defaultdict

from pypinyin import lazy_pinyin
from variants import SRC, derive

OUT = SRC.parent / "dev_typo"


def main() -> None:
    rng = random.Random(7)
    pool_text = (SRC / "actors_src.csv").read_text("utf-8") + (
        SRC.parent.parent / "matcher" / "resources" / "intents.json").read_text("utf-8")
    by_sound: dict[str, set[str]] = defaultdict(set)
    for ch in set(pool_text):
        if "\u4e00" <= ch <= "\u9fff":
            by_sound[lazy_pinyin(ch)[0]].add(ch)

    def misspell(raw: str) -> str:
        text = list(raw)
        spots = [i for i, ch in enumerate(text) if "\u4e00" <= ch <= "\u9fff"
                 and len(by_sound[lazy_pinyin(ch)[0]] - {ch}) > 0]
        for i in rng.sample(spots, min(2, len(spots))):
            text[i] = rng.choice(sorted(by_sound[lazy_pinyin(text[i])[0]] - {text[i]}))
        return "".join(text)

    changed, total = derive(OUT, misspell)
    print(f"{changed} of {total} need texts changed → {OUT}")


if __name__ == "__main__":
    main()
