"""Load and validate a dataset folder (the data contract).

``load_dataset`` reads ``communities.csv``, ``needs.csv``, ``actors.csv``
and, when present, ``feedback.csv``, ``assignments.csv`` and ``taxonomy.csv``.
Every cell of every column is held to the limits of :mod:`matcher.limits`
(the columns the engine ignores too, such as a need's ``contact_phone``), the
same limits the service's API applies. Import is all-or-nothing: any bad row raises :class:`DataError` listing every
problem, unless ``skip_bad_rows=True``, which drops those rows (and rows that
depend on them) and reports them in ``LoadReport.skipped``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .csvio import Table, split_list
from .errors import DataError, DatasetError, RowError
from .kinds import budgeted
from .limits import max_chars
from .records import (
    CERTIFICATIONS,
    DEFAULT_CAPACITY,
    DEFAULT_SCOPE,
    NEED_STATUSES,
    ROLES,
    SCOPES,
    TIME_SLOTS,
    Actor,
    Community,
    Dataset,
    Feedback,
    Need,
)
from .restrictions import implied_restriction
from .sources import SHEET_NAMES, FolderSource, RowSource, WorkbookSource, open_source
from .taxonomy import Taxonomy, default_taxonomy

__all__ = ["DEFAULT_MAX_FILE_BYTES", "MAX_TEXT_CHARS", "LoadReport", "load_dataset"]

DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024
#: kept for callers of the old constant; the limits live in :mod:`matcher.limits`
MAX_TEXT_CHARS = max_chars("needs", "text")
_EXTRA = "\x00extra"  # read_table's marker of a row with more cells than the header

_REQUIRED = {
    "communities.csv": ("community_id", "name", "street", "district"),
    "needs.csv": ("need_id", "community_id", "text"),
    "actors.csv": ("actor_id", "kind", "name", "text"),
    "feedback.csv": ("need_id", "actor_id", "outcome"),
    "assignments.csv": ("need_id", "role", "actor_id"),
}
_TRUE = {"true", "1", "yes", "y", "是", "t", "启用", "有效"}
_FALSE = {"false", "0", "no", "n", "否", "f", "停用", "无效"}
_OUTCOMES = ("accepted", "rejected", "completed", "failed")
_ACTIVE_STATUSES = ("assigned", "in_progress")


@dataclass
class LoadReport:
    """What loading skipped (with ``skip_bad_rows``): one RowError per problem.

    ``warnings`` never stop a load: today, funds whose text implies a restriction
    their blank cells do not state (:mod:`matcher.restrictions`).
    """

    skipped: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)


def _limits(table: str, t: Table) -> dict[str, int]:
    """Each column's limit for the rows of ``t`` (looked up once per file, not per cell)."""
    return {c: max_chars(table, c) for c in t.header if c}


def _length_errors(file: str, limits: Mapping[str, int], line: int,
                   cells: Mapping[str, str]) -> list[RowError]:
    """One error per cell longer than its column's limit (the value is not echoed)."""
    return [RowError(file, line, col, f"{col} 过长（{len(v)} 字，上限 {limits[col]} 字）",
                     f"{col} too long ({len(v)} chars, limit {limits[col]})")
            for col, v in cells.items() if col in limits and len(v) > limits[col]]


