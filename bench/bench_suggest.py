"""Benchmark: fit time and memory, single-need suggest latency (p50/p99).

Usage: python bench/bench_suggest.py --needs N --actors M [--queries 1000] [--out FILE.json]

Generates a synthetic dataset (seeded), loads it, fits a Matcher, then times
``suggest(need, k=10)`` for every role the need wants, over ``--queries``
randomly chosen open needs, one at a time. Peak memory is the process's
maximum resident set size. Results are printed and written as JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from matcher import Matcher, load_dataset
from matcher.generate import generate_dataset


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--needs", type=int, default=1000)
    ap.add_argument("--actors", type=int, default=2000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", help="reuse this generated folder")
    ap.add_argument("--out")
    ap.add_argument("--no-text-classifier", action="store_true",
                    help="the lexicon alone (to measure what the shipped classifier costs)")
    args = ap.parse_args()
    folder = Path(args.data or tempfile.mkdtemp(prefix="wushe-bench-"))
    t0 = time.perf_counter()
    if not (folder / "needs.csv").exists():
        generate_dataset(folder, needs=args.needs, actors=args.actors, seed=args.seed)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    ds = load_dataset(folder)
    t_load = time.perf_counter() - t0
    rss_loaded = peak_rss_mb()
    t0 = time.perf_counter()
    m = Matcher(use_text_classifier=not args.no_text_classifier).fit(ds)
    t_fit = time.perf_counter() - t0
    rss_fit = peak_rss_mb()
    rng = random.Random(args.seed)
    open_ids = sorted(n for n, x in ds.needs.items() if x.status == "open")
    ids = rng.sample(open_ids, min(args.queries, len(open_ids)))
    m.suggest(ids[0], k=10)  # warm-up
    lat = []
    n_sugg = 0
    for nid in ids:
        t = time.perf_counter()
        out = m.suggest(nid, k=10)
        lat.append((time.perf_counter() - t) * 1000)
        n_sugg += sum(len(v) for v in out.values())
    res = {
        "needs": len(ds.needs), "actors": len(ds.actors), "communities": len(ds.communities),
        "generate_s": round(t_gen, 1), "load_s": round(t_load, 1), "fit_s": round(t_fit, 1),
        "peak_rss_mb_after_load": round(rss_loaded), "peak_rss_mb_after_fit": round(rss_fit),
        "queries": len(lat), "suggestions_per_query": round(n_sugg / len(lat), 1),
        "suggest_ms_p50": round(statistics.median(lat), 2),
        "suggest_ms_p90": round(float(np.percentile(lat, 90)), 2),
        "suggest_ms_p99": round(float(np.percentile(lat, 99)), 2),
        "suggest_ms_max": round(max(lat), 2),
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or
                    platform.machine(), "cores": __import__("os").cpu_count()},
    }
    print(json.dumps(res, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    main()
