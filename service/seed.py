"""First start: import the sample data and hand out keys."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from .audit import record
from .auth import Principal, create_key, hash_key
from .config import Settings
from .engine import bump
from .imports import FILES, import_files
from .orm import ApiKey, Station

__all__ = ["bootstrap", "import_folder"]


def import_folder(s: Session, folder: Path, who: Principal | None = None, *,
                  max_file_bytes: int = 512_000_000, skip_bad_rows: bool = False) -> dict[str, int]:
    """Import a dataset folder as an admin; return how many rows were added."""
    admin = who or Principal(0, "admin", None, None)
    files = {name: (folder / name).read_bytes() for name in FILES if (folder / name).is_file()}
    res = import_files(s, files, admin, max_file_bytes=max_file_bytes,
                       skip_bad_rows=skip_bad_rows)
    bump(s, "data_version")
    bump(s, "load_version")
    record(s, admin, "import", "dataset", str(folder), {"added": res.added})
    return res.added


def bootstrap(factory: sessionmaker[Session], settings: Settings, *,
              first_start: bool) -> list[str]:
    """Seed an empty database and create keys; return lines to show the operator once."""
    lines: list[str] = []
    with factory() as s, s.begin():
        if settings.bootstrap_admin_key and s.scalar(select(ApiKey).where(
                ApiKey.key_hash == hash_key(settings.bootstrap_admin_key))) is None:
            s.add(ApiKey(key_hash=hash_key(settings.bootstrap_admin_key),
                         prefix=settings.bootstrap_admin_key[:10], role="admin",
                         label="bootstrap"))
        if not first_start or not settings.seed_data:
            return lines
        folder = Path(settings.seed_data)
        if not folder.is_dir():
            return lines
        added = import_folder(s, folder)
        lines.append(f"首次启动：已导入示例数据 {folder}（{added}）")
        lines.append("首次启动：已创建以下 API 密钥（只显示这一次，请妥善保存）")
        lines.append(f"  管理员 admin: {create_key(s, 'admin', label='first start')}")
        for st in s.scalars(select(Station).order_by(Station.station_id)):
            key = create_key(s, "station", st.station_id, label="first start")
            lines.append(f"  社工站 {st.name}: {key}")
        lines.append(f"  研究人员 researcher: {create_key(s, 'researcher', label='first start')}")
    return lines
