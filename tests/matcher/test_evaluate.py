from pathlib import Path

import pytest

from matcher import DatasetError, Matcher
from matcher.evaluate import evaluate, ndcg_at, read_qrels


def test_ndcg_hand_solved() -> None:
    assert ndcg_at(["a", "b", "c"], {"a": 3, "b": 2, "c": 0}) == 1.0
    # swapped top two: (3/log2(3) + 7) / (7 + 3/log2(3))
    assert ndcg_at(["b", "a"], {"a": 3, "b": 2}) == pytest.approx(
        (3 + 7 / 1.5849625) / (7 + 3 / 1.5849625))
    assert ndcg_at([], {"a": 1}) == 0.0 and ndcg_at(["x"], {}) == 0.0


def test_evaluate_on_hand_labels(fitted: Matcher, tmp_path: Path) -> None:
    q = tmp_path / "qrels.csv"
    q.write_text("need_id,actor_id,relevance\nN0001,O001,3\nN0001,V001,3\nN0003,S004,3\n"
                 "N0003,V008,3\n", "utf-8")
    res = evaluate(fitted, read_qrels(q), methods=["wushe", "tfidf"])
    assert res["wushe"]["all"]["p@1"] == 1.0 and res["wushe"]["all"]["violations"] == 0
    assert res["wushe"]["volunteer"]["needs"] == 2


def test_read_qrels_errors(tmp_path: Path) -> None:
    q = tmp_path / "q.csv"
    q.write_text("need_id,actor_id,relevance\nN1,A1,7\n", "utf-8")
    with pytest.raises(DatasetError, match="line 2"):
        read_qrels(q)
    with pytest.raises(DatasetError, match="not found"):
        read_qrels(tmp_path / "none.csv")
