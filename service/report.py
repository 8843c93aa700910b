"""The linkage report (联动报告) a station and its street read each month.

Needs by category served vs unserved, share served per role, time to match,
funds used vs available, actors' load (冷热不均 as a Gini coefficient) and
satisfaction — per community and for the whole scope.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.kinds import KINDS, budgeted
from matcher.records import Actor
from matcher.report import gini
from matcher.taxonomy import default_taxonomy

from .auth import Principal
from .convert import split
from .orm import HOLDING, ActorRow, Assignment, Community, Feedback, NeedRow
from .privacy import person_name
from .scope import actor_clause

__all__ = ["linkage_report"]

_DONE = (*HOLDING, "completed")


def _parse_day(s: str) -> datetime | None:
    try:
        d = datetime.fromisoformat(s)
    except ValueError:
        return None
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def linkage_report(s: Session, p: Principal, *, street: str | None = None,
                   community_id: str | None = None) -> dict[str, Any]:
    tax = default_taxonomy()
    comms = {c.community_id: c for c in s.scalars(select(Community))
             if p.sees(c.community_id) and (not street or c.street == street)
             and (not community_id or c.community_id == community_id)}
    needs = [n for n in s.scalars(select(NeedRow).where(
        NeedRow.community_id.in_(sorted(comms)))) if n.status != "cancelled"]
    ids = [n.need_id for n in needs]
    rows = s.execute(select(Assignment.need_id, Assignment.role, Assignment.actor_id,
                            Assignment.status, Assignment.source, Assignment.updated_at)
                     .where(Assignment.need_id.in_(ids), Assignment.status.in_(_DONE))).all()
    served: dict[str, set[str]] = defaultdict(set)
    first_match: dict[str, datetime] = {}
    for nid, role, _aid, _st, src, at in rows:
        served[nid].add(role)
        if src == "import":  # decided before the list came here: when is not known
            continue
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        first_match[nid] = min(first_match.get(nid, at), at)
    by_cat: dict[str, Counter[str]] = defaultdict(Counter)
    per_comm: dict[str, Counter[str]] = defaultdict(Counter)
    role_want: Counter[str] = Counter()
    role_got: Counter[str] = Counter()
    hours: list[float] = []
    for n in needs:
        cat = n.category or n.inferred_category or "unknown"
        fully = n.status in ("assigned", "in_progress", "done")
        by_cat[cat]["served" if fully else "unserved"] += 1
        c = per_comm[n.community_id]
        c["needs"] += 1
        c["open"] += n.status == "open"
        c["urgent_open"] += n.status == "open" and n.urgency >= 4
        for role in split(n.roles):
            role_want[role] += 1
            role_got[role] += role in served[n.need_id]
            c[f"want_{role}"] += 1
            c[f"got_{role}"] += role in served[n.need_id]
        created = _parse_day(n.created_at)
        if created and n.need_id in first_match:
            hours.append(max((first_match[n.need_id] - created).total_seconds() / 3600, 0.0))
    load: Counter[str] = Counter(aid for _, _, aid, st, _, _ in rows if st in HOLDING)
    q_actors = select(ActorRow).where(ActorRow.active.is_(True))
    visible = actor_clause(s, p)
    if visible is not None:
        q_actors = q_actors.where(visible)
    actors = s.scalars(q_actors).all()
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in actors:
        if budgeted(a.kind):
            continue
        cap = Actor(a.actor_id, a.kind, a.name, a.text, capacity=a.capacity).capacity
        by_kind[a.kind].append({"actor_id": a.actor_id,
                                "name": person_name(a.name, a.kind, masked=p.masked),
                                "load": load[a.actor_id],
                                "capacity": cap})
    spent: defaultdict[str, float] = defaultdict(float)
    budget_of = {n.need_id: n.budget_yuan for n in needs}
    for nid, role, aid, _st, src, _ in rows:
        if budgeted(role) and src != "import":
            spent[aid] += budget_of.get(nid, 0.0)
    funds = [{"actor_id": a.actor_id, "name": a.name, "used_yuan": round(spent[a.actor_id], 2),
              "available_yuan": round(max(a.budget_yuan - spent[a.actor_id], 0.0), 2)}
             for a in actors if budgeted(a.kind)]
    sats = [f.satisfaction for f in s.scalars(select(Feedback).where(
        Feedback.need_id.in_(ids))) if f.satisfaction]
    return {
        "scope": {"street": street, "community_id": community_id, "communities": len(comms)},
        "needs": len(needs),
        "by_category": [{"category": k, "category_zh": tax.zh(k) if k != "unknown" else "未识别",
                         "served": v["served"], "unserved": v["unserved"]}
                        for k, v in sorted(by_cat.items(), key=lambda kv: -sum(kv[1].values()))],
        "share_served_by_role": {r: round(role_got[r] / role_want[r], 3) if role_want[r] else None
                                 for r in KINDS},
        "by_community": [
            {"community_id": cid, "name": comms[cid].name, "street": comms[cid].street,
             "needs": c["needs"], "open": c["open"], "urgent_open": c["urgent_open"],
             "share_served": {r: round(c[f"got_{r}"] / c[f"want_{r}"], 3)
                              for r in KINDS
                              if c[f"want_{r}"]}}
            for cid, c in sorted(per_comm.items())],
        "time_to_match_hours": {"median": round(statistics.median(hours), 1) if hours else None,
                                "matched": len(hours)},
        "funds": funds,
        "actor_load": {k: {"gini": round(gini([x["load"] / max(x["capacity"], 1) for x in v]), 3),
                           "idle": sum(1 for x in v if x["load"] == 0),
                           "full": sum(1 for x in v if x["load"] >= x["capacity"]),
                           "actors": sorted(v, key=lambda x: (-x["load"], x["actor_id"]))}
                       for k, v in sorted(by_kind.items())},
        "volunteer_load": by_kind.get("volunteer", []),
        "satisfaction": {"mean": round(statistics.mean(sats), 2) if sats else None,
                         "responses": len(sats)},
    }
