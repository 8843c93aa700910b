"""Shared fixtures: the sample dataset, a fitted matcher, a dataset writer."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from matcher import Matcher, load_dataset

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"


@pytest.fixture(scope="session")
def sample_path() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def fitted() -> Matcher:
    return Matcher().fit(load_dataset(SAMPLE))


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "ds"
    shutil.copytree(SAMPLE, dst)
    return dst


def write_csv(path: Path, rows: list[dict[str, object]], encoding: str = "utf-8") -> None:
    cols: list[str] = []
    for r in rows:
        cols.extend(c for c in r if c not in cols)
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow(r)


@pytest.fixture
def make_dataset(tmp_path: Path) -> Callable[..., Path]:
    """Write communities/needs/actors rows into a fresh folder and return it."""
    counter = {"n": 0}

    def make(communities: list[dict[str, object]], needs: list[dict[str, object]],
             actors: list[dict[str, object]], encoding: str = "utf-8") -> Path:
        counter["n"] += 1
        folder = tmp_path / f"ds{counter['n']}"
        folder.mkdir()
        write_csv(folder / "communities.csv", communities, encoding)
        write_csv(folder / "needs.csv", needs, encoding)
        write_csv(folder / "actors.csv", actors, encoding)
        return folder

    return make


COMMUNITIES = [
    {"community_id": "C1", "name": "翠苑一区社区", "street": "翠苑街道", "district": "西湖区",
     "city": "杭州市"},
    {"community_id": "C2", "name": "文新社区", "street": "文新街道", "district": "西湖区",
     "city": "杭州市"},
    {"community_id": "C3", "name": "朝晖一区社区", "street": "朝晖街道", "district": "拱墅区",
     "city": "杭州市"},
]
