"""The service taxonomy (category codes) and the vocabularies' aliases.

The default taxonomy is package data (``resources/taxonomy.json``); a
dataset may extend it with a ``taxonomy.csv`` (``code,zh``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = ["Taxonomy", "default_taxonomy"]


@dataclass(frozen=True)
class Taxonomy:
    """Category codes with their Chinese names, and alias tables.

    Examples
    --------
    >>> tax = default_taxonomy()
    >>> tax.zh("elderly_care")
    '养老服务'
    >>> tax.resolve_category("助残")
    'disability'
    >>> tax.resolve_group("老人")
    '老年人'
    """

    codes: tuple[str, ...]
    names: dict[str, str]
    category_aliases: dict[str, str]
    group_aliases: dict[str, str]
    role_aliases: dict[str, str]

    def zh(self, code: str) -> str:
        """Chinese name of a category code (the code itself if unknown)."""
        return self.names.get(code, code)

    def resolve_category(self, value: str) -> str | None:
        """Map a code, Chinese name or alias to a code; ``None`` if unknown."""
        v = value.strip()
        if v in self.names:
            return v
        return self.category_aliases.get(v) or self.category_aliases.get(v.lower())

    def resolve_group(self, value: str) -> str | None:
        """Map a target group or alias to the contract's vocabulary."""
        from .records import TARGET_GROUPS

        v = value.strip()
        if v in TARGET_GROUPS:
            return v
        return self.group_aliases.get(v)

    def resolve_role(self, value: str) -> str | None:
        """Map a role name (English or Chinese) to the contract's role."""
        from .records import ROLES

        v = value.strip()
        if v.lower() in ROLES:
            return v.lower()
        return self.role_aliases.get(v)

    def extended(self, extra: dict[str, str]) -> Taxonomy:
        """A taxonomy with project categories ``{code: zh}`` added."""
        names = dict(self.names)
        aliases = dict(self.category_aliases)
        codes = list(self.codes)
        for code, zh in extra.items():
            if code not in names:
                codes.append(code)
            names[code] = zh
            aliases[zh] = code
        return Taxonomy(tuple(codes), names, aliases, self.group_aliases, self.role_aliases)


@lru_cache(maxsize=1)
def default_taxonomy() -> Taxonomy:
    """The taxonomy of the data contract, loaded once from package data."""
    raw = json.loads(
        resources.files("matcher.resources").joinpath("taxonomy.json").read_text("utf-8")
    )
    names: dict[str, str] = {}
    aliases: dict[str, str] = {}
    for cat in raw["categories"]:
        names[cat["code"]] = cat["zh"]
        aliases[cat["zh"]] = cat["code"]
        for a in cat["aliases"]:
            aliases[a] = cat["code"]
    return Taxonomy(
        codes=tuple(names),
        names=names,
        category_aliases=aliases,
        group_aliases=dict(raw["group_aliases"]),
        role_aliases=dict(raw["role_aliases"]),
    )
