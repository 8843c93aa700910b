"""Benchmark: how long an actor change takes to show in suggestions, without a refit.

Usage: python bench/bench_update.py --data FOLDER [--repeats 20] [--out FILE.json]
       python bench/bench_update.py --needs 10000 --actors 50000 [--communities 200]

Fits a Matcher once, then for each repeat picks a random open need and times,
until the need's suggestions show the change (``Matcher.update_actors`` and
one ``suggest`` of that need, its scope recomputed):

- ``in_place``: a volunteer of the need's area taken off and put back (the
  table's columns only);
- ``text_edit``: a volunteer's text rewritten (re-indexed with the text model
  frozen);
- ``new_actor``: a new volunteer in the need's community, offering what the
  need asks for.

Each change is checked to be visible (the volunteer gone, its text score
changed, the new volunteer suggested). Reports medians and maxima in
milliseconds, next to the fit time a refit would cost.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from matcher import Matcher, load_dataset
from matcher.generate import generate_dataset
from matcher.records import Actor


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="a generated dataset folder")
    ap.add_argument("--needs", type=int, default=10000)
    ap.add_argument("--actors", type=int, default=50000)
    ap.add_argument("--communities", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.data:
        folder = Path(args.data)
    else:
        folder = Path(tempfile.mkdtemp()) / "data"
        generate_dataset(folder, needs=args.needs, actors=args.actors,
                         communities=args.communities, seed=args.seed)
    ds = load_dataset(folder)
    t0 = time.perf_counter()
    m = Matcher().fit(ds)
    fit_s = time.perf_counter() - t0
    rng = random.Random(args.seed)
    open_needs = sorted(n.need_id for n in ds.needs.values()
                        if n.status == "open" and "volunteer" in n.roles)
    times: dict[str, list[float]] = {"in_place": [], "text_edit": [], "new_actor": []}
    for i in range(args.repeats):
        nid = rng.choice(open_needs)
        need = ds.needs[nid]
        shown = [s.actor_id for s in m.suggest(nid, k=10, roles=["volunteer"]).get("volunteer", [])]
        if not shown:
            continue
        a = m.dataset_.actors[shown[0]]
        t0 = time.perf_counter()
        assert m.update_actors([replace(a, active=False)])
        assert a.actor_id not in [s.actor_id for s in m.suggest(nid, k=10)["volunteer"]]
        times["in_place"].append(_ms(t0))
        assert m.update_actors([a])
        before = m.suggest(nid, k=10)["volunteer"][0]
        t0 = time.perf_counter()
        assert m.update_actors([replace(a, text=a.text + "，另可陪同散步聊天")])
        after = m.suggest(nid, k=10)["volunteer"]
        times["text_edit"].append(_ms(t0))
        assert any(s.actor_id == a.actor_id and s.breakdown != before.breakdown for s in after)
        new = Actor(f"BENCH{i:04d}", "volunteer", "新志愿者", need.text[:40],
                    community_id=need.community_id, categories=a.categories,
                    target_groups=a.target_groups)
        t0 = time.perf_counter()
        assert m.update_actors([new])
        got = [s.actor_id for s in m.suggest(nid, k=10)["volunteer"]]
        times["new_actor"].append(_ms(t0))
        assert new.actor_id in got, (nid, got)
    res = {
        "data": str(folder), "needs": len(ds.needs), "actors": len(ds.actors),
        "fit_s": round(fit_s, 1), "repeats": len(times["in_place"]),
        **{f"{k}_median_ms": round(statistics.median(v), 1) for k, v in times.items() if v},
        **{f"{k}_max_ms": round(max(v), 1) for k, v in times.items() if v},
        "machine": {"python": platform.python_version(), "system": platform.platform()},
    }
    print(json.dumps(res, ensure_ascii=False, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(res, ensure_ascii=False, indent=1), "utf-8")


if __name__ == "__main__":
    main()