class _Row:
    """Cell accessors for one row that record errors instead of raising.

    Cells over their length limit are reported once, here, and then read as
    blank, so no other check reports (or echoes) them again.
    """

    def __init__(self, file: str, limits: Mapping[str, int], line: int, cells: dict[str, str],
                 tax: Taxonomy) -> None:
        self.file, self.line, self.tax = file, line, tax
        self.errors = _length_errors(file, limits, line, cells)
        self.too_long = {e.column for e in self.errors}
        self.cells = {c: ("" if c in self.too_long else v) for c, v in cells.items()}

    def err(self, column: str, zh: str, en: str) -> None:
        self.errors.append(RowError(self.file, self.line, column, zh, en))

    def text(self, col: str, *, required: bool = False) -> str:
        v = self.cells.get(col, "")
        if required and not v and col not in self.too_long:
            self.err(col, f"必填列 {col} 为空", f"required column {col} is empty")
        return v

    def number(self, col: str, default: float, *, integer: bool, lo: float | None = None,
               hi: float | None = None) -> float:
        v = self.cells.get(col, "").replace(",", "").replace("，", "")
        if not v:
            return default
        try:
            x = float(v)
            if integer and not x.is_integer():
                raise ValueError(v)
        except ValueError:
            kind_zh, kind_en = ("整数", "an integer") if integer else ("数字", "a number")
            self.err(col, f"{col} 应为{kind_zh}，实际为“{v}”", f"{col} must be {kind_en}, got {v!r}")
            return default
        if x != x or (lo is not None and x < lo) or (hi is not None and x > hi):
            rng = f"{lo if lo is not None else '-∞'} … {hi if hi is not None else '∞'}"
            self.err(col, f"{col} 超出范围 {rng}：{v}", f"{col} out of range {rng}: {v}")
            return default
        return x

    def coord(self, col: str) -> float | None:
        if not self.cells.get(col):
            return None
        hi = 90.0 if col == "lat" else 180.0
        return self.number(col, 0.0, integer=False, lo=-hi, hi=hi)

    def choices(self, col: str, allowed: tuple[str, ...],
                resolve: Callable[[str], str | None] | None = None) -> tuple[str, ...]:
        out: list[str] = []
        for item in split_list(self.cells.get(col, "")):
            value = resolve(item) if resolve else (item if item in allowed else None)
            if value is None or value not in allowed:
                self.err(col, f"{col} 中的“{item}”不在取值范围内：{'、'.join(allowed)}",
                         f"{col}: {item!r} is not one of {', '.join(allowed)}")
            elif value not in out:
                out.append(value)
        return tuple(out)

    def choice(self, col: str, allowed: tuple[str, ...], default: str) -> str:
        v = self.cells.get(col, "")
        if not v:
            return default
        if v.lower() in allowed:
            return v.lower()
        self.err(col, f"{col} 的值“{v}”不在取值范围内：{'、'.join(allowed)}",
                 f"{col}: {v!r} is not one of {', '.join(allowed)}")
        return default


def _hash(tables: list[Table]) -> str:
    h = hashlib.sha256()
    for t in sorted(tables, key=lambda t: t.name):
        h.update(t.name.encode())
        h.update(hashlib.sha256(t.raw).digest())
    return h.hexdigest()


def _check_header(table: Table, kind: str) -> list[RowError]:
    missing = [c for c in _REQUIRED[kind] if c not in table.header]
    if not missing:
        return []
    return [
        RowError(
            table.name, 1, missing[0],
            f"表头缺少必填列：{', '.join(missing)}（表头为：{', '.join(table.header)}）",
            f"header lacks required column(s): {', '.join(missing)} "
            f"(header is: {', '.join(table.header)})",
        )
    ]


def _parse_communities(t: Table, tax: Taxonomy, errs: list[RowError]) -> dict[str, Community]:
    out: dict[str, Community] = {}
    limits = _limits("communities", t)
    for line, cells in t.rows:
        r = _Row(t.name, limits, line, cells, tax)
        cid = r.text("community_id", required=True)
        if cid in out:
            r.err("community_id", f"community_id 重复：{cid}", f"duplicate community_id {cid!r}")
        pop = r.number("population", -1, integer=True, lo=0)
        c = Community(
            community_id=cid,
            name=r.text("name", required=True),
            street=r.text("street", required=True),
            district=r.text("district", required=True),
            city=r.text("city"),
            kind=r.choice("kind", ("urban", "rural"), "urban"),
            lat=r.coord("lat"),
            lon=r.coord("lon"),
            population=None if pop < 0 else int(pop),
        )
        if r.errors:
            errs.extend(r.errors)
        else:
            out[cid] = c
    return out


def _parse_created(r: _Row) -> str:
    v = r.cells.get("created_at", "")
    if not v:
        return ""
    try:
        datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        r.err("created_at", f"created_at 不是 ISO 8601 日期：{v}", f"created_at is not ISO 8601: {v!r}")
    return v


