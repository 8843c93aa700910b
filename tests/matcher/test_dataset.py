from collections.abc import Callable
from pathlib import Path

import pytest

from matcher import DataError, DatasetError, LoadReport, load_dataset
from matcher.csvio import safe_cell
from matcher.limits import FIELD_LIMITS, max_chars
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
        # columns the engine ignores but the service stores: same limits as the API
        ("needs", {**NEED, "contact_phone": "1" * 10_000}, "contact_phone", "limit 40"),
        ("needs", {**NEED, "contact_name": "王" * 101}, "contact_name", "limit 100"),
        ("needs", {**NEED, "id_number": "3" * 41}, "id_number", "limit 40"),
        ("actors", {**ACTOR, "contact_phone": "1" * 10_000}, "contact_phone", "limit 40"),
        ("actors", {**ACTOR, "备注": "长" * 201}, "备注", "limit 200"),
        ("needs", {**NEED, "urgency": "1" * 201}, "urgency", "too long"),
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
    with pytest.raises(DataError, match=r"communities\.csv is too large"):
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


def test_text_limits_come_from_limits_module(make_dataset: Callable[..., Path],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    ok = {**NEED, "text": "长" * max_chars("needs", "text"),
          "contact_phone": "1" * max_chars("needs", "contact_phone")}
    assert len(load_dataset(make_dataset(COMMUNITIES, [ok], [ACTOR])).needs["007"].text) == 2000
    monkeypatch.setitem(FIELD_LIMITS["actors"], "name", 2)
    with pytest.raises(DataError, match=r"name too long \(3 chars, limit 2\)"):
        load_dataset(make_dataset(COMMUNITIES, [NEED], [ACTOR]))


def test_long_cells_in_every_column_are_each_reported_once(
        make_dataset: Callable[..., Path]) -> None:
    cols = ("need_id", "community_id", "text", "category", "target_groups", "urgency",
            "beneficiaries", "roles", "volunteers_needed", "budget_yuan", "time_slots",
            "created_at", "status", "lat", "lon", "contact_name", "contact_phone", "id_number")
    long_row = {c: "长" * 10_000 for c in cols}
    with pytest.raises(DataError) as info:
        load_dataset(make_dataset(COMMUNITIES, [{**NEED, "need_id": "N0"}, long_row], [ACTOR]))
    errs = info.value.errors
    assert sorted(e.column for e in errs) == sorted(cols)
    assert all(e.line == 3 and "too long" in e.en and "过长" in e.zh for e in errs)
    assert all(len(e.zh) < 200 and len(e.en) < 200 for e in errs)  # the cell is not echoed


@pytest.mark.parametrize("name", ["communities.csv", "needs.csv", "actors.csv", "feedback.csv"])
def test_header_only_file_is_an_error_naming_it(sample_copy: Path, name: str) -> None:
    path = sample_copy / name
    path.write_text(path.read_text("utf-8").splitlines()[0] + "\n", "utf-8")
    with pytest.raises(DataError) as info:
        load_dataset(sample_copy)
    err = info.value.errors[0]
    assert err.file == name and name in err.zh and "0 行" in err.zh and "0 rows" in err.en


def test_header_only_assignments_and_allowed_lists_load(sample_copy: Path) -> None:
    # `wushe match` writes a header-only assignments.csv when nothing was assigned
    (sample_copy / "assignments.csv").write_text("need_id,role,actor_id,score,run_id\n", "utf-8")
    assert load_dataset(sample_copy).load == {}
    (sample_copy / "feedback.csv").write_text("need_id,actor_id,outcome\n", "utf-8")
    assert load_dataset(sample_copy, allow_empty={"feedback.csv"}).feedback == ()


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_formula_prefix_is_undone_on_load(make_dataset: Callable[..., Path],
                                          encoding: str) -> None:
    texts = ['=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0"]
    needs = [{**NEED, "need_id": f"N{i}", "text": safe_cell(t), "contact_phone": safe_cell("+86")}
             for i, t in enumerate(texts)]
    ds = load_dataset(make_dataset(COMMUNITIES, needs, [ACTOR], encoding=encoding))
    assert [ds.needs[f"N{i}"].text for i in range(2)] == texts


def test_unterminated_quote_loads_nothing(sample_copy: Path) -> None:
    path = sample_copy / "needs.csv"
    lines = path.read_text("utf-8").splitlines(keepends=True)
    lines[20] = lines[20].replace(",C", ',"C', 1)
    path.write_text("".join(lines), "utf-8")
    with pytest.raises(DataError) as info:
        load_dataset(sample_copy)
    err = info.value.errors[0]
    assert (err.file, err.line, err.column) == ("needs.csv", 21, "community_id")
    assert "unterminated quote" in err.en
