"""The append-only audit log: every write and every decision."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from .orm import AuditEntry

__all__ = ["record"]


def record(s: Session, who: Any, action: str, object_type: str = "", object_id: str = "",
           detail: dict[str, Any] | None = None, model_version: str = "") -> None:
    """Add an entry in the caller's transaction (so it commits or rolls back with the write)."""
    key_id = getattr(who, "key_id", None)
    s.add(AuditEntry(key_id=key_id, who=getattr(who, "who", str(who)),
                     role=getattr(who, "role", "system"),
                     station_id=getattr(who, "station_id", None), action=action,
                     object_type=object_type, object_id=object_id,
                     detail=json.dumps(detail or {}, ensure_ascii=False, default=str),
                     model_version=model_version))
