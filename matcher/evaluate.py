"""Offline evaluation: graded relevance, NDCG@5, P@1, constraint violations.

``qrels.csv`` holds ``need_id, actor_id, relevance`` (0–3). Unjudged actors
count as 0. Violations are re-checked for every suggestion with the scalar
reference rules (:func:`constraints.violations`), using the need's labelled
category and groups when a ``truth.csv`` is given, else the engine's.

Baselines, run on the same needs and actors of the wanted kind:

- ``tfidf``: jieba words (jieba's own dictionary, no domain lexicon), TF-IDF,
  cosine; no constraints, no inference.
- ``bm25``: the same tokens ranked by BM25 (``bm25s``).
- ``tfidf+c``: the ``tfidf`` ranking restricted to the actors the engine finds
  feasible, to separate what the constraints contribute from what the domain
  lexicon, inference and scoring contribute.
"""

from __future__ import annotations

import csv
import itertools
import logging
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .constraints import ActorContext, NeedContext, violations
from .csvio import decode_bytes, safe_cell, unescape_cell
from .errors import DatasetError
from .geo import Places, community_path
from .kinds import restricted
from .protocols import FittedEngine
from .records import ROLES, Dataset
from .table import need_range_keys, range_key

__all__ = ["METHODS", "evaluate", "evaluate_inference", "make_qrels", "ndcg_at", "read_qrels",
           "violating_pairs", "write_qrels"]

METHODS = ("wushe", "tfidf", "bm25", "tfidf+c")


def ndcg_at(ranked: list[str], rel: dict[str, int], k: int = 5,
            ideal: list[int] | None = None) -> float:
    """NDCG@k with gains ``2**rel - 1``.

    Examples
    --------
    >>> ndcg_at(["a", "b"], {"a": 3, "b": 1})
    1.0
    >>> round(ndcg_at(["b", "a"], {"a": 3, "b": 1}), 2)
    0.71
    """
    gains = [(2 ** rel.get(a, 0) - 1) / math.log2(i + 2) for i, a in enumerate(ranked[:k])]
    best = sorted(ideal if ideal is not None else rel.values(), reverse=True)[:k]
    idcg = sum((2 ** r - 1) / math.log2(i + 2) for i, r in enumerate(best))
    return sum(gains) / idcg if idcg > 0 else 0.0


def read_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """``{need_id: {actor_id: relevance}}`` from a qrels CSV."""
    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"找不到相关性标注文件：{p}", f"qrels file not found: {p}")
    text, _ = decode_bytes(p.read_bytes())
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for line, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            rel = int(row["relevance"])
            if not 0 <= rel <= 3:
                raise ValueError(rel)
            out[unescape_cell(row["need_id"])][unescape_cell(row["actor_id"])] = rel
        except (KeyError, ValueError, TypeError) as exc:
            raise DatasetError(f"{p.name} 第 {line} 行：需要 need_id, actor_id, relevance(0–3)",
                               f"{p.name} line {line}: need need_id, actor_id, relevance 0-3"
                               ) from exc
    return dict(out)


def read_truth(folder: str | Path) -> tuple[dict[str, dict[str, str]], dict[str, list[str]]]:
    """Need truth (intent, category, groups) and actor intents, if the files exist."""
    needs: dict[str, dict[str, str]] = {}
    actors: dict[str, list[str]] = {}
    p = Path(folder)
    if (p / "truth.csv").exists():
        with (p / "truth.csv").open(encoding="utf-8", newline="") as fh:
            needs = {r["need_id"]: r for r in csv.DictReader(fh)}
    if (p / "actor_truth.csv").exists():
        with (p / "actor_truth.csv").open(encoding="utf-8", newline="") as fh:
            actors = {r["actor_id"]: [x for x in r["intents"].split(";") if x]
                      for r in csv.DictReader(fh)}
    return needs, actors


def _truth_ctx(ds: Dataset, need_id: str, truth: dict[str, str] | None,
               fallback: Callable[[str], tuple[str, tuple[str, ...]]] | None) -> NeedContext:
    n = ds.needs[need_id]
    path = community_path(ds.communities[n.community_id])
    if truth is not None:
        groups = tuple(g for g in truth["target_groups"].split(";") if g)
        return NeedContext(n, path, truth["category"], groups)
    if fallback is not None:
        cat, groups = fallback(need_id)
        return NeedContext(n, path, cat, groups)
    return NeedContext(n, path, n.category, n.target_groups)


