"""Reading the re-match's input files: previous assignments, pins, forbids.

Every problem names the file, line and column, in Chinese and English.
"""

from __future__ import annotations

from pathlib import Path

from .csvio import read_table
from .errors import DataError, RowError
from .records import ROLES, Dataset
from .rematch import AssignmentRow

__all__ = ["read_forbids", "read_pins", "read_previous"]


def _table(path: str | Path, required: tuple[str, ...]) -> tuple[str, list[tuple[int, dict[str, str]]]]:
    p = Path(path)
    if not p.is_file():
        raise DataError([RowError(p.name, 0, "", f"文件不存在：{p}", f"file not found: {p}")])
    table, errs = read_table(p, max_bytes=512 * 1024 * 1024)
    if table is None:
        raise DataError(errs)
    missing = [c for c in required if c not in table.header]
    if missing:
        raise DataError([RowError(p.name, 1, missing[0], f"表头缺少必填列：{', '.join(missing)}",
                                  f"header lacks required column(s): {', '.join(missing)}")])
    return p.name, list(table.rows)


def _check_ids(name: str, rows: list[tuple[int, dict[str, str]]], ds: Dataset,
               role_required: bool) -> list[RowError]:
    errs = []
    for line, c in rows:
        if c.get("need_id", "") not in ds.needs:
            errs.append(RowError(name, line, "need_id", f"需求 {c.get('need_id')} 不在数据集中",
                                 f"need {c.get('need_id')!r} is not in the dataset"))
        if c.get("actor_id", "") not in ds.actors:
            errs.append(RowError(name, line, "actor_id", f"资源 {c.get('actor_id')} 不在数据集中",
                                 f"actor {c.get('actor_id')!r} is not in the dataset"))
        role = c.get("role", "")
        if (role or role_required) and role not in ROLES:
            errs.append(RowError(name, line, "role", f"role 的值“{role}”无效（{'、'.join(ROLES)}）",
                                 f"invalid role {role!r} (one of {', '.join(ROLES)})"))
        elif role and c.get("actor_id") in ds.actors and ds.actors[c["actor_id"]].kind != role:
            errs.append(RowError(name, line, "role", f"资源 {c['actor_id']} 不是 {role}",
                                 f"actor {c['actor_id']!r} is not a {role}"))
    return errs


def read_pins(path: str | Path, ds: Dataset) -> list[tuple[str, str, str]]:
    """Coordinator pins: ``need_id, role, actor_id`` that must be assigned."""
    name, rows = _table(path, ("need_id", "role", "actor_id"))
    errs = _check_ids(name, rows, ds, role_required=True)
    if errs:
        raise DataError(errs)
    return [(c["need_id"], c["role"], c["actor_id"]) for _, c in rows]


def read_forbids(path: str | Path, ds: Dataset) -> list[tuple[str, str, str]]:
    """Pairs never to use: ``need_id, actor_id`` and optionally ``role``."""
    name, rows = _table(path, ("need_id", "actor_id"))
    errs = _check_ids(name, rows, ds, role_required=False)
    if errs:
        raise DataError(errs)
    return [(c["need_id"], c.get("role", ""), c["actor_id"]) for _, c in rows]


def read_previous(path: str | Path, ds: Dataset) -> tuple[list[AssignmentRow], int]:
    """The last run's assignments; rows of needs or actors no longer listed are dropped.

    Returns the rows and how many were dropped. A file where most rows name
    unknown needs or actors is another dataset's, and an error.
    """
    name, rows = _table(path, ("need_id", "role", "actor_id"))
    out, unknown = [], 0
    for line, c in rows:
        if c["role"] not in ROLES:
            raise DataError([RowError(name, line, "role", f"role 的值“{c['role']}”无效",
                                      f"invalid role {c['role']!r}")])
        if c["need_id"] not in ds.needs or c["actor_id"] not in ds.actors:
            unknown += 1
            continue
        try:
            score = float(c.get("score") or 0.0)
        except ValueError as exc:
            raise DataError([RowError(name, line, "score", f"score 应为数字：{c.get('score')}",
                                      f"score must be a number, got {c.get('score')!r}")]) from exc
        out.append(AssignmentRow(c["need_id"], c["role"], c["actor_id"], score,
                                 c.get("run_id", "")))
    if rows and unknown * 2 > len(rows):
        raise DataError([RowError(
            name, 0, "need_id",
            f"{unknown}/{len(rows)} 行引用了本数据集中没有的需求或资源：这似乎是另一个数据集的上次结果",
            f"{unknown} of {len(rows)} rows name needs or actors not in this dataset: "
            "this looks like another dataset's previous run")])
    return out, unknown
