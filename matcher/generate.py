"""Synthetic datasets in the contract's format, from a street to a city.

Needs are written in four voices (resident, family member, grid worker,
community worker), long and short, colloquial, with typos and dialect, and
often without any category word. Actors of the four kinds describe what they
offer in their own words. Scope, time slots, capacities, fund restrictions
and budgets are drawn so that they bind. Alongside the dataset the generator
writes ``truth.csv`` (each need's intent, category and groups; each actor's
intents) so that relevance judgements can be derived (see ``evaluate``).
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ParameterError
from .records import ROLES, TIME_SLOTS

__all__ = ["GenerationSummary", "generate_dataset"]

_PLACES = ["翠苑", "文新", "古荡", "西溪", "北山", "灵隐", "转塘", "留下", "蒋村", "三墩", "祥符", "米市", "湖墅", "小河", "大关", "和睦", "拱宸", "上塘", "半山", "康桥", "丁兰", "笕桥", "彭埠", "九堡", "凯旋", "采荷", "望江", "南星", "紫阳", "清波", "湖滨", "小营", "长庆", "朝晖", "潮鸣", "天水", "武林", "东新", "石桥", "新华", "永安", "和平", "幸福", "光明", "红旗", "建设", "解放", "人民", "东湖", "南苑", "北园", "振兴", "兴隆", "安康", "龙井", "梅林", "桂花", "银湖", "金沙", "玉泉", "青山", "白马", "春江", "秋涛", "东岳", "西湾", "双浦", "良渚", "瓶窑", "仁和", "崇贤", "塘栖", "临平", "乔司", "星桥", "运河", "崇福", "长安", "许村", "盐官", "斜桥", "周王庙"]
_CITIES = ("杭州市", "宁波市", "温州市", "嘉兴市", "湖州市", "绍兴市", "金华市", "台州市")
_DISTRICT_SUFFIX = ("区", "区", "区", "县", "市")
_COMM_SUFFIX = ("社区", "一区社区", "二区社区", "东社区", "西社区", "南社区", "北社区", "新村社区",
                "花园社区", "村")
_ORG_TYPES = ("社会工作服务中心", "公益服务中心", "志愿者协会", "养老服务中心", "助残服务社",
              "青少年事务社", "心理咨询服务中心", "法律服务所", "调解工作室", "文体协会")
_FUND_TYPES = ("慈善基金", "社区基金", "专项基金", "慈善信托", "公益基金会")


@dataclass(frozen=True)
class GenerationSummary:
    """What was written."""

    communities: int
    needs: int
    actors: int
    folder: str


def _catalogue() -> dict[str, Any]:
    text = resources.files("matcher.resources").joinpath("intents.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


class _Writer:
    def __init__(self, path: Path, columns: list[str]) -> None:
        self.fh = path.open("w", encoding="utf-8", newline="")
        self.w = csv.writer(self.fh, lineterminator="\n")
        self.w.writerow(columns)

    def row(self, values: list[Any]) -> None:
        self.w.writerow(values)

    def close(self) -> None:
        self.fh.close()


def _areas(rng: random.Random, n_communities: int) -> list[dict[str, Any]]:
    n_streets = max(1, round(n_communities / 8))
    n_districts = max(1, round(n_streets / 8))
    n_cities = max(1, min(len(_CITIES), round(n_districts / 12)))
    it = _names(rng)
    districts = [(rng.choice(_CITIES[:n_cities]) if i else _CITIES[0],
                  next(it) + rng.choice(_DISTRICT_SUFFIX)) for i in range(n_districts)]
    streets = []
    for i in range(n_streets):
        city, district = districts[i % n_districts]
        rural = rng.random() < 0.2
        streets.append((city, district, next(it) + ("镇" if rural else "街道"), rural))
    out = []
    base = {c: (30.0 + i * 0.9, 120.0 + i * 0.7) for i, c in enumerate(_CITIES)}
    for i in range(n_communities):
        city, district, street, rural = streets[i % n_streets]
        lat0, lon0 = base[city]
        s_ix = i % n_streets
        out.append({
            "community_id": f"C{i + 1:05d}",
            "name": next(it) + ("村" if rural else rng.choice(_COMM_SUFFIX[:-1])),
            "street": street, "district": district, "city": city,
            "kind": "rural" if rural else "urban",
            "lat": round(lat0 + (s_ix % 9) * 0.03 + rng.uniform(-0.012, 0.012), 5),
            "lon": round(lon0 + (s_ix // 9) * 0.03 + rng.uniform(-0.012, 0.012), 5),
            "population": rng.randint(1500, 15000),
        })
    return out


def _names(rng: random.Random) -> Iterator[str]:
    """Distinct place names, endlessly: shuffled combinations, then numbered phases."""
    names = [a + b for a in _PLACES for b in ("", "东", "西", "南", "北", "新", "城", "湾")]
    rng.shuffle(names)
    yield from names
    phase = 2
    while True:
        for n in names:
            yield f"{n}{phase}期"
        phase += 1


def _typo(rng: random.Random, text: str, typos: dict[str, str], rate: float) -> str:
    for right, wrong in typos.items():
        if right in text and rng.random() < rate:
            text = text.replace(right, wrong, 1)
    return text


def _need_text(rng: random.Random, cat: dict[str, Any], intent: dict[str, Any],
               community: dict[str, Any]) -> str:
    problem = rng.choice(intent["problems"])
    service = rng.choice(intent["services"])
    sur = rng.choice(cat["surnames"])
    voice = rng.random()
    elder = "老年人" in intent["groups"] and rng.random() < 0.8
    child = "儿童" in intent["groups"] and not elder
    if voice < 0.35:  # resident, first person
        lead = (f"我今年{rng.randint(62, 93)}岁，" if elder else
                (rng.choice(["我是单亲妈妈，", "我们是外地来打工的，", ""]) if child else ""))
        text = f"{lead}{problem}，{rng.choice(['想问问社区能不能帮忙', '有没有人能帮一下', '不知道找谁', '希望能安排'])}"
        if rng.random() < 0.3:
            text += f"，听说有{service}"
    elif voice < 0.65:  # family member
        who = rng.choice(cat["relatives"] if elder else cat["kids"] if child else ["家里人", "我老公", "我爱人"])
        age = f"{rng.randint(65, 95)}岁了，" if elder and rng.random() < 0.6 else ""
        text = (f"{who}{age}{problem}，{rng.choice(['我们上班走不开', '我在外地工作顾不上', '家里人都忙', ''])}"
                f"{rng.choice(['，麻烦社区帮帮忙', '，想申请一下', '，怎么办', ''])}")
    elif voice < 0.85:  # grid worker, terse
        who = (f"{sur}{'大爷' if rng.random() < 0.5 else '阿婆'}（{rng.randint(70, 92)}岁）" if elder
               else f"{sur}某家{'孩子' if child else ''}")
        text = f"网格走访：{community['name']}{who}，{problem}。{rng.choice(['建议', '需', '请求'])}{service}。"
    else:  # community worker, formal
        who = f"辖区居民{sur}某某" + ("（高龄独居）" if elder and rng.random() < 0.5 else "")
        text = (f"{who}反映{problem}，经入户评估，需链接{service}资源，"
                f"{rng.choice(['请相关力量对接', '拟纳入需求清单', '请社工站统筹'])}。")
    if rng.random() < 0.15:
        text = problem  # the shortest messages: just the trouble, no ask
    text = _typo(rng, text, cat["typos"], 0.25)
    return text + rng.choice(cat["fillers"])


def _actor_text(rng: random.Random, kind: str, name: str, offers: list[str],
                groups: list[str], cats_zh: list[str]) -> str:
    if kind == "organization":
        return (f"{name}，{rng.choice(['专业从事', '长期开展', '承接政府购买服务项目：'])}"
                f"{'；'.join(offers)}。服务对象：{'、'.join(groups)}。")
    if kind == "social_worker":
        return (f"{rng.choice(['持证社工', '驻站社工', '街道社工站社工'])}，"
                f"擅长{'、'.join(offers)}，有{rng.randint(1, 15)}年一线经验。")
    if kind == "volunteer":
        who = rng.choice(["退休教师", "退休医生", "大学生", "社区党员", "全职妈妈", "退伍老兵",
                          "热心居民", "水电工", "理发师"])
        return f"{who}，{rng.choice(['可以', '愿意', '能'])}{'，'.join(offers)}"
    return (f"{name}，资助{'、'.join(cats_zh)}相关项目" +
            (f"，面向{'、'.join(groups)}" if groups else "") + "。")


def generate_dataset(out: str | Path, *, needs: int = 1000, actors: int = 2000,
                     seed: int = 0, communities: int | None = None) -> GenerationSummary:
    """Write a synthetic dataset folder (plus ``truth.csv`` and ``actor_truth.csv``).

    Examples
    --------
    >>> import tempfile
    >>> s = generate_dataset(tempfile.mkdtemp(), needs=20, actors=40, seed=1)
    >>> (s.needs, s.actors, s.communities)
    (20, 40, 5)
    """
    if needs < 1 or actors < 4:
        raise ParameterError("需求数至少为 1、资源数至少为 4", "needs must be ≥ 1 and actors ≥ 4")
    rng = random.Random(seed)
    cat = _catalogue()
    from .taxonomy import default_taxonomy

    tax = default_taxonomy()
    intents = cat["intents"]
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    n_comm = communities or max(5, needs // 100)
    areas = _areas(rng, n_comm)
    cw = _Writer(folder / "communities.csv", list(areas[0]))
    for a in areas:
        cw.row(list(a.values()))
    cw.close()
    nw = _Writer(folder / "needs.csv", ["need_id", "community_id", "text", "category",
                                        "target_groups", "urgency", "beneficiaries", "roles",
                                        "volunteers_needed", "budget_yuan", "time_slots",
                                        "created_at", "status"])
    tw = _Writer(folder / "truth.csv", ["need_id", "intent", "category", "target_groups"])
    for i in range(needs):
        intent = rng.choice(intents)
        comm = rng.choice(areas)
        nid = f"N{i + 1:06d}"
        groups = intent["groups"][:1] if rng.random() < 0.7 else intent["groups"]
        roles = list(ROLES) if rng.random() < 0.55 else rng.sample(list(ROLES), rng.randint(1, 3))
        urgent = intent["id"] in ("hardship", "safety", "rehab", "home_care")
        urgency = rng.choices([1, 2, 3, 4], [0.15, 0.45, 0.25, 0.15] if urgent else
                              [0.25, 0.55, 0.15, 0.05])[0]
        budget = 0 if rng.random() < 0.35 else rng.choice([300, 800, 1500, 3000, 6000, 12000, 30000])
        slots = "" if rng.random() < 0.6 else ";".join(rng.sample(TIME_SLOTS, rng.randint(1, 2)))
        status = rng.choices(["open", "assigned", "in_progress", "done"], [0.8, 0.07, 0.08, 0.05])[0]
        nw.row([nid, comm["community_id"], _need_text(rng, cat, intent, comm),
                intent["category"] if rng.random() < 0.45 else "",
                ";".join(groups) if rng.random() < 0.35 else "", urgency, rng.randint(1, 4),
                ";".join(sorted(roles, key=ROLES.index)),
                rng.randint(1, 3) if "volunteer" in roles else 0,
                budget if "fund" in roles else 0, slots,
                f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}", status])
        tw.row([nid, intent["id"], intent["category"], ";".join(groups)])
    nw.close()
    tw.close()
    _write_actors(rng, folder, actors, areas, intents, tax)
    return GenerationSummary(len(areas), needs, actors, str(folder))


def _homes(rng: random.Random, kind: str, areas: list[dict[str, Any]]) -> tuple[list[Any], str]:
    a = rng.choice(areas)
    if kind == "volunteer":
        return [a["community_id"], "", "", ""], rng.choices(["community", "street"], [0.4, 0.6])[0]
    if kind == "social_worker":
        return (["", a["street"], a["district"], a["city"]],
                rng.choices(["street", "district"], [0.85, 0.15])[0])
    if kind == "organization":
        if rng.random() < 0.4:
            return [a["community_id"], "", "", ""], rng.choice(["street", "district"])
        return ["", "", a["district"], a["city"]], rng.choices(["district", "city"], [0.8, 0.2])[0]
    if rng.random() < 0.3:
        return ["", "", a["district"], a["city"]], "district"
    return ["", "", "", a["city"]], "city"


def _write_actors(rng: random.Random, folder: Path, n: int, areas: list[dict[str, Any]],
                  intents: list[dict[str, Any]], tax: Any) -> None:
    aw = _Writer(folder / "actors.csv", ["actor_id", "kind", "name", "text", "community_id",
                                         "street", "district", "city", "scope", "capacity",
                                         "budget_yuan", "categories", "target_groups",
                                         "certification", "time_slots", "active"])
    tw = _Writer(folder / "actor_truth.csv", ["actor_id", "intents"])
    by_cat: dict[str, list[dict[str, Any]]] = {}
    for it in intents:
        by_cat.setdefault(it["category"], []).append(it)
    cats = sorted(by_cat)
    kinds = rng.choices(list(ROLES), [0.12, 0.08, 0.74, 0.06], k=n)
    kinds[:4] = list(ROLES)
    for i, kind in enumerate(kinds):
        aid = f"{'OSVF'[ROLES.index(kind)]}{i + 1:06d}"
        home, scope = _homes(rng, kind, areas)
        if kind == "fund":
            fcats = rng.sample(cats, rng.randint(1, 3)) if rng.random() < 0.8 else []
            mine = [it for c in fcats for it in by_cat[c]]
        elif kind == "volunteer":
            mine = rng.sample(intents, rng.randint(1, 2))
        else:
            c = rng.choice(cats)
            pool = by_cat[c] + rng.sample(intents, 1)
            mine = rng.sample(pool, min(len(pool), rng.randint(1, 3)))
        groups = sorted({g for it in mine for g in it["groups"][:1]})
        sur = rng.choice(["王", "李", "张", "刘", "陈", "杨", "赵", "黄"])
        place = rng.choice(areas)["name"].replace("社区", "")
        name = {"organization": f"{place}{rng.choice(_ORG_TYPES)}",
                "social_worker": f"{sur}{rng.choice('敏丽静华军伟芳娟强磊')}",
                "volunteer": f"{sur}{rng.choice(['阿姨', '师傅', '老师', '同学', '大哥', '姐'])}",
                "fund": f"{place}{rng.choice(_FUND_TYPES)}"}[kind]
        offers = [rng.choice(it["offers"]) for it in mine] or ["社区各类民生服务"]
        cats_zh = sorted({tax.zh(it["category"]) for it in mine}) or ["社区民生"]
        fund_groups = groups if kind == "fund" and rng.random() < 0.5 and mine else []
        text = _actor_text(rng, kind, name, offers, fund_groups if kind == "fund" else groups,
                           cats_zh)
        show_cats = kind == "fund" or rng.random() < 0.5
        cap = {"organization": rng.randint(3, 20), "social_worker": rng.randint(2, 8),
               "volunteer": rng.randint(1, 3), "fund": ""}[kind]
        budget = rng.choice([5000, 20000, 50000, 100000, 300000]) if kind == "fund" else ""
        cert = ""
        if kind == "social_worker" and rng.random() < 0.8:
            cert = rng.choice(["助理社会工作师", "社会工作师", "高级社会工作师"])
        elif kind == "organization" and rng.random() < 0.6:
            cert = rng.choice(["2A", "3A", "4A", "5A"])
        slots = ""
        if kind == "volunteer" and rng.random() < 0.6:
            slots = ";".join(rng.sample(TIME_SLOTS, rng.randint(1, 2)))
        aw.row([aid, kind, name, text, *home, scope, cap, budget,
                ";".join(sorted({it["category"] for it in mine})) if show_cats and mine else "",
                ";".join(fund_groups if kind == "fund" else groups) if rng.random() < 0.5 or fund_groups else "",
                cert, slots, "false" if rng.random() < 0.03 else "true"])
        tw.row([aid, ";".join(it["id"] for it in mine)])
    aw.close()
    tw.close()
