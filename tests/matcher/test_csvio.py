import codecs
import csv
import io
from pathlib import Path

import pytest

from matcher.csvio import Table, decode_bytes, read_table, safe_cell, split_list, unescape_cell
from matcher.errors import RowError
from matcher.evaluate import read_qrels, write_qrels
from matcher.writers import write_assignments_csv, write_unassigned_csv

HEADER = "need_id,community_id,text,urgency\n"
ROWS = [f"N{i:04d},C001,想找人帮忙送饭{i},2\n" for i in range(1, 26)]
LETTER = ('"尊敬的社区工作人员：\n您好！我叫王秀英，今年78岁，老伴去年走了，\n'
          '现在一个人住在3幢2单元。\n腿脚不好, 下楼买菜很难, 想请志愿者帮我买菜。\n谢谢！"')


def test_split_list_accepts_every_separator() -> None:
    assert split_list("老年人;儿童；残疾人、妇女，新市民,退役军人") == [
        "老年人", "儿童", "残疾人", "妇女", "新市民", "退役军人"]


def test_decode_bytes_gbk_and_bom() -> None:
    assert decode_bytes("需求清单".encode("gbk"))[0] == "需求清单"
    assert decode_bytes(codecs.BOM_UTF8 + "需求".encode())[0] == "需求"
    assert decode_bytes("需求".encode())[1] == "utf-8"


def test_read_table_reports_physical_lines(tmp_path: Path) -> None:
    p = tmp_path / "needs.csv"
    p.write_text('need_id,text\n\nN1,"两行\n文本"\nN2,短\n', encoding="utf-8")
    table, errs = read_table(p, max_bytes=10_000)
    assert not errs and table is not None
    assert [line for line, _ in table.rows] == [3, 5]
    assert table.rows[0][1]["text"] == "两行\n文本"


def test_read_table_empty_and_oversize(tmp_path: Path) -> None:
    p = tmp_path / "needs.csv"
    p.write_text("", encoding="utf-8")
    err = read_table(p, max_bytes=100)[1][0]
    assert "文件为空" in err.zh and "needs.csv" in err.zh and "needs.csv" in err.en
    p.write_text("need_id\n" + "N\n" * 100, encoding="utf-8")
    errs = read_table(p, max_bytes=50)[1]
    assert "is too large" in errs[0].en and "needs.csv" in errs[0].en


def test_read_table_duplicate_header(tmp_path: Path) -> None:
    p = tmp_path / "needs.csv"
    p.write_text("need_id,text,text\nN1,a,b\n", encoding="utf-8")
    errs = read_table(p, max_bytes=1000)[1]
    assert errs[0].column == "text" and "duplicate header" in errs[0].en


def _read_rows(tmp_path: Path, rows: list[str],
               encoding: str = "utf-8") -> tuple[Table | None, list[RowError]]:
    p = tmp_path / "needs.csv"
    p.write_bytes((HEADER + "".join(rows)).encode(encoding))
    return read_table(p, max_bytes=10_000_000)


@pytest.mark.parametrize("broken", [1, 13, 25], ids=["first_row", "middle", "last_row"])
def test_read_table_unterminated_quote_names_record_start_and_column(
        tmp_path: Path, broken: int) -> None:
    rows = list(ROWS)
    rows[broken - 1] = rows[broken - 1].replace("想找人", '"想找人')
    table, errs = _read_rows(tmp_path, rows)
    assert table is None and len(errs) == 1
    e = errs[0]
    assert (e.file, e.line, e.column) == ("needs.csv", broken + 1, "text")
    assert "引号" in e.zh and "unterminated quote" in e.en


@pytest.mark.parametrize("closing_row", [
    'N0015,C001,电视屏幕写着12",2\n',  # a stray quote a later cell happens to close
    'N0015,C001,"两行\n文本",2\n',  # the quote ends at a later quoted cell
])
def test_read_table_quote_closed_rows_later_still_swallows(tmp_path: Path,
                                                           closing_row: str) -> None:
    # the broken record comes out the right width, yet it swallowed rows 12-15
    rows = list(ROWS)
    rows[9] = rows[9].replace("想找人", '"想找人')
    rows[14] = closing_row
    table, errs = _read_rows(tmp_path, rows)
    assert table is None
    assert (errs[0].line, errs[0].column) == (11, "text")
    assert "unterminated quote" in errs[0].en and "第 11 行" in errs[0].zh


def test_read_table_unterminated_quote_in_header(tmp_path: Path) -> None:
    p = tmp_path / "needs.csv"
    p.write_text('"need_id,community_id,text\n' + "".join(ROWS), encoding="utf-8")
    table, errs = read_table(p, max_bytes=1_000_000)
    assert table is None and errs[0].line == 1 and "unterminated quote" in errs[0].en


def test_read_table_text_after_closing_quote(tmp_path: Path) -> None:
    table, errs = _read_rows(tmp_path, ['N0001,C001,"急"需送饭,2\n'])
    assert table is None
    assert (errs[0].line, errs[0].column) == (2, "text")
    assert "after a closing quote" in errs[0].en and errs[0].zh


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_read_table_keeps_a_quoted_multi_line_letter(tmp_path: Path, encoding: str) -> None:
    rows = list(ROWS)
    rows[4] = f"N0005,C001,{LETTER},3\n"
    table, errs = _read_rows(tmp_path, rows, encoding)
    assert not errs and table is not None
    assert len(table.rows) == 25
    line, cells = table.rows[4]
    assert line == 6 and cells["text"] == LETTER.strip('"') and cells["urgency"] == "3"
    assert table.rows[5][0] == 11


