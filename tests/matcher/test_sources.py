"""Row sources: an Excel workbook reads exactly like the CSV folder it was made from."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook

from matcher import load_dataset
from matcher.errors import DataError, DatasetError
from tests.matcher.test_cli import run


def _workbook(folder: Path, out: Path, *, sheet_names: dict[str, str] | None = None,
              edit: tuple[str, int, str, object] | None = None) -> Path:
    """The folder's CSV files as one workbook; numbers as numbers, as Excel keeps them."""
    wb = Workbook()
    wb.remove(wb.active)
    for path in sorted(folder.glob("*.csv")):
        ws = wb.create_sheet((sheet_names or {}).get(path.stem, path.stem))
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
        for i, row in enumerate(rows):
            cells: list[object] = []
            for c in row:
                is_number = i > 0 and c.replace(".", "", 1).isdigit() and not c.startswith("0")
                cells.append(float(c) if is_number and "." in c else int(c) if is_number else c)
            ws.append(cells)
        if edit and edit[0] == path.stem:
            _, row_no, col, value = edit
            ws.cell(row=row_no, column=rows[0].index(col) + 1, value=value)
    wb.save(out)
    return out


def test_a_workbook_loads_as_its_folder(sample_path: Path, tmp_path: Path) -> None:
    book = _workbook(sample_path, tmp_path / "站点清单.xlsx")
    a, b = load_dataset(sample_path), load_dataset(book)
    assert a.communities == b.communities and a.needs == b.needs
    assert a.actors == b.actors and a.load == b.load and a.feedback == b.feedback


def test_chinese_sheet_names(sample_path: Path, tmp_path: Path) -> None:
    names = {"communities": "社区", "needs": "需求清单", "actors": "资源清单"}
    book = _workbook(sample_path, tmp_path / "b.xlsx", sheet_names=names)
    assert load_dataset(book).needs == load_dataset(sample_path).needs


def test_a_bad_cell_names_the_workbook_sheet_row_and_column(sample_path: Path,
                                                             tmp_path: Path) -> None:
    book = _workbook(sample_path, tmp_path / "b.xlsx", edit=("needs", 5, "urgency", 9))
    with pytest.raises(DataError) as e:
        load_dataset(book)
    first = e.value.errors[0]
    assert (first.file, first.line, first.column) == ("b.xlsx[needs]", 5, "urgency")


def test_a_missing_sheet_and_a_damaged_workbook_are_clear_errors(sample_path: Path,
                                                                  tmp_path: Path) -> None:
    wb = Workbook()
    wb.active.title = "needs"
    wb.save(tmp_path / "half.xlsx")
    with pytest.raises(DataError) as e:
        load_dataset(tmp_path / "half.xlsx")
    text = " ".join(x.format() for x in e.value.errors)
    assert "缺少工作表" in text and "communities" in text and "actors" in text
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="not a readable Excel workbook"):
        load_dataset(tmp_path / "broken.xlsx")
    with pytest.raises(DatasetError):
        load_dataset(tmp_path / "nope.xlsx")


def test_wushe_validate_and_suggest_read_a_workbook(capsys: pytest.CaptureFixture[str],
                                                    sample_path: Path, tmp_path: Path) -> None:
    book = _workbook(sample_path, tmp_path / "b.xlsx")
    code, out, _ = run(capsys, "validate", "--data", str(book))
    assert code == 0 and "dataset is valid" in out
    code, a, _ = run(capsys, "suggest", "--data", str(book), "--need", "N0001")
    _, b, _ = run(capsys, "suggest", "--data", str(sample_path), "--need", "N0001")
    assert code == 0 and a == b
    bad = _workbook(sample_path, tmp_path / "bad.xlsx", edit=("needs", 5, "urgency", 9))
    code, _, err = run(capsys, "validate", "--data", str(bad))
    assert code == 3 and "bad.xlsx[needs]:5: [urgency]" in err and "Traceback" not in err
