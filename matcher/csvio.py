"""Reading CSV files the way stations save them, and writing cells Excel will not run.

Excel on Chinese Windows saves GBK/GB18030; other tools save UTF-8 with or
without a BOM. The encoding is detected, never asked for. Rows come back with
the physical line they started on, so errors can name it.

A file that is not a text CSV at all (empty, UTF-16, an Excel workbook under a
``.csv`` name, binary) is refused with a message saying what it is. A quote
left open, which would silently swallow the rows after it into one cell, is an
error naming the line the broken record starts on and the column of the cell.

Cells a spreadsheet would run as a formula (``=`` ``+`` ``-`` ``@``, tab, CR)
are written with a leading ``'`` by :func:`safe_cell`; the reader drops that
``'`` again (:func:`unescape_cell`), so an export imports back unchanged.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from .errors import RowError

__all__ = ["Table", "decode_bytes", "read_table", "safe_cell", "split_list", "table_from_bytes",
           "table_from_rows",
           "table_from_text", "unescape_cell"]

_LIST_SEP = re.compile(r"\s*[;；、，,]\s*")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_EOL = re.compile(r"\r\n|\r|\n")
# from an opening quote up to, not including, its closing quote ("" is an escaped quote)
_QUOTED = re.compile(r'"[^"]*(?:""[^"]*)*')
_UNQUOTED = re.compile(r"[^,\r\n]*")
_ID_LIKE = re.compile(r"[^\s,，。；;、：:！!？?]{1,100}")
_SNIFF_BYTES = 65536
_XLSX = b"PK\x03\x04"
_XLS = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


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


def safe_cell(value: str) -> str:
    """Prefix ``'`` to a cell a spreadsheet would run as a formula.

    A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return gets a leading ``'``; a plain number (``-1``, ``-122.5``, ``+3``)
    stays as it is. :func:`read_table` drops the ``'`` again.

    Examples
    --------
    >>> safe_cell('=HYPERLINK("http://x","y")')
    '\\'=HYPERLINK("http://x","y")'
    >>> safe_cell("-122.5"), safe_cell("@张三"), safe_cell("翠苑一区社区")
    ('-122.5', "'@张三", '翠苑一区社区')
    """
    if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def unescape_cell(value: str) -> str:
    """Undo :func:`safe_cell`: drop a ``'`` that stands before a formula trigger.

    Examples
    --------
    >>> unescape_cell("'=1+2"), unescape_cell("'社区"), unescape_cell("-1")
    ('=1+2', "'社区", '-1')
    """
    if len(value) > 1 and value[0] == "'" and value[1] in "=+-@\t\r":
        return value[1:]
    return value


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


def _file_error(name: str, zh: str, en: str) -> tuple[None, list[RowError]]:
    return None, [RowError(name, 0, "", f"{name} {zh}", f"{name} {en}")]


def _looks_utf16(raw: bytes) -> bool:
    """True when the bytes read as UTF-16 text (a CSV header is ASCII: every other byte 0)."""
    for enc in ("utf-16-le", "utf-16-be"):
        try:
            text = codecs.getincrementaldecoder(enc)().decode(raw[:_SNIFF_BYTES], final=False)
        except UnicodeDecodeError:
            continue
        first = text.split("\n", 1)[0].rstrip("\r")
        if ("\x00" not in text and ("," in first or "\t" in first)
                and first.replace("\t", " ").isprintable()):
            return True
    return False


def _sniff(name: str, raw: bytes) -> tuple[None, list[RowError]] | None:
    """Refuse bytes that are not a text CSV, saying what they are; None when they may be."""
    save_as = ("请用 Excel 或记事本“另存为” CSV，编码选 UTF-8 或 GBK",
               "save it as CSV, encoded as UTF-8 or GBK (Excel or Notepad: Save As)")
    if raw.startswith((_XLSX, _XLS)):
        ext = ".xlsx" if raw.startswith(_XLSX) else ".xls"
        return _file_error(name, f"是 Excel 工作簿（{ext}），不是 CSV 文件：{save_as[0]}",
                           f"is an Excel workbook ({ext}), not a CSV file: {save_as[1]}")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (
            b"\x00" in raw[:_SNIFF_BYTES] and _looks_utf16(raw)):
        return _file_error(name, f"是 UTF-16 编码（Excel 的“Unicode 文本”），无法读取：{save_as[0]}",
                           f"is encoded as UTF-16 (Excel's “Unicode Text”), which is not "
                           f"read: {save_as[1]}")
    if b"\x00" in raw:
        if _strict_text(raw.replace(b"\x00", b"")):
            return _file_error(name, "含有 NUL（\\x00）字节，不是文本 CSV 文件",
                               "contains NUL (\\x00) bytes: not a text CSV file")
        return _file_error(name, "是二进制文件，不是文本 CSV 文件",
                           "is a binary file, not a text CSV file")
    return None


def _strict_text(raw: bytes) -> bool:
    """Whether the bytes are UTF-8 or GB18030 text (no guessing, no control characters)."""
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return not _is_binary_text(raw.decode(enc))
        except UnicodeDecodeError:
            continue
    return False


def _is_binary_text(text: str) -> bool:
    """Decoded text full of control characters is binary that happened to decode."""
    sample = text[:_SNIFF_BYTES]
    controls = sum(1 for c in sample if c not in "\t\n\r\f\v"
                   and unicodedata.category(c) == "Cc")
    return controls * 100 > len(sample)


def _line_offset(text: str, line: int) -> int:
    """Character offset of the start of physical ``line`` (1-based)."""
    if line <= 1:
        return 0
    for i, m in enumerate(_EOL.finditer(text), start=2):
        if i == line:
            return m.end()
    return len(text)


def _match_end(pattern: re.Pattern[str], text: str, pos: int) -> int:
    m = pattern.match(text, pos)
    return m.end() if m else pos


@dataclass(frozen=True)
class _Break:
    """Where a record goes wrong: the field, what is wrong, the line it shows on."""

    field: int
    kind: str          # "unclosed" (runs to the end), "after_quote", "long"
    spans_lines: bool  # the broken cell holds line breaks
    line: int


def _find_break(text: str, pos: int, line: int, limit: int) -> _Break | None:
    """Scan one record from ``pos`` the way :mod:`csv` does; report its first fault."""
    field, n = 0, len(text)
    while True:
        start = pos
        breaks = 0
        if pos < n and text[pos] == '"':
            pos = _match_end(_QUOTED, text, pos)
            breaks = len(_EOL.findall(text, start, pos))
            if pos >= n:
                return _Break(field, "unclosed", breaks > 0, line + breaks)
            pos += 1  # the closing quote
            if pos < n and text[pos] not in ",\r\n":
                return _Break(field, "after_quote", breaks > 0, line + breaks)
        else:
            pos = _match_end(_UNQUOTED, text, pos)
        if pos - start > limit:
            return _Break(field, "long", breaks > 0, line + breaks)
        line += breaks
        if pos >= n or text[pos] in "\r\n":
            return None
        pos += 1
        field += 1


def _row_like(line: str, first_cell: str, width: int) -> bool:
    """Whether a line inside a cell looks like a row of the file (a swallowed row)."""
    cells = next(csv.reader([line]), [])
    if len(cells) < min(width, 3) or len(cells) < 2:
        return False
    if width >= 5 and len(cells) == width:
        return True
    head = cells[0].strip()
    # the same shape as this record's first cell, e.g. N0007 vs N0005 (digits ignored)
    return bool(first_cell and _ID_LIKE.fullmatch(head)
                and re.sub(r"\d+", "0", head) == re.sub(r"\d+", "0", first_cell))


def _swallowing_field(record: list[str], width: int) -> int | None:
    """Index of a multi-line cell holding what look like whole rows, or None."""
    first = record[0].strip() if record else ""
    for i, cell in enumerate(record):
        if "\n" not in cell and "\r" not in cell:
            continue
        ref = first if i > 0 and _ID_LIKE.fullmatch(first) else ""
        if any(_row_like(ln, ref, width) for ln in _EOL.split(cell)[1:]):
            return i
    return None


def _quote_error(name: str, start: int, column: str, end: int, *, to_eof: bool) -> RowError:
    where_zh = "文件末尾" if to_eof else f"第 {end} 行"
    where_en = "the end of the file" if to_eof else f"line {end}"
    cell_zh = f"“{column}”列" if column else "表头中"
    cell_en = f"the {column} cell" if column else "the header"
    return RowError(
        name, start, column,
        f"引号没有闭合：第 {start} 行{cell_zh}以引号开始的单元格一直延续到{where_zh}，"
        f"其后的行都被读进了这个单元格，未导入任何记录。请检查这个单元格的引号"
        f"（单元格内的引号要写成两个 \"\"）",
        f"unterminated quote: {cell_en} opened with a quote on line {start} runs on to "
        f"{where_en}, swallowing the rows after it; nothing was imported. Check the quotes "
        f"in this cell (a quote inside a quoted cell is written twice: \"\")",
    )


def _parse_error(name: str, text: str, start: int, header: list[str] | None,
                 exc: csv.Error) -> RowError:
    """Turn a strict csv error in the record starting at ``start`` into a RowError."""
    limit = csv.field_size_limit()
    brk = _find_break(text, _line_offset(text, start), start, limit)

    def column(i: int) -> str:
        return header[i] if header is not None and i < len(header) else ""

    if brk is None:
        return RowError(name, start, "", f"CSV 格式错误：{exc}", f"malformed CSV: {exc}")
    col = column(brk.field)
    if brk.kind == "long":
        return RowError(name, start, col, f"{col or '单元格'}过长（超过 {limit} 字）",
                        f"{col or 'cell'} too long (over {limit} chars)")
    if brk.kind == "unclosed" or brk.spans_lines:
        return _quote_error(name, start, col, brk.line, to_eof=brk.kind == "unclosed")
    return RowError(
        name, start, col,
        f"{col or '单元格'}：引号后面还有其他字符（引号没有成对；单元格内的引号要写成两个 \"\"）",
        f"{col or 'cell'}: text after a closing quote (unbalanced quotes; a quote inside a "
        f"quoted cell is written twice: \"\")",
    )


def _parse(name: str, text: str) -> tuple[list[str] | None,
                                       list[tuple[int, dict[str, str]]], list[RowError]]:
    """Header and ``(line, cells)`` rows of the text, parsed strictly, or the first fault."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    end = 0
    while True:
        start = end + 1
        try:
            record = next(reader)
        except StopIteration:
            return header, rows, []
        except csv.Error as exc:
            return header, rows, [_parse_error(name, text, start, header, exc)]
        end = reader.line_num
        if not any(c.strip() for c in record):
            continue
        if header is None:
            if end > start:  # a header cell opened a quote
                return None, [], [_quote_error(name, start, "", end, to_eof=False)]
            header = [c.strip().lstrip("\ufeff").strip().lower() for c in record]
            continue
        if end > start:
            broken = _swallowing_field(record, len(header))
            if broken is not None:
                col = header[broken] if broken < len(header) else ""
                return header, rows, [_quote_error(name, start, col, end, to_eof=False)]
        cells = {
            col: (unescape_cell(record[i].strip()) if i < len(record) else "")
            for i, col in enumerate(header)
            if col
        }
        if len(record) > len(header) and any(c.strip() for c in record[len(header):]):
            cells["\x00extra"] = "1"
        rows.append((start, cells))


