"""How the fuzzers steer schemathesis: valid new needs and actors a station may create.

Shared by ``tests/service/test_schema_fuzz.py`` (fixed seed, in CI) and
``bench/bench_fuzz.py`` (long random runs).
"""

from __future__ import annotations

import itertools
from functools import partial
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

__all__ = ["COMMUNITIES", "as_station", "fuzz_schema"]

COMMUNITIES = ("C001", "C002")  # the station 翠苑街道's
_CREATES = {("POST", "/api/v1/needs"), ("POST", "/api/v1/actors")}


_SERIAL = itertools.count(1)


def as_station(case: schemathesis.Case) -> None:
    """Make a valid new need or actor one the station may create, and a new one."""
    if not isinstance(case.body, dict) or case.meta is None \
            or case.meta.generation.mode is not GenerationMode.POSITIVE:
        return  # an invalid request stays as generated
    if (case.method.upper(), case.path) == ("POST", "/api/v1/needs"):
        # a station may not choose a need's id (403 need_id_assigned): a rule by role,
        # which OpenAPI cannot state
        case.body = {k: v for k, v in case.body.items() if k != "need_id"}
    elif ((case.method.upper(), case.path) == ("POST", "/api/v1/actors")
          and isinstance(case.body.get("actor_id"), str)):
        # hypothesis replays prefixes of earlier scenarios: a replayed create must not
        # meet its earlier self (409 instead of 201)
        case.body = {**case.body, "actor_id": f"{case.body['actor_id'][:80]}-{next(_SERIAL)}"}


def _in_community(case: schemathesis.Case, community: str | None) -> schemathesis.Case:
    if community is not None:
        case.body = {**case.body, "community_id": community}
    as_station(case)
    return case


def fuzz_schema(app: FastAPI) -> Any:
    """The app's document as schemathesis reads it, with valid new needs and actors ours."""
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)

    @schema.hook
    def flatmap_case(context: Any, case: schemathesis.Case) -> st.SearchStrategy[schemathesis.Case]:
        # Which communities a station has is data, not schema: without this almost every
        # generated need or actor is refused (404/403) and no created one is followed.
        if ((case.method.upper(), case.path) not in _CREATES or not isinstance(case.body, dict)
                or case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE):
            return st.just(case)
        return st.sampled_from((*COMMUNITIES, None)).map(partial(_in_community, case))

    return schema
