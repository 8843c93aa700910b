"""The nightly re-match: a team for every open need, under every constraint.

Pipeline: slots (what each open need still wants) → coordinator pins and
forbids → candidate graph (the engine's feasible, scored actors per slot) →
independent components → min-cost flow per component for organizations,
social workers and volunteers, CP-SAT for funds → assignments, unassigned
slots with reasons, a summary and the diff against the previous run.

Cost of serving a slot with an actor (lower is better)::

    -(score_scale · score + urgency_bonus · (urgency − 1)
      + vulnerable_bonus · [vulnerable] + stability_bonus · [kept from last run])

plus the flow's load-balancing segments (``load_step``). Under shortage the
most urgent and most vulnerable needs win; between equal needs, the better
matched actor wins; yesterday's open assignments move only for a real gain.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from .assign import FlowProblem, FlowResult, solve_flow
from .errors import ParameterError
from .funds import FundProblem, FundResult, solve_funds
from .infer import vulnerability
from .kinds import KINDS, budgeted
from .protocols import FittedEngine
from .records import ROLES
from .text import normalize_text

__all__ = ["AssignmentRow", "MatchOptions", "MatchResult", "rematch"]

log = logging.getLogger(__name__)
PINNED_STATUSES = ("assigned", "in_progress")


@dataclass(frozen=True)
class AssignmentRow:
    """One row of ``assignments.csv``."""

    need_id: str
    role: str
    actor_id: str
    score: float = 0.0
    run_id: str = ""


@dataclass(frozen=True)
class MatchOptions:
    """Knobs of the re-match (documented cost terms; see the module docstring)."""

    solver: str = "auto"
    candidates: int = 20
    score_scale: int = 1000
    urgency_bonus: int = 300
    vulnerable_bonus: int = 400
    stability_bonus: int = 200
    load_step: int = 150
    fund_time: float = 5.0
    workers: int = 0
    scheduler: str | None = None
    processes: int = 1


@dataclass
class MatchResult:
    """What a run produced."""

    assignments: list[AssignmentRow]
    unassigned: list[dict[str, Any]]   # need_id, role, reason (a diagnosis code), missing
    summary: dict[str, Any]
    infeasible_pins: list[dict[str, Any]] = field(default_factory=list)
    flow_problems: list[FlowProblem] = field(default_factory=list)
    fund_problems: list[FundProblem] = field(default_factory=list)


def _priority(m: FittedEngine, need_id: str, opts: MatchOptions) -> tuple[int, str]:
    need = m.dataset_.needs[need_id]
    inf = m.inference_[need_id]
    why = vulnerability(normalize_text(need.text), inf.groups)
    return opts.urgency_bonus * (inf.urgency - 1) + (opts.vulnerable_bonus if why else 0), why


def _components(n_left: int, n_right: int, edges: list[tuple[int, int]]) -> list[int]:
    """Component label of every left node (slots) of a bipartite graph."""
    if n_left == 0:
        return []
    rows = np.array([e[0] for e in edges], dtype=np.int64)
    cols = np.array([n_left + e[1] for e in edges], dtype=np.int64)
    n = n_left + n_right
    g = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    _, labels = connected_components(g, directed=False)
    return [int(x) for x in labels[:n_left]]


def _all_candidates(m: FittedEngine, asks: list[tuple[str, str, int]], processes: int,
                    prog: Callable[[list[Any], str], Iterator[Any]],
                    ) -> list[list[tuple[str, float]]]:
    """Candidates for every slot, asks of one community together (they share the
    engine's cached scope), optionally in forked processes; same answer as serial."""
    from .parallel import fork_map

    needs = m.dataset_.needs
    order = sorted(range(len(asks)), key=lambda i: (needs[asks[i][0]].community_id, i))
    found = fork_map(lambda a: m.candidates(*a), [asks[i] for i in order], processes,
                     progress=prog, desc="candidates")
    out: list[list[tuple[str, float]]] = [[] for _ in asks]
    for i, c in zip(order, found, strict=True):
        out[i] = c
    return out


def _solve_flow_batch(batch: list[FlowProblem], solver: str) -> list[FlowResult]:
    return [solve_flow(p, solver) for p in batch]


def _solve_fund_batch(batch: list[FundProblem], fund_time: float) -> list[FundResult]:
    return [solve_funds(p, deterministic_time=fund_time) for p in batch]


def _batches(items: list[Any], n: int) -> list[list[Any]]:
    n = max(1, min(n, len(items)))
    return [items[i::n] for i in range(n)]


def _run_all(fn: Callable[..., list[Any]], items: list[Any], arg: Any,
             opts: MatchOptions) -> list[Any]:
    """Solve independent problems serially, or on Dask; the results are identical."""
    if not items:
        return []
    if not (opts.workers or opts.scheduler):
        return fn(items, arg)
    from dask.distributed import Client, LocalCluster

    cluster = None
    if opts.scheduler:
        client = Client(opts.scheduler)
        n = max(1, len(client.scheduler_info().get("workers", {})))
    else:
        cluster = LocalCluster(n_workers=opts.workers, threads_per_worker=1,
                               processes=True, dashboard_address=None)
        client = Client(cluster)
        n = opts.workers
    try:
        order = sorted(range(len(items)), key=lambda i: -_size(items[i]))
        batches = _batches(order, 4 * n)
        futures = client.map(fn, [[items[i] for i in b] for b in batches],
                             [arg] * len(batches), pure=False)
        out: list[Any] = [None] * len(items)
        for b, res in zip(batches, client.gather(futures), strict=True):
            for i, r in zip(b, res, strict=True):
                out[i] = r
        return out
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _size(p: Any) -> int:
    return len(p.arcs)


def rematch(m: FittedEngine, *, previous: Iterable[AssignmentRow] = (),
            pins: Iterable[tuple[str, str, str]] = (),
            forbids: Iterable[tuple[str, str, str]] = (),
            options: MatchOptions | None = None, run_id: str = "run",
            progress: Callable[[list[Any], str], Iterator[Any]] | None = None,
            timings: dict[str, float] | None = None) -> MatchResult:
    """Assign every open need of the fitted matcher ``m`` its team.

    ``previous`` rows of needs now ``assigned``/``in_progress`` are kept as
    they are (accepted, in service); rows of still-open needs earn the
    stability bonus. ``pins`` are ``(need_id, role, actor_id)`` the
    coordinator fixed; ``forbids`` pairs never to use (``role`` may be ``""``).
    """
    import time

    opts = options or MatchOptions()
    if opts.candidates < 1:
        raise ParameterError("候选数必须大于 0", "candidates must be ≥ 1")
    prog = progress or (lambda items, desc: iter(items))
    ds = m.dataset_
    t = m.table_
    timings = timings if timings is not None else {}
    t0 = time.perf_counter()
    kept = [r for r in previous if r.need_id in ds.needs
            and ds.needs[r.need_id].status in PINNED_STATUSES]
    prev_open = {(r.need_id, r.role, r.actor_id) for r in previous
                 if r.need_id in ds.needs and ds.needs[r.need_id].status == "open"}
    forbids = list(forbids)
    forbidden = {(n, a) for n, role, a in forbids if not role}
    forbidden_role = {(n, role, a) for n, role, a in forbids if role}
    # what each open need still wants
    slots: list[tuple[str, str, int]] = []
    for nid in sorted(ds.needs):
        need = ds.needs[nid]
        if need.status != "open":
            continue
        for role in need.roles:
            count = need.volunteers_needed if role == "volunteer" else 1
            if count > 0:
                slots.append((nid, role, count))
    cap_left = {aid: int(t.capacity[r] - t.load[r]) for aid, r in t.position.items()}
    budget_left = {aid: float(t.budget[r]) for aid, r in t.position.items()}
    rows: list[AssignmentRow] = list(kept)
    infeasible_pins: list[dict[str, Any]] = []
    filled: dict[tuple[str, str], list[str]] = defaultdict(list)
    for nid, role, aid in pins:
        codes = m.pair_violations(nid, aid, role)
        need = ds.needs[nid]
        if need.status != "open":
            codes = [*codes, "need_not_open"]
        elif role not in need.roles:
            codes = [*codes, "role_not_wanted"]
        if budgeted(role) and "fund_budget" not in codes and budget_left[aid] < need.budget_yuan:
            codes.append("fund_budget")
        if not budgeted(role) and "at_capacity" not in codes and cap_left[aid] <= 0:
            codes.append("at_capacity")
        if codes:
            infeasible_pins.append({"need_id": nid, "role": role, "actor_id": aid,
                                    "reasons": codes})
            continue
        filled[(nid, role)].append(aid)
        if budgeted(role):
            budget_left[aid] -= need.budget_yuan
        else:
            cap_left[aid] -= 1
        rows.append(AssignmentRow(nid, role, aid, 1.0, run_id))
    timings["pins"] = time.perf_counter() - t0

    # candidate graph
    t0 = time.perf_counter()
    open_slots = [(n, r, c - len(filled[(n, r)])) for n, r, c in slots
                  if c - len(filled[(n, r)]) > 0]
    raw = _all_candidates(m, [(n, r, max(opts.candidates, 3 * c) + len(filled[(n, r)]))
                              for n, r, c in open_slots], opts.processes, prog)
    cand: list[list[tuple[str, float]]] = []
    for (nid, role, count), got in zip(open_slots, raw, strict=True):
        limit = max(opts.candidates, 3 * count)
        cand.append([(a, s) for a, s in got
                     if (nid, a) not in forbidden and (nid, role, a) not in forbidden_role
                     and a not in filled[(nid, role)]][:limit])
    prio = {nid: _priority(m, nid, opts) for nid, _, _ in open_slots}
    timings["candidates"] = time.perf_counter() - t0

    # solve
    t0 = time.perf_counter()
    score_of: dict[tuple[str, str, str], float] = {}
    flow_idx = [i for i, s in enumerate(open_slots) if KINDS[s[1]].solver == "flow"]
    fund_idx = [i for i, s in enumerate(open_slots) if KINDS[s[1]].solver == "cpsat"]
    flow_problems = _flow_problems(m, open_slots, cand, flow_idx, prio, prev_open,
                                              cap_left, opts, score_of)
    fund_problems = _fund_problems(m, open_slots, cand, fund_idx, prio, prev_open,
                                              budget_left, opts, score_of)
    flow_results = _run_all(_solve_flow_batch, flow_problems, opts.solver, opts)
    fund_results = _run_all(_solve_fund_batch, fund_problems, opts.fund_time, opts)
    timings["solve"] = time.perf_counter() - t0
    objective = 0
    for p, res in zip(flow_problems, flow_results, strict=True):
        objective += res.objective
        for i, j, _ in p.arcs[res.chosen].tolist():
            nid, role, _ = p.slots[i]
            filled[(nid, role)].append(p.actors[j])
    gap_num = gap_den = 0
    fund_status = "OPTIMAL"
    for fp, res in zip(fund_problems, fund_results, strict=True):
        objective -= res.value
        gap_num += res.bound - res.value
        gap_den += res.bound
        if res.status != "OPTIMAL":
            fund_status = res.status
        for a in res.chosen:
            n, f, _ = fp.arcs[a]
            filled[(fp.needs[n], "fund")].append(fp.funds[f])
    for nid, role, _ in open_slots:
        for aid in sorted(filled[(nid, role)]):
            if (nid, role, aid) in score_of:
                rows.append(AssignmentRow(nid, role, aid, score_of[(nid, role, aid)], run_id))
    unassigned = []
    for nid, role, count in slots:
        if len(filled[(nid, role)]) < count:
            unassigned.append({"need_id": nid, "role": role,
                               "reason": m.unserved_reason(nid, role),
                               "missing": count - len(filled[(nid, role)])})
    rows.sort(key=lambda r: (r.need_id, ROLE_ORDER[r.role], r.actor_id))
    from .report import summarise

    summary = summarise(m, slots, rows, unassigned, list(previous), prio,
                        objective=objective, fund_gap=(gap_num / gap_den) if gap_den else 0.0,
                        fund_status=fund_status, components=len(flow_problems) + len(
                            fund_problems), infeasible_pins=infeasible_pins)
    return MatchResult(rows, unassigned, summary, infeasible_pins, flow_problems, fund_problems)


ROLE_ORDER = {role: i for i, role in enumerate(ROLES)}


def _grouped(slots: list[tuple[str, str, int]], cand: list[list[tuple[str, float]]],
             idx: list[int], prio: dict[str, tuple[int, str]],
             prev: set[tuple[str, str, str]], opts: MatchOptions,
             score_of: dict[tuple[str, str, str], float],
             ) -> Iterator[tuple[list[int], list[str], list[tuple[int, int, int]]]]:
    """Per connected component: member slots, local actors, arcs with their *value*.

    value = score_scale · score + priority bonus + stability bonus (higher is better).
    """
    actor_ix: dict[str, int] = {}
    edges = []
    for k, i in enumerate(idx):
        for aid, _ in cand[i]:
            edges.append((k, actor_ix.setdefault(aid, len(actor_ix))))
    labels = _components(len(idx), len(actor_ix), edges)
    groups: dict[int, list[int]] = defaultdict(list)
    for k, lab in enumerate(labels):
        if cand[idx[k]]:
            groups[lab].append(idx[k])
    for lab in sorted(groups, key=lambda g: groups[g][0]):
        members = groups[lab]
        actors: list[str] = []
        local: dict[str, int] = {}
        arcs = []
        for s_local, i in enumerate(members):
            nid, role, _ = slots[i]
            for aid, score in cand[i]:
                j = local.setdefault(aid, len(local))
                if j == len(actors):
                    actors.append(aid)
                stay = opts.stability_bonus if (nid, role, aid) in prev else 0
                arcs.append((s_local, j, round(opts.score_scale * score) + prio[nid][0] + stay))
                score_of[(nid, role, aid)] = score
        yield members, actors, arcs


def _flow_problems(m: FittedEngine, slots: list[tuple[str, str, int]],
                   cand: list[list[tuple[str, float]]], idx: list[int],
                   prio: dict[str, tuple[int, str]], prev: set[tuple[str, str, str]],
                   cap_left: dict[str, int], opts: MatchOptions,
                   score_of: dict[tuple[str, str, str], float],
                   ) -> list[FlowProblem]:
    t = m.table_
    return [FlowProblem(slots=[slots[i] for i in members],
                        arcs=np.array(arcs, dtype=np.int64).reshape(-1, 3) * [1, 1, -1],
                        actors=actors,
                        capacity=np.array([max(0, cap_left[a]) for a in actors], np.int64),
                        load=t.load[[t.position[a] for a in actors]].astype(np.int64),
                        load_step=opts.load_step)
            for members, actors, arcs in _grouped(slots, cand, idx, prio, prev, opts, score_of)]


def _fund_problems(m: FittedEngine, slots: list[tuple[str, str, int]],
                   cand: list[list[tuple[str, float]]], idx: list[int],
                   prio: dict[str, tuple[int, str]], prev: set[tuple[str, str, str]],
                   budget_left: dict[str, float], opts: MatchOptions,
                   score_of: dict[tuple[str, str, str], float],
                   ) -> list[FundProblem]:
    ds = m.dataset_
    return [FundProblem(needs=[slots[i][0] for i in members],
                        need_budget=[math.ceil(ds.needs[slots[i][0]].budget_yuan)
                                     for i in members],
                        funds=funds,
                        fund_budget=[math.floor(max(0.0, budget_left[f])) for f in funds],
                        arcs=arcs)
            for members, funds, arcs in _grouped(slots, cand, idx, prio, prev, opts, score_of)]
