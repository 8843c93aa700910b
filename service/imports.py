"""Import the contract's CSV lists into the database, and export them back.

An upload is validated as a whole dataset: files the caller did not send are
taken from the database, so references (a need's community) are checked
against what is already stored. Nothing is written unless every row is good
(or the caller asks to skip bad rows, and is told how many were skipped).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from matcher.csvio import Table, safe_cell, table_from_rows
from matcher.dataset import LoadReport, load_dataset
from matcher.errors import DataError, RowError
from matcher.records import Actor, Need
from matcher.sources import MemorySource
from matcher.textclf import infer_texts

from .auth import Principal
from .convert import join
from .errors import ApiError, row_errors
from .orm import ActorRow, Assignment, Community, Feedback, NeedRow, Station, utcnow
from .privacy import mask_id, mask_name, mask_phone, mask_text, person_name
from .scope import actor_clause

__all__ = ["EXPORTS", "FILES", "ImportResult", "actor_values", "export_csv", "export_rows", "import_files",
           "need_values", "new_need_ids"]

FILES = ("communities.csv", "needs.csv", "actors.csv", "feedback.csv", "assignments.csv")

COMMUNITY_COLUMNS = ("community_id", "name", "street", "district", "city", "kind", "lat", "lon",
                     "population")
NEED_COLUMNS = ("need_id", "community_id", "text", "category", "target_groups", "urgency",
                "beneficiaries", "roles", "volunteers_needed", "budget_yuan", "time_slots",
                "created_at", "status", "lat", "lon", "contact_name", "contact_phone",
                "id_number", "ref")
ACTOR_COLUMNS = ("actor_id", "kind", "name", "text", "community_id", "street", "district", "city",
                 "scope", "capacity", "budget_yuan", "categories", "target_groups",
                 "certification", "time_slots", "lat", "lon", "active", "contact_phone")
ASSIGNMENT_COLUMNS = ("need_id", "role", "actor_id", "score", "run_id", "status", "reason")
EXPORTS = {"communities": COMMUNITY_COLUMNS, "needs": NEED_COLUMNS, "actors": ACTOR_COLUMNS,
           "assignments": ASSIGNMENT_COLUMNS}


@dataclass
class ImportResult:
    """What an import did (or, on a dry run, would do)."""

    added: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}" if v != int(v) or abs(v) < 1e15 else str(v)
    return str(v)


def _write(rows: Iterable[Mapping[str, Any]], columns: tuple[str, ...]) -> str:
    """Contract CSV; a cell a spreadsheet would run as a formula is written as text."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([safe_cell(_fmt(r.get(c))) for c in columns])
    return buf.getvalue()


def _row(obj: Any, columns: tuple[str, ...]) -> dict[str, Any]:
    return {c: getattr(obj, c, "") for c in columns}


def export_rows(s: Session, what: str, p: Principal) -> list[dict[str, Any]]:
    """One list's rows (columns ``EXPORTS[what]``), limited to what ``p`` may see,
    personal data masked.

    Phone and ID numbers are always masked in exports; researchers get names
    masked too.
    """
    if what not in EXPORTS:
        raise ApiError(404, "unknown_export", f"没有名为 {what} 的清单", f"no list named {what!r}")
    cols = EXPORTS[what]
    rows: list[dict[str, Any]] = []
    if what == "communities":
        rows = [_row(c, cols) for c in s.scalars(select(Community).order_by(Community.community_id))
                if p.sees(c.community_id)]
    elif what == "needs":
        for n in s.scalars(select(NeedRow).order_by(NeedRow.need_id)):
            if not p.sees(n.community_id):
                continue
            r = _row(n, cols)
            r["text"] = mask_text(n.text)
            r["contact_phone"] = mask_phone(n.contact_phone)
            r["id_number"] = mask_id(n.id_number) if n.id_number else ""
            r["contact_name"] = (mask_name(n.contact_name) if p.masked
                                 else mask_text(n.contact_name))
            rows.append(r)
    elif what == "actors":
        q_actors = select(ActorRow).order_by(ActorRow.actor_id)
        visible = actor_clause(s, p)
        if visible is not None:
            q_actors = q_actors.where(visible)
        for actor in s.scalars(q_actors):
            r = _row(actor, cols)
            r["contact_phone"] = mask_phone(actor.contact_phone)
            r["text"] = mask_text(actor.text)
            r["name"] = mask_text(person_name(actor.name, actor.kind, masked=p.masked))
            rows.append(r)
    else:
        q = (select(Assignment, NeedRow.community_id)
             .join(NeedRow, NeedRow.need_id == Assignment.need_id)
             .where(Assignment.status != "superseded")
             .order_by(Assignment.need_id, Assignment.role, Assignment.actor_id, Assignment.id))
        for asg, cid in s.execute(q):
            if p.sees(cid):
                r = _row(asg, cols)
                r["run_id"] = asg.run_id or ""
                r["score"] = round(asg.score, 4)
                r["reason"] = mask_text(asg.reason)
                rows.append(r)
    return rows


