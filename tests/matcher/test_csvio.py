import codecs
from pathlib import Path

from matcher.csvio import decode_bytes, read_table, split_list


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
    assert "文件为空" in read_table(p, max_bytes=100)[1][0].zh
    p.write_text("need_id\n" + "N\n" * 100, encoding="utf-8")
    errs = read_table(p, max_bytes=50)[1]
    assert "file too large" in errs[0].en


def test_read_table_duplicate_header(tmp_path: Path) -> None:
    p = tmp_path / "needs.csv"
    p.write_text("need_id,text,text\nN1,a,b\n", encoding="utf-8")
    errs = read_table(p, max_bytes=1000)[1]
    assert errs[0].column == "text" and "duplicate header" in errs[0].en
