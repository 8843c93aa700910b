"""The shipped text classifier: loads offline, reads unseen phrasing, round-trips its files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matcher import Matcher, load_dataset
from matcher.ranking import likely_categories
from matcher.textclf import (
    N_CHAR,
    TextClassifier,
    ask_weighted,
    default_text_classifier,
    feature_counts,
    infer_texts,
)
from tests.conftest import COMMUNITIES

CLF = default_text_classifier()
pytestmark = pytest.mark.skipif(CLF is None, reason="no shipped classifier")

# written for this test, in phrasings outside the corpus
UNSEEN = {
    "单元门口那盏路灯坏了快一个月，晚上黑咕隆咚的，老人出门怕摔": "renovation",
    "包工头欠我们六个人三个月的工钱，电话也不接了，这钱还能要回来吗": "legal",
    "我女儿离婚以后一直睡不着，整天哭，说活着没意思": "mental_health",
    "楼下那家天天半夜剁肉，说了好几次也不听，想找人出面说和说和": "mediation",
}


def test_reads_phrasing_it_never_saw() -> None:
    assert CLF is not None
    probs = CLF.category_proba(list(UNSEEN))
    got = [max(p, key=p.get) for p in probs]
    assert got == list(UNSEEN.values())
    for p in probs:
        assert abs(sum(p.values()) - 1) < 1e-6


def test_a_text_the_lexicon_misses_still_gets_a_category() -> None:
    text = "包工头欠我们六个人三个月的工钱，电话也不接了，这钱还能要回来吗"
    inf = infer_texts([text])[0]  # on by default
    assert infer_texts([text], weight=0.0)[0].category_scores != inf.category_scores
    assert inf.category == "legal" and inf.category_confidence > 0.3


def test_ask_sentences_weigh_double() -> None:
    assert ask_weighted("老伴去年走了。希望有人来陪我说说话。").count("希望有人来陪我说说话") == 2
    assert ask_weighted("老伴去年走了。希望有人来陪我说说话。").count("老伴去年走了") == 1
    assert ask_weighted("楼道灯坏了") == "楼道灯坏了"


def test_only_the_asking_sentence_is_counted_twice_in_the_features() -> None:
    # sentences are found in the raw text: normalising turns 。 into a space
    story, ask = "去年老伴走了", "恳请社区派人陪我说说话"

    def counts(text: str) -> dict[int, float]:
        ids, c = feature_counts(text)  # character n-grams only: a concept counts once
        return {i: n for i, n in zip(ids.tolist(), c.tolist(), strict=True) if i < N_CHAR}

    got, alone_story, alone_ask = counts(f"{story}。{ask}。"), counts(story), counts(ask)
    story_only, ask_only = alone_story.keys() - alone_ask.keys(), alone_ask.keys() - alone_story.keys()
    assert story_only and ask_only
    # every n-gram of these two sentences occurs once in its sentence, except 说
    assert all(got[i] == alone_story[i] == 1 for i in story_only)
    assert all(got[i] == alone_ask[i] and got[i] % 2 == 0 for i in ask_only)
    assert sorted(set(alone_ask.values())) == [2, 4]  # 说 twice in the sentence, × 2


def test_files_round_trip(tmp_path: Path) -> None:
    assert CLF is not None
    CLF.save(tmp_path / "clf")
    with (tmp_path / "clf.npz").open("rb") as fh:
        again = TextClassifier.load((tmp_path / "clf.json").read_text(encoding="utf-8"), fh)
    a = CLF.predict(list(UNSEEN))
    b = again.predict(list(UNSEEN))
    for x, y in zip(a, b, strict=True):
        assert np.allclose(list(x["category"].values()), list(y["category"].values()), atol=1e-3)
        assert x["urgency"].keys() == {1, 2, 3, 4}
    assert CLF.meta["cv"]["rows"] >= 3000  # trained on the committed corpus


def test_the_engine_uses_it_unless_its_weight_is_zero(make_dataset) -> None:  # type: ignore[no-untyped-def]
    needs = [{"need_id": "N1", "community_id": "C1",
              "text": "包工头欠我们六个人三个月的工钱，电话也不接了，这钱还能要回来吗"}]
    actors = [{"actor_id": "O1", "kind": "organization", "name": "律所", "text": "法律援助",
               "city": "杭州市", "scope": "city"}]
    ds = load_dataset(make_dataset(COMMUNITIES, needs, actors))
    on = Matcher().fit(ds).inference_["N1"]  # on by default
    off = Matcher(params={"text_classifier_weight": 0.0}).fit(ds).inference_["N1"]
    assert on.category == "legal"
    assert on.category_scores != off.category_scores


def test_a_confident_category_outranks_a_shared_side_word(make_dataset) -> None:  # type: ignore[no-untyped-def]
    needs = [{"need_id": "N1", "community_id": "C1",
              "text": "我们住新法院路，两口子上班到很晚，孩子放学以后一个人在家没人管"}]
    actors = [
        {"actor_id": "O1", "kind": "organization", "name": "新法院路便民服务社",
         "text": "新法院路一带上门维修水电、家电", "city": "杭州市", "scope": "city"},
        {"actor_id": "O2", "kind": "organization", "name": "儿童之家",
         "text": "四点半课堂课后托管，放学后照看孩子", "city": "杭州市", "scope": "city"}]
    m = Matcher().fit(load_dataset(make_dataset(COMMUNITIES, needs, actors)))
    inf = m.inference_["N1"]
    assert inf.category == "child_welfare" and likely_categories(m.index_, inf) == ["child_welfare"]
    assert [s.actor_id for s in m.suggest("N1", k=2)["organization"]] == ["O2", "O1"]


def test_an_unsure_need_gets_both_likely_categories(make_dataset) -> None:  # type: ignore[no-untyped-def]
    # health first, but not by much; elderly care second (腿脚不便)
    needs = [{"need_id": "N1", "community_id": "C1", "text": "摔伤后腿脚不便"}]
    actors = [{"actor_id": f"O{i}", "kind": "organization", "name": f"机构{i}", "text": text,
               "city": "杭州市", "scope": "city"}
              for i, text in enumerate(["社区义诊、量血压测血糖", "健康体检和健康讲座",
                                        "家庭医生签约与慢病管理", "居家养老上门照护、助餐"])]
    m = Matcher().fit(load_dataset(make_dataset(COMMUNITIES, needs, actors)))
    likely = likely_categories(m.index_, m.inference_["N1"])
    assert likely == ["health", "elderly_care"]
    top = [s.actor_id for s in m.suggest("N1", k=2)["organization"]]
    assert "O3" in top  # the one elderly-care actor is among the two suggested


def test_a_group_named_in_passing_does_not_open_a_fund_restricted_to_it(
        make_dataset) -> None:  # type: ignore[no-untyped-def]
    # 老人 and 孩子 are only where the noise is heard: the group head agrees with neither
    text = "隔壁装修天天吵，家里有老人和孩子"
    needs = [{"need_id": "N1", "community_id": "C1", "text": text, "category": "mediation",
              "roles": "fund"}]
    actors = [{"actor_id": "F1", "kind": "fund", "name": "银龄基金", "text": "资助老年人",
               "city": "杭州市", "scope": "city", "budget_yuan": "5000",
               "target_groups": "老年人"}]
    m = Matcher().fit(load_dataset(make_dataset(COMMUNITIES, needs, actors)))
    inf = m.inference_["N1"]
    assert {"老年人", "儿童"} <= set(inf.groups) and inf.fund_groups == ()
    assert m.suggest("N1")["fund"] == []
    confirmed = m.dataset_.needs["N1"].__class__(**{**m.dataset_.needs["N1"].__dict__,
                                                     "target_groups": ("老年人",)})
    assert [s.actor_id for s in m.suggest(confirmed)["fund"]] == ["F1"]


def test_a_group_a_sure_category_implies_opens_a_fund(
        make_dataset) -> None:  # type: ignore[no-untyped-def]
    text = "老人中风后行动不便，需要有人照看"  # a sure elderly_care: 老年人 whatever else
    needs = [{"need_id": "N1", "community_id": "C1", "text": text, "roles": "fund"}]
    actors = [{"actor_id": "F1", "kind": "fund", "name": "银龄基金", "text": "资助老年照护",
               "city": "杭州市", "scope": "city", "budget_yuan": "5000",
               "categories": "elderly_care", "target_groups": "老年人"}]
    m = Matcher().fit(load_dataset(make_dataset(COMMUNITIES, needs, actors)))
    inf = m.inference_["N1"]
    assert inf.category == "elderly_care"
    assert inf.category_confidence >= m.scoring_.fund_min_confidence
    assert "老年人" in inf.fund_groups
    assert [s.actor_id for s in m.suggest("N1")["fund"]] == ["F1"]




@pytest.mark.parametrize("text", ["我弟弟55岁，上个月脑出血，出院后左手左腿没力气，想请康复师上门指导",
                                  "我今年五十二岁，中风后行动不便，需要有人照看"])
def test_a_stated_age_under_sixty_opens_no_elderly_fund(
        make_dataset, text: str) -> None:  # type: ignore[no-untyped-def]
    needs = [{"need_id": "N1", "community_id": "C1", "text": text, "roles": "fund"}]
    actors = [{"actor_id": "F1", "kind": "fund", "name": "银龄基金", "text": "资助老年人康复照护",
               "city": "杭州市", "scope": "city", "budget_yuan": "5000",
               "target_groups": "老年人"},
              {"actor_id": "F2", "kind": "fund", "name": "康复互助金", "text": "资助康复照护",
               "city": "杭州市", "scope": "city", "budget_yuan": "5000"}]
    m = Matcher().fit(load_dataset(make_dataset(COMMUNITIES, needs, actors)))
    inf = m.inference_["N1"]
    assert "老年人" not in inf.groups and "老年人" not in inf.fund_groups
    assert [s.actor_id for s in m.suggest("N1")["fund"]] == ["F2"]
    older = text.replace("55岁", "68岁").replace("五十二岁", "六十八岁")
    m2 = Matcher().fit(load_dataset(make_dataset(
        COMMUNITIES, [{**needs[0], "text": older}], actors)))
    assert "老年人" in m2.inference_["N1"].groups
