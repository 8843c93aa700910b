"""The rule registry: one place for every hard rule, its texts and its diagnosis."""

from __future__ import annotations

import re

import pytest

from matcher import Matcher, load_dataset
from matcher.kinds import KINDS
from matcher.rules import RULES, UNSERVED_ZH, checked_zh, reason_zh, rules_for, unserved_zh
from tests.conftest import COMMUNITIES

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_rule_has_texts_and_a_known_diagnosis() -> None:
    assert len({r.code for r in RULES}) == len(RULES)
    for r in RULES:
        assert CJK.search(r.zh) and CJK.search(r.checked) and r.en.isascii()
        assert r.unserved in UNSERVED_ZH
        assert any(r.for_kind(k) for k in KINDS)
        assert reason_zh(r.code) == r.zh
    for code, zh in UNSERVED_ZH.items():
        assert unserved_zh(code) == zh and CJK.search(zh)
    assert reason_zh("no_such_code") == "no_such_code" == unserved_zh("no_such_code")


def test_which_rules_apply_to_which_kind() -> None:
    fund = [r.code for r in rules_for("fund")]
    volunteer = [r.code for r in rules_for("volunteer")]
    assert "fund_budget" in fund and "at_capacity" not in fund
    assert "at_capacity" in volunteer and "fund_category" not in volunteer
    assert [r.code for r in rules_for("fund", bounds=False, retrieval=False)] == [
        "inactive", "no_time_overlap", "fund_category", "fund_group"]
    assert checked_zh("fund") == ["角色相符", "资源在用", "服务范围覆盖该社区", "服务时段重合",
                                  "资助类别符合限定", "资助人群符合限定", "余额足以覆盖预算"]


VOLUNTEER = {"actor_id": "V1", "kind": "volunteer", "name": "小李", "text": "周末陪老人聊天",
             "community_id": "C1", "scope": "community", "time_slots": "weekend"}
FUND = {"actor_id": "F1", "kind": "fund", "name": "银龄基金", "text": "资助老年人", "city": "杭州市",
        "scope": "city", "budget_yuan": "1000", "categories": "elderly_care"}


@pytest.mark.parametrize(("need", "actor", "role", "reason"), [
    ({"community_id": "C2"}, VOLUNTEER, "volunteer", "no_actor_in_scope"),
    ({}, {**VOLUNTEER, "active": "false"}, "volunteer", "no_actor_in_scope"),
    ({"time_slots": "weekday_day"}, VOLUNTEER, "volunteer", "no_time_overlap"),
    ({}, {**VOLUNTEER, "capacity": "0"}, "volunteer", "all_at_capacity"),
    ({"category": "legal"}, FUND, "fund", "no_fund_admits"),
    ({"category": "elderly_care", "target_groups": "儿童"},
     {**FUND, "target_groups": "老年人"}, "fund", "no_fund_admits"),
    ({"category": "elderly_care", "budget_yuan": "5000"}, FUND, "fund", "funds_exhausted"),
])
def test_an_unserved_role_gets_the_first_rule_that_leaves_nobody(
        make_dataset, need: dict[str, str], actor: dict[str, str], role: str,  # type: ignore[no-untyped-def]
        reason: str) -> None:
    row = {"need_id": "N1", "community_id": "C1", "text": "老人想有人陪着聊聊天",
           "roles": role, **need}
    m = Matcher().fit(load_dataset(make_dataset(COMMUNITIES, [row], [actor])))
    assert m.suggest("N1")[role] == []
    assert m.unserved_reason("N1", role) == reason


def test_a_suggestion_names_what_was_checked(sample_path) -> None:  # type: ignore[no-untyped-def]
    m = Matcher().fit(sample_path)
    for role, items in m.suggest("N0001", k=1).items():
        assert items, role
        assert items[0].reasons[-1] == "硬性条件已核对：" + "、".join(checked_zh(role))
