"""Masking of personal information (个人信息保护法).

Phone numbers and ID numbers are masked in every export and in whatever a
researcher sees; names are masked for researchers too.

Examples
--------
>>> mask_text("联系电话13912345678，身份证330106195001011234")
'联系电话139****5678，身份证330106********1234'
>>> mask_name("王秀英")
'王**'
"""

from __future__ import annotations

import re

__all__ = ["mask_id", "mask_name", "mask_phone", "mask_text"]

# 18-digit resident ID (last may be X) and 15-digit old IDs; then mobiles and landlines.
_ID = re.compile(r"(?<!\d)(?:\d{17}[\dXx]|\d{15})(?![\dXx])")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[\s-]?(\d{3,4})(\d{4})(?!\d)")


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
