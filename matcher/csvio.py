"""Reading CSV files the way stations save them.

Excel on Chinese Windows saves GBK/GB18030; other tools save UTF-8 with or
without a BOM. The encoding is detected, never asked for. Rows come back with
the physical line they started on, so errors can name it.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from .errors import RowError

__all__ = ["Table", "decode_bytes", "read_table", "split_list"]

_LIST_SEP = re.compile(r"\s*[;；、，,]\s*")


def split_list(cell: str) -> list[str]:
    """Split a list cell on ``;`` ``；`` ``、`` ``，`` or ``,``.

    Examples
    --------
    >>> split_list(" 老年人；残疾人、 儿童 ")
    ['老年人', '残疾人', '儿童']
    >>> split_list("")
    []
    """
    return [p for p in _LIST_SEP.split(cell.strip()) if p]


def decode_bytes(raw: bytes) -> tuple[str, str]:
    """Decode file bytes, returning ``(text, encoding)``.

    UTF-8 (with or without BOM) first, then GB18030 (a superset of GBK and
    GB2312), then whatever charset-normalizer finds best.

    Examples
    --------
    >>> decode_bytes("社区".encode("gbk"))
    ('社区', 'gb18030')
    >>> decode_bytes(codecs.BOM_UTF8 + "社区".encode())
    ('社区', 'utf-8-sig')
    """
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        pass
    best = from_bytes(raw).best()
    if best is None or best.encoding is None:
        raise UnicodeDecodeError("unknown", raw[:1], 0, 1, "no encoding fits")
    return str(best), best.encoding


@dataclass(frozen=True)
class Table:
    """A CSV file read into its header and rows (``(line, {column: cell})``)."""

    name: str
    header: tuple[str, ...]
    rows: tuple[tuple[int, dict[str, str]], ...]
    raw: bytes


def _iter_records(text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    prev_end = 0
    for record in reader:
        start = prev_end + 1
        prev_end = reader.line_num
        yield start, record


def read_table(path: Path, *, max_bytes: int) -> tuple[Table | None, list[RowError]]:
    """Read one CSV file; return the table, or ``None`` and the errors.

    Blank lines are skipped; cells are stripped; a header cell's BOM or
    surrounding spaces are dropped and it is lower-cased.
    """
    name = path.name
    size = path.stat().st_size
    if size > max_bytes:
        mb = max_bytes / 1_000_000
        return None, [
            RowError(
                name, 0, "",
                f"文件过大（{size / 1_000_000:.1f} MB，上限 {mb:.0f} MB）",
                f"file too large ({size / 1_000_000:.1f} MB, limit {mb:.0f} MB)",
            )
        ]
    raw = path.read_bytes()
    try:
        text, _ = decode_bytes(raw)
    except UnicodeDecodeError:
        return None, [
            RowError(name, 0, "", "无法识别文件编码（请保存为 UTF-8 或 GBK）",
                     "cannot detect the file encoding (save as UTF-8 or GBK)")
        ]
    if "\x00" in text:
        return None, [RowError(name, 0, "", "文件不是文本 CSV", "file is not a text CSV")]
    records = _iter_records(text)
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for line, record in records:
            if not any(c.strip() for c in record):
                continue
            if header is None:
                header = [c.strip().lstrip("\ufeff").strip().lower() for c in record]
                continue
            cells = {
                col: (record[i].strip() if i < len(record) else "")
                for i, col in enumerate(header)
                if col
            }
            if len(record) > len(header) and any(c.strip() for c in record[len(header):]):
                cells["\x00extra"] = "1"
            rows.append((line, cells))
    except csv.Error as exc:
        return None, [RowError(name, 0, "", f"CSV 格式错误：{exc}", f"malformed CSV: {exc}")]
    if header is None:
        return None, [RowError(name, 0, "", "文件为空（没有表头）", "file is empty (no header row)")]
    dupes = sorted({c for c in header if c and header.count(c) > 1})
    if dupes:
        return None, [
            RowError(name, 1, dupes[0], f"表头列名重复：{', '.join(dupes)}",
                     f"duplicate header columns: {', '.join(dupes)}")
        ]
    return Table(name, tuple(header), tuple(rows), raw), []
