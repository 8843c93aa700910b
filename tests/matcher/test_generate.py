from pathlib import Path

import pytest

from matcher import ParameterError, load_dataset
from matcher.generate import generate_dataset


def test_generated_dataset_is_valid_and_deterministic(tmp_path: Path) -> None:
    generate_dataset(tmp_path / "a", needs=150, actors=300, seed=11)
    generate_dataset(tmp_path / "b", needs=150, actors=300, seed=11)
    for name in ("communities.csv", "needs.csv", "actors.csv", "truth.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    ds = load_dataset(tmp_path / "a")
    assert len(ds.needs) == 150 and len(ds.actors) == 300
    kinds = {a.kind for a in ds.actors.values()}
    assert kinds == {"organization", "social_worker", "volunteer", "fund"}
    blank = sum(not n.category for n in ds.needs.values())
    assert 0.3 < blank / 150 < 0.8  # the engine must infer many categories


def test_generate_rejects_nonsense(tmp_path: Path) -> None:
    with pytest.raises(ParameterError):
        generate_dataset(tmp_path, needs=0, actors=10)