def _parse_needs(t: Table, tax: Taxonomy, communities: dict[str, Community],
                 errs: list[RowError]) -> dict[str, Need]:
    out: dict[str, Need] = {}
    limits = _limits("needs", t)
    for line, cells in t.rows:
        r = _Row(t.name, limits, line, cells, tax)
        nid = r.text("need_id", required=True)
        if nid in out:
            r.err("need_id", f"need_id 重复：{nid}", f"duplicate need_id {nid!r}")
        cid = r.text("community_id", required=True)
        if cid and cid not in communities:
            r.err("community_id", f"社区 {cid} 不在 communities.csv 中",
                  f"community {cid!r} is not in communities.csv")
        text = r.text("text", required=True)
        cat_cell = r.cells.get("category", "")
        category = ""
        if cat_cell:
            resolved = tax.resolve_category(cat_cell)
            if resolved is None:
                r.err("category", f"未知的服务类别“{cat_cell}”", f"unknown category {cat_cell!r}")
            else:
                category = resolved
        roles = r.choices("roles", ROLES, tax.resolve_role) or ROLES
        default_vol = 1 if "volunteer" in roles else 0
        need = Need(
            need_id=nid,
            community_id=cid,
            text=text,
            category=category,
            target_groups=r.choices("target_groups", _groups(), tax.resolve_group),
            urgency=int(r.number("urgency", 2, integer=True, lo=1, hi=4)),
            beneficiaries=int(r.number("beneficiaries", 1, integer=True, lo=1)),
            roles=tuple(x for x in ROLES if x in roles),
            volunteers_needed=int(r.number("volunteers_needed", default_vol, integer=True,
                                           lo=0, hi=1000)),
            budget_yuan=r.number("budget_yuan", 0.0, integer=False, lo=0),
            time_slots=r.choices("time_slots", TIME_SLOTS),
            created_at=_parse_created(r),
            status=r.choice("status", NEED_STATUSES, "open"),
            lat=r.coord("lat"),
            lon=r.coord("lon"),
            urgency_given=bool(r.cells.get("urgency", "")),
        )
        if r.errors:
            errs.extend(r.errors)
        else:
            out[nid] = need
    return out


def _groups() -> tuple[str, ...]:
    from .records import TARGET_GROUPS

    return TARGET_GROUPS


def _normalise_cert(kind: str, v: str) -> str:
    v = v.strip().replace(" ", "")
    if kind != "organization":
        return v
    v = v.upper().replace("级", "")
    if v and set(v) == {"A"}:  # AAAA → 4A
        v = f"{len(v)}A"
    return v


def _parse_actors(t: Table, tax: Taxonomy, communities: dict[str, Community],
                  errs: list[RowError], warns: list[RowError] | None = None) -> dict[str, Actor]:
    out: dict[str, Actor] = {}
    limits = _limits("actors", t)
    for line, cells in t.rows:
        r = _Row(t.name, limits, line, cells, tax)
        aid = r.text("actor_id", required=True)
        if aid in out:
            r.err("actor_id", f"actor_id 重复：{aid}", f"duplicate actor_id {aid!r}")
        kind_cell = r.cells.get("kind", "")
        kind = tax.resolve_role(kind_cell) if kind_cell else None
        if kind is None:
            if "kind" not in r.too_long:
                r.err("kind", f"kind 的值“{kind_cell}”不在取值范围内：{'、'.join(ROLES)}",
                      f"kind: {kind_cell!r} is not one of {', '.join(ROLES)}")
            kind = "organization"
        cid = r.text("community_id")
        if cid and cid not in communities:
            r.err("community_id", f"社区 {cid} 不在 communities.csv 中",
                  f"community {cid!r} is not in communities.csv")
        if (budgeted(kind) and not r.cells.get("budget_yuan")
                and "budget_yuan" not in r.too_long):
            r.err("budget_yuan", "慈善资源（fund）必须填写 budget_yuan",
                  "budget_yuan is required for a fund")
        cert = _normalise_cert(kind, r.cells.get("certification", ""))
        allowed_cert = CERTIFICATIONS.get(kind, ())
        if cert and cert not in allowed_cert:
            if allowed_cert:
                r.err("certification", f"{kind} 的 certification 应为：{'、'.join(allowed_cert)}，实际为“{cert}”",
                      f"certification for {kind} must be one of {', '.join(allowed_cert)}, got {cert!r}")
            else:
                r.err("certification", f"{kind} 不使用 certification 列", f"{kind} takes no certification")
        active_cell = r.cells.get("active", "").lower()
        active = True
        if active_cell in _FALSE:
            active = False
        elif active_cell and active_cell not in _TRUE:
            r.err("active", f"active 应为 true 或 false，实际为“{active_cell}”",
                  f"active must be true or false, got {active_cell!r}")
        actor = Actor(
            actor_id=aid,
            kind=kind,
            name=r.text("name", required=True),
            text=r.text("text", required=True),
            community_id=cid,
            street=r.text("street"),
            district=r.text("district"),
            city=r.text("city"),
            scope=r.choice("scope", SCOPES, DEFAULT_SCOPE[kind]),
            capacity=int(r.number("capacity", DEFAULT_CAPACITY[kind], integer=True, lo=0)),
            budget_yuan=r.number("budget_yuan", 0.0, integer=False, lo=0),
            categories=r.choices("categories", tax.codes, tax.resolve_category),
            target_groups=r.choices("target_groups", _groups(), tax.resolve_group),
            certification=cert,
            time_slots=r.choices("time_slots", TIME_SLOTS),
            lat=r.coord("lat"),
            lon=r.coord("lon"),
            active=active,
        )
        if r.errors:
            errs.extend(r.errors)
        else:
            out[aid] = actor
            implied = implied_restriction(actor)
            if implied is not None and warns is not None:
                warns.append(RowError(t.name, line, implied.cells[0], implied.zh, implied.en))
    return out