def read_table(path: Path, *, max_bytes: int) -> tuple[Table | None, list[RowError]]:
    """Read one CSV file; return the table, or ``None`` and the errors.

    Blank lines are skipped; cells are stripped and a :func:`safe_cell`
    prefix is undone; a header cell's BOM or surrounding spaces are dropped
    and it is lower-cased. A file with a header and no rows is returned with
    no rows (whether that is an error is the caller's call).
    """
    size = path.stat().st_size
    if size > max_bytes:
        return _too_large(path.name, size, max_bytes)
    return table_from_bytes(path.name, path.read_bytes(), max_bytes=max_bytes)


def _too_large(name: str, size: int, max_bytes: int) -> tuple[None, list[RowError]]:
    mb = max_bytes / 1_000_000
    return _file_error(name, f"文件过大（{size / 1_000_000:.1f} MB，上限 {mb:g} MB）",
                       f"is too large ({size / 1_000_000:.1f} MB, limit {mb:g} MB)")


def table_from_bytes(name: str, raw: bytes, *, max_bytes: int) -> tuple[Table | None,
                                                                        list[RowError]]:
    """Read one CSV file's bytes (an upload) exactly as :func:`read_table` reads a file."""
    if len(raw) > max_bytes:
        return _too_large(name, len(raw), max_bytes)
    if not raw.strip(b" \t\r\n").removeprefix(codecs.BOM_UTF8).strip(b" \t\r\n"):
        return _file_error(name, "文件为空（没有表头）", "is empty (no header row)")
    refused = _sniff(name, raw)
    if refused is not None:
        return refused
    try:
        text, _ = decode_bytes(raw)
    except UnicodeDecodeError:
        return _file_error(name, "无法识别文件编码（请保存为 UTF-8 或 GBK）",
                           "has an encoding that cannot be detected (save as UTF-8 or GBK)")
    if _is_binary_text(text):
        return _file_error(name, "是二进制文件，不是文本 CSV 文件",
                           "is a binary file, not a text CSV file")
    return table_from_text(name, text, raw)


