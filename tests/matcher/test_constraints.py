from matcher.constraints import ActorContext, NeedContext, in_scope, slot_mask, violations
from matcher.records import Actor, Need

PATH = ("杭州市", "西湖区", "翠苑街道", "C1")


def ctx(**need: object) -> NeedContext:
    n = Need("N1", "C1", "送饭", **need)  # type: ignore[arg-type]
    return NeedContext(n, PATH, "elderly_care", ("老年人",))


def test_scope_levels() -> None:
    assert in_scope(PATH, ("杭州市", "西湖区", "翠苑街道", "C1"), "community")
    assert not in_scope(PATH, ("杭州市", "西湖区", "翠苑街道", "C2"), "community")
    assert in_scope(PATH, ("杭州市", "西湖区", "文新街道"), "district")
    assert not in_scope(PATH, ("杭州市", "西湖区", "文新街道"), "street")
    assert not in_scope(PATH, ("杭州市", "西湖区"), "street")  # home coarser than scope
    assert in_scope(PATH, ("*",), "city") and not in_scope(PATH, ("*",), "district")
    assert not in_scope(PATH, None, "city")


def test_time_slots_overlap_only_when_both_given() -> None:
    a = Actor("V1", "volunteer", "小李", "送餐", scope="street", capacity=1,
              time_slots=("weekend",))
    home = ("杭州市", "西湖区", "翠苑街道", "C1")
    assert violations(ctx(time_slots=("weekday_day",)), ActorContext(a, home), "volunteer") == [
        "no_time_overlap"]
    assert violations(ctx(), ActorContext(a, home), "volunteer") == []
    assert slot_mask(("weekend", "weekend")) == 4


def test_capacity_inactive_and_kind() -> None:
    a = Actor("S1", "social_worker", "李敏", "个案", scope="street", capacity=2, active=False)
    home = ("杭州市", "西湖区", "翠苑街道")
    assert violations(ctx(), ActorContext(a, home, load=2), "social_worker") == [
        "inactive", "at_capacity"]
    assert "wrong_kind" in violations(ctx(), ActorContext(a, home), "volunteer")


def test_fund_restrictions_and_budget() -> None:
    f = Actor("F1", "fund", "春蕾基金", "助学", scope="city", budget_yuan=1000.0)
    need = ctx(budget_yuan=2000.0)
    assert violations(need, ActorContext(f, ("杭州市",), fund_categories=("child_welfare",),
                                         fund_groups=("儿童",)), "fund") == [
        "fund_category", "fund_group", "fund_budget"]
    open_fund = ActorContext(f, ("杭州市",), fund_groups=("全体居民",))
    assert violations(ctx(budget_yuan=500.0), open_fund, "fund") == []
    unknown_groups = NeedContext(need.need, PATH, "elderly_care", ())
    assert violations(unknown_groups, ActorContext(f, ("杭州市",), fund_groups=("老年人",)),
                      "fund") == ["fund_group", "fund_budget"]