def test_read_table_cell_over_the_csv_field_limit_names_column(tmp_path: Path) -> None:
    table, errs = _read_rows(tmp_path, [f'N0001,C001,"{"长" * 200_000}",2\n'])
    assert table is None
    assert (errs[0].line, errs[0].column) == (2, "text") and "too long" in errs[0].en


@pytest.mark.parametrize(
    ("data", "en"),
    [
        ("need_id,text\nN1,想找人送饭\n".encode("utf-16"), "UTF-16"),
        ("need_id,text\nN1,想找人送饭\n".encode("utf-16-le"), "UTF-16"),
        ("need_id,text\nN1,想找人送饭\n".encode("utf-16-be"), "UTF-16"),
        ("need_id\ttext\r\nN1\t想找人送饭\r\n".encode("utf-16-le"), "UTF-16"),  # Unicode Text
        (b"need_id,text\nN1,\x00x\n", "NUL"),
        (b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml", "Excel workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "Excel workbook"),
        (bytes(range(256)) * 8, "binary"),
        (b"\x01\x02\x03abc\x04\x05\x06\x07\x08\x0e\x0f\x10,\x11\x12\n", "binary"),
        (b"   \n\n", "empty"),
    ],
    ids=["utf16_bom", "utf16le", "utf16be", "utf16_tabs_crlf", "nul", "xlsx", "xls", "binary", "controls", "blank"],
)
def test_read_table_names_what_the_file_really_is(tmp_path: Path, data: bytes, en: str) -> None:
    p = tmp_path / "actors.csv"
    p.write_bytes(data)
    table, errs = read_table(p, max_bytes=1_000_000)
    assert table is None and len(errs) == 1
    e = errs[0]
    assert e.file == "actors.csv" and "actors.csv" in e.zh and "actors.csv" in e.en
    assert en in e.en and e.zh


def test_utf16_message_says_how_to_save(tmp_path: Path) -> None:
    p = tmp_path / "needs.csv"
    p.write_bytes("need_id\nN1\n".encode("utf-16"))
    e = read_table(p, max_bytes=1000)[1][0]
    assert "UTF-8" in e.zh and "GBK" in e.zh and "UTF-8" in e.en and "GBK" in e.en


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0", "+1+2", "-x", "@SUM(A1)", "\tx", "\rx",
     "-", "+"],
)
def test_safe_cell_prefixes_formula_triggers(value: str) -> None:
    assert safe_cell(value) == "'" + value
    assert unescape_cell(safe_cell(value)) == value


@pytest.mark.parametrize("value", ["-1", "-122.5", "+3", "3", "0.25", "-1e-05", "社区", "",
                                   "a=b", "'quoted"])
def test_safe_cell_leaves_plain_numbers_and_text(value: str) -> None:
    assert safe_cell(value) == value
    assert unescape_cell(value) == value


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_safe_cells_round_trip_through_read_table(tmp_path: Path, encoding: str) -> None:
    values = ['=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0", "-1", "@张三 社区", "+86 138",
              "=社区"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["need_id", "text"])
    for i, v in enumerate(values):
        w.writerow([f"N{i}", safe_cell(v)])
    p = tmp_path / "needs.csv"
    p.write_bytes(buf.getvalue().encode(encoding))
    assert "'=cmd|' /C calc'!A0" in p.read_bytes().decode(encoding)
    table, errs = read_table(p, max_bytes=10_000)
    assert not errs and table is not None
    assert [c["text"] for _, c in table.rows] == values


def test_engine_csv_writers_prefix_formulas_and_read_back(tmp_path: Path) -> None:
    evil = ['=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0"]
    p = tmp_path / "unassigned.csv"
    write_unassigned_csv(p, [{"need_id": "N1", "role": "fund", "reason": evil[0]},
                             {"need_id": "@N2", "role": "fund", "reason": evil[1]}])
    text = p.read_text("utf-8")
    assert "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"" in text and "'@N2" in text
    table, errs = read_table(p, max_bytes=10_000)
    assert not errs and table is not None
    assert [(c["need_id"], c["reason"]) for _, c in table.rows] == [("N1", evil[0]),
                                                                      ("@N2", evil[1])]
    a = tmp_path / "assignments.csv"
    write_assignments_csv(a, [{"need_id": "-N1", "role": "fund", "actor_id": "+F1",
                               "score": -0.5, "run_id": "=r"}])
    assert a.read_text("utf-8").splitlines()[1] == "'-N1,fund,'+F1,-0.5,'=r"


def test_qrels_ids_round_trip(tmp_path: Path) -> None:
    p = tmp_path / "qrels.csv"
    write_qrels(p, [("=N1", "@A1", 3), ("N2", "A2", 0)])
    assert "'=N1,'@A1,3" in p.read_text("utf-8")
    assert read_qrels(p) == {"=N1": {"@A1": 3}, "N2": {"A2": 0}}
