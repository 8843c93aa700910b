"""A fund's restrictions come from its data, never from its text.

A fund's ``categories`` and ``target_groups`` cells are its restrictions; a
blank cell means unrestricted. When the fund's own text implies a
restriction its cells do not state (仅限, 专项, 定向, 只资助 …), the dataset
reader, the service's import and its resources page show a *warning* that
names the fund, the phrase and the cell to fill — never an error, and the
engine never restricts the fund on its own.

Examples
--------
>>> from matcher.records import Actor
>>> w = implied_restriction(Actor("F9", "fund", "银龄基金", "本基金仅限资助辖区高龄老人助餐",
...                               budget_yuan=1000.0))
>>> w.phrase, w.cells
('仅限资助辖区高龄老人助餐', ('categories', 'target_groups'))
>>> implied_restriction(Actor("F8", "fund", "社区基金", "资助领域不限，欢迎申请", budget_yuan=1.0))
>>> implied_restriction(Actor("F7", "fund", "助学金", "专项资助困境儿童", budget_yuan=1.0,
...                           categories=("child_welfare",), target_groups=("儿童",)))
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .kinds import restricted
from .records import TARGET_GROUPS, Actor

__all__ = ["ImpliedRestriction", "implied_restriction"]

#: words that announce a restriction of what or whom a fund pays for
_CUES = ("仅限", "只限", "限于", "仅用于", "只用于", "专用于", "专门用于", "专门资助", "仅资助",
         "只资助", "专项", "定向", "限定", "僅限", "只資助", "專項", "專門", "定向資助")
#: words that say the opposite
_OPEN = ("不限", "不设限", "均可申请", "各类需求", "不限定", "領域不限")
_CUE = re.compile("|".join(map(re.escape, sorted(_CUES, key=len, reverse=True))))
_END = re.compile(r"[，,。；;！!？?\n]")
#: words that name who is served, beside the vocabulary itself
_GROUP_WORDS = (*TARGET_GROUPS, "老人", "长者", "孩子", "学生", "残障", "低保", "困难家庭",
                "特困", "外来务工", "退伍", "女性", "孕产妇", "單親", "兒童", "長者")


@dataclass(frozen=True)
class ImpliedRestriction:
    """A fund whose text implies a restriction its blank cells do not state."""

    actor_id: str
    name: str
    phrase: str
    #: the blank cells the phrase seems to fill (categories, target_groups)
    cells: tuple[str, ...]

    @property
    def zh(self) -> str:
        cells = "、".join(self.cells)
        return (f"资金“{self.name}”（{self.actor_id}）的说明写有“{self.phrase}”，但 {cells} 列为空，"
                f"按规则视为不限定。如确有限定，请在 {cells} 列填写；本提示不影响导入")

    @property
    def en(self) -> str:
        cells = " and ".join(self.cells)
        return (f"fund {self.actor_id} ({self.name}) says {self.phrase!r} but its {cells} "
                f"cell is blank, so it is treated as unrestricted; fill {cells} if it is "
                "restricted (a warning: the import goes ahead)")


def implied_restriction(actor: Actor) -> ImpliedRestriction | None:
    """The one warning for a fund whose text implies an unstated restriction, or None."""
    if not restricted(actor.kind) or (actor.categories and actor.target_groups):
        return None
    text = actor.text
    m = _CUE.search(text)
    if m is None or any(w in text for w in _OPEN):
        return None
    end = _END.search(text, m.start())
    phrase = text[m.start():end.start() if end else len(text)][:30]
    rest = phrase[len(m.group(0)):]
    names_group = any(w in rest for w in _GROUP_WORDS)
    cells: list[str] = []
    if not actor.categories:
        cells.append("categories")
    if names_group and not actor.target_groups:
        cells.append("target_groups")
    if not cells:
        return None
    return ImpliedRestriction(actor.actor_id, actor.name, phrase, tuple(cells))