def _actor_contexts(ds: Dataset) -> dict[str, ActorContext]:
    places = Places(ds.communities)
    return {a.actor_id: ActorContext(a, places.actor_home(a), ds.load.get(a.actor_id, 0),
                                     a.categories if restricted(a.kind) else (),
                                     a.target_groups if restricted(a.kind) else ())
            for a in ds.actors.values()}


def violating_pairs(matcher: FittedEngine, qrels: dict[str, dict[str, int]], *, k: int = 5,
                    truth_folder: str | Path | None = None) -> list[dict[str, Any]]:
    """Every suggestion of the engine (top ``k``, the needs of ``qrels``) that breaks a
    hard rule under the labelled category and groups (the roles :func:`evaluate` scores),
    with what the engine inferred:
    ``need_id, role, actor_id, rank, reasons, category, groups, inferred_category,
    inferred_confidence, inferred_groups``."""
    ds: Dataset = matcher.dataset_
    need_truth = read_truth(truth_folder)[0] if truth_folder else {}
    actx = _actor_contexts(ds)
    out = []
    for nid in sorted(qrels):
        if nid not in ds.needs:
            continue
        nctx = _truth_ctx(ds, nid, need_truth.get(nid), None)
        inf = matcher.inference_[nid]
        for role, sugg in matcher.suggest(nid, k=k).items():
            if not any(r for a, r in qrels[nid].items() if a in ds.actors
                       and ds.actors[a].kind == role):
                continue  # as in evaluate: a role with no judged actor is not scored
            for rank, s in enumerate(sugg, 1):
                reasons = violations(nctx, actx[s.actor_id], role)
                if reasons:
                    out.append({"need_id": nid, "role": role, "actor_id": s.actor_id,
                                "rank": rank, "reasons": reasons, "category": nctx.category,
                                "groups": list(nctx.groups), "inferred_category": inf.category,
                                "inferred_confidence": inf.category_confidence,
                                "inferred_groups": list(inf.groups)})
    return out


def make_qrels(ds: Dataset, need_truth: dict[str, dict[str, str]],
               actor_intents: dict[str, list[str]], need_ids: Iterable[str],
               intent_category: dict[str, str]) -> list[tuple[str, str, int]]:
    """Graded judgements from known intents, zero for any infeasible pair.

    3: the actor offers the need's intent; 2: it offers another service of
    the same category (or is a fund restricted to that category); 1: a fund
    open to every category. Infeasible pairs (by the reference rules on the
    need's true category and groups) are 0 and not listed.
    """
    actx = _actor_contexts(ds)
    by_range: dict[tuple[int, str, str], list[str]] = defaultdict(list)
    for aid, c in actx.items():
        k = range_key(c.actor.kind, c.actor.scope, c.home)
        if k is not None:
            by_range[k].append(aid)
    out = []
    for nid in need_ids:
        t = need_truth[nid]
        nctx = _truth_ctx(ds, nid, t, None)
        for role in ROLES:
            if role not in nctx.need.roles:
                continue
            for key in need_range_keys(role, nctx.path):
                for aid in by_range.get(key, ()):
                    if violations(nctx, actx[aid], role):
                        continue
                    intents = actor_intents.get(aid, [])
                    cats = {intent_category[i] for i in intents}
                    if t["intent"] in intents:
                        rel = 3
                    elif t["category"] in cats:
                        rel = 2
                    elif restricted(role) and not actx[aid].fund_categories:
                        rel = 1
                    else:
                        continue
                    out.append((nid, aid, rel))
    return sorted(out)


def write_qrels(path: str | Path, rows: list[tuple[str, str, int]]) -> None:
    """Write ``need_id, actor_id, relevance``."""
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["need_id", "actor_id", "relevance"])
        w.writerows((safe_cell(nid), safe_cell(aid), rel) for nid, aid, rel in rows)


