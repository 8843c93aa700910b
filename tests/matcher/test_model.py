from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from matcher import Matcher, Need, ParameterError, UnknownNeedError, load_dataset
from matcher.constraints import ActorContext, NeedContext, violations


def test_estimator_contract() -> None:
    m = Matcher(word_weight=0.6, random_state=3)
    assert m.get_params() == {"params": None, "word_weight": 0.6, "use_classifier": True,
                              "fuzzy": True,
                              "random_state": 3, "use_text_classifier": True,
                              "ranker": "weighted"}
    c = clone(m)
    assert c.get_params() == m.get_params() and not hasattr(c, "table_")
    with pytest.raises(NotFittedError):
        m.suggest("N0001")


def test_fit_returns_self_and_learns_state(sample_path: Path) -> None:
    m = Matcher()
    assert m.fit(sample_path) is m
    assert sum(b.shape[1] for b in m.index_.actor_index.values()) == 36
    assert len(m.inference_) == 25


def test_suggest_roles_ranked_and_explained(fitted: Matcher) -> None:
    out = fitted.suggest("N0001", k=3)
    assert list(out) == ["organization", "social_worker", "volunteer", "fund"]
    org = out["organization"]
    assert org[0].actor_id == "O001"  # 养老服务中心 with 助餐 for an elderly man who needs meals
    assert [s.score for s in org] == sorted((s.score for s in org), reverse=True)
    assert any("助餐" in r for r in org[0].reasons)
    assert all(0.0 <= s.score <= 1.0 for items in out.values() for s in items)
    assert fitted.suggest("N0001", roles=["volunteer"]).keys() == {"volunteer"}


def test_only_wanted_roles(fitted: Matcher) -> None:
    assert set(fitted.suggest("N0015")) == {"social_worker"}


def test_inactive_and_full_actors_never_suggested(fitted: Matcher) -> None:
    seen = {s.actor_id for nid in fitted.dataset_.needs
            for items in fitted.suggest(nid, k=50).values() for s in items}
    assert "O009" not in seen  # inactive


def test_fund_restricted_to_children_never_serves_an_elderly_man(fitted: Matcher) -> None:
    # N0001 leaves category and groups blank: the inferred 老年人 must be used.
    funds = [s.actor_id for s in fitted.suggest("N0001", k=10)["fund"]]
    assert "F002" not in funds  # 春蕾助学基金: 儿童/青少年 only
    assert fitted.inference_["N0001"].groups == ("老年人",)


def test_new_need_record(fitted: Matcher) -> None:
    need = Need("NEW1", "C002", "楼下邻居天天在楼道堆杂物，跟他吵了好几次", roles=("volunteer",))
    out = fitted.suggest(need, k=2)
    assert out["volunteer"][0].actor_id == "V008"
    with pytest.raises(ParameterError, match="not in the dataset"):
        fitted.suggest(Need("X", "C999", "送饭"))


def test_traditional_script_need_gets_the_same_team(fitted: Matcher) -> None:
    simp = Need("NEW2", "C002", "轮椅坏了，推不动，出门全靠它，孩子在外地")
    trad = Need("NEW3", "C002", "輪椅壞了，推不動，出門全靠它，孩子在外地")
    assert fitted.need_context(trad)[1] == fitted.need_context(simp)[1]
    ids = [{r: [s.actor_id for s in v] for r, v in fitted.suggest(n, k=3).items()}
           for n in (simp, trad)]
    assert ids[0] == ids[1] and ids[0]["organization"]


def test_fund_withheld_on_an_unsure_category_is_named_until_confirmed(fitted: Matcher) -> None:
    # 病了 pulls this need towards health as well as elderly care: the elderly-care
    # fund F001 is withheld, and named so that staff can confirm the category.
    unsure = replace(fitted.dataset_.needs["N0001"], need_id="X1",
                     text="老人病了下不了楼，吃饭也成问题")
    assert "F001" not in [s.actor_id for s in fitted.suggest(unsure, k=10)["fund"]]
    ((fid, cat, conf),) = fitted.unconfirmed_funds(unsure)
    assert (fid, cat) == ("F001", "elderly_care") and conf < fitted.scoring_.fund_min_confidence
    confirmed = replace(unsure, category="elderly_care")
    assert "F001" in [s.actor_id for s in fitted.suggest(confirmed, k=10)["fund"]]
    assert fitted.unconfirmed_funds(confirmed) == []
    assert fitted.unconfirmed_funds(replace(confirmed, roles=("volunteer",))) == []


