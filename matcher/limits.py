"""One set of field limits for every path that accepts a record.

The dataset reader (CSV files, ``wushe validate`` / ``wushe import``), the
service's API schemas and its import all read their maximum lengths from
here, so a value refused on one path is refused on every other.

Examples
--------
>>> max_chars("needs", "text")
2000
>>> max_chars("needs", "contact_phone")
40
>>> max_chars("actors", "unknown_column")
200
"""

from __future__ import annotations

__all__ = ["DEFAULT_MAX_CHARS", "FIELD_LIMITS", "max_chars"]

#: a free cell without a limit of its own
DEFAULT_MAX_CHARS = 200

_ID = 100
_PLACE = 200

#: maximum characters per list and column (after trimming surrounding spaces)
FIELD_LIMITS: dict[str, dict[str, int]] = {
    "communities": {"community_id": _ID, "name": _PLACE, "street": _PLACE, "district": _PLACE,
                    "city": _PLACE},
    "needs": {"need_id": _ID, "community_id": _ID, "text": 2000, "category": 50,
              "contact_name": 100, "contact_phone": 40, "id_number": 40, "ref": _ID},
    "actors": {"actor_id": _ID, "name": _PLACE, "text": 2000, "community_id": _ID,
               "street": _PLACE, "district": _PLACE, "city": _PLACE, "certification": 50,
               "contact_phone": 40},
    "feedback": {"need_id": _ID, "actor_id": _ID, "comment": 500},
    "assignments": {"need_id": _ID, "actor_id": _ID, "reason": 500},
    "decisions": {"reason": 500, "actor_id": _ID},
}


def max_chars(table: str, column: str) -> int:
    """The most characters ``column`` of ``table`` may hold."""
    return FIELD_LIMITS.get(table, {}).get(column, DEFAULT_MAX_CHARS)