def _parse_feedback(t: Table, tax: Taxonomy, errs: list[RowError], needs: dict[str, Need],
                    actors: dict[str, Actor]) -> list[Feedback]:
    out = []
    limits = _limits("feedback", t)
    for line, cells in t.rows:
        r = _Row(t.name, limits, line, cells, tax)
        sat = r.number("satisfaction", 0, integer=True, lo=1, hi=5)
        nid, aid = cells.get("need_id", ""), cells.get("actor_id", "")
        if nid and nid not in needs:
            r.err("need_id", f"需求 {nid} 不存在（needs.csv 中没有）",
                  f"need {nid!r} does not exist (not in needs.csv)")
        if aid and aid not in actors:
            r.err("actor_id", f"资源 {aid} 不存在（actors.csv 中没有）",
                  f"actor {aid!r} does not exist (not in actors.csv)")
        fb = Feedback(
            need_id=r.text("need_id", required=True),
            actor_id=r.text("actor_id", required=True),
            outcome=r.choice("outcome", _OUTCOMES, "") or r.text("outcome", required=True),
            satisfaction=int(sat) if sat else None,
            at=r.text("at"),
        )
        if r.errors:
            errs.extend(r.errors)
        else:
            out.append(fb)
    return out


def _no_rows(name: str) -> RowError:
    return RowError(name, 0, "", f"{name} 只有表头，没有数据（0 行），未导入任何记录",
                    f"{name} has a header but no data (0 rows); nothing was imported")


def _read(source: RowSource, name: str, max_bytes: int, required: bool,
          errs: list[RowError], kind: str | None = None,
          allow_empty: Collection[str] = ()) -> Table | None:
    got = source.table(name, max_bytes)
    if got is None:
        if required and isinstance(source, WorkbookSource):
            sheets = "、".join(SHEET_NAMES[name])
            errs.append(RowError(source.path.name, 0, "", f"缺少工作表 {sheets}（任选其一）",
                                 f"missing sheet {SHEET_NAMES[name][0]} (or {sheets})"))
        elif required:
            errs.append(RowError(name, 0, "", f"缺少文件 {name}", f"missing file {name}"))
        return None
    table, problems = got
    errs.extend(problems)
    if table is not None:
        header_errs = _check_header(table, kind or name)
        errs.extend(header_errs)
        if header_errs:
            return None
        # `wushe match` writes a header-only assignments.csv when nothing was assigned
        if not table.rows and (kind or name) != "assignments.csv" and name not in allow_empty:
            errs.append(_no_rows(name))
            return None
        for line, cells in table.rows:
            if _EXTRA in cells:
                errs.append(RowError(name, line, "", "该行的列数多于表头",
                                     "row has more cells than the header"))
    return table


def _extra_taxonomy(source: RowSource, max_bytes: int, tax: Taxonomy,
                    errs: list[RowError]) -> Taxonomy:
    got = source.table("taxonomy.csv", max_bytes)
    if got is None:
        return tax
    table, problems = got
    errs.extend(problems)
    if table is None:
        return tax
    if not table.rows:
        errs.append(_no_rows(table.name))
        return tax
    extra: dict[str, str] = {}
    limits = _limits("taxonomy", table)
    for line, cells in table.rows:
        code, zh = cells.get("code", ""), cells.get("zh", "")
        too_long = _length_errors(table.name, limits, line, cells)
        if too_long:
            errs.extend(too_long)
        elif not code or not zh:
            errs.append(RowError(table.name, line, "code", "taxonomy.csv 需要 code 与 zh 两列",
                                 "taxonomy.csv needs both code and zh"))
        else:
            extra[code] = zh
    return tax.extended(extra)


