"""Benchmark: category, group and urgency inference per need (issue #12).

Usage: python bench/bench_infer.py [--corpus data/corpus] [--n 1000] [--out FILE.json]

Times :func:`matcher.textclf.infer_texts` (lexicon + the shipped classifier's
category and urgency heads) on one text at a time, the way a station's new
need is inferred, and in one batch, the way an import is; also the shipped
classifier's ``predict`` alone. Texts are the corpus's, in a seeded random
order; one warm-up call loads the model and jieba first. Reports medians and
p90 in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from pathlib import Path

from matcher.textclf import default_text_classifier, infer_texts
from matcher.train_textclf import read_corpus


def _ms(f, texts: list[str]) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for t in texts:
        t0 = time.perf_counter()
        f(t)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="data/corpus")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out")
    args = ap.parse_args()
    texts = read_corpus(Path(args.corpus)).texts
    texts = random.Random(args.seed).sample(texts, min(args.n, len(texts)))
    clf = default_text_classifier()
    assert clf is not None, "the shipped classifier is missing"
    infer_texts(["热身"])  # load the model, the lexicon and jieba
    single = _ms(lambda t: infer_texts([t]), texts)
    model_only = _ms(lambda t: clf.predict([t]), texts)
    t0 = time.perf_counter()
    infer_texts(texts)
    batch = (time.perf_counter() - t0) * 1000 / len(texts)
    q = statistics.quantiles
    res = {
        "texts": len(texts), "mean_chars": round(statistics.mean(map(len, texts)), 1),
        "single_median_ms": round(statistics.median(single), 3),
        "single_p90_ms": round(q(single, n=10)[-1], 3),
        "classifier_only_median_ms": round(statistics.median(model_only), 3),
        "batch_ms_per_need": round(batch, 3),
        "long_single_median_ms": round(statistics.median(
            [ms for ms, t in zip(single, texts, strict=True) if len(t) >= 300] or [0.0]), 3),
        "machine": {"python": platform.python_version(), "cpu": platform.processor(),
                    "system": platform.platform()},
    }
    print(json.dumps(res, ensure_ascii=False, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(res, ensure_ascii=False, indent=1), "utf-8")


if __name__ == "__main__":
    main()