def test_suggest_rejects_bad_arguments(fitted: Matcher) -> None:
    with pytest.raises(UnknownNeedError):
        fitted.suggest("N9999")
    with pytest.raises(ParameterError, match="positive integer"):
        fitted.suggest("N0001", k=0)
    with pytest.raises(ParameterError, match="unknown role"):
        fitted.suggest("N0001", roles=["mayor"])


def test_the_ranker_is_a_named_strategy(sample_path: Path, fitted: Matcher) -> None:
    from matcher.scoring import RANKERS

    with pytest.raises(ParameterError, match="unknown ranker"):
        Matcher(ranker="nope").fit(sample_path)
    # a ranker registered by name is the one the engine scores with
    calls = []

    def halved(comps, params, urgency):  # type: ignore[no-untyped-def]
        calls.append(urgency)
        return 0.5 * RANKERS["weighted"](comps, params, urgency)

    RANKERS["halved"] = halved
    try:
        half = Matcher(ranker="halved").fit(sample_path).suggest("N0001", k=50)
    finally:
        del RANKERS["halved"]
    full = fitted.suggest("N0001", k=50)
    assert calls and set(half) == set(full)
    for role in full:
        assert [s.actor_id for s in half[role]] == [s.actor_id for s in full[role]]
        assert [s.score for s in half[role]] == pytest.approx(
            [0.5 * s.score for s in full[role]], abs=2e-4)


def test_deterministic_across_fits(sample_path: Path) -> None:
    a = Matcher().fit(sample_path).suggest("N0009", k=5)
    b = Matcher().fit(load_dataset(sample_path)).suggest("N0009", k=5)
    assert a == b


def test_weights_parameter_changes_ranking_and_is_validated(sample_path: Path) -> None:
    only_prox = Matcher(params={"weights": {k: 0.0 for k in (
        "text", "concept", "category", "group", "capacity", "quality")} | {"proximity": 1.0}})
    out = only_prox.fit(sample_path).suggest("N0001", k=3)["volunteer"]
    assert np.isclose(out[0].breakdown["proximity"], 1.0, atol=0.05)
    with pytest.raises(ParameterError, match="unknown weight"):
        Matcher(params={"weights": {"luck": 1.0}}).fit(sample_path)


def test_every_suggestion_passes_the_reference_checker(fitted: Matcher) -> None:
    for nid in fitted.dataset_.needs:
        need = fitted.dataset_.needs[nid]
        inf = fitted.inference_[nid]
        nctx: NeedContext = fitted.index_.need_ctx(need, inf)
        for role, items in fitted.suggest(nid, k=50).items():
            for s in items:
                actx: ActorContext = fitted.index_.actor_ctx(fitted.dataset_.actors[s.actor_id])
                assert violations(nctx, actx, role) == [], (nid, role, s.actor_id)


def test_fit_on_texts_without_any_content_word(make_dataset) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import COMMUNITIES

    needs = [{"need_id": "N1", "community_id": "C1", "text": "你好"}]
    actors = [{"actor_id": "V1", "kind": "volunteer", "name": "小李", "text": "！！",
               "community_id": "C1"}]
    m = Matcher().fit(load_dataset(make_dataset(COMMUNITIES, needs, actors)))
    assert [s.actor_id for s in m.suggest("N1")["volunteer"]] == ["V1"]


def test_update_load_fills_an_actor_and_drains_a_fund(sample_path: Path) -> None:
    m = Matcher().fit(sample_path)
    before = {s.actor_id for s in m.suggest("N0001", k=50)["volunteer"]}
    fund = m.suggest("N0001", k=50)["fund"][0].actor_id
    victim = sorted(before)[0]
    cap = m.table_.capacity[m.table_.position[victim]]
    m.update_load({victim: int(cap)}, {fund: 0.0})
    after = m.suggest("N0001", k=50)
    assert victim not in {s.actor_id for s in after["volunteer"]}
    assert fund not in {s.actor_id for s in after["fund"]}
    assert "at_capacity" in m.pair_violations("N0001", victim, "volunteer")
    m.update_load({})
    assert victim in {s.actor_id for s in m.suggest("N0001", k=50)["volunteer"]}


