"""A corpus of malformed dataset files, through ``wushe validate``, ``match`` and ``import``.

Each case replaces one file of the sample dataset. The command must exit with
the data-error code, name the file (and the line and column where there is
one) in Chinese and in English, write nothing, and never print a traceback.
``tests/service/test_malformed_imports.py`` sends the same corpus through the
API's import.
"""

from __future__ import annotations

import functools
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from matcher.cli import EXIT_DATA, main
from tests.conftest import SAMPLE


@dataclass(frozen=True)
class Malformed:
    """One malformed file and what every path must say about it."""

    file: str
    data: bytes
    zh: str
    en: str
    line: int = 0                       # 0: the file as a whole
    columns: tuple[str, ...] = ()       # every column that must be named
    status: int = 422                   # over the API
    max_mb: float | None = None         # the CLI's --max-file-mb for the size case

    @property
    def where(self) -> list[str]:
        """How the CLI prints the places this case must name."""
        if not self.line:
            return [f"{self.file}:"]
        if not self.columns:
            return [f"{self.file}:{self.line}: "]
        return [f"{self.file}:{self.line}: [{c}]" for c in self.columns]


def _lines(name: str) -> list[str]:
    return (SAMPLE / name).read_text("utf-8").splitlines(keepends=True)


def _quote_text_cell(row: str) -> str:
    cells = row.split(",")  # the sample rows hold no quoted cells
    cells[2] = '"' + cells[2]
    return ",".join(cells)


def _with_row(name: str, index: int, edit: dict[str, str]) -> bytes:
    """The sample file with cells of data row ``index`` (0-based) replaced."""
    lines = _lines(name)
    header = lines[0].rstrip("\n").split(",")
    missing = [c for c in edit if c not in header]
    header += missing
    rows = [ln.rstrip("\n").split(",") + [""] * len(missing) for ln in lines[1:]]
    for col, value in edit.items():
        rows[index][header.index(col)] = value
    return "".join(",".join(r) + "\n" for r in [header, *rows]).encode()


