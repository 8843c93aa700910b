"""Benchmark: the nightly re-match end to end, and solver optimality/speed.

Usage: python bench/bench_match.py --needs N --actors M [--data DIR] [--compare]
                                   [--out FILE.json]

Stages timed: load, fit, candidates, solve (OR-Tools flow + CP-SAT funds),
write. With ``--compare`` the same flow sub-problems are solved again with
networkx's network simplex and with greedy, in the same run, to report the
speed ratio (OR-Tools: median of five passes; networkx: one) and the
objective gap. Peak memory is the process's max RSS.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TypeVar

import numpy as np

from matcher import Matcher, load_dataset
from matcher.assign import FlowProblem, solve_flow, solve_greedy
from matcher.checks import validate_assignment
from matcher.generate import generate_dataset
from matcher.rematch import MatchOptions, rematch
from matcher.writers import write_assignments_csv, write_unassigned_csv

T = TypeVar("T")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--needs", type=int, default=1000)
    ap.add_argument("--actors", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data")
    ap.add_argument("--compare", action="store_true")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--out")
    args = ap.parse_args()
    folder = Path(args.data or tempfile.mkdtemp(prefix="wushe-match-"))
    if not (folder / "needs.csv").exists():
        generate_dataset(folder, needs=args.needs, actors=args.actors, seed=args.seed)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    ds = load_dataset(folder)
    timings["load"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    m = Matcher().fit(ds)
    timings["fit"] = time.perf_counter() - t0
    stage: dict[str, float] = {}
    res = rematch(m, options=MatchOptions(solver="ortools", workers=args.workers,
                                          processes=args.processes),
                  timings=stage)
    timings["candidates"] = stage["pins"] + stage["candidates"]
    timings["solve"] = stage["solve"]
    t0 = time.perf_counter()
    out = Path(tempfile.mkdtemp(prefix="wushe-match-out-"))
    write_assignments_csv(out / "assignments.csv", (asdict(r) for r in res.assignments))
    write_unassigned_csv(out / "unassigned.csv", res.unassigned)
    timings["write"] = time.perf_counter() - t0
    problems = validate_assignment(m, res.assignments)
    s = res.summary
    result = {
        "needs": len(ds.needs), "actors": len(ds.actors), "open_needs": s["needs_open"],
        "slots": s["slots"], "components": s["components"],
        "flow_arcs": sum(len(p.arcs) for p in res.flow_problems),
        "fund_arcs": sum(len(p.arcs) for p in res.fund_problems),
        "fund_allocation": s["fund_allocation"],
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
        "total_s": round(sum(timings.values()), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "valid": not problems, "processes": args.processes,
        "machine": {"python": platform.python_version(), "cores": __import__("os").cpu_count()},
    }
    if args.compare:
        flows = res.flow_problems
        fast, t_fast = timed(lambda: [solve_flow(p, "ortools") for p in flows], FAST_REPEAT)
        ref, t_ref = timed(lambda: [solve_flow(p, "networkx") for p in flows], 1)
        greedy = [solve_greedy(p) for p in flows]
        o_fast = sum(r.objective for r in fast)
        o_ref = sum(r.objective for r in ref)
        o_greedy = sum(r.objective for r in greedy)
        result["compare"] = {
            "ortools_s": round(t_fast, 3), "networkx_s": round(t_ref, 3),
            "speedup": round(t_ref / t_fast, 1) if t_fast else None,
            "objective_ortools": o_fast, "objective_networkx": o_ref,
            "objective_greedy": o_greedy,
            "greedy_worse_by_pct": round(100 * (o_greedy - o_ref) / abs(o_ref), 2) if o_ref else 0,
        }
        whole = merge(flows)
        _ = whole.segments  # built once, shared by both solvers (as for the components)
        w_fast, t_wfast = timed(lambda: solve_flow(whole, "ortools"), FAST_REPEAT)
        w_ref, t_wref = timed(lambda: solve_flow(whole, "networkx"), 1)
        result["compare_whole_instance"] = {
            "arcs": len(whole.arcs), "ortools_s": round(t_wfast, 3),
            "networkx_s": round(t_wref, 3), "speedup": round(t_wref / t_wfast, 1),
            "objective_ortools": w_fast.objective, "objective_networkx": w_ref.objective,
        }
    print(json.dumps(result, indent=1, ensure_ascii=False))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", "utf-8")



FAST_REPEAT = 5


def timed(fn: Callable[[], T], repeat: int) -> tuple[T, float]:
    """Result of ``fn()`` and the median wall time of ``repeat`` calls.

    OR-Tools passes take well under a second, so one of them is at the mercy
    of this shared machine; networkx's take half a minute and run once.
    """
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)


def merge(problems: list[FlowProblem]) -> FlowProblem:
    """All sub-problems as one network (the whole instance), same costs."""
    slots: list[tuple[str, str, int]] = []
    actors: list[str] = []
    arcs = [np.zeros((0, 3), np.int64)]
    for p in problems:
        arcs.append(p.arcs + np.array([len(slots), len(actors), 0]))
        slots += p.slots
        actors += p.actors
    return FlowProblem(slots, np.concatenate(arcs), actors,
                       np.concatenate([[0]] + [p.capacity for p in problems])[1:],
                       np.concatenate([[0]] + [p.load for p in problems])[1:],
                       problems[0].load_step if problems else 0)


if __name__ == "__main__":
    main()
