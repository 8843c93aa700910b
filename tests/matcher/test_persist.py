import json
from pathlib import Path

import pytest

from matcher import Matcher, ModelError, load_model, save_model


def test_round_trip_gives_identical_suggestions(fitted: Matcher, tmp_path: Path) -> None:
    folder = save_model(fitted, tmp_path / "m")
    assert sorted(p.name for p in folder.iterdir()) == ["MODEL_CARD.md", "arrays.npz", "model.json"]
    meta, emb, clf = load_model(folder)
    assert meta["data"]["digest"] == fitted.dataset_.digest
    again = Matcher(params=meta["scoring"]).fit(fitted.dataset_, embedder=emb, classifier=clf)
    for nid in ("N0001", "N0004", "N0009"):
        assert again.suggest(nid, k=5) == fitted.suggest(nid, k=5)


def test_matcher_save_and_load_give_a_ready_matcher(fitted: Matcher, tmp_path: Path) -> None:
    folder = fitted.save(tmp_path / "m")
    ready = Matcher.load(folder, fitted.dataset_)
    assert ready.get_params() == {**fitted.get_params(), "params": ready.params}
    assert ready.model_meta_["data"]["digest"] == fitted.dataset_.digest
    for nid in ("N0001", "N0004", "N0009"):
        assert ready.suggest(nid, k=5) == fitted.suggest(nid, k=5)
    with pytest.raises(ModelError):
        Matcher.load(tmp_path / "missing", fitted.dataset_)


def test_overwrite_is_atomic_and_leaves_no_temp(fitted: Matcher, tmp_path: Path) -> None:
    save_model(fitted, tmp_path / "m")
    save_model(fitted, tmp_path / "m")
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_refuses_other_major_version(fitted: Matcher, tmp_path: Path) -> None:
    folder = save_model(fitted, tmp_path / "m")
    meta = json.loads((folder / "model.json").read_text("utf-8"))
    meta["version"] = "2.0"
    (folder / "model.json").write_text(json.dumps(meta), "utf-8")
    with pytest.raises(ModelError, match="incompatible"):
        load_model(folder)


def test_missing_or_corrupt_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="missing"):
        load_model(tmp_path / "nothing")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "model.json").write_text("{", "utf-8")
    (tmp_path / "bad" / "arrays.npz").write_bytes(b"junk")
    with pytest.raises(ModelError, match="corrupt"):
        load_model(tmp_path / "bad")
