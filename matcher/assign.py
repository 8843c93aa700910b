"""The assignment as a min-cost flow: need-role slots → candidate actors → capacity → sink.

Plain data in, plain data out. A :class:`FlowProblem` lists the slots (a need's
organization, social worker, volunteers…), the candidate arcs with integer
costs, and each actor's remaining capacity. Every slot may also flow to an
*unassigned* node at cost 0, so a solution always exists and a slot is left
open only when that is cheaper, i.e. when capacity runs out.

Costs are negative values of serving (score, priority, stability); the actor
→ sink side is split into unit segments whose cost rises with the actor's
utilisation (a convex load-balancing term, 冷热不均), so equally good actors
share the work instead of the most popular filling up first.

Solvers (``solver=``): ``"networkx"`` (``network_simplex``, the reference and
test oracle), ``"ortools"`` (``SimpleMinCostFlow``, compiled, for scale),
``"auto"`` (networkx up to ``AUTO_NETWORKX_MAX_ARCS`` arcs, else ortools).
:func:`solve_greedy` is the baseline the benchmarks compare against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx
import numpy as np

from .errors import ParameterError

__all__ = [
    "AUTO_NETWORKX_MAX_ARCS",
    "SOLVERS",
    "FlowProblem",
    "FlowResult",
    "flow_network",
    "objective",
    "solve_flow",
    "solve_greedy",
]

SOLVERS = ("auto", "networkx", "ortools")
AUTO_NETWORKX_MAX_ARCS = 5_000


@dataclass(frozen=True, eq=False)
class FlowProblem:
    """One (sub-)problem.

    ``slots[i] = (need_id, role, count)``; ``arcs[a] = (slot index, actor
    index, cost)``; ``capacity[j]`` is what actor ``j`` can still take and
    ``load[j]`` what it holds already (for the balancing term);
    ``load_step`` is the cost of going from 0 % to 100 % utilisation.

    ``arcs``, ``capacity`` and ``load`` may be given as any sequences; they
    are stored as read-only int64 arrays (``arcs`` of shape ``(n, 3)``), so
    the solvers never convert hundreds of thousands of tuples.
    """

    slots: list[tuple[str, str, int]]
    arcs: np.ndarray
    actors: list[str]
    capacity: np.ndarray
    load: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    load_step: int = 0

    def __post_init__(self) -> None:
        arcs = np.array(self.arcs, dtype=np.int64).reshape(-1, 3)
        cap = np.array(self.capacity, dtype=np.int64).reshape(-1)
        load = np.array(self.load, dtype=np.int64).reshape(-1)
        if len(load) == 0:
            load = np.zeros_like(cap)
        for name, value in (("arcs", arcs), ("capacity", cap), ("load", load)):
            value.flags.writeable = False
            object.__setattr__(self, name, value)

    @cached_property
    def counts(self) -> np.ndarray:
        """How many actors each slot wants."""
        return np.fromiter((c for _, _, c in self.slots), dtype=np.int64, count=len(self.slots))

    @cached_property
    def segments(self) -> tuple[np.ndarray, np.ndarray]:
        """``(actor index, cost)`` of every unit of remaining capacity, all actors at once.

        The k-th extra unit on actor j costs ``load_step · (load_j + k) / (load_j +
        capacity_j)``: rising with utilisation, so the term is convex. An actor
        gets no more units than it has candidate arcs: it can never take more,
        and the units it could take are the cheapest ones, so the optimum is
        the same with a smaller network.
        """
        cap, held = self.capacity, self.load
        units = np.minimum(np.maximum(cap, 0), np.bincount(self.arcs[:, 1], minlength=len(cap)))
        actor = np.repeat(np.arange(len(cap)), units)
        k = np.arange(len(actor)) - np.repeat(np.cumsum(units) - units, units)
        total = np.maximum(1, cap + held)[actor]
        # round half to even, as Python's round() does
        cost = np.round(self.load_step * (held[actor] + k) / total).astype(np.int64)
        return actor, cost


@dataclass(frozen=True)
class FlowResult:
    """Chosen arcs (indices into ``problem.arcs``) and the objective value."""

    chosen: list[int]
    objective: int
    solver: str


def objective(problem: FlowProblem, chosen: list[int]) -> int:
    """Total cost of a set of chosen arcs (arc costs + balancing segments).

    Examples
    --------
    >>> p = FlowProblem([("N1", "volunteer", 1)], [(0, 0, -900)], ["V1"], [2], load_step=100)
    >>> objective(p, [0]), objective(p, [])
    (-900, 0)
    """
    if not chosen:
        return 0
    arcs = problem.arcs[np.asarray(chosen, dtype=np.int64)]
    used = np.bincount(arcs[:, 1], minlength=len(problem.actors))
    actor, cost = problem.segments
    first = np.concatenate([[0], np.cumsum(np.bincount(actor, minlength=len(problem.actors)))])
    k = np.arange(len(actor)) - first[actor]
    return int(arcs[:, 2].sum() + cost[k < used[actor]].sum())


def flow_network(problem: FlowProblem) -> nx.MultiDiGraph:
    """The problem as a networkx flow network (``demand``, ``capacity``, ``weight``)."""
    g = nx.MultiDiGraph()
    total = int(problem.counts.sum())
    for i, count in enumerate(problem.counts.tolist()):
        g.add_node(("slot", i), demand=-count)
        g.add_edge(("slot", i), "unassigned", key="open", capacity=count, weight=0)
    g.add_node("sink", demand=total)
    g.add_edge("unassigned", "sink", key="open", capacity=total, weight=0)
    for a, (i, j, cost) in enumerate(problem.arcs.tolist()):
        g.add_edge(("slot", i), ("actor", j), key=a, capacity=1, weight=cost)
    seg_actor, seg_cost = problem.segments
    for k, (j, cost) in enumerate(zip(seg_actor.tolist(), seg_cost.tolist(), strict=True)):
        g.add_edge(("actor", j), "sink", key=k, capacity=1, weight=cost)
    return g


def _solve_networkx(problem: FlowProblem) -> list[int]:
    _, flow = nx.network_simplex(flow_network(problem))
    chosen = []
    for a, (i, j, _) in enumerate(problem.arcs.tolist()):
        if flow[("slot", i)].get(("actor", j), {}).get(a, 0) > 0:
            chosen.append(a)
    return chosen


def _solve_ortools(problem: FlowProblem) -> list[int]:
    from ortools.graph.python import min_cost_flow

    n_slots, n_actors = len(problem.slots), len(problem.actors)
    unassigned, sink = n_slots + n_actors, n_slots + n_actors + 1
    cand, counts = problem.arcs, problem.counts
    total = int(counts.sum())
    seg_actor, seg_cost = problem.segments
    n_arcs = len(cand)
    tails = np.concatenate([cand[:, 0], np.arange(n_slots), [unassigned], n_slots + seg_actor])
    heads = np.concatenate([n_slots + cand[:, 1], np.full(n_slots, unassigned), [sink],
                            np.full(len(seg_actor), sink)])
    caps = np.concatenate([np.ones(n_arcs, np.int64), counts, [total],
                           np.ones(len(seg_actor), np.int64)])
    costs = np.concatenate([cand[:, 2], np.zeros(n_slots, np.int64), [0], seg_cost])
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(tails.astype(np.int32), heads.astype(np.int32),
                                              caps, costs)
    supplies = np.concatenate([counts, np.zeros(n_actors, np.int64), [0, -total]])
    smcf.set_nodes_supplies(np.arange(len(supplies), dtype=np.int32), supplies)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"OR-Tools min-cost flow ended with status {status}")
    flows = smcf.flows(np.arange(n_arcs, dtype=np.int32)) if n_arcs else np.zeros(0)
    return np.flatnonzero(flows > 0).tolist()


def solve_flow(problem: FlowProblem, solver: str = "auto") -> FlowResult:
    """Solve exactly with the named solver; both reach the same optimal objective.

    Examples
    --------
    Two needs want the one volunteer; the urgent one (more negative cost) wins:

    >>> p = FlowProblem([("N1", "volunteer", 1), ("N2", "volunteer", 1)],
    ...                 [(0, 0, -500), (1, 0, -900)], ["V1"], [1])
    >>> solve_flow(p, "networkx").chosen, solve_flow(p, "ortools").chosen
    ([1], [1])
    """
    if solver not in SOLVERS:
        raise ParameterError(f"未知的求解器：{solver}（可用：{'、'.join(SOLVERS)}）",
                             f"unknown solver {solver!r} (known: {', '.join(SOLVERS)})")
    if solver == "auto":
        solver = "networkx" if len(problem.arcs) <= AUTO_NETWORKX_MAX_ARCS else "ortools"
    if len(problem.arcs) == 0:
        return FlowResult([], 0, solver)
    chosen = _solve_networkx(problem) if solver == "networkx" else _solve_ortools(problem)
    return FlowResult(sorted(chosen), objective(problem, chosen), solver)


def solve_greedy(problem: FlowProblem) -> FlowResult:
    """Baseline: take the cheapest arcs first while slot and actor have room."""
    left_slot = problem.counts.tolist()
    left_actor = problem.capacity.tolist()
    chosen = []
    arcs = problem.arcs.tolist()
    for a in np.argsort(problem.arcs[:, 2], kind="stable").tolist():
        i, j, cost = arcs[a]
        if cost < 0 and left_slot[i] > 0 and left_actor[j] > 0:
            chosen.append(a)
            left_slot[i] -= 1
            left_actor[j] -= 1
    return FlowResult(sorted(chosen), objective(problem, chosen), "greedy")