def export_csv(s: Session, what: str, p: Principal) -> str:
    """One list as contract CSV (UTF-8), as :func:`export_rows` gives it."""
    return _write(export_rows(s, what, p), EXPORTS[what])


def _context_table(s: Session, name: str, p: Principal) -> Table:
    """The stored list an upload is checked against, as rows (no CSV in between).

    A station's upload is checked against its own needs only: a reference to
    another station's need reads exactly like one to a need that does not exist.
    """
    what = name.removesuffix(".csv")
    if what == "needs":  # unmasked: these rows are only read back, never shown
        q = select(NeedRow).order_by(NeedRow.need_id)
        if p.communities is not None:
            q = q.where(NeedRow.community_id.in_(sorted(p.communities)))
        rows = [_row(n, NEED_COLUMNS) for n in s.scalars(q)]
        cols: tuple[str, ...] = NEED_COLUMNS
    else:
        rows, cols = export_rows(s, what, Principal(0, "admin", None, None)), EXPORTS[what]
    return table_from_rows(name, cols, ({c: _fmt(r.get(c)) for c in cols} for r in rows))


def _scope_errors(src: MemorySource, sent: set[str], p: Principal, s: Session) -> list[RowError]:
    """Rows a station may not write: other stations' communities, or communities at all."""
    if p.communities is None:
        return []
    errs: list[RowError] = []
    for name in ("communities.csv", "assignments.csv"):
        if name in sent:
            place = src.places.get(name, name)
            errs.append(RowError(place, 0, "", f"{place} 只能由管理员导入",
                                 f"only an admin may import {place}"))
    station = s.get(Station, p.station_id) if p.station_id else None
    street = station.station_id if station else ""
    for name, id_col in (("needs.csv", "need_id"), ("actors.csv", "actor_id")):
        if name not in sent:
            continue
        table, _ = src.table(name, 1 << 40) or (None, [])
        if table is None:
            continue
        place = table.name  # the file, or the workbook's sheet
        for line, cells in table.rows:
            cid = cells.get("community_id", "")
            if name == "actors.csv" and not cid:
                if cells.get("street", "") != street:
                    errs.append(RowError(place, line, "street", f"资源不在本站（{street}）辖区内",
                                         f"actor outside this station's area ({street})"))
                continue
            if not p.sees(cid):
                errs.append(RowError(place, line, "community_id", f"社区 {cid} 不属于本社工站",
                                     f"community {cid!r} does not belong to this station"))
                continue
            if name == "needs.csv":
                continue  # a station's needs get the service's ids: see _station_need_ids
            old = s.get(ActorRow, cells.get(id_col, ""))
            if old is not None and old.community_id and not p.sees(old.community_id):
                errs.append(RowError(place, line, id_col,
                                     f"编号 {cells.get(id_col)} 已被占用，请换用其他编号",
                                     f"id {cells.get(id_col)!r} is taken; use another id"))
    return errs