def table_from_text(name: str, text: str, raw: bytes) -> tuple[Table | None, list[RowError]]:
    """Parse decoded CSV ``text`` as :func:`read_table` does (``name`` in every error,
    ``raw`` the bytes the dataset's digest is taken over)."""
    header, rows, faults = _parse(name, text)
    if faults:
        return None, faults
    if header is None:
        return _file_error(name, "文件为空（没有表头）", "is empty (no header row)")
    dupes = sorted({c for c in header if c and header.count(c) > 1})
    if dupes:
        return None, [
            RowError(name, 1, dupes[0], f"表头列名重复：{', '.join(dupes)}",
                     f"duplicate header columns: {', '.join(dupes)}")
        ]
    return Table(name, tuple(header), tuple(rows), raw), []


def table_from_rows(name: str, header: Sequence[str],
                    rows: Iterable[Mapping[str, str]]) -> Table:
    """A table of rows already in memory (a database's stored list), numbered as a
    file's lines would be (the header is line 1); the digest covers the cells.

    >>> t = table_from_rows("needs.csv", ["need_id", "text"], [{"need_id": "N1", "text": "送饭"}])
    >>> t.rows
    ((2, {'need_id': 'N1', 'text': '送饭'}),)
    """
    cols = tuple(header)
    body = tuple((i, {c: r.get(c, "") for c in cols}) for i, r in enumerate(rows, 2))
    raw = json.dumps([cols, [list(cells.values()) for _, cells in body]],
                     ensure_ascii=False).encode("utf-8")
    return Table(name, cols, body, raw)
