"""Build the development set from the hand-written sources in this folder.

needs_src.txt and actors_src.csv are written by hand (texts, communities,
intents). This script adds the structured fields deterministically (seed 2026):
which roles a need wants, urgency, budget, time slots, and which needs show
their category/groups (about a third; the rest the engine must infer). It writes
the contract files, truth.csv / actor_truth.csv (labels the engine never reads)
and qrels.csv (graded relevance from the labels, 0 for infeasible pairs).

Run from the repository root: python data/dev/build.py [FOLDER]
FOLDER (default data/dev) holds needs_src.txt; actors and communities always come
from data/dev, so the holdout set (data/holdout) shares them.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from matcher import load_dataset
from matcher.evaluate import make_qrels, read_truth, write_qrels
from matcher.generate import _catalogue
from matcher.records import ROLES

import shutil
import sys

SRC = Path(__file__).resolve().parent


def main() -> None:
    here = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else SRC
    if here != SRC:
        shutil.copy(SRC / "communities.csv", here / "communities.csv")
    build(here)


def build(HERE: Path) -> None:  # noqa: N803 - reads like the module constant it replaced
    rng = random.Random(2026)
    intents = {it["id"]: it for it in _catalogue()["intents"]}
    rows, truth = [], []
    lines = [x for x in (HERE / "needs_src.txt").read_text("utf-8").splitlines()
             if x.strip() and not x.startswith("#")]
    for i, line in enumerate(lines, 1):
        parts = line.split("|")
        intent, comm, text = parts[0], parts[1], parts[2]
        groups = parts[3] if len(parts) > 3 and parts[3] else intents[intent]["groups"][0]
        nid = f"DN{i:03d}"
        roles = list(ROLES) if rng.random() < 0.5 else rng.sample(list(ROLES), rng.randint(1, 3))
        roles = sorted(roles, key=ROLES.index)
        rows.append({
            "need_id": nid, "community_id": comm, "text": text,
            "category": intents[intent]["category"] if rng.random() < 0.3 else "",
            "target_groups": groups if rng.random() < 0.25 else "",
            "urgency": rng.choices([1, 2, 3, 4], [0.2, 0.45, 0.25, 0.1])[0],
            "roles": ";".join(roles),
            "volunteers_needed": rng.randint(1, 2) if "volunteer" in roles else 0,
            "budget_yuan": rng.choice([0, 500, 1500, 3000, 8000]) if "fund" in roles else 0,
            "time_slots": "" if rng.random() < 0.7 else rng.choice(
                ["weekday_day", "weekday_evening", "weekend", "weekday_day;weekend"]),
            "status": "open",
        })
        truth.append({"need_id": nid, "intent": intent,
                      "category": intents[intent]["category"], "target_groups": groups})
    rows.append({**rows[0], "need_id": "DN900", "text": "（已派单）苏阿姨每天给老人送饭",
                 "status": "assigned", "roles": "volunteer", "volunteers_needed": 1,
                 "category": "elderly_care", "target_groups": "老年人", "budget_yuan": 0})
    truth.append({"need_id": "DN900", "intent": "meals", "category": "elderly_care",
                  "target_groups": "老年人"})
    _write(HERE / "needs.csv", rows)
    _write(HERE / "truth.csv", truth)
    with (SRC / "actors_src.csv").open(encoding="utf-8", newline="") as fh:
        actors = list(csv.DictReader(fh))
    _write(HERE / "actor_truth.csv",
           [{"actor_id": a["actor_id"], "intents": a["intents"]} for a in actors])
    _write(HERE / "actors.csv", [{k: v for k, v in a.items() if k != "intents"} for a in actors])
    _write(HERE / "assignments.csv", [{"need_id": "DN900", "role": "volunteer",
                                       "actor_id": "DV26", "score": 0.8, "run_id": "dev"}])
    ds = load_dataset(HERE)
    need_truth, actor_intents = read_truth(HERE)
    intent_cat = {k: v["category"] for k, v in intents.items()}
    open_ids = sorted(n for n, x in ds.needs.items() if x.status == "open")
    qrels = make_qrels(ds, need_truth, actor_intents, open_ids, intent_cat)
    write_qrels(HERE / "qrels.csv", qrels)
    print(f"{len(open_ids)} needs, {len(actors)} actors, {len(qrels)} judgements")


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
