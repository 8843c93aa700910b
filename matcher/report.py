"""The re-match summary: what was filled, who was left out and why, what changed.

Everything here is plain JSON-able data (``summary.json``) plus a Chinese
text rendering for the terminal.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import numpy as np

from .kinds import budgeted
from .protocols import FittedEngine
from .records import KIND_ZH, ROLES
from .rules import unserved_zh

__all__ = ["gini", "render_summary", "summarise"]

def gini(values: list[float]) -> float:
    """Gini coefficient of non-negative values (0 equal … 1 all on one).

    Examples
    --------
    >>> gini([1, 1, 1, 1]), gini([0, 0, 0, 4])
    (0.0, 0.75)
    """
    x = np.sort(np.asarray(values, dtype=float))
    if len(x) == 0 or x.sum() == 0:
        return 0.0
    n = len(x)
    return round(float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * x.sum())), 4)


def _diff(previous: list[Any], rows: list[Any], open_needs: set[str]) -> dict[str, int]:
    def by_slot(items: list[Any]) -> dict[tuple[str, str], set[str]]:
        out: dict[tuple[str, str], set[str]] = defaultdict(set)
        for r in items:
            if r.need_id in open_needs:
                out[(r.need_id, r.role)].add(r.actor_id)
        return out

    old, new = by_slot(previous), by_slot(rows)
    d = {"kept": 0, "changed": 0, "added": 0, "dropped": 0}
    for key in set(old) | set(new):
        a, b = old.get(key, set()), new.get(key, set())
        d["kept"] += len(a & b)
        if a and b and a != b:
            d["changed"] += len(b - a)
        elif b and not a:
            d["added"] += len(b)
        elif a and not b:
            d["dropped"] += len(a)
    return d


def summarise(m: FittedEngine, slots: list[tuple[str, str, int]], rows: list[Any],
              unassigned: list[dict[str, Any]], previous: list[Any],
              prio: dict[str, tuple[int, str]], *, objective: int, fund_gap: float,
              fund_status: str, components: int,
              infeasible_pins: list[dict[str, Any]]) -> dict[str, Any]:
    """The machine-readable summary of a run."""
    ds = m.dataset_
    t = m.table_
    got: Counter[tuple[str, str]] = Counter((r.need_id, r.role) for r in rows)
    per_role = {role: {"wanted": 0, "filled": 0} for role in ROLES}
    fully: dict[str, bool] = {}
    for nid, role, count in slots:
        per_role[role]["wanted"] += count
        per_role[role]["filled"] += min(count, got[(nid, role)])
        fully[nid] = fully.get(nid, True) and got[(nid, role)] >= count
    urgent = [n for n in fully if m.inference_[n].urgency == 4]
    vulnerable = [n for n in fully if prio.get(n, (0, ""))[1]]
    shortage: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for u in unassigned:
        cat = m.inference_[u["need_id"]].category or "unknown"
        shortage[f"{cat}|{ds.needs[u['need_id']].community_id}"] += int(u.get("missing", 1))
        reasons[u["reason"]] += 1
    # rows of open needs are new load; kept rows (assigned / in service) are in t.load
    load_now: Counter[str] = Counter(r.actor_id for r in rows
                                     if ds.needs[r.need_id].status == "open")
    load: dict[str, Any] = {}
    for k, role in enumerate(ROLES):
        ids = [a for a, r in t.position.items() if t.kind[r] == k and t.active[r]]
        if budgeted(role):
            spent: defaultdict[str, float] = defaultdict(float)
            for r in rows:
                if r.role == role and r.need_id in ds.needs and ds.needs[r.need_id].status == "open":
                    spent[r.actor_id] += ds.needs[r.need_id].budget_yuan
            total = float(sum(t.budget[t.position[a]] for a in ids))
            load[role] = {"actors": len(ids), "budget_yuan": round(total, 2),
                          "allocated_yuan": round(sum(spent.values()), 2),
                          "funds_used": len(spent)}
            continue
        util = [(int(t.load[t.position[a]]) + load_now[a])
                / max(1, int(t.capacity[t.position[a]])) for a in ids]
        hist = Counter("idle" if u == 0 else "full" if u >= 1 else "partly" for u in util)
        load[role] = {"actors": len(ids), "idle": hist["idle"], "partly": hist["partly"],
                      "full": hist["full"], "gini": gini(util),
                      "mean_utilisation": round(float(np.mean(util)), 4) if util else 0.0}
    open_needs = {n for n, x in ds.needs.items() if x.status == "open"}
    # volunteers assigned to an open need: does each offer the need's category
    # (given, or read from its own words)?
    vol = [r for r in rows if r.role == "volunteer" and r.need_id in open_needs]
    matched = 0
    for r in vol:
        cat = m.inference_[r.need_id].category
        j = m.categories_.index(cat) if cat in m.categories_ else -1
        matched += j >= 0 and bool(t.served_categories[t.position[r.actor_id], j])
    return {
        "needs_open": len(fully),
        "slots": per_role,
        "needs_fully_served": sum(fully.values()),
        "urgent_needs": {"total": len(urgent), "fully_served": sum(fully[n] for n in urgent)},
        "vulnerable_needs": {"total": len(vulnerable),
                             "fully_served": sum(fully[n] for n in vulnerable)},
        "unassigned_by_reason": dict(sorted(reasons.items())),
        "shortage_by_category_community": dict(sorted(shortage.items(),
                                                      key=lambda kv: (-kv[1], kv[0]))),
        "actor_load": load,
        "volunteer_category_match": {"assigned": len(vol), "offering_the_category": matched,
                                     "share": round(matched / len(vol), 4) if vol else None},
        "diff": _diff(previous, rows, open_needs) if previous else None,
        "objective": int(objective),
        "fund_allocation": {"status": fund_status, "gap": round(fund_gap, 6)},
        "components": components,
        "infeasible_pins": infeasible_pins,
    }


def render_summary(s: dict[str, Any], taxonomy: Any) -> str:
    """The summary as Chinese text for the terminal."""
    lines = [f"待匹配需求 {s['needs_open']} 条，完全满足 {s['needs_fully_served']} 条"]
    for role, v in s["slots"].items():
        if v["wanted"]:
            lines.append(f"  {KIND_ZH[role]}：需要 {v['wanted']}，已安排 {v['filled']}")
    u, v = s["urgent_needs"], s["vulnerable_needs"]
    lines.append(f"紧急需求（急难愁盼）{u['total']} 条，完全满足 {u['fully_served']} 条；"
                 f"困难/脆弱群体需求 {v['total']} 条，完全满足 {v['fully_served']} 条")
    if s["unassigned_by_reason"]:
        lines.append("未能安排的原因：")
        lines += [f"  {unserved_zh(k)}：{n}" for k, n in s["unassigned_by_reason"].items()]
    if s["shortage_by_category_community"]:
        top = list(s["shortage_by_category_community"].items())[:5]
        lines.append("缺口最大的（类别｜社区）：" + "；".join(
            f"{taxonomy.zh(k.split('|')[0])}｜{k.split('|')[1]} 缺 {n}" for k, n in top))
    for role, d in s["actor_load"].items():
        if budgeted(role):
            lines.append(f"  资金：总余额 ¥{d['budget_yuan']:,.0f}，本次安排 ¥{d['allocated_yuan']:,.0f}"
                         f"（{d['funds_used']} 个资金）")
        else:
            lines.append(f"  {KIND_ZH[role]}负荷：空闲 {d['idle']}，部分 {d['partly']}，满员 {d['full']}，"
                         f"基尼系数 {d['gini']}")
    vm = s.get("volunteer_category_match") or {}
    if vm.get("assigned"):
        lines.append(f"  安排的志愿者中提供该需求类别服务的：{vm['offering_the_category']}/"
                     f"{vm['assigned']}（{vm['share']:.0%}）")
    if s["diff"]:
        d = s["diff"]
        lines.append(f"与上次相比：保持 {d['kept']}，更换 {d['changed']}，新增 {d['added']}，取消 {d['dropped']}")
    if s["infeasible_pins"]:
        lines.append(f"注意：{len(s['infeasible_pins'])} 条指定安排违反硬性条件，未执行（见 summary.json）")
    fa = s["fund_allocation"]
    lines.append(f"资金分配：{'最优' if fa['status'] == 'OPTIMAL' else '可行解'}，最优性差距 {fa['gap']:.2%}")
    return "\n".join(lines)
