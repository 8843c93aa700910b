import pytest

from matcher.infer import infer_actor_categories, infer_groups, infer_need
from matcher.lexicon import default_lexicon
from matcher.text import normalize_text

LEX = default_lexicon()


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("我爸82岁一个人住，想找人帮忙送饭", "elderly_care"),
        ("孩子放学没人接", "child_welfare"),
        ("王阿姨的轮椅坏了出不了门", "disability"),
        ("老板拖欠三个月工资不给", "legal"),
        ("楼上半夜吵得睡不着", "mediation"),
        ("最近总是睡不着，心里很压抑", "mental_health"),
        ("垃圾桶边上臭得不行", "environment"),
        ("电瓶车在楼道里充电怕着火", "emergency"),
        ("失业大半年找不到活干", "employment"),
        ("卫生间地滑想装扶手", "renovation"),
        ("下水道堵了", "daily_life"),
        ("家里揭不开锅了", "social_assistance"),
        ("血压老是高", "health"),
        ("想找人一起跳广场舞", "culture_sports"),
        ("不会用智能手机扫码", "education"),
        ("小区停车太乱，大家意见很大", "governance"),
    ],
)
def test_infer_need_category_from_colloquial_text(text: str, category: str) -> None:
    inf = infer_need(normalize_text(text), LEX)
    assert inf.category == category
    assert 0 < inf.category_confidence <= 1


def test_given_values_win_with_full_confidence() -> None:
    inf = infer_need("送饭", LEX, given_category="health", given_groups=("妇女",))
    assert (inf.category, inf.category_confidence, inf.groups) == ("health", 1.0, ("妇女",))


def test_no_evidence_gives_no_category() -> None:
    inf = infer_need("你好", LEX)
    assert inf.category == "" and inf.category_confidence == 0.0 and inf.groups == ()


def test_groups_implied_by_category_when_not_cued() -> None:
    groups, conf, learned = infer_groups("需要助餐", LEX, category="elderly_care")
    assert groups == ("老年人",) and conf["老年人"] < 0.7 and learned == ()


def test_the_classifiers_groups_join_the_cued_ones_but_are_marked_learned() -> None:
    inf = infer_need("孩子放学没人接", LEX, group_proba={"妇女": 0.81, "老年人": 0.3})
    assert inf.groups == ("儿童", "妇女") and inf.learned_groups == ("妇女",)
    assert inf.group_confidence["妇女"] == 0.81
    given = infer_need("孩子放学没人接", LEX, given_groups=("儿童",), group_proba={"妇女": 0.9})
    assert given.groups == ("儿童",) and given.learned_groups == ()


def test_only_groups_the_head_confirms_or_a_sure_category_implies_open_funds() -> None:
    # 孩子 is cued, but the head gives 儿童 too little; it is sure of 妇女
    inf = infer_need("孩子放学没人接", LEX, group_proba={"儿童": 0.2, "妇女": 0.81})
    assert inf.groups == ("儿童", "妇女") and inf.fund_groups == ("妇女",)
    cued = infer_need("孩子放学没人接", LEX, group_proba={"儿童": 0.45})
    assert cued.fund_groups == ("儿童",)  # cued, and the head gives it at least 0.4
    # a sure elderly-care need serves 老年人 even where another group is cued
    sure = infer_need("给独居老人送饭 助餐", LEX, group_proba={"老年人": 0.1, "新市民": 0.0},
                      classifier_proba={"elderly_care": 1.0}, sure_category=0.5)
    assert sure.category_confidence >= 0.5 and "老年人" in sure.fund_groups
    unsure = infer_need("给独居老人送饭 助餐", LEX, group_proba={"老年人": 0.1},
                        classifier_proba={"elderly_care": 1.0}, sure_category=1.01)
    assert "老年人" not in unsure.fund_groups
    # without the group head, the cued and implied groups from confidence 0.6
    assert infer_need("孩子放学没人接", LEX).fund_groups == ("儿童",)
    given = infer_need("孩子放学没人接", LEX, given_groups=("妇女",), group_proba={"儿童": 0.9})
    assert given.fund_groups == ("妇女",)


def test_classifier_probabilities_are_blended() -> None:
    inf = infer_need("你好", LEX, classifier_proba={"legal": 0.9, "health": 0.1})
    assert inf.category == "legal"


def test_actor_categories_multi_label() -> None:
    cats = infer_actor_categories(normalize_text("法律援助和邻里纠纷调解"), LEX)
    assert set(cats) == {"legal", "mediation"}


@pytest.mark.parametrize(
    ("text", "category", "group"),
    [
        ("阿伯一个人住，冇人煮饭", "elderly_care", "老年人"),   # Cantonese
        ("细路放学冇人接", "child_welfare", "儿童"),
        ("两公婆成日嗌交", "mediation", None),
        ("娃儿作业不会，屋头没人教", "child_welfare", "儿童"),  # Sichuan
    ],
)
def test_dialect_phrasings(text: str, category: str, group: str | None) -> None:
    inf = infer_need(normalize_text(text), LEX, fuzzy=True)
    assert inf.category == category
    if group:
        assert group in inf.groups


@pytest.mark.parametrize(("text", "ages"), [
    ("我弟弟55岁，我妈七八十岁了", [55, 70]),
    ("孩子今年十岁，爷爷年过八十", [10, 80]),
    ("我爸八十四了还一个人住", [84]),
    ("八旬老人", [80]),
    ("今年三月搬来，住了十年", []),
    ("一岁半的孙子", [1]),
])
def test_stated_ages(text: str, ages: list[int]) -> None:
    from matcher.lexicon import stated_ages

    assert [a for a, _ in stated_ages(text)] == ages


def test_an_age_under_sixty_vetoes_only_the_elderly_group() -> None:
    lex = default_lexicon()
    head = {"老年人": 0.9, "残疾人": 0.8}
    young = infer_need(normalize_text("我哥52岁，截瘫后要康复"), lex, group_proba=head)
    assert "老年人" not in young.groups and "残疾人" in young.groups
    assert "老年人" not in young.fund_groups
    # a word naming an older person keeps it, whatever the ages
    cued = infer_need(normalize_text("我42岁，婆婆瘫痪在床要人照顾"), lex, group_proba=head)
    assert "老年人" in cued.groups
    # the category's implied group is off too, but not another category's
    care = infer_need(normalize_text("35岁，残疾，轮椅坏了"), lex, given_category="disability")
    assert care.groups == ("残疾人",)