def test_single_text_fast_path_equals_the_batch_transform(fitted: Matcher) -> None:
    from matcher.text import normalize_text

    emb = fitted.embedder_
    for need in list(fitted.dataset_.needs.values())[:10]:
        toks = fitted.tokenizer_.tokenize(need.text, fuzzy=True)
        norm = normalize_text(need.text)
        one = emb.transform([toks], [norm]).toarray()
        batch = emb.transform([toks, toks], [norm, norm])[0].toarray()
        np.testing.assert_allclose(one, batch, atol=1e-6)
    assert emb.transform([[]], [""]).nnz == 0


def test_prepare_scopes_fills_the_cache_without_changing_results(sample_path: Path) -> None:
    cold = Matcher().fit(sample_path)
    warm = Matcher().fit(sample_path)
    assert warm.prepare_scopes() == 6 * 4
    for nid in ("N0001", "N0002", "N0010"):
        assert cold.suggest(nid, k=5) == warm.suggest(nid, k=5)


def test_inverted_index_product_equals_the_row_product() -> None:
    import scipy.sparse as sp

    from matcher.retrieval import index_product as _index_product

    rng = np.random.default_rng(0)
    for _ in range(20):
        actors = sp.random(int(rng.integers(1, 60)), 40, density=0.1, format="csr",
                           dtype=np.float32, random_state=rng)
        need = sp.random(1, 40, density=float(rng.uniform(0, 0.3)), format="csr",
                         dtype=np.float32, random_state=rng)
        got = _index_product(sp.csr_matrix(actors.T), need)
        want = actors @ need.toarray().ravel()
        assert got.shape == (actors.shape[0],)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_an_unchanged_record_answers_like_its_id_and_an_edited_one_is_recomputed(
        fitted: Matcher) -> None:
    from dataclasses import replace

    need = fitted.dataset_.needs["N0001"]
    same = replace(need)
    # the fitted tokens are reused, not recomputed
    assert fitted.need_context(same)[3] is fitted.need_tokens_[fitted.need_rows_["N0001"]]
    assert fitted.suggest(same, k=5) == fitted.suggest("N0001", k=5)
    edited = replace(need, text="孩子放学后没人照看，想找人辅导作业")
    _, inf, _, tokens = fitted.need_context(edited)
    assert tokens != fitted.need_tokens_[fitted.need_rows_["N0001"]]
    assert inf.category != fitted.inference_["N0001"].category


def test_report_is_the_need_page_in_one_call(fitted: Matcher) -> None:
    full = fitted.suggest("N0001", k=3)
    rep = fitted.report("N0001", k=3)
    assert rep.suggestions == full and rep.need_id == "N0001"
    assert rep.inference == fitted.inference_["N0001"]
    t = fitted.table_
    for role, items in rep.suggestions.items():
        for x in items:
            r = t.position[x.actor_id]
            left = t.budget[r] if role == "fund" else t.capacity[r] - t.load[r]
            assert rep.remaining[x.actor_id] == float(left)
    # a rejected actor is left out and the role is filled up from the next ones
    first = full["volunteer"][0].actor_id
    again = fitted.report("N0001", k=3, exclude=[("volunteer", first)])
    vols = [x.actor_id for x in again.suggestions["volunteer"]]
    assert first not in vols and vols[:2] == [x.actor_id for x in full["volunteer"][1:3]]
    # a role with nobody feasible gets its diagnosis
    nobody = fitted.report(Need("NX", "C001", "需要资金", roles=("fund",), budget_yuan=1e9))
    assert nobody.suggestions == {"fund": []}
    assert nobody.unserved == {"fund": fitted.unserved_reason(
        Need("NX", "C001", "需要资金", roles=("fund",), budget_yuan=1e9), "fund")} != {}


def test_update_feedback_gives_what_a_refit_would(sample_path: Path) -> None:
    from matcher.records import Feedback

    ds = load_dataset(sample_path)
    more = (*ds.feedback, Feedback("N0005", "S002", "failed", 1),
            Feedback("N0006", "S003", "rejected"))
    live = Matcher().fit(ds)
    live.suggest("N0006", k=5)  # fill the scope cache first: it must follow
    live.update_feedback(more)
    refit = Matcher().fit(replace(ds, feedback=more))
    for nid in ("N0005", "N0006", "N0014", "N0025"):
        assert live.suggest(nid, k=5) == refit.suggest(nid, k=5), nid
    assert ("N0006", "S003") in live.rejected_