def load_dataset(path: str | Path | RowSource, *, skip_bad_rows: bool = False,
                 max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
                 report: LoadReport | None = None,
                 assignments: str | Path | None = None,
                 allow_empty: Collection[str] = ()) -> Dataset:
    """Read and validate a dataset: a folder of CSV files or an Excel workbook.

    Parameters
    ----------
    path : str, Path or RowSource
        The folder holding ``communities.csv``, ``needs.csv`` and ``actors.csv``,
        an ``.xlsx`` workbook with a sheet for each, or any other row source
        (:mod:`matcher.sources`; the service passes its upload in memory).
    skip_bad_rows : bool, default False
        Drop bad rows (reported in ``report.skipped``) instead of failing.
    max_file_bytes : int
        Files larger than this are refused.
    report : LoadReport, optional
        Filled with what was skipped.
    assignments : str or Path, optional
        The previous run's ``assignments.csv`` to take actors' current load
        from, instead of the one in the folder.
    allow_empty : collection of str, default ()
        File names (``"needs.csv"``) that may hold a header and no rows. Any
        other list with no rows is an error (a station's export gone wrong);
        ``assignments.csv`` may always be empty.

    Returns
    -------
    Dataset

    Raises
    ------
    DatasetError
        If the folder does not exist.
    DataError
        If any file or row is bad (and ``skip_bad_rows`` is false, or the
        file as a whole is unusable).

    Examples
    --------
    >>> ds = load_dataset("data/sample")
    >>> sorted(ds.communities)[:2]
    ['C001', 'C002']
    >>> ds.needs["N0001"].status
    'open'
    """
    source = (open_source(Path(path)) if isinstance(path, str | Path) else path)
    if source is None:
        raise DatasetError(f"数据目录不存在（或不是 .xlsx 工作簿）：{path}",
                           f"dataset folder does not exist (nor is it an .xlsx workbook): "
                           f"{path}")
    report = report if report is not None else LoadReport()
    fatal: list[RowError] = []
    tax = _extra_taxonomy(source, max_file_bytes, default_taxonomy(), fatal)
    tables = {
        name: _read(source, name, max_file_bytes, name in ("communities.csv", "needs.csv",
                                                           "actors.csv"), fatal,
                    allow_empty=allow_empty)
        for name in ("communities.csv", "needs.csv", "actors.csv", "feedback.csv")
    }
    if assignments is not None:
        a_path = Path(assignments)
        tables["assignments.csv"] = _read(FolderSource(a_path.parent), a_path.name,
                                          max_file_bytes, True, fatal, kind="assignments.csv")
    else:
        tables["assignments.csv"] = _read(source, "assignments.csv", max_file_bytes, False,
                                          fatal)
    if fatal:
        raise DataError(fatal)
    row_errs: list[RowError] = []
    ct, nt, at = tables["communities.csv"], tables["needs.csv"], tables["actors.csv"]
    if ct is None or nt is None or at is None:  # unreachable: _read reported them as fatal
        raise DataError(fatal)
    communities = _parse_communities(ct, tax, row_errs)
    needs = _parse_needs(nt, tax, communities, row_errs)
    actors = _parse_actors(at, tax, communities, row_errs, report.warnings)
    from .geo import unresolved_homes

    row_errs.extend(unresolved_homes(actors, communities, at))
    for aid in _actor_ids_in(row_errs, at):
        actors.pop(aid, None)
    feedback = _parse_feedback(tables["feedback.csv"], tax, row_errs, needs, actors) if tables[
        "feedback.csv"] else []
    load = _parse_load(tables["assignments.csv"], needs, actors, row_errs)
    if row_errs and not skip_bad_rows:
        raise DataError(row_errs)
    report.skipped.extend(row_errs)
    used = [t for t in tables.values() if t is not None]
    return Dataset(
        communities=communities,
        needs=needs,
        actors=actors,
        feedback=tuple(feedback),
        load=load,
        digest=_hash(used),
        source=source.label,
    )


def _actor_ids_in(errs: list[RowError], table: Table) -> set[str]:
    lines = {e.line for e in errs if e.file == table.name}
    return {cells.get("actor_id", "") for line, cells in table.rows if line in lines}


def _parse_load(t: Table | None, needs: dict[str, Need], actors: dict[str, Actor],
                errs: list[RowError]) -> dict[str, int]:
    load: dict[str, int] = {}
    if t is None:
        return load
    limits = _limits("assignments", t)
    for line, cells in t.rows:
        too_long = _length_errors(t.name, limits, line, cells)
        if too_long:
            errs.extend(too_long)
            continue
        nid, aid, role = cells.get("need_id", ""), cells.get("actor_id", ""), cells.get("role", "")
        if role not in ROLES:
            errs.append(RowError(t.name, line, "role", f"role 的值“{role}”无效", f"invalid role {role!r}"))
            continue
        need = needs.get(nid)
        if need is None or aid not in actors:
            continue  # an old assignment of a need or actor no longer listed
        if need.status in _ACTIVE_STATUSES:
            load[aid] = load.get(aid, 0) + 1
    return load
