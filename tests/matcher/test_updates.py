"""In-place changes to a fitted engine (matcher/updates.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from matcher import Matcher, load_dataset
from matcher.build import by_actor
from matcher.records import Actor, Dataset, Feedback
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


def _same_as_a_frozen_refit(live: Matcher, ds: Dataset) -> None:
    refit = Matcher().fit(ds, embedder=live.embedder_, classifier=live.classifier_)
    assert live.table_.ids == refit.table_.ids
    assert live.table_.ranges == refit.table_.ranges
    for nid in sorted(ds.needs):
        assert live.suggest(nid, k=5) == refit.suggest(nid, k=5), nid


def test_new_and_rewritten_actors_are_indexed_without_a_refit(sample_path: Path) -> None:
    ds = load_dataset(sample_path)
    live = Matcher().fit(ds)
    live.suggest("N0001", k=5)  # a filled scope cache must not survive the new rows
    o1 = ds.actors["O001"]
    added = Actor("V900", "volunteer", "新来的理发志愿者", "上门理发、助浴，照顾独居老人",
                  community_id=next(iter(ds.communities)), categories=("elderly_care",))
    moved = replace(ds.actors["O002"], scope="district", street="", district=o1.district,
                    city=o1.city, community_id="", text="课后托管与四点半课堂，现覆盖全区")
    assert live.update_actors([added, moved])
    assert "V900" in live.table_.position and live.dataset_.actors["O002"] == moved
    _same_as_a_frozen_refit(live, replace(ds, actors={**ds.actors, "V900": added, "O002": moved}))


def test_an_unknown_category_or_vocabulary_asks_for_a_refit(fitted: Matcher) -> None:
    m = Matcher().fit(fitted.dataset_)
    a = next(iter(m.dataset_.actors.values()))
    before = m.table_.ids
    assert not m.update_actors([replace(a, categories=("not_a_category",))])
    assert not m.update_actors([replace(a, text="量子纠缠 区块链 元宇宙 超导 算力 芯片 光刻")])
    assert m.table_.ids == before and m.dataset_.actors[a.actor_id] == a
