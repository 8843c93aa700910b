"""The ``wushe`` command.

Every sub-command reads and writes the data contract. Errors are printed in
Chinese and English (with file, line and column for data) and give a
non-zero exit code; never a traceback unless ``--debug``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .errors import DataError, WusheError
from .kinds import restricted
from .protocols import FittedEngine

__all__ = ["main"]

log = logging.getLogger("wushe")
T = TypeVar("T")

EXIT_USAGE = 2
EXIT_DATA = 3
EXIT_INTERNAL = 70


def _progress(items: Sequence[T], desc: str) -> Iterator[T]:
    """tqdm on a terminal; one clean log line per ~10 % otherwise."""
    if sys.stderr.isatty():
        from tqdm import tqdm

        yield from tqdm(items, desc=desc, unit="条", leave=False)
        return
    n = len(items)
    step = max(1, n // 10)
    t0 = time.perf_counter()
    for i, item in enumerate(items, 1):
        yield item
        if i % step == 0 or i == n:
            log.info("%s: %d/%d (%.1fs)", desc, i, n, time.perf_counter() - t0)


def _load(args: argparse.Namespace) -> Any:
    from .dataset import LoadReport, load_dataset

    report = LoadReport()
    ds = load_dataset(args.data, skip_bad_rows=args.skip_bad_rows,
                      max_file_bytes=int(args.max_file_mb * 1_000_000), report=report)
    _print_report(report)
    return ds


def _print_report(report: Any) -> None:
    """What a load skipped and warned about, on stderr."""
    if report.skipped:
        print(f"已跳过 {len(report.skipped)} 处错误所在的行 / skipped rows with "
              f"{len(report.skipped)} error(s):", file=sys.stderr)
        for e in report.skipped[:20]:
            print("  " + e.format(), file=sys.stderr)
    for w in report.warnings:  # never an error: the data says what a fund is restricted to
        print("提示 / warning: " + w.format(), file=sys.stderr)


def _matcher(args: argparse.Namespace, ds: Any, model: str | None = None) -> FittedEngine:
    """Fit a matcher on ``ds``, reusing the fitted text model in ``model`` if given."""
    from .model import Matcher

    t0 = time.perf_counter()
    if model:
        m = Matcher.load(model, ds, params=args.params, ranker=getattr(args, "ranker", None))
        meta = m.model_meta_
        if meta["data"]["digest"] != ds.digest:
            log.info("model %s was fitted on other data (%s); applying it to %s",
                     model, meta["data"]["source"], args.data)
    else:
        m = Matcher(params=args.params, ranker=getattr(args, "ranker", None) or "weighted").fit(ds)
    log.info("fitted in %.1fs", time.perf_counter() - t0)
    return m


def cmd_validate(args: argparse.Namespace) -> int:
    ds = _load(args)
    open_needs = sum(n.status == "open" for n in ds.needs.values())
    kinds: dict[str, int] = {}
    for a in ds.actors.values():
        kinds[a.kind] = kinds.get(a.kind, 0) + 1
    print(f"数据有效 / dataset is valid: {len(ds.communities)} 个社区 communities, "
          f"{len(ds.needs)} 条需求 needs（{open_needs} 条待匹配 open）, "
          f"{len(ds.actors)} 个资源 actors {json.dumps(kinds, ensure_ascii=False)}")
    return 0


def cmd_train_text(args: argparse.Namespace) -> int:
    from .train_textclf import run

    t0 = time.perf_counter()
    report = run(Path(args.corpus), Path(args.out), c=args.C, folds=args.folds)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    print(f"已训练文本分类器 / text classifier trained on {report['rows']} texts → "
          f"{args.out}.json/.npz ({time.perf_counter() - t0:.0f}s)", file=sys.stderr)
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from .generate import generate_dataset

    t0 = time.perf_counter()
    s = generate_dataset(args.out, needs=args.needs, actors=args.actors, seed=args.seed,
                         communities=args.communities)
    if args.qrels:
        _write_generated_qrels(Path(args.out), args.qrels, args.seed)
    print(f"已生成 / generated {s.needs} needs, {s.actors} actors, {s.communities} communities "
          f"→ {s.folder} ({time.perf_counter() - t0:.1f}s)")
    return 0


def _write_generated_qrels(folder: Path, n: int, seed: int) -> None:
    import random

    from .dataset import load_dataset
    from .evaluate import make_qrels, read_truth, write_qrels
    from .generate import _catalogue

    ds = load_dataset(folder)
    need_truth, actor_intents = read_truth(folder)
    intent_cat = {it["id"]: it["category"] for it in _catalogue()["intents"]}
    open_ids = sorted(i for i, x in ds.needs.items() if x.status == "open")
    chosen = sorted(random.Random(seed).sample(open_ids, min(n, len(open_ids))))
    write_qrels(folder / "qrels.csv", make_qrels(ds, need_truth, actor_intents, chosen, intent_cat))


def cmd_fit(args: argparse.Namespace) -> int:
    ds = _load(args)
    m = _matcher(args, ds)
    metrics: dict[str, Any] = {}
    if args.qrels:
        from .evaluate import evaluate, read_qrels

        res = evaluate(m, read_qrels(args.qrels), truth_folder=args.data)["wushe"]
        metrics = {f"{role}/{name}": value for role, r in res.items()
                   for name, value in r.items() if name in ("ndcg@5", "p@1", "violations")}
        metrics["qrels"] = str(args.qrels)
    path = m.save(args.model, metrics=metrics)
    print(f"模型已保存 / model saved: {path}")
    return 0


def _suggestion_items(m: FittedEngine, ids: list[str], k: int,
                      processes: int = 1) -> Iterable[tuple[str, Any, Any]]:
    from .parallel import fork_map

    found = fork_map(lambda nid: m.suggest(nid, k=k), ids, processes, progress=_progress,
                     desc="suggest")
    return ((nid, sugg, m.inference_[nid].as_dict())
            for nid, sugg in zip(ids, found, strict=True))


def _need_ids(args: argparse.Namespace, ds: Any) -> list[str]:
    if args.need:
        missing = [n for n in args.need if n not in ds.needs]
        if missing:
            raise WusheError(f"数据中没有这些需求：{', '.join(missing)}",
                             f"needs not in the dataset: {', '.join(missing)}")
        return sorted(set(args.need))
    return sorted(n for n, x in ds.needs.items() if x.status == "open")


def cmd_suggest(args: argparse.Namespace) -> int:
    from .writers import suggestion_line, write_suggestions_jsonl

    ds = _load(args)
    m = _matcher(args, ds, args.model)
    ids = _need_ids(args, ds)
    if args.out:
        n = write_suggestions_jsonl(args.out, _suggestion_items(m, ids, args.k, args.processes))
        print(f"已写入 {n} 条需求的建议 / wrote suggestions for {n} needs → {args.out}",
              file=sys.stderr)
    else:
        for item in _suggestion_items(m, ids, args.k, args.processes):
            print(suggestion_line(*item))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate, evaluate_inference, read_qrels, violating_pairs

    ds = _load(args)
    qrels = read_qrels(args.qrels)
    m = _matcher(args, ds, args.model)
    methods = ["wushe", "tfidf", "bm25", "tfidf+c"] if args.baselines else ["wushe"]
    truth = args.truth or args.data
    res: dict[str, Any] = evaluate(m, qrels, methods=methods, truth_folder=truth)
    inference = evaluate_inference(m, truth)
    broken = violating_pairs(m, qrels, truth_folder=truth) if args.list_violations else []
    if args.json:
        listed = {"violating": broken} if args.list_violations else {}
        print(json.dumps({**res, "inference": inference, **listed}, ensure_ascii=False,
                         indent=1, sort_keys=True))
        return 0
    print(f"{'method':<8}{'role':<15}{'needs':>6}{'NDCG@5':>9}{'P@1':>8}{'violations':>12}")
    for method, buckets in res.items():
        for bucket, r in buckets.items():
            if not bucket.startswith("category:"):
                print(f"{method:<8}{bucket:<15}{r['needs']:>6}{r['ndcg@5']:>9.3f}"
                      f"{r['p@1']:>8.3f}{r['violations']:>12}")
    vol = res["wushe"].get("volunteer", {})
    if "category_match" in vol:
        print(f"\n志愿者类别相符比例 / suggested volunteers offering the need's category: "
              f"{vol['category_match']:.3f} of all, {vol['category_match_first']:.3f} of the first")
    if inference.get("needs"):
        print(f"\n类别推断 / category inference ({inference['needs']} needs with a blank "
              f"category): accuracy {inference['accuracy']:.3f}, macro-F1 "
              f"{inference['macro_f1']:.3f}, ECE {inference['ece']:.3f}")
    per_cat = {b.removeprefix("category:"): r for b, r in res["wushe"].items()
               if b.startswith("category:")}
    print(f"\n{'category':<19}{'needs':>6}{'NDCG@5':>9}{'P@1':>8}{'violations':>12}"
          f"{'infer P':>9}{'infer R':>9}")
    for cat, r in per_cat.items():
        ic = inference.get("per_category", {}).get(cat)
        extra = f"{ic['precision']:>9.3f}{ic['recall']:>9.3f}" if ic else f"{'':>9}{'':>9}"
        print(f"{cat:<19}{r['needs']:>6}{r['ndcg@5']:>9.3f}{r['p@1']:>8.3f}"
              f"{r['violations']:>12}{extra}")
    if args.list_violations:
        print(f"\n违反硬性条件的推荐 / suggestions breaking a rule under the labels: {len(broken)}")
        for b in broken:
            print(f"  {b['need_id']} {b['role']} #{b['rank']} {b['actor_id']}: "
                  f"{', '.join(b['reasons'])}; 标注 / labelled {b['category']} "
                  f"{'、'.join(b['groups']) or '-'}; 推断 / inferred {b['inferred_category']} "
                  f"({b['inferred_confidence']:.2f}) {'、'.join(b['inferred_groups']) or '-'}")
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from .dataset import LoadReport, load_dataset
    from .pipeline import RunInputs, plan_run
    from .rematch import MatchOptions
    from .report import render_summary
    from .runfiles import read_forbids, read_pins, read_previous
    from .writers import atomic_open, write_assignments_csv, write_unassigned_csv

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    report = LoadReport()
    ds = load_dataset(args.data, skip_bad_rows=args.skip_bad_rows,
                      max_file_bytes=int(args.max_file_mb * 1_000_000), report=report,
                      assignments=args.previous)
    _print_report(report)
    previous_path = args.previous or (Path(args.data) / "assignments.csv")
    previous, dropped = (read_previous(previous_path, ds) if Path(previous_path).exists()
                         else ([], 0))
    pins = read_pins(args.pins, ds) if args.pins else []
    forbids = read_forbids(args.forbid, ds) if args.forbid else []
    timings["load"] = time.perf_counter() - t0
    opts = MatchOptions(solver=args.solver, candidates=args.candidates, workers=args.workers,
                        scheduler=args.scheduler, processes=args.processes)
    run_id = args.run_id or f"run-{ds.digest[:12]}"
    run = plan_run(RunInputs(ds, previous, pins, forbids), run_id=run_id,
                   fit=lambda d: _matcher(args, d, args.model), options=opts,
                   progress=_progress, timings=timings)
    m, res, timings = run.engine, run.result, run.timings
    t0 = time.perf_counter()
    out = Path(args.out)
    write_assignments_csv(out / "assignments.csv", (asdict(r) for r in res.assignments))
    write_unassigned_csv(out / "unassigned.csv", res.unassigned)
    timings["write"] = time.perf_counter() - t0
    summary = run.summary(run_id=run_id, solver=args.solver, previous_rows_dropped=dropped)
    with atomic_open(out / "summary.json") as fh:
        fh.write(json.dumps(summary, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    print(render_summary(summary, m.taxonomy_))
    print(f"结果已写入 / written: {out}/assignments.csv, unassigned.csv, summary.json")
    for pin in res.infeasible_pins:
        print(f"指定安排无法执行 / infeasible pin: {pin['need_id']} {pin['role']} "
              f"{pin['actor_id']}: {', '.join(pin['reasons'])}", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .records import KIND_ZH

    ds = _load(args)
    m = _matcher(args, ds, args.model)
    ids = _need_ids(args, ds)[: args.limit]
    for nid in ids:
        need = ds.needs[nid]
        inf = m.inference_[nid]
        print(f"\n【需求 {nid}】{ds.communities[need.community_id].name}：{need.text}")
        print(f"  类别：{m.taxonomy_.zh(inf.category) or '未识别'}"
              f"{'' if need.category else f'（推断，置信度 {inf.category_confidence:.2f}）'}"
              f"；对象：{'、'.join(inf.groups) or '未识别'}；紧急程度：{inf.urgency}"
              f"{'' if inf.urgency_given else f'（推断，置信度 {inf.urgency_confidence:.2f}）'}")
        for role, items in m.suggest(nid, k=args.k).items():
            print(f"  ▸ {KIND_ZH[role]}")
            if not items:
                print("    （没有满足硬性条件的资源）")
            for s in items:
                a = ds.actors[s.actor_id]
                print(f"    {s.actor_id} {a.name}  得分 {s.score:.2f}")
                print(f"      理由：{'；'.join(s.reasons)}")
            if restricted(role):
                pending = m.unconfirmed_funds(nid)
                if pending:
                    names = "、".join(f"{fid} {ds.actors[fid].name}" for fid, _, _ in pending)
                    print(f"    确认类别为「{m.taxonomy_.zh(inf.category)}」后可推荐：{names}")
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wushe", description="五社联动 需求—资源匹配引擎")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = p.add_subparsers(dest="command", required=True)

    def data_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--data", required=True, help="dataset folder (contract format)")
        sp.add_argument("--skip-bad-rows", action="store_true",
                        help="import the good rows and report the bad ones")
        sp.add_argument("--max-file-mb", type=float, default=512.0,
                        help="refuse CSV files larger than this (MB)")

    def ranker_arg(sp: argparse.ArgumentParser) -> None:
        from .scoring import RANKERS

        sp.add_argument("--ranker", choices=sorted(RANKERS), default=None,
                        help="how score parts become one score (default: the model's, "
                             "else weighted)")

    def model_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--model", help="model folder written by `wushe fit`")
        sp.add_argument("--params", help="scoring parameters JSON (weights)")
        ranker_arg(sp)

    sp = sub.add_parser("validate", help="check a dataset folder against the contract")
    data_args(sp)
    sp.set_defaults(func=cmd_validate)

    sp = sub.add_parser("train-text", help="cross-validate and train the shipped text "
                                           "classifier on a labelled corpus")
    sp.add_argument("--corpus", default="data/corpus", help="folder of part_*.csv files")
    sp.add_argument("--out", default="matcher/resources/textclf",
                    help="output path without suffix (.json and .npz are written)")
    sp.add_argument("--C", type=float, default=8.0, help="inverse regularisation strength")
    sp.add_argument("--folds", type=int, default=5)
    sp.set_defaults(func=cmd_train_text)

    sp = sub.add_parser("generate", help="write a synthetic dataset")
    sp.add_argument("--out", required=True)
    sp.add_argument("--needs", type=int, default=1000)
    sp.add_argument("--actors", type=int, default=2000)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--communities", type=int, default=None)
    sp.add_argument("--qrels", type=int, default=0,
                    help="also judge N sampled open needs into qrels.csv")
    sp.set_defaults(func=cmd_generate)

    sp = sub.add_parser("fit", help="fit and save a model folder")
    data_args(sp)
    sp.add_argument("--model", required=True, help="output model folder, e.g. models/street")
    sp.add_argument("--params", help="scoring parameters JSON (weights)")
    ranker_arg(sp)
    sp.add_argument("--qrels", help="evaluate on these judgements and record the metrics")
    sp.set_defaults(func=cmd_fit)

    sp = sub.add_parser("suggest", help="ranked, explained suggestions as JSONL")
    data_args(sp)
    model_args(sp)
    sp.add_argument("--need", action="append", help="need id (repeatable); default: all open")
    sp.add_argument("--k", type=int, default=10)
    sp.add_argument("--out", help="output .jsonl (default: stdout)")
    sp.add_argument("--processes", type=int, default=1,
                    help="compute suggestions in N forked processes (same output)")
    sp.set_defaults(func=cmd_suggest)

    sp = sub.add_parser("evaluate", help="NDCG@5, P@1, violations against qrels")
    data_args(sp)
    model_args(sp)
    sp.add_argument("--qrels", required=True)
    sp.add_argument("--truth", help="folder with truth.csv (labelled category/groups)")
    sp.add_argument("--baselines", action="store_true", help="also run TF-IDF, BM25 and TF-IDF within the feasible set")
    sp.add_argument("--list-violations", action="store_true",
                    help="list each suggestion that breaks a rule under the labels, with what "
                         "the engine inferred")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_evaluate)

    sp = sub.add_parser("match", help="assign every open need its team (the nightly re-match)")
    data_args(sp)
    model_args(sp)
    sp.add_argument("--out", required=True, help="output folder")
    sp.add_argument("--previous", help="last run's assignments.csv (default: DATA/assignments.csv)")
    sp.add_argument("--pins", help="CSV need_id,role,actor_id the coordinator fixed")
    sp.add_argument("--forbid", help="CSV need_id,actor_id[,role] never to pair")
    sp.add_argument("--solver", default="auto", choices=["auto", "networkx", "ortools"])
    sp.add_argument("--candidates", type=int, default=20, help="candidate actors per slot")
    sp.add_argument("--workers", type=int, default=0, help="solve components on N local Dask workers")
    sp.add_argument("--scheduler", help="solve components on this Dask scheduler address")
    sp.add_argument("--processes", type=int, default=1,
                    help="build the candidate graph in N forked processes")
    sp.add_argument("--run-id", help="run id written to assignments.csv")
    sp.set_defaults(func=cmd_match)

    sp = sub.add_parser("demo", help="sample data → model → suggestions, printed")
    sp.add_argument("--data", default=str(Path(__file__).resolve().parent.parent / "data" /
                                          "sample"))
    sp.add_argument("--skip-bad-rows", action="store_true")
    sp.add_argument("--max-file-mb", type=float, default=512.0)
    model_args(sp)
    sp.add_argument("--need", action="append")
    sp.add_argument("--limit", type=int, default=5)
    sp.add_argument("--k", type=int, default=3)
    sp.set_defaults(func=cmd_demo)
    _plugins(sub)
    return p


def _plugins(sub: Any) -> None:
    """Sub-commands other packages register (the service's serve, rematch, keys, import).

    The engine never imports the service; the service adds its commands
    through the ``wushe.commands`` entry-point group.
    """
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group="wushe.commands"), key=lambda e: e.name):
        try:
            register = ep.load()
        except ImportError as exc:  # the service's dependencies are not installed
            log.debug("command %s unavailable: %s", ep.name, exc)
            continue
        register(sub)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wushe`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    # the service's migrations log every plugin they load; keep the nightly log readable
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLevelName(args.log_level)))
    if hasattr(args, "k") and args.k is not None and args.k < 1:
        parser.error("--k must be ≥ 1 / --k 必须大于等于 1")
    try:
        return int(args.func(args))
    except DataError as exc:
        print(f"错误：数据有 {len(exc.errors)} 处问题，未导入任何记录。\n"
              f"Error: the dataset has {len(exc.errors)} problem(s); nothing was imported.",
              file=sys.stderr)
        for e in exc.errors[:50]:
            print("  " + e.format(), file=sys.stderr)
        if len(exc.errors) > 50:
            print(f"  …… 另有 {len(exc.errors) - 50} 处 / {len(exc.errors) - 50} more",
                  file=sys.stderr)
        return EXIT_DATA
    except WusheError as exc:
        print(f"错误：{exc.zh}\nError: {exc.en}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("已中断 / interrupted", file=sys.stderr)
        return 130
    except (OSError, MemoryError) as exc:
        if args.debug:
            raise
        print(f"错误：无法读写文件或资源不足：{exc}\nError: I/O or resource failure: {exc}",
              file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # the last guard: a bug must not show users a traceback
        if args.debug:
            raise
        print(f"内部错误，请带 --debug 重试并报告：{type(exc).__name__}: {exc}\n"
              f"Internal error; re-run with --debug and report it.", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
