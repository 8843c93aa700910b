"""The service's sub-commands of ``wushe``: serve, rematch, keys, import.

Registered through the ``wushe.commands`` entry point, so the engine's
command line never imports the service.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["register"]

log = logging.getLogger("wushe.service")
EXIT_BUSY = 75  # EX_TEMPFAIL: another run holds the lock; cron may simply retry later


def _settings(args: argparse.Namespace) -> Any:
    from .config import Settings, get_settings

    s = get_settings()
    if getattr(args, "database", None):
        s = Settings(**{**s.model_dump(), "database_url": args.database})
    return s


def _factory(args: argparse.Namespace) -> Any:
    from .db import make_engine, migrate, sessions

    engine = make_engine(_settings(args).database_url)
    migrate(engine)
    return sessions(engine)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app

    settings = _settings(args)
    print(f"wushe 服务启动：http://{args.host}:{args.port}/ （数据库：{_safe(settings.database_url)}，"
          f"{args.workers} 个进程）", file=sys.stderr)
    if args.workers == 1:
        uvicorn.run(create_app(settings), host=args.host, port=args.port,
                    log_level=args.log_level.lower())
        return 0
    # Worker processes build the app from the environment; hand the database over.
    # Each holds its own engine (suggestions are CPU-bound: one GIL per core).
    import os

    from .db import is_empty, make_engine, migrate, sessions
    from .seed import bootstrap, hand_over_keys

    engine = make_engine(settings.database_url)
    migrate(engine)  # once, before the workers race to it; so is the first-start seeding
    hand_over_keys(bootstrap(sessions(engine), settings, first_start=is_empty(engine)),
                   settings, sys.stderr)
    engine.dispose()
    os.environ["WUSHE_DATABASE_URL"] = settings.database_url
    uvicorn.run("service.app:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=args.log_level.lower())
    return 0


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_rematch(args: argparse.Namespace) -> int:
    from matcher.rematch import MatchOptions
    from matcher.report import render_summary
    from matcher.taxonomy import default_taxonomy

    from .runs import RunBusy, acquire, beat_interval, execute_run

    settings = _settings(args)
    factory = _factory(args)
    try:
        run_id = acquire(factory, "cli:rematch", settings.lock_stale_seconds)
    except RunBusy as exc:
        print(f"错误：{exc.zh}\nError: {exc.en}", file=sys.stderr)
        return EXIT_BUSY
    opts = MatchOptions(solver=args.solver, candidates=args.candidates, workers=args.workers,
                        scheduler=args.scheduler)
    summary = execute_run(factory, run_id, options=opts,
                          beat_every=beat_interval(settings.lock_stale_seconds))
    print(render_summary(summary, default_taxonomy()))
    print(f"匹配任务 {run_id} 已写入数据库 / run {run_id} written", file=sys.stderr)
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    from .audit import record
    from .auth import create_key

    factory = _factory(args)
    with factory() as s, s.begin():
        key = create_key(s, args.role, args.station, label=args.label)
        record(s, "cli", "key.create", "key", key[:10], {"role": args.role,
                                                        "station_id": args.station})
    print(key)
    return 0


_KEY_COLUMNS = ("前缀 prefix", "角色 role", "社工站 station", "标签 label",
                "创建 created (UTC)", "停用 revoked (UTC)")


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(_width(r[i]) for r in (header, *rows)) for i in range(len(header))]
    return "\n".join("  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(r, widths,
                                                                                  strict=True))
                     .rstrip() for r in (header, *rows))


def cmd_keys_list(args: argparse.Namespace) -> int:
    import json

    from .auth import list_keys

    with _factory(args)() as s:
        keys = list_keys(s)
    if args.json:
        print(json.dumps([{"prefix": k.prefix, "role": k.role, "station_id": k.station_id,
                           "label": k.label, "created_at": k.created_at.isoformat(),
                           "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None}
                          for k in keys], ensure_ascii=False, indent=2))
        return 0
    if not keys:
        print("还没有密钥 / no keys yet", file=sys.stderr)
        return 0

    print(_table(_KEY_COLUMNS, [(k.prefix, k.role, k.station_id or "-", k.label or "-",
                                 _at(k.created_at), _at(k.revoked_at)) for k in keys]))
    return 0


def _at(when: datetime | None) -> str:
    return f"{when:%Y-%m-%d %H:%M:%S}" if when is not None else "-"


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    from .audit import record
    from .auth import revoke_key

    factory = _factory(args)
    with factory() as s, s.begin():
        info, revoked_now = revoke_key(s, args.prefix)
        if revoked_now:
            record(s, "cli", "key.revoke", "key", info.prefix, {"role": info.role,
                                                                "station_id": info.station_id})
    who = f"{info.role} {info.station_id or ''}".strip()
    if not revoked_now:
        print(f"密钥 {info.prefix}（{who}）已于 {_at(info.revoked_at)} UTC 停用，无需再次停用 / "
              f"key {info.prefix} ({who}) was already revoked at {_at(info.revoked_at)} UTC")
        return 0
    print(f"已停用密钥 {info.prefix}（{who}）；运行中的服务最迟 10 秒后拒绝它 / "
          f"revoked key {info.prefix} ({who}); running services refuse it within 10 s")
    return 0


def _print_notes(skipped: list[dict[str, Any]], warnings: list[dict[str, Any]]) -> None:
    """Skipped rows and warnings on stderr, as every engine command prints them."""
    from matcher.errors import RowError

    def fmt(e: dict[str, Any]) -> str:
        return RowError(e["file"], e["line"], e["column"], e["message"], e["message_en"]).format()

    if skipped:
        print(f"已跳过 {len(skipped)} 处错误所在的行 / skipped rows with {len(skipped)} "
              "error(s):", file=sys.stderr)
        for e in skipped[:20]:
            print("  " + fmt(e), file=sys.stderr)
    for w in warnings:  # never an error: the data says what a fund is restricted to
        print("提示 / warning: " + fmt(w), file=sys.stderr)


def cmd_import(args: argparse.Namespace) -> int:
    from .seed import import_folder

    factory = _factory(args)
    folder = Path(args.data)
    if not folder.is_dir():
        from matcher.errors import DatasetError

        raise DatasetError(f"数据目录不存在：{folder}", f"dataset folder does not exist: {folder}")
    with factory() as s, s.begin():
        res = import_folder(s, folder, max_file_bytes=int(args.max_file_mb * 1_000_000),
                            skip_bad_rows=args.skip_bad_rows)
    _print_notes(res.skipped, res.warnings)
    print(f"已导入 / imported: {res.added}")
    return 0


def register(sub: Any) -> None:
    """Add the service's sub-commands to ``wushe``'s sub-parsers."""
    def db_arg(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--database", help="database URL (default: WUSHE_DATABASE_URL, "
                                           "else embedded SQLite var/wushe.sqlite3)")

    sp = sub.add_parser("serve", help="start the station service and web page")
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8000)
    sp.add_argument("--workers", type=int, default=1,
                    help="worker processes (each loads its own engine; ≈ one per core)")
    db_arg(sp)
    sp.set_defaults(func=cmd_serve)

    sp = sub.add_parser("rematch", help="the nightly re-match against the service's database")
    db_arg(sp)
    sp.add_argument("--solver", default="auto", choices=["auto", "networkx", "ortools"])
    sp.add_argument("--candidates", type=int, default=20)
    sp.add_argument("--workers", type=int, default=0)
    sp.add_argument("--scheduler")
    sp.set_defaults(func=cmd_rematch)

    sp = sub.add_parser("keys", help="manage API keys")
    ksub = sp.add_subparsers(dest="keys_command", required=True)
    kp = ksub.add_parser("create", help="create a key and print it alone on stdout")
    kp.add_argument("--role", required=True, choices=["station", "admin", "researcher"])
    kp.add_argument("--station", help="station id (the street, e.g. 翠苑街道) for role station")
    kp.add_argument("--label", default="")
    db_arg(kp)
    kp.set_defaults(func=cmd_keys_create)
    kp = ksub.add_parser("list", help="list keys by prefix (never the keys themselves)")
    kp.add_argument("--json", action="store_true", help="JSON for scripts instead of a table")
    db_arg(kp)
    kp.set_defaults(func=cmd_keys_list)
    kp = ksub.add_parser("revoke", help="revoke the key with this prefix (from keys list)")
    kp.add_argument("prefix", help="the 10-character prefix shown by wushe keys list")
    db_arg(kp)
    kp.set_defaults(func=cmd_keys_revoke)

    sp = sub.add_parser("import", help="import a dataset folder into the service's database")
    sp.add_argument("--data", required=True)
    sp.add_argument("--skip-bad-rows", action="store_true",
                    help="import the good rows and report the bad ones")
    sp.add_argument("--max-file-mb", type=float, default=512.0)
    db_arg(sp)
    sp.set_defaults(func=cmd_import)
