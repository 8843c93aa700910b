from collections.abc import Callable
from pathlib import Path

import pytest

from matcher import DataError, DatasetError, LoadReport, load_dataset
from tests.conftest import COMMUNITIES

NEED = {"need_id": "007", "community_id": "C1", "text": "我爸82岁，想找人送饭"}
ACTOR = {"actor_id": "V1", "kind": "volunteer", "name": "刘阿姨", "text": "帮老人送餐",
         "community_id": "C1"}


def test_load_sample_applies_defaults(sample_path: Path) -> None:
    ds = load_dataset(sample_path)
    assert len(ds.needs) == 25 and len(ds.actors) == 36
    v = ds.actors["V005"]
    assert v.scope == "street" and v.capacity == 2
    assert ds.actors["F001"].scope == "district"
    assert ds.actors["O009"].active is False
    assert ds.load == {"V003": 1, "O006": 1, "S003": 1}  # assigned + in_progress needs only
    assert len(ds.digest) == 64


def test_ids_stay_strings_and_defaults(make_dataset: Callable[..., Path]) -> None:
    ds = load_dataset(make_dataset(COMMUNITIES, [NEED], [ACTOR]))
    n = ds.needs["007"]
    assert n.urgency == 2 and n.status == "open" and n.volunteers_needed == 1
    assert n.roles == ("organization", "social_worker", "volunteer", "fund")
    assert ds.actors["V1"].scope == "street" and ds.actors["V1"].capacity == 1


def test_gbk_file_is_read(make_dataset: Callable[..., Path]) -> None:
    ds = load_dataset(make_dataset(COMMUNITIES, [NEED], [ACTOR], encoding="gb18030"))
    assert ds.needs["007"].text == NEED["text"]


def test_lists_chinese_aliases_and_unknown_columns(make_dataset: Callable[..., Path]) -> None:
    need = {**NEED, "target_groups": "老人、残疾人", "roles": "社工；志愿者", "备注": "x",
            "category": "养老服务", "time_slots": "weekend，weekday_day"}
    ds = load_dataset(make_dataset(COMMUNITIES, [need], [ACTOR]))
    n = ds.needs["007"]
    assert n.target_groups == ("老年人", "残疾人")
    assert n.roles == ("social_worker", "volunteer")
    assert n.category == "elderly_care"
    assert n.time_slots == ("weekend", "weekday_day")


@pytest.mark.parametrize(
    ("file", "row", "column", "en"),
    [
        ("needs", {**NEED, "community_id": "C9"}, "community_id", "not in communities.csv"),
        ("needs", {**NEED, "budget_yuan": "-5"}, "budget_yuan", "out of range"),
        ("needs", {**NEED, "text": "长" * 10_000}, "text", "too long"),
        ("needs", {**NEED, "urgency": "急"}, "urgency", "must be an integer"),
        ("needs", {**NEED, "category": "火星服务"}, "category", "unknown category"),
        ("actors", {**ACTOR, "kind": "robot"}, "kind", "is not one of"),
        ("actors", {**ACTOR, "kind": "fund", "budget_yuan": ""}, "budget_yuan", "required"),
        ("actors", {**ACTOR, "active": "maybe"}, "active", "true or false"),
        ("actors", {**ACTOR, "lat": "99"}, "lat", "out of range"),
    ],
)
def test_bad_cell_names_file_line_column(make_dataset: Callable[..., Path], file: str,
                                         row: dict[str, object], column: str, en: str) -> None:
    needs = [NEED, row] if file == "needs" else [NEED]
    actors = [ACTOR, {**row, "actor_id": "X2"}] if file == "actors" else [ACTOR]
    if file == "needs":
        needs = [{**NEED, "need_id": "N0"}, row]
    with pytest.raises(DataError) as info:
        load_dataset(make_dataset(COMMUNITIES, needs, actors))
    err = info.value.errors[0]
    assert (err.file, err.line, err.column) == (f"{file}.csv", 3, column)
    assert en in err.en and err.zh


def test_duplicate_id_and_all_or_nothing(make_dataset: Callable[..., Path]) -> None:
    folder = make_dataset(COMMUNITIES, [NEED, NEED], [ACTOR])
    with pytest.raises(DataError, match="duplicate need_id"):
        load_dataset(folder)
    report = LoadReport()
    ds = load_dataset(folder, skip_bad_rows=True, report=report)
    assert list(ds.needs) == ["007"] and len(report.skipped) == 1


def test_wrong_header_empty_and_missing(make_dataset: Callable[..., Path], tmp_path: Path) -> None:
    folder = make_dataset(COMMUNITIES, [{"id": "1", "words": "x"}], [ACTOR])
    with pytest.raises(DataError, match="header lacks required column"):
        load_dataset(folder)
    (folder / "needs.csv").write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="empty"):
        load_dataset(folder)
    (folder / "needs.csv").unlink()
    with pytest.raises(DataError, match=r"missing file needs\.csv"):
        load_dataset(folder)
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "nowhere")


def test_file_size_limit(make_dataset: Callable[..., Path]) -> None:
    folder = make_dataset(COMMUNITIES, [NEED], [ACTOR])
    with pytest.raises(DataError, match="file too large"):
        load_dataset(folder, max_file_bytes=50)


def test_ambiguous_street_is_an_error(make_dataset: Callable[..., Path]) -> None:
    comms = [*COMMUNITIES, {"community_id": "C4", "name": "另一社区", "street": "翠苑街道",
                            "district": "余杭区", "city": "杭州市"}]
    actor = {**ACTOR, "community_id": "", "street": "翠苑街道"}
    with pytest.raises(DataError) as info:
        load_dataset(make_dataset(comms, [NEED], [actor]))
    assert info.value.errors[0].column == "street"
    ok = {**actor, "district": "西湖区"}
    assert load_dataset(make_dataset(comms, [NEED], [ok])).actors["V1"].district == "西湖区"
