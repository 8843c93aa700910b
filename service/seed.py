"""First start: import the sample data and hand out keys.

The keys reach the operator's terminal and nothing else: no log line ever
holds one. Without a terminal (systemd, docker, CI) they go to an owner-only
file, and the log names only the file.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from .audit import record
from .auth import PREFIX_LENGTH, Principal, create_key, hash_key
from .config import Settings
from .engine import bump
from .imports import FILES, ImportResult, import_files
from .orm import ApiKey, Station

__all__ = ["bootstrap", "first_start_keys_path", "hand_over_keys", "import_folder"]

log = logging.getLogger("wushe.service")


def import_folder(s: Session, folder: Path, who: Principal | None = None, *,
                  max_file_bytes: int = 512_000_000, skip_bad_rows: bool = False
                  ) -> ImportResult:
    """Import a dataset folder as an admin; return what was added, skipped and warned."""
    admin = who or Principal(0, "admin", None, None)
    files = {name: (folder / name).read_bytes() for name in FILES if (folder / name).is_file()}
    res = import_files(s, files, admin, max_file_bytes=max_file_bytes,
                       skip_bad_rows=skip_bad_rows)
    bump(s, "data_version")
    bump(s, "load_version")
    record(s, admin, "import", "dataset", str(folder), {"added": res.added})
    return res


def bootstrap(factory: sessionmaker[Session], settings: Settings, *,
              first_start: bool) -> list[tuple[str, str]]:
    """Seed an empty database and create keys; return ``(who, key)`` to hand over once."""
    keys: list[tuple[str, str]] = []
    with factory() as s, s.begin():
        if settings.bootstrap_admin_key and s.scalar(select(ApiKey).where(
                ApiKey.key_hash == hash_key(settings.bootstrap_admin_key))) is None:
            s.add(ApiKey(key_hash=hash_key(settings.bootstrap_admin_key),
                         prefix=settings.bootstrap_admin_key[:PREFIX_LENGTH], role="admin",
                         label="bootstrap"))
        if not first_start or not settings.seed_data:
            return keys
        folder = Path(settings.seed_data)
        if not folder.is_dir():
            return keys
        added = import_folder(s, folder).added
        log.info("首次启动：已导入示例数据 %s（%s）/ first start: sample data imported", folder,
                 added)
        keys.append(("管理员 admin", create_key(s, "admin", label="first start")))
        for st in s.scalars(select(Station).order_by(Station.station_id)):
            keys.append((f"社工站 {st.name}",
                         create_key(s, "station", st.station_id, label="first start")))
        keys.append(("研究人员 researcher", create_key(s, "researcher", label="first start")))
    return keys


def first_start_keys_path(settings: Settings) -> Path:
    """Where first-start keys are written when there is no terminal to show them on."""
    if settings.first_start_keys_file:
        return Path(settings.first_start_keys_file)
    url = make_url(settings.database_url)
    if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
        return Path(url.database).parent / "first-start-keys.txt"
    return Path("var") / "first-start-keys.txt"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def _write_owner_only(path: Path, text: str) -> None:
    # A fresh 0600 file (mkstemp) renamed over the old one: never readable by
    # others, not even for a moment, and a symlink at ``path`` is replaced, not followed.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def hand_over_keys(keys: list[tuple[str, str]], settings: Settings,
                   stream: TextIO) -> Path | None:
    """Give the operator the first-start keys, keeping them out of every log.

    On a terminal ``stream`` they are written there. Otherwise they go to an
    owner-only file (:func:`first_start_keys_path`), which is returned, and one
    log line names that file.
    """
    if not keys:
        return None
    lines = ["首次启动：已创建以下 API 密钥（只显示这一次，请妥善保存）",
             "First start: these API keys were created (shown this once; keep them safe)",
             *(f"  {who}: {key}" for who, key in keys)]
    if _is_terminal(stream):
        stream.write("\n".join(lines) + "\n")
        stream.flush()
        return None
    path = first_start_keys_path(settings).resolve()
    try:
        _write_owner_only(path, "\n".join([
            *lines, "",
            "保存好这些密钥后请删除本文件；丢失的密钥可用 wushe keys create 重新创建。",
            "Delete this file once the keys are stored safely; "
            "make new ones with wushe keys create."]) + "\n")
    except OSError as exc:
        log.error("首次启动的 API 密钥无法写入 %s（%s），请用 wushe keys create 另建密钥 / "
                  "could not write the first-start API keys to %s (%s); "
                  "make keys with wushe keys create", path, exc.strerror, path, exc.strerror)
        return None
    log.warning("首次启动：API 密钥已写入 %s（仅所有者可读），请读取并妥善保存后删除该文件 / "
                "first start: API keys written to %s (owner-only); read them, keep them safe, "
                "then delete the file", path, path)
    return path
