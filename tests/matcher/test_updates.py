"""In-place changes to a fitted engine (matcher/updates.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from matcher import Matcher
from matcher.build import by_actor
from matcher.records import Dataset, Feedback
from matcher.updates import apply_actor_edits, apply_feedback, rejected_pairs


def test_by_actor_keeps_each_actors_outcomes_in_order() -> None:
    fb = [Feedback("N1", "A", "completed", 5), Feedback("N2", "B", "failed"),
          Feedback("N3", "A", "rejected")]
    assert by_actor(fb) == {"A": [fb[0], fb[2]], "B": [fb[1]]}
    assert rejected_pairs(fb) == {("N3", "A")}


def test_reordered_outcomes_change_no_quality_and_a_new_one_changes_one_actor(
        fitted: Matcher) -> None:
    m = Matcher().fit(fitted.dataset_)
    ds: Dataset = m.dataset_
    before = m.table_.quality.copy()
    apply_feedback(m.index_, ds, tuple(reversed(ds.feedback)))
    np.testing.assert_array_equal(m.table_.quality, before)
    aid = m.table_.ids[0]
    after = apply_feedback(m.index_, ds, (*ds.feedback, Feedback("NZ", aid, "failed", 1)))
    changed = np.flatnonzero(m.table_.quality != before)
    assert changed.tolist() == [0] and len(after.feedback) == len(ds.feedback) + 1


def test_an_edit_of_what_an_actor_offers_is_refused_in_place(fitted: Matcher) -> None:
    m = Matcher().fit(fitted.dataset_)
    a = next(iter(m.dataset_.actors.values()))
    assert apply_actor_edits(m.index_, m.dataset_, [replace(a, text=a.text + "，另提供理发")]) is None
    assert apply_actor_edits(m.index_, m.dataset_, [replace(a, actor_id="NEW")]) is None
    ds = apply_actor_edits(m.index_, m.dataset_, [replace(a, capacity=0)])
    assert ds is not None and ds.actors[a.actor_id].capacity == 0
    assert m.table_.capacity[m.table_.position[a.actor_id]] == 0
