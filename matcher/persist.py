"""Versioned, pickle-free model folders.

A model folder holds ``model.json`` (format, version, parameters, data
digest, vocabularies, metrics), ``arrays.npz`` (IDF weights, classifier
coefficients; loaded with ``allow_pickle=False``) and ``MODEL_CARD.md``. It
is written to a temporary folder and renamed into place.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .embed import TextEmbedder
from .errors import ModelError
from .protocols import FittedEngine

__all__ = ["FORMAT", "MODEL_VERSION", "load_model", "save_model"]

FORMAT = "wushe-model"
MODEL_VERSION = "1.0"


def save_model(matcher: FittedEngine, path: str | Path, *, metrics: dict[str, Any] | None = None) -> Path:
    """Write a fitted matcher's learned state to the folder ``path``."""
    target = Path(path)
    emb_meta, state = matcher.embedder_.to_state()
    arrays: dict[str, Any] = dict(state)
    clf = matcher.classifier_
    if clf:
        arrays = {**arrays, "clf_coef": clf["coef"], "clf_intercept": clf["intercept"]}
    ds = matcher.dataset_
    meta: dict[str, Any] = {
        "format": FORMAT,
        "version": MODEL_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "params": matcher.get_params(),
        "scoring": matcher.scoring_.as_dict(),
        "data": {"digest": ds.digest, "source": ds.source, "needs": len(ds.needs),
                 "actors": len(ds.actors), "communities": len(ds.communities)},
        "classifier": {"classes": clf["classes"]} if clf else None,
        "embedder": emb_meta,
        "metrics": metrics or {},
    }
    meta["params"]["params"] = None  # the scoring block above holds the values used
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        (tmp / "model.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), "utf-8")
        np.savez_compressed(tmp / "arrays.npz", **arrays)
        (tmp / "MODEL_CARD.md").write_text(_card(meta), "utf-8")
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _card(meta: dict[str, Any]) -> str:
    d = meta["data"]
    w = meta["scoring"]["weights"]
    lines = [
        f"# wushe model {meta['version']}",
        "",
        f"- created: {meta['created_at']}",
        f"- data: {d['source']} ({d['needs']} needs, {d['actors']} actors, "
        f"{d['communities']} communities), sha256 `{d['digest'][:16]}…`",
        f"- word vocabulary: {len(meta['embedder']['word_vocabulary'])} terms; "
        f"character n-grams: {len(meta['embedder']['char_vocabulary'])}",
        f"- category classifier: {'yes, classes ' + ', '.join(meta['classifier']['classes']) if meta['classifier'] else 'no (lexicon only)'}",
        "- score weights: " + ", ".join(f"{k} {v:.3f}" for k, v in w.items()),
        "",
        "## Metrics",
        "",
    ]
    if meta["metrics"]:
        lines += [f"- {k}: {v}" for k, v in meta["metrics"].items()]
    else:
        lines.append("- none recorded (run `wushe evaluate`)")
    return "\n".join(lines) + "\n"


def load_model(path: str | Path) -> tuple[dict[str, Any], TextEmbedder, dict[str, Any]]:
    """Read a model folder: ``(meta, embedder, classifier)``.

    Raises
    ------
    ModelError
        If the folder is missing, corrupt, or of another major version.
    """
    folder = Path(path)
    try:
        meta = json.loads((folder / "model.json").read_text("utf-8"))
        with np.load(folder / "arrays.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError as exc:
        raise ModelError(f"模型目录不完整或不存在：{folder}",
                         f"model folder missing or incomplete: {folder}") from exc
    except (ValueError, OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"模型文件已损坏：{folder}（{exc}）",
                         f"model files are corrupt: {folder} ({exc})") from exc
    if meta.get("format") != FORMAT:
        raise ModelError(f"不是 wushe 模型：{folder}", f"not a wushe model: {folder}")
    major = str(meta.get("version", "")).split(".")[0]
    if major != MODEL_VERSION.split(".")[0]:
        raise ModelError(
            f"模型版本 {meta.get('version')} 与本程序（{MODEL_VERSION}）不兼容，请重新运行 wushe fit",
            f"model version {meta.get('version')} is incompatible with {MODEL_VERSION}; "
            "re-run wushe fit")
    emb = TextEmbedder.from_state(meta["embedder"], arrays)
    clf: dict[str, Any] = {}
    if meta.get("classifier"):
        clf = {"classes": meta["classifier"]["classes"], "coef": arrays["clf_coef"],
               "intercept": arrays["clf_intercept"]}
    return meta, emb, clf
