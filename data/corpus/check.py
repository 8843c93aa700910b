"""Check the corpus files' format and print counts per label.

Usage: python data/corpus/check.py [FILE ...]   (default: every part_*.csv here)
Exit 1 on any malformed row (printed with file and line).
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

CATEGORIES = {"elderly_care", "child_welfare", "disability", "social_assistance", "health",
              "mental_health", "legal", "mediation", "governance", "environment", "emergency",
              "culture_sports", "education", "employment", "renovation", "daily_life"}
GROUPS = {"老年人", "儿童", "青少年", "残疾人", "困难群众", "妇女", "新市民", "退役军人", "全体居民"}
VOICES = {"resident", "family", "neighbour", "grid", "cadre", "hotline", "wechat", "letter",
          "dialect", "typo", "trad", "noservice"}
HEADER = ["id", "text", "categories", "target_groups", "urgency", "voice", "writer"]


def check(paths: list[Path]) -> int:
    bad = 0
    cats: Counter[str] = Counter()
    groups: Counter[str] = Counter()
    urg: Counter[str] = Counter()
    voices: Counter[str] = Counter()
    ids: set[str] = set()
    texts: set[str] = set()
    n = long = 0
    for path in paths:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header != HEADER:
                print(f"{path}: header must be {','.join(HEADER)}")
                bad += 1
                continue
            for row in reader:
                line = reader.line_num
                problems = []
                if len(row) != len(HEADER):
                    problems.append(f"{len(row)} cells, want {len(HEADER)}")
                    row = (row + [""] * 7)[:7]
                rid, text, c, g, u, v, _w = (x.strip() for x in row)
                cs = [x for x in c.split(";") if x]
                gs = [x for x in g.split(";") if x]
                if rid in ids:
                    problems.append(f"duplicate id {rid}")
                if text in texts:
                    problems.append("duplicate text")
                if not 5 <= len(text) <= 1500:
                    problems.append(f"text length {len(text)}")
                if not cs or len(cs) > 2 or set(cs) - CATEGORIES:
                    problems.append(f"categories {c!r}")
                if set(gs) - GROUPS:
                    problems.append(f"target_groups {g!r}")
                if u not in {"1", "2", "3", "4"}:
                    problems.append(f"urgency {u!r}")
                if v not in VOICES:
                    problems.append(f"voice {v!r}")
                if problems:
                    bad += 1
                    print(f"{path}:{line}: " + "; ".join(problems))
                    continue
                ids.add(rid)
                texts.add(text)
                n += 1
                long += len(text) >= 300
                cats.update(cs)
                groups.update(gs)
                urg[u] += 1
                voices[v] += 1
    print(f"rows {n} (long ≥300 chars: {long}), bad {bad}")
    print("categories:", dict(sorted(cats.items(), key=lambda kv: kv[1])))
    print("groups:", dict(sorted(groups.items(), key=lambda kv: kv[1])))
    print("urgency:", dict(sorted(urg.items())))
    print("voices:", dict(sorted(voices.items(), key=lambda kv: kv[1])))
    return 1 if bad else 0


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    args = [Path(a) for a in sys.argv[1:]] or sorted(here.glob("part_*.csv"))
    sys.exit(check(args))
