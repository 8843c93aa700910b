"""Reasons a station worker can read, for one suggested actor.

Each reason is one short Chinese sentence naming a concrete fact: which
service words matched, which category and group fit, how near, how much
capacity or money is left, what certification, which restrictions were
checked.
"""

from __future__ import annotations

from .constraints import ALL_RESIDENTS
from .index import EngineIndex
from .infer import Inference
from .kinds import budgeted
from .records import TARGET_GROUPS, TIME_SLOT_ZH, Actor, Need
from .rules import checked_zh
from .taxonomy import Taxonomy
from .text import CONCEPT_PREFIX

__all__ = ["explain", "format_yuan"]


def format_yuan(x: float) -> str:
    """Money the way a station writes it.

    Examples
    --------
    >>> format_yuan(50000)
    '¥50,000'
    >>> format_yuan(1234.5)
    '¥1,234.50'
    """
    return f"¥{x:,.0f}" if float(x).is_integer() else f"¥{x:,.2f}"


def _concepts(tokens: list[str]) -> list[str]:
    return [t[len(CONCEPT_PREFIX):] for t in tokens if t.startswith(CONCEPT_PREFIX)]


def explain(ix: EngineIndex, actor: Actor, need: Need, inf: Inference, tokens: list[str],
            row: int, role: str, breakdown: dict[str, float], *, taxonomy: Taxonomy,
            rejected: bool = False) -> list[str]:
    """Chinese reasons for suggesting ``actor`` (table row ``row``) to ``need`` in
    ``role``; ``rejected``: staff rejected this pair before."""
    t = ix.table
    path = ix.path(need.community_id)
    reasons: list[str] = []
    a_tokens = ix.actor_tokens[row]
    a_words = set(a_tokens)
    a_concepts = set(_concepts(a_tokens))
    shared = [c for c in _concepts(tokens) if c in a_concepts]
    if shared:
        reasons.append(f"服务内容匹配：{'、'.join(shared[:4])}")
    words = [w for w in dict.fromkeys(tokens) if not w.startswith(CONCEPT_PREFIX)
             and len(w) >= 2 and w in a_words]
    if words:
        reasons.append(f"描述中的相同词语：{'、'.join(words[:4])}")
    tax = taxonomy
    if inf.category:
        how = "" if need.category else f"（系统推断，置信度 {inf.category_confidence:.2f}）"
        if breakdown["category"] >= 0.5:
            reasons.append(f"服务类别相符：{tax.zh(inf.category)}{how}")
        elif not t.served_categories[row].any():
            reasons.append(f"需求类别：{tax.zh(inf.category)}{how}；该资源未写明服务类别")
    served = [g for g, on in zip(TARGET_GROUPS, t.served_groups[row], strict=True) if on]
    common = [g for g in inf.groups if g in served]
    if common:
        reasons.append(f"服务对象相符：{'、'.join(common)}")
    elif ALL_RESIDENTS in served:
        reasons.append("面向全体居民")
    reasons.append(_where(ix, need, row, path))
    if budgeted(role):
        reasons.append(f"资金余额 {format_yuan(actor.budget_yuan)}，"
                       f"可覆盖预算 {format_yuan(need.budget_yuan)}")
        fc = [tax.zh(c) for c, on in zip(ix.categories, t.fund_categories[row], strict=True) if on]
        fg = [g for g, on in zip(TARGET_GROUPS, t.fund_groups[row], strict=True) if on]
        if fc or fg:
            parts = ([f"类别（{'、'.join(fc)}）"] if fc else []) + (
                [f"对象（{'、'.join(fg)}）"] if fg else [])
            reasons.append(f"资助范围已核对：{'，'.join(parts)}")
        else:
            reasons.append("资金不限资助类别与对象")
    else:
        load = int(t.load[row])
        reasons.append(f"当前承接 {load} 个需求，剩余容量 {actor.capacity - load}/{actor.capacity}")
    if actor.certification:
        label = "持证" if role == "social_worker" else "机构评级"
        reasons.append(f"{label}：{actor.certification}")
    if need.time_slots and actor.time_slots:
        both = [TIME_SLOT_ZH[s] for s in need.time_slots if s in actor.time_slots]
        reasons.append(f"服务时段重合：{'、'.join(both)}")
    if inf.urgency >= 3:
        how = "" if inf.urgency_given else f"（系统从描述推断，置信度 {inf.urgency_confidence:.2f}）"
        reasons.append(f"紧急需求{how}：优先考虑就近、可立即承接的资源")
    if rejected:
        reasons.append("注意：此前曾被拒绝，已降低排序")
    reasons.append("硬性条件已核对：" + "、".join(checked_zh(role)))
    return reasons


def _where(ix: EngineIndex, need: Need, row: int, path: tuple[str, ...]) -> str:
    home = ix.actor_homes[row]
    comm = ix.communities[need.community_id]
    km = ix.distance_km(need, [row])[0]
    if km == km:  # not NaN: both sides have coordinates
        return f"距离约 {km:.1f} 公里"
    if home and len(home) >= 4 and home[3] == path[3]:
        return f"同在{comm.name}"
    if home and len(home) >= 3 and home[:3] == path[:3]:
        return f"同在{comm.street}"
    if home and len(home) >= 2 and home[:2] == path[:2]:
        return f"同在{comm.district}"
    return "服务范围覆盖该社区"
