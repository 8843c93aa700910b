from collections.abc import Callable
from pathlib import Path

from matcher import Matcher, load_dataset
from matcher.dataset import LoadReport
from matcher.explain import format_yuan
from tests.conftest import COMMUNITIES


def test_reasons_name_concrete_facts(fitted: Matcher) -> None:
    fund = fitted.suggest("N0004", k=3)["fund"]
    top = fund[0]
    assert top.actor_id == "F003"
    text = "；".join(top.reasons)
    assert "资金余额 ¥20,000，可覆盖预算 ¥800" in text
    assert "资助范围已核对" in text and "残疾人" in text
    sw = fitted.suggest("N0003", k=1)["social_worker"][0]
    assert any(r.startswith("持证：") for r in sw.reasons)
    assert any("剩余容量" in r for r in sw.reasons)


def test_format_yuan() -> None:
    assert format_yuan(3000) == "¥3,000" and format_yuan(0.5) == "¥0.50"


def test_fund_restrictions_come_from_its_cells_never_its_text(
        make_dataset: Callable[..., Path]) -> None:
    """Blank cells mean unrestricted (the contract): a fund's text restricts nothing.

    Its text still ranks it (the elderly-meal fund first) and the text-implied
    restriction is one warning, not a silent rule.
    """
    needs = [{"need_id": "N1", "community_id": "C1", "text": "我爸85岁独居，做不了饭，想要助餐",
              "budget_yuan": "500", "roles": "fund"}]
    actors = [
        {"actor_id": "F1", "kind": "fund", "name": "春蕾基金", "text": "专项资助困境儿童助学",
         "city": "杭州市", "budget_yuan": "9000"},
        {"actor_id": "F2", "kind": "fund", "name": "银龄基金", "text": "资助老年人助餐",
         "city": "杭州市", "budget_yuan": "9000"},
        {"actor_id": "F3", "kind": "fund", "name": "社区微基金", "text": "资助领域不限",
         "city": "杭州市", "budget_yuan": "9000"},
        {"actor_id": "F4", "kind": "fund", "name": "助学金", "text": "资助困境儿童助学",
         "city": "杭州市", "budget_yuan": "9000", "categories": "child_welfare"},
    ]
    report = LoadReport()
    ds = load_dataset(make_dataset(COMMUNITIES, needs, actors), report=report)
    got = [s.actor_id for s in Matcher().fit(ds).suggest("N1", k=10)["fund"]]
    assert got[0] == "F2" and set(got) == {"F1", "F2", "F3"}  # F4 is restricted by its cell
    assert [(w.line, w.column) for w in report.warnings] == [(2, "categories")]
    assert "专项资助困境儿童助学" in report.warnings[0].zh and "F1" in report.warnings[0].en


def test_rejected_pair_is_demoted_and_says_so(sample_copy: Path) -> None:
    with (sample_copy / "feedback.csv").open("a", encoding="utf-8") as fh:
        fh.write("N0003,S004,rejected,,2026-10-30\n")
    m = Matcher().fit(sample_copy)
    sw = m.suggest("N0003", k=5)["social_worker"]
    demoted = next(s for s in sw if s.actor_id == "S004")
    assert any("此前曾被拒绝" in r for r in demoted.reasons)


def test_urgency_weighs_proximity_more(fitted: Matcher) -> None:
    from matcher.scoring import COMPONENTS, combine

    comps = {c: __import__("numpy").zeros(2) for c in COMPONENTS}
    comps["proximity"] = __import__("numpy").array([1.0, 0.0])
    comps["text"] = __import__("numpy").array([0.0, 1.0])
    calm = combine(comps, fitted.scoring_, urgency=1)
    urgent = combine(comps, fitted.scoring_, urgency=4)
    assert urgent[0] - urgent[1] > calm[0] - calm[1]