def _extras(src: MemorySource, name: str, id_col: str,
            cols: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """Columns the engine ignores but the service keeps (contacts)."""
    table, _ = src.table(name, 1 << 40) or (None, [])
    if table is None:
        return {}
    # a column the file does not have leaves what is stored alone
    present = [c for c in cols if c in table.header]
    return {cells.get(id_col, ""): {c: cells.get(c, "") for c in present}
            for _, cells in table.rows}


def import_files(s: Session, files: Mapping[str, bytes], p: Principal, *,
                 skip_bad_rows: bool = False, dry_run: bool = False,
                 max_file_bytes: int = 20_000_000,
                 places: Mapping[str, str] | None = None) -> ImportResult:
    """Validate the uploaded contract files and upsert them, all or nothing.

    ``places`` names where a file came from when it was a workbook's sheet
    (``{"needs.csv": "book.xlsx[needs]"}``), for the errors.

    Raises :class:`matcher.errors.DataError` with every bad row.
    """
    unknown = sorted(set(files) - set(FILES))
    if unknown:
        raise ApiError(422, "unknown_file", f"不认识的文件：{', '.join(unknown)}（可上传：{', '.join(FILES)}）",
                       f"unknown file(s): {', '.join(unknown)} (expected: {', '.join(FILES)})")
    if not files:
        raise ApiError(422, "no_files", "没有上传任何文件", "no file uploaded")
    # the upload and the stored lists it is checked against, in memory: no temp folder
    context = {n for n in ("communities.csv", "needs.csv", "actors.csv") if n not in files}
    src = MemorySource(files, places=places,
                       tables={n: _context_table(s, n, p) for n in sorted(context)})
    scope_errs = _scope_errors(src, set(files), p, s)
    if scope_errs:
        raise DataError(scope_errs)
    report = LoadReport()
    # a list taken from an empty database is header-only, and that is fine;
    # a header-only file the caller sent is an error the reader reports
    ds = load_dataset(src, skip_bad_rows=skip_bad_rows, max_file_bytes=max_file_bytes,
                      report=report, allow_empty=context)
    need_extra = (_extras(src, "needs.csv", "need_id",
                          ("contact_name", "contact_phone", "id_number", "ref"))
                  if "needs.csv" in files else {})
    actor_extra = (_extras(src, "actors.csv", "actor_id", ("contact_phone",))
                   if "actors.csv" in files else {})
    assign_rows = ((src.table("assignments.csv", 1 << 40) or (None, []))[0]
                   if "assignments.csv" in files else None)
    # warnings about the upload itself (not about stored lists read as context)
    result = ImportResult(skipped=row_errors(DataError(report.skipped)), dry_run=dry_run,
                          warnings=row_errors(DataError(report.warnings))
                          if "actors.csv" in files else [])
    # Everything slow (the engine's inference for each need) is computed before the
    # first write, so the database's write lock is held only for the short bulk
    # write at the end: other stations' decisions never wait behind an import.
    sent = [n for n in ds.needs.values() if n.need_id in need_extra]
    need_rows = [{**need_values(n, inf), **need_extra[n.need_id]}
                 for n, inf in zip(sent, inferred_many(sent), strict=True)]
    actor_rows = [{**actor_values(a), **actor_extra[a.actor_id]} for a in ds.actors.values()
                  if a.actor_id in actor_extra]
    if p.communities is not None:
        _station_need_ids(s, need_rows, p)
    if "communities.csv" in files:
        _upsert_communities(s, ds.communities.values(), result)
    _bulk_upsert(s, NeedRow, "need_id", need_rows, "needs", result)
    _bulk_upsert(s, ActorRow, "actor_id", actor_rows, "actors", result)
    if "feedback.csv" in files:
        for f in ds.feedback:
            s.add(Feedback(need_id=f.need_id, actor_id=f.actor_id, outcome=f.outcome,
                           satisfaction=f.satisfaction, at=_when(f.at)))
        result.added["feedback"] = len(ds.feedback)
    if assign_rows:
        n = 0
        for _, cells in assign_rows.rows:
            need = ds.needs.get(cells.get("need_id", ""))
            if need is None or cells.get("actor_id", "") not in ds.actors:
                continue
            status = {"assigned": "accepted", "in_progress": "in_service",
                      "done": "completed"}.get(need.status, "suggested")
            s.add(Assignment(need_id=need.need_id, role=cells["role"], actor_id=cells["actor_id"],
                             score=float(cells.get("score") or 0.0), status=status,
                             source="import", decided_by=p.who))
            n += 1
        result.added["assignments"] = n
    s.flush()
    if dry_run:
        s.rollback()
    return result


def _upsert(s: Session, model: Any, key: str, values: dict[str, Any], what: str,
            result: ImportResult) -> None:
    old = s.get(model, values[key])
    if old is None:
        s.add(model(**values))
        result.added[what] = result.added.get(what, 0) + 1
    else:
        for k, v in values.items():
            setattr(old, k, v)
        result.updated[what] = result.updated.get(what, 0) + 1


def _upsert_communities(s: Session, items: Iterable[Any], result: ImportResult) -> None:
    for c in items:
        if s.get(Station, c.street) is None:
            s.add(Station(station_id=c.street, name=f"{c.street}社工站"))
            s.flush()
        _upsert(s, Community, "community_id", dict(
            community_id=c.community_id, name=c.name, street=c.street, district=c.district,
            city=c.city, kind=c.kind, lat=c.lat, lon=c.lon, population=c.population,
            station_id=c.street), "communities", result)


def inferred_many(needs: list[Need]) -> list[dict[str, Any]]:
    """The engine's category, groups and urgency for needs, stored for lists and filters.

    The lexicon blended with the shipped text classifier, one batch (as the engine
    infers for a need when no labelled dataset trains its own classifier). A blank
    urgency cell takes the inferred level, marked as such.
    """
    infs = infer_texts([n.text for n in needs], given_categories=[n.category for n in needs],
                       given_groups=[n.target_groups for n in needs],
                       given_urgency=[n.urgency if n.urgency_given else None for n in needs])
    return [dict(inferred_category=inf.category, inferred_confidence=inf.category_confidence,
                 inferred_groups=join(inf.groups), urgency=inf.urgency,
                 urgency_given=inf.urgency_given,
                 inferred_urgency_confidence=0.0 if inf.urgency_given else inf.urgency_confidence)
            for inf in infs]


def need_values(n: Need, inferred: dict[str, Any] | None = None) -> dict[str, Any]:
    return dict(**(inferred or inferred_many([n])[0]), need_id=n.need_id, community_id=n.community_id, text=n.text,
                category=n.category, target_groups=join(n.target_groups),
                beneficiaries=n.beneficiaries, roles=join(n.roles),
                volunteers_needed=n.volunteers_needed, budget_yuan=n.budget_yuan,
                time_slots=join(n.time_slots), created_at=n.created_at, status=n.status,
                lat=n.lat, lon=n.lon, updated_at=utcnow())


def actor_values(a: Actor) -> dict[str, Any]:
    return dict(actor_id=a.actor_id, kind=a.kind, name=a.name, text=a.text,
                community_id=a.community_id, street=a.street, district=a.district, city=a.city,
                scope=a.scope, capacity=a.capacity, budget_yuan=a.budget_yuan,
                categories=join(a.categories), target_groups=join(a.target_groups),
                certification=a.certification, time_slots=join(a.time_slots), lat=a.lat,
                lon=a.lon, active=a.active, updated_at=utcnow())


def new_need_ids(s: Session, n: int) -> list[str]:
    """``n`` need ids no stored need has: ``W`` + date + a running number."""
    start = (s.scalar(select(func.count()).select_from(NeedRow)) or 0) + 1
    out: list[str] = []
    day = f"W{utcnow():%y%m%d}"
    while len(out) < n:
        batch = [f"{day}{k:05d}" for k in range(start, start + (n - len(out)) + 16)]
        start += len(batch)
        taken = set(s.scalars(select(NeedRow.need_id).where(NeedRow.need_id.in_(batch))))
        out += [nid for nid in batch if nid not in taken][:n - len(out)]
    return out


def _station_need_ids(s: Session, rows: list[dict[str, Any]], p: Principal) -> None:
    """Give a station's imported needs their ids, never revealing another station's.

    A row's id is the id of one of the station's own needs (an export read back),
    or the station's own number (``ref``) of one it imported before: that need is
    updated. Any other id — free, or held by another station, alike — becomes the
    ``ref`` of a new need with an id from the service.
    """
    if not rows:
        return
    mine = NeedRow.community_id.in_(sorted(p.communities or ()))
    ids = [r["need_id"] for r in rows]
    own: set[str] = set()
    by_ref: dict[str, str] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        own.update(s.scalars(select(NeedRow.need_id).where(NeedRow.need_id.in_(chunk), mine)))
        by_ref.update({ref: nid for ref, nid in s.execute(
            select(NeedRow.ref, NeedRow.need_id).where(NeedRow.ref.in_(chunk), mine))})
    fresh = iter(new_need_ids(s, sum(1 for x in ids if x not in own and x not in by_ref)))
    for r in rows:
        x = r["need_id"]
        if x in own:
            continue
        r["need_id"], r["ref"] = (by_ref[x] if x in by_ref else next(fresh)), x


def _bulk_upsert(s: Session, model: Any, key: str, rows: list[dict[str, Any]], what: str,
                 result: ImportResult) -> None:
    """Insert new rows and update stored ones, a few statements per thousand rows."""
    if not rows:
        return
    col = getattr(model, key)
    ids = [r[key] for r in rows]
    stored: set[str] = set()
    for i in range(0, len(ids), 500):
        stored.update(s.scalars(select(col).where(col.in_(ids[i:i + 500]))))
    new = [r for r in rows if r[key] not in stored]
    old = [r for r in rows if r[key] in stored]
    if new:
        s.execute(insert(model), new)
        result.added[what] = len(new)
    if old:
        s.execute(update(model), old)
        result.updated[what] = len(old)


def _when(at: str) -> datetime:
    """A feedback row's ``at`` (ISO 8601 date or datetime; naive means UTC), or now
    when the cell is blank or not a date: an outcome is never lost for its date."""
    try:
        d = datetime.fromisoformat(at.strip().replace("Z", "+00:00"))
    except ValueError:
        return utcnow()
    return d if d.tzinfo else d.replace(tzinfo=UTC)
