"""Make data/dev_trad: the dev set with every need text in traditional characters.

Residents write from Hong Kong, Taiwan or a phone set to traditional input. Each
need text is converted with OpenCC ``s2t`` (phrase-aware); actors, labels and
judgements are copied unchanged, so the score measures only the script.

Run from the repository root: python data/dev/traditional.py
"""

from __future__ import annotations

import opencc
from variants import SRC, derive

OUT = SRC.parent / "dev_trad"


def main() -> None:
    changed, total = derive(OUT, opencc.OpenCC("s2t").convert)
    print(f"{changed} of {total} need texts changed → {OUT}")


if __name__ == "__main__":
    main()
