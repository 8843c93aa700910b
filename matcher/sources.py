"""Where a dataset's tables come from: a folder of CSV files or one Excel workbook.

A :class:`RowSource` hands :func:`matcher.dataset.load_dataset` one table at a
time by its contract name (``needs.csv`` …); every row keeps the place it came
from — the file, and for a workbook the sheet — and its line, so an error
still says where to look. Adding a source is one class here (ARCHITECTURE.md,
"Add a row source").

A workbook has one sheet per list, named as the files are without ``.csv``
(``communities``, ``needs``, ``actors``, ``feedback``, ``assignments``,
``taxonomy``) or in Chinese (社区, 需求清单, 资源清单, 服务反馈, 派单, 服务类别).
Its first row is the header; a sheet's row number is the line in errors.
The service's import hands its uploaded files over as a :class:`MemorySource`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import BinaryIO, Protocol

from .csvio import Table, read_table, table_from_bytes, table_from_text
from .errors import RowError

__all__ = ["SHEET_NAMES", "FolderSource", "MemorySource", "RowSource", "WorkbookSource",
           "open_source", "read_sheets", "workbook_files"]

#: the sheet names a workbook may use for each of the contract's files
SHEET_NAMES = {
    "communities.csv": ("communities", "社区", "社区清单"),
    "needs.csv": ("needs", "需求清单", "需求"),
    "actors.csv": ("actors", "资源清单", "资源"),
    "feedback.csv": ("feedback", "服务反馈", "反馈"),
    "assignments.csv": ("assignments", "派单", "安排"),
    "taxonomy.csv": ("taxonomy", "服务类别", "类别"),
}


class RowSource(Protocol):
    """A dataset's tables by contract name (``None``: the source has no such table)."""

    label: str

    def table(self, name: str, max_bytes: int) -> tuple[Table | None, list[RowError]] | None:
        ...


class FolderSource:
    """The contract's CSV files in one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.label = str(folder)

    def table(self, name: str, max_bytes: int) -> tuple[Table | None, list[RowError]] | None:
        path = self.folder / name
        return read_table(path, max_bytes=max_bytes) if path.exists() else None


class MemorySource:
    """Contract files held in memory by name (an upload: ``{"needs.csv": b"..."}``);
    ``places`` says where a file came from when it is not its own name (a
    workbook's sheet: ``{"needs.csv": "book.xlsx[needs]"}``); ``tables`` holds
    lists that are rows already (a database's stored lists, see
    :func:`matcher.csvio.table_from_rows`), read as they are."""

    def __init__(self, files: Mapping[str, bytes], label: str = "upload",
                 places: Mapping[str, str] | None = None,
                 tables: Mapping[str, Table] | None = None) -> None:
        self.files = dict(files)
        self.label = label
        self.places = dict(places or {})
        self.tables = dict(tables or {})

    def table(self, name: str, max_bytes: int) -> tuple[Table | None, list[RowError]] | None:
        if name in self.tables:
            return self.tables[name], []
        raw = self.files.get(name)
        return None if raw is None else table_from_bytes(self.places.get(name, name), raw,
                                                         max_bytes=max_bytes)


def _cell(v: object) -> str:
    """A workbook cell as the CSV cell a station would have saved."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == time(0) else v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    # a line break inside a cell would shift every later line number
    return " ".join(str(v).splitlines())


class WorkbookSource:
    """One ``.xlsx`` workbook, a sheet per list (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.label = str(path)
        self._sheets: dict[str, str] | None = None

    def _index(self, max_bytes: int) -> dict[str, str] | RowError:
        if self._sheets is not None:
            return self._sheets
        size = self.path.stat().st_size
        if size > max_bytes:
            mb = max_bytes / 1_000_000
            return RowError(self.path.name, 0, "",
                            f"{self.path.name} 文件过大（{size / 1_000_000:.1f} MB，上限 {mb:g} MB）",
                            f"{self.path.name} is too large ({size / 1_000_000:.1f} MB, "
                            f"limit {mb:g} MB)")
        with self.path.open("rb") as fh:
            sheets = read_sheets(fh, self.path.name)
        if isinstance(sheets, dict):
            self._sheets = sheets
        return sheets

    def table(self, name: str, max_bytes: int) -> tuple[Table | None, list[RowError]] | None:
        sheets = self._index(max_bytes)
        if isinstance(sheets, RowError):
            return None, [sheets]
        for title in SHEET_NAMES.get(name, (name.removesuffix(".csv"),)):
            text = sheets.get(title)
            if text is not None:
                where = f"{self.path.name}[{title}]"
                if not text.strip():
                    return None, [RowError(where, 0, "", f"{where} 工作表为空（没有表头）",
                                           f"{where} is an empty sheet (no header row)")]
                return table_from_text(where, text, text.encode("utf-8"))
        return None


def read_sheets(fh: BinaryIO, name: str) -> dict[str, str] | RowError:
    """Every sheet of a workbook as CSV text, by lower-cased title (or the error)."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(fh, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a damaged file
        return RowError(name, 0, "", f"{name} 不是可读取的 Excel 工作簿（.xlsx）：{type(exc).__name__}",
                        f"{name} is not a readable Excel workbook (.xlsx): {type(exc).__name__}")
    sheets: dict[str, str] = {}
    try:
        for ws in wb.worksheets:
            buf = io.StringIO()
            out = csv.writer(buf, lineterminator="\n")
            for row in ws.iter_rows(values_only=True):
                out.writerow([_cell(v) for v in row])
            sheets[ws.title.strip().lower()] = buf.getvalue()
    finally:
        wb.close()
    return sheets


def workbook_files(raw: bytes, name: str, allowed: Iterable[str]
                   ) -> tuple[dict[str, bytes], dict[str, str]] | RowError:
    """An uploaded workbook as contract files: ``({"needs.csv": csv bytes}, {"needs.csv":
    "book.xlsx[needs]"})`` for the sheets of the ``allowed`` files; other sheets (a
    page of instructions) are left alone. An error when no sheet is a list."""
    sheets = read_sheets(io.BytesIO(raw), name)
    if isinstance(sheets, RowError):
        return sheets
    files: dict[str, bytes] = {}
    places: dict[str, str] = {}
    for contract in allowed:
        for title in SHEET_NAMES.get(contract, ()):
            if title in sheets:
                files[contract] = sheets[title].encode("utf-8")
                places[contract] = f"{name}[{title}]"
                break
    if not files:
        known = "、".join(SHEET_NAMES[c][1] for c in allowed if c in SHEET_NAMES)
        return RowError(name, 0, "", f"{name} 中没有可导入的工作表（应为 {known} 等）",
                        f"{name} has no sheet to import (expected one named as the lists, "
                        f"e.g. needs or 需求清单)")
    return files, places


def open_source(path: Path) -> RowSource | None:
    """The source at ``path``: a folder, or an ``.xlsx`` workbook; None if neither."""
    if path.is_dir():
        return FolderSource(path)
    if path.is_file() and path.suffix.lower() == ".xlsx":
        return WorkbookSource(path)
    return None
