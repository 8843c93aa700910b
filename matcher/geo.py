"""Geography: where a need is, where an actor serves, how far apart they are.

Areas form a hierarchy community → street → district → city. An area key is
a string path (``city/district/street/community``) cut at a level, so that
two streets of the same name in different districts never meet.
"""

from __future__ import annotations

import math
from collections import defaultdict

from .csvio import Table
from .errors import RowError
from .records import SCOPES, Actor, Community

__all__ = ["ANYWHERE", "Places", "area_key", "community_path", "haversine_km",
           "unresolved_homes"]

ANYWHERE = "*"


def community_path(c: Community) -> tuple[str, str, str, str]:
    """``(city, district, street, community_id)`` of a community."""
    return (c.city, c.district, c.street, c.community_id)


def area_key(path: tuple[str, ...], level: str) -> str:
    """Key of the area at ``level`` containing ``path``.

    Examples
    --------
    >>> area_key(("杭州市", "西湖区", "翠苑街道", "C001"), "street")
    '杭州市/西湖区/翠苑街道'
    >>> area_key(("杭州市", "西湖区", "翠苑街道", "C001"), "city")
    '杭州市'
    """
    depth = SCOPES[::-1].index(level) + 1
    return "/".join(path[:depth])


class Places:
    """Look-ups over the communities table, built once.

    Examples
    --------
    >>> cs = {"C1": Community("C1", "翠苑一区社区", "翠苑街道", "西湖区", "杭州市")}
    >>> Places(cs).actor_home(Actor("A1", "volunteer", "王阿姨", "陪聊", street="翠苑街道"))
    ('杭州市', '西湖区', '翠苑街道')
    """

    def __init__(self, communities: dict[str, Community]) -> None:
        self.communities = communities
        self.streets: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
        self.districts: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for c in communities.values():
            self.streets[c.street].add((c.city, c.district, c.street))
            self.districts[c.district].add((c.city, c.district))

    def actor_home(self, actor: Actor) -> tuple[str, ...] | None:
        """The actor's home path, as deep as it is known; ``None`` if ambiguous.

        The most specific field given wins: ``community_id``, else ``street``
        (its district and city looked up when not given), else ``district``,
        else ``city``. An actor with no home at all serves from anywhere
        (``("*",)``), which only a city scope makes use of.
        """
        if actor.community_id:
            return community_path(self.communities[actor.community_id])
        if actor.street:
            cands = {p for p in self.streets.get(actor.street, set())
                     if (not actor.city or p[0] == actor.city)
                     and (not actor.district or p[1] == actor.district)}
            if len(cands) == 1:
                return next(iter(cands))
            if actor.district and not cands:
                return (actor.city or self._city_of(actor.district), actor.district, actor.street)
            return None
        if actor.district:
            if actor.city:
                return (actor.city, actor.district)
            dcands = self.districts.get(actor.district, set())
            return next(iter(dcands)) if len(dcands) == 1 else None
        if actor.city:
            return (actor.city,)
        return (ANYWHERE,)

    def _city_of(self, district: str) -> str:
        cities = {p[0] for p in self.districts.get(district, set())}
        return next(iter(cities)) if len(cities) == 1 else ""


def unresolved_homes(actors: dict[str, Actor], communities: dict[str, Community],
                     table: Table) -> list[RowError]:
    """Errors for actors whose home is ambiguous or coarser than their scope.

    An actor that gives ``street`` without its district, where two districts
    have a street of that name, cannot be placed; nor can an actor whose
    ``scope`` is finer than the home it gives (``scope=community`` with only a
    street). Both would make the scope constraint undecidable.
    """
    lines = {cells.get("actor_id", ""): line for line, cells in table.rows}
    places = Places(communities)
    errs: list[RowError] = []
    for a in actors.values():
        line = lines.get(a.actor_id, 0)
        home = places.actor_home(a)
        if home is None:
            col = "street" if a.street else "district"
            errs.append(RowError(
                table.name, line, col,
                f"无法确定“{a.name}”的所在地（街道或区名不唯一或不存在），请填写 community_id 或 district",
                f"cannot place {a.name!r} (street or district ambiguous or unknown); "
                "give community_id or district"))
            continue
        if home != (ANYWHERE,) and len(home) < len(SCOPES) - SCOPES.index(a.scope):
            errs.append(RowError(
                table.name, line, "scope",
                f"服务范围为 {a.scope}，但所在地只填写到更大的区域；请补充 community_id 或 street",
                f"scope is {a.scope} but the home given is coarser; give community_id or street"))
    return errs


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres.

    Examples
    --------
    >>> round(haversine_km(30.0, 120.0, 30.0, 120.01), 2)
    0.96
    """
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, h)))