class _Baseline:
    """Plain text retrieval over all actors of a kind (no lexicon, no constraints)."""

    def __init__(self, ds: Dataset, method: str) -> None:
        import jieba

        self.tk = jieba.Tokenizer()
        self.method = method
        self.by_kind: dict[str, list[str]] = defaultdict(list)
        for a in sorted(ds.actors.values(), key=lambda a: a.actor_id):
            self.by_kind[a.kind].append(a.actor_id)
        self.models: dict[str, Any] = {}
        for kind, ids in self.by_kind.items():
            docs = [self._tok(ds.actors[i].text) for i in ids]
            if method == "tfidf":
                from sklearn.feature_extraction.text import TfidfVectorizer

                vec = TfidfVectorizer(analyzer=lambda d: d)
                self.models[kind] = (vec, vec.fit_transform(docs))
            else:
                import bm25s

                logging.getLogger("bm25s").setLevel(logging.WARNING)
                bm = bm25s.BM25()
                bm.index([d or ["_"] for d in docs], show_progress=False)
                self.models[kind] = bm

    def _tok(self, text: str) -> list[str]:
        return [w for w in self.tk.lcut(text) if w.strip() and len(w.strip()) > 0]

    def rank(self, text: str, kind: str, k: int) -> list[str]:
        ids = self.by_kind.get(kind, [])
        if not ids:
            return []
        q = self._tok(text)
        if self.method == "tfidf":
            vec, x = self.models[kind]
            scores = np.asarray((x @ vec.transform([q]).T).todense()).ravel()
        else:
            scores = self.models[kind].get_scores(q)
        order = sorted(range(len(ids)), key=lambda i: (-round(float(scores[i]), 6), ids[i]))
        return [ids[i] for i in order[:k]]


def evaluate(matcher: FittedEngine, qrels: dict[str, dict[str, int]], *, k: int = 5,
             methods: Iterable[str] = ("wushe",), truth_folder: str | Path | None = None,
             ) -> dict[str, dict[str, dict[str, float]]]:
    """Metrics per method and bucket: ``ndcg@5``, ``p@1``, ``violations``, ``needs``.

    Each need of ``qrels`` that is in the fitted dataset is ranked for every
    role it wants that has at least one judged actor. Buckets: each role,
    ``all``, and ``category:<code>`` for each labelled category (from
    ``truth.csv``, else the engine's). The engine's bucket ``volunteer`` also
    carries ``category_match``: the share of suggested volunteers that offer
    the need's category (``category_match_first``: of the first suggested) (by ``actor_truth.csv`` when given, else by the
    categories the engine reads in the volunteer's own words).
    """
    ds: Dataset = matcher.dataset_
    need_truth = read_truth(truth_folder)[0] if truth_folder else {}
    actx = _actor_contexts(ds)

    def engine_labels(nid: str) -> tuple[str, tuple[str, ...]]:
        inf = matcher.inference_[nid]
        return inf.category, inf.groups

    actor_intents = read_truth(truth_folder)[1] if truth_folder else {}
    intent_cat = _intent_categories()
    t = matcher.table_
    row_of = {aid: i for i, aid in enumerate(t.ids)}

    def offers(aid: str, category: str) -> bool:
        if aid in actor_intents:
            return any(intent_cat.get(i) == category for i in actor_intents[aid])
        j = matcher.categories_.index(category) if category in matcher.categories_ else -1
        return j >= 0 and bool(t.served_categories[row_of[aid], j])

    results: dict[str, dict[str, dict[str, float]]] = {}
    for method in methods:
        base = None if method == "wushe" else _Baseline(ds, method.removesuffix("+c"))
        constrained = method.endswith("+c")
        acc: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for r in (*ROLES, "all"):
            acc[r]["needs"] += 0
        for nid in sorted(qrels):
            if nid not in ds.needs:
                continue
            rel = qrels[nid]
            need = ds.needs[nid]
            nctx = _truth_ctx(ds, nid, need_truth.get(nid), engine_labels)
            sugg = matcher.suggest(nid, k=k) if base is None else None
            for role in need.roles:
                judged = {a: r for a, r in rel.items() if a in ds.actors
                          and ds.actors[a].kind == role}
                if not any(judged.values()):
                    continue
                if sugg is not None:
                    ranked = [s.actor_id for s in sugg.get(role, [])]
                elif base is not None and constrained:
                    allowed = {s.actor_id for s in matcher.suggest(nid, k=len(ds.actors),
                                                                   roles=[role])[role]}
                    ranked = [a for a in base.rank(need.text, role, len(ds.actors))
                              if a in allowed][:k]
                else:
                    ranked = base.rank(need.text, role, k) if base is not None else []
                viol = sum(1 for a in ranked if violations(nctx, actx[a], role))
                if role == "volunteer" and nctx.category and ranked:
                    acc[role]["matched"] += sum(offers(a, nctx.category) for a in ranked)
                    acc[role]["matched_first"] += offers(ranked[0], nctx.category)
                    acc[role]["with_first"] += 1
                for bucket in (role, "all", f"category:{nctx.category or 'unknown'}"):
                    a = acc[bucket]
                    a["needs"] += 1
                    a["ndcg@5"] += ndcg_at(ranked, judged, 5)
                    a["p@1"] += 1.0 if ranked and judged.get(ranked[0], 0) >= 2 else 0.0
                    a["violations"] += viol
                    a["suggested"] += len(ranked)
        results[method] = {
            r: {"needs": int(a["needs"]),
                "ndcg@5": round(a["ndcg@5"] / a["needs"], 4) if a["needs"] else 0.0,
                "p@1": round(a["p@1"] / a["needs"], 4) if a["needs"] else 0.0,
                "violations": int(a["violations"]),
                "suggested": int(a["suggested"])}
            for r, a in sorted(acc.items(), key=lambda kv: _bucket_order(kv[0]))
        }
        vol = acc["volunteer"]
        if vol["suggested"]:
            results[method]["volunteer"]["category_match"] = round(
                vol["matched"] / vol["suggested"], 4)
            results[method]["volunteer"]["category_match_first"] = round(
                vol["matched_first"] / max(vol["with_first"], 1), 4)
    return results


