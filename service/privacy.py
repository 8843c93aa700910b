"""Masking of personal information (个人信息保护法): one rule, applied everywhere.

- Phone numbers and ID numbers are masked in every export and in whatever a
  masked caller (a researcher) reads, inside any free text a person typed:
  need texts, reasons, comments, notes, contact fields.
- A researcher sees a *person's* name masked to the surname: residents'
  contact names and the names of volunteers and social workers (people);
  organizations and funds are bodies, their names stay.
- :func:`scrub` is the safety net: every string in a response a masked
  caller receives passes through :func:`mask_text`, whatever the route.

Examples
--------
>>> mask_text("联系电话13912345678，身份证330106195001011234")
'联系电话139****5678，身份证330106********1234'
>>> mask_name("王秀英")
'王**'
>>> person_name("李建国", "volunteer", masked=True), person_name("阳光社工", "organization", masked=True)
('李**', '阳光社工')
>>> scrub({"reason": "电话 13912345678", "need_id": "N13912345678", "n": [1, "0571-88765432"]})
{'reason': '电话 139****5678', 'need_id': 'N13912345678', 'n': [1, '0571-****5432']}
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["PERSON_KINDS", "mask_id", "mask_name", "mask_phone", "mask_text", "person_name",
           "scrub", "search_text_is_masked_safe"]

# 18-digit resident ID (last may be X) and 15-digit old IDs; then mobiles and landlines.
_ID = re.compile(r"(?<!\d)(?:\d{17}[\dXx]|\d{15})(?![\dXx])")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[\s-]?(\d{3,4})(\d{4})(?!\d)")

#: actor kinds that are people (their names are personal information)
PERSON_KINDS = frozenset({"volunteer", "social_worker"})

#: keys whose values are machine identifiers or timestamps, never typed by a person
_MACHINE_KEYS = frozenset({"at", "model_version", "version", "status", "role", "kind", "code"})


def mask_phone(value: str) -> str:
    """``13912345678`` → ``139****5678``; anything else keeps its last 4 digits."""
    v = value.strip()
    if not v:
        return ""
    out = mask_text(v)
    if out != v:
        return out
    digits = re.sub(r"\D", "", v)
    return "*" * max(len(digits) - 4, 0) + digits[-4:] if len(digits) > 4 else "****"


def mask_id(value: str) -> str:
    """Keep the 6-digit region code and the last 4 characters."""
    v = value.strip()
    if len(v) <= 10:
        return "*" * len(v)
    return v[:6] + "*" * (len(v) - 10) + v[-4:]


def mask_name(value: str) -> str:
    """Keep the surname (first character) only."""
    v = value.strip()
    return v[:1] + "*" * (len(v) - 1) if v else ""


def mask_text(text: str) -> str:
    """Mask ID numbers and phone numbers inside free text."""
    text = _ID.sub(lambda m: mask_id(m.group(0)), text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(3)}", text)


def person_name(name: str, kind: str, *, masked: bool) -> str:
    """An actor's name as a caller sees it: people's names masked for masked callers."""
    return mask_name(name) if masked and kind in PERSON_KINDS else name


def _machine(key: str) -> bool:
    return key in _MACHINE_KEYS or key.endswith(("_id", "_at")) or key == "id"


def scrub(value: Any, key: str = "") -> Any:
    """Mask phone and ID numbers in every string of a JSON-like value.

    Identifiers (keys ending in ``_id``) and timestamps are left alone, so links
    keep working; everything else a person may have typed is masked.
    """
    if isinstance(value, str):
        return value if _machine(key) else mask_text(value)
    if isinstance(value, dict):
        return {k: scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, key) for v in value]
    return value


def search_text_is_masked_safe(q: str) -> bool:
    """True when ``q`` found in masked text is also found in the raw text.

    Masking only ever writes ``*`` and ``-`` into a text, so a query with neither
    can be pre-filtered on the raw text and confirmed on the masked one.
    """
    return "*" not in q and "-" not in q