@functools.cache
def corpus() -> dict[str, Malformed]:
    """Every malformed case, by name (built once: the size case is 50 MB)."""
    needs = (SAMPLE / "needs.csv").read_bytes()
    lines = _lines("needs.csv")
    header = lines[0].rstrip("\n").split(",")
    rng = random.Random(20261123)
    quote_zh, quote_en = "引号没有闭合", "unterminated quote"

    def quoted(*rows: int, close_in: int | None = None) -> bytes:
        out = list(lines)
        for r in rows:
            out[r] = _quote_text_cell(out[r])
        if close_in is not None:  # a later cell ends in a quote: the record closes "cleanly"
            cells = out[close_in].split(",")
            cells[2] += '"'
            out[close_in] = ",".join(cells)
        return "".join(out).encode()

    big_row = lines[1].encode()
    oversize = lines[0].encode() + big_row * (50_000_000 // len(big_row) + 1)
    return {
        "empty": Malformed("needs.csv", b"", "文件为空", "is empty"),
        "header_only": Malformed("needs.csv", lines[0].encode(), "0 行", "0 rows"),
        "header_only_actors": Malformed("actors.csv", _lines("actors.csv")[0].encode(),
                                        "0 行", "0 rows"),
        "utf16_bom": Malformed("needs.csv", needs.decode().encode("utf-16"), "UTF-16", "UTF-16"),
        "utf16le_no_bom": Malformed("needs.csv", needs.decode().encode("utf-16-le"),
                                    "UTF-16", "UTF-16"),
        "utf16be_no_bom": Malformed("needs.csv", needs.decode().encode("utf-16-be"),
                                    "UTF-16", "UTF-16"),
        "nul_bytes": Malformed("needs.csv", needs[:300] + b"\x00\x00" + needs[300:], "NUL", "NUL"),
        "random_binary": Malformed("needs.csv", rng.randbytes(8192), "二进制", "binary"),
        "xlsx_as_csv": Malformed("actors.csv", b"PK\x03\x04\x14\x00\x06\x00\x08\x00"
                                 + b"[Content_Types].xml" + rng.randbytes(2000),
                                 "Excel 工作簿", "Excel workbook"),
        "xls_as_csv": Malformed("needs.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
                                + rng.randbytes(4000), "Excel 工作簿", "Excel workbook"),
        "over_size_limit": Malformed("needs.csv", oversize, "文件过大", "is too large",
                                     status=413, max_mb=20),
        "long_cells_every_column": Malformed(
            "needs.csv", _with_row("needs.csv", 2, {c: "长" * 10_000 for c in header}),
            "过长", "too long", line=4, columns=tuple(header)),
        "cell_over_csv_field_limit": Malformed(
            "needs.csv", _with_row("needs.csv", 0, {"text": "长" * 200_000}),
            "过长", "too long", line=2, columns=("text",)),
        "long_contact_phone": Malformed(
            "needs.csv", _with_row("needs.csv", 2, {"contact_phone": "1" * 10_000}),
            "上限 40 字", "limit 40", line=4, columns=("contact_phone",)),
        "long_id_number": Malformed(
            "needs.csv", _with_row("needs.csv", 5, {"id_number": "3" * 41}),
            "上限 40 字", "limit 40", line=7, columns=("id_number",)),
        "long_actor_contact_phone": Malformed(
            "actors.csv", _with_row("actors.csv", 1, {"contact_phone": "1" * 10_000}),
            "上限 40 字", "limit 40", line=3, columns=("contact_phone",)),
        "quote_in_header": Malformed("needs.csv", b'"' + needs, quote_zh, quote_en, line=1),
        "quote_first_row": Malformed("needs.csv", quoted(1), quote_zh, quote_en, line=2,
                                     columns=("text",)),
        "quote_middle": Malformed("needs.csv", quoted(20), quote_zh, quote_en, line=21,
                                  columns=("text",)),
        "quote_middle_closed_later": Malformed("needs.csv", quoted(10, close_in=15), quote_zh,
                                               quote_en, line=11, columns=("text",)),
        "quote_last_row": Malformed("needs.csv", quoted(25), quote_zh, quote_en, line=26,
                                    columns=("text",)),
    }


CASES = sorted(corpus())


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One copy of the sample dataset per case, with its malformed file."""
    root = tmp_path_factory.mktemp("malformed")
    out = {}
    for name, case in corpus().items():
        folder = root / name
        shutil.copytree(SAMPLE, folder)
        (folder / case.file).write_bytes(case.data)
        out[name] = folder
    return out


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--log-level", "WARNING", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _size_args(case: Malformed) -> list[str]:
    return ["--max-file-mb", str(case.max_mb)] if case.max_mb else []


def assert_reported(case: Malformed, err: str) -> None:
    assert "Traceback" not in err
    assert "nothing was imported" in err and "未导入任何记录" in err
    assert case.zh in err and case.en in err
    for where in case.where:
        assert where in err
    if not case.line:  # a file-level message names the file in both languages
        assert f"{case.file} " in err.split(f"{case.file}:", 1)[1]


@pytest.mark.parametrize("name", CASES)
def test_validate_refuses_malformed_file(name: str, folders: dict[str, Path],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    case = corpus()[name]
    code, out, err = run(capsys, "validate", "--data", str(folders[name]), *_size_args(case))
    assert code == EXIT_DATA and "dataset is valid" not in out
    assert_reported(case, err)


@pytest.mark.parametrize("name", CASES)
def test_match_writes_nothing_for_malformed_file(name: str, folders: dict[str, Path],
                                                 tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    case = corpus()[name]
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "match", "--data", str(folders[name]), "--out", str(out_dir),
                       *_size_args(case))
    assert code == EXIT_DATA and not out_dir.exists()
    assert_reported(case, err)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A service database holding the sample dataset (`wushe import`)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db')}/wushe.sqlite3"
    assert main(["--log-level", "WARNING", "import", "--database", url, "--data",
                 str(SAMPLE)]) == 0
    yield url


def _counts(url: str) -> tuple[int, int, int]:
    from sqlalchemy import func, select

    from service.db import make_engine, sessions
    from service.orm import ActorRow, Community, NeedRow

    engine = make_engine(url)
    try:
        with sessions(engine)() as s:
            return tuple(s.scalar(select(func.count()).select_from(m)) or 0  # type: ignore[return-value]
                         for m in (NeedRow, ActorRow, Community))
    finally:
        engine.dispose()


@pytest.mark.parametrize("name", CASES)
def test_service_import_command_writes_nothing(name: str, folders: dict[str, Path],
                                               database: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    case = corpus()[name]
    before = _counts(database)
    code, _, err = run(capsys, "import", "--database", database, "--data", str(folders[name]),
                       *_size_args(case))
    assert code == EXIT_DATA
    assert_reported(case, err)
    assert _counts(database) == before


LETTER = ('"尊敬的社区工作人员：\n您好！我叫王秀英，今年78岁，老伴去年走了，\n'
          '现在一个人住在3幢2单元。\n腿脚不好, 下楼买菜很难, 想请志愿者每周帮我买两次菜。\n谢谢！"')


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_validate_reads_a_multi_line_letter(encoding: str, sample_copy: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    lines = _lines("needs.csv")
    cells = lines[5].split(",")
    cells[2] = LETTER
    lines[5] = ",".join(cells)
    (sample_copy / "needs.csv").write_bytes("".join(lines).encode(encoding))
    code, out, err = run(capsys, "validate", "--data", str(sample_copy))
    assert code == 0 and "25 条需求 needs" in out, err
