"""Flow model: hand-solved cases and networkx-vs-OR-Tools on random instances."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher import ParameterError
from matcher.assign import FlowProblem, flow_network, objective, solve_flow, solve_greedy


def check_plan(p: FlowProblem, chosen: list[int]) -> None:
    """Invariants of any solution: slot demand, actor capacity, arcs used once."""
    assert len(set(chosen)) == len(chosen)
    per_slot = [0] * len(p.slots)
    per_actor = [0] * len(p.actors)
    for a in chosen:
        i, j, _ = p.arcs[a]
        per_slot[i] += 1
        per_actor[j] += 1
    assert all(per_slot[i] <= c for i, (_, _, c) in enumerate(p.slots))
    assert all(per_actor[j] <= p.capacity[j] for j in range(len(p.actors)))


def test_hand_solved_swap_beats_greedy() -> None:
    # Greedy takes the best single pair (N1-V1, -10) and leaves N2 with nothing;
    # the optimum pairs N1-V2 and N2-V1 (-9 + -8 = -17).
    p = FlowProblem([("N1", "volunteer", 1), ("N2", "volunteer", 1)],
                    [(0, 0, -10), (0, 1, -9), (1, 0, -8)], ["V1", "V2"], [1, 1])
    for solver in ("networkx", "ortools"):
        r = solve_flow(p, solver)
        assert (r.chosen, r.objective) == ([1, 2], -17)
    assert solve_greedy(p).objective == -10


def test_volunteer_slot_takes_several_distinct_actors() -> None:
    p = FlowProblem([("N1", "volunteer", 2)], [(0, 0, -5), (0, 1, -4), (0, 2, -1)],
                    ["V1", "V2", "V3"], [3, 3, 3])
    assert solve_flow(p, "ortools").chosen == [0, 1]


def test_balancing_term_spreads_load() -> None:
    # Two equally good organizations; without the term one could take both needs.
    slots = [("N1", "organization", 1), ("N2", "organization", 1)]
    arcs = [(0, 0, -500), (0, 1, -500), (1, 0, -500), (1, 1, -500)]
    p = FlowProblem(slots, arcs, ["O1", "O2"], [2, 2], load=[0, 0], load_step=200)
    r = solve_flow(p, "networkx")
    assert sorted(p.arcs[a][1] for a in r.chosen) == [0, 1]


def test_network_is_a_valid_flow_network() -> None:
    p = FlowProblem([("N1", "fund", 1)], [(0, 0, -3)], ["F1"], [1])
    g = flow_network(p)
    assert sum(d for _, d in g.nodes(data="demand", default=0)) == 0
    assert nx.min_cost_flow_cost(g) == -3


def test_unknown_solver() -> None:
    with pytest.raises(ParameterError, match="unknown solver"):
        solve_flow(FlowProblem([], [], [], []), "magic")


@st.composite
def problems(draw: st.DrawFn) -> FlowProblem:
    n_slots = draw(st.integers(1, 8))
    n_actors = draw(st.integers(1, 6))
    slots = [(f"N{i}", "volunteer", draw(st.integers(1, 3))) for i in range(n_slots)]
    pairs = draw(st.sets(st.tuples(st.integers(0, n_slots - 1), st.integers(0, n_actors - 1)),
                         max_size=n_slots * n_actors))
    arcs = [(i, j, draw(st.integers(-1000, 50))) for i, j in sorted(pairs)]
    return FlowProblem(slots, arcs, [f"A{j}" for j in range(n_actors)],
                       [draw(st.integers(0, 3)) for _ in range(n_actors)],
                       load=[draw(st.integers(0, 2)) for _ in range(n_actors)],
                       load_step=draw(st.sampled_from([0, 100, 300])))


@settings(max_examples=150, deadline=None)
@given(problems())
def test_ortools_reaches_networkx_optimum(p: FlowProblem) -> None:
    ref = solve_flow(p, "networkx")
    fast = solve_flow(p, "ortools")
    check_plan(p, ref.chosen)
    check_plan(p, fast.chosen)
    assert fast.objective == ref.objective == objective(p, ref.chosen)
    greedy = solve_greedy(p)
    check_plan(p, greedy.chosen)
    assert greedy.objective >= ref.objective


def test_problem_stores_read_only_arrays_and_pickles() -> None:
    import pickle

    import numpy as np

    p = FlowProblem([("N1", "volunteer", 2)], [(0, 0, -5), (0, 1, -4)], ["V1", "V2"], [1, 2])
    assert p.arcs.shape == (2, 3) and p.arcs.dtype == np.int64
    assert p.load.tolist() == [0, 0] and p.counts.tolist() == [2]
    with pytest.raises(ValueError, match="read-only"):
        p.arcs[0, 2] = 0
    q = pickle.loads(pickle.dumps(p))  # Dask ships problems to workers this way
    assert solve_flow(q, "ortools").objective == solve_flow(p, "networkx").objective == -9