def _bucket_order(bucket: str) -> tuple[int, str]:
    order = (*ROLES, "all")
    return (order.index(bucket), "") if bucket in order else (len(order), bucket)


def _intent_categories() -> dict[str, str]:
    from .generate import _catalogue

    return {it["id"]: it["category"] for it in _catalogue()["intents"]}


def evaluate_inference(matcher: FittedEngine, truth_folder: str | Path, *, bins: int = 10
                       ) -> dict[str, Any]:
    """How well the engine infers the category of needs whose cell is blank.

    Against ``truth.csv``: accuracy, macro-F1 over the labelled categories,
    expected calibration error of the confidence (the share of the winning
    category, ``bins`` equal-width bins), and per category precision, recall
    and F1. Needs with a given category are left out (they are not inferred).
    """
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    truth = read_truth(truth_folder)[0]
    ds: Dataset = matcher.dataset_
    ids = sorted(n for n in truth if n in ds.needs and not ds.needs[n].category)
    if not ids:
        return {"needs": 0}
    y = [truth[n]["category"] for n in ids]
    infs = [matcher.inference_[n] for n in ids]
    pred = [inf.category or "unknown" for inf in infs]
    conf = np.array([inf.category_scores.get(inf.category, 0.0) for inf in infs])
    right = np.array([a == b for a, b in zip(y, pred, strict=True)])
    ece = 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    for lo, hi in itertools.pairwise(edges):
        sel = (conf > lo) & (conf <= hi) if lo > 0 else (conf <= hi)
        if sel.any():
            ece += sel.mean() * abs(right[sel].mean() - conf[sel].mean())
    labels = sorted(set(y))
    p, r, f, n = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    return {
        "needs": len(ids),
        "accuracy": round(float(right.mean()), 4),
        "macro_f1": round(float(f1_score(y, pred, labels=labels, average="macro",
                                         zero_division=0)), 4),
        "ece": round(float(ece), 4),
        "per_category": {c: {"needs": int(n[i]), "precision": round(float(p[i]), 4),
                             "recall": round(float(r[i]), 4), "f1": round(float(f[i]), 4)}
                         for i, c in enumerate(labels)},
    }
