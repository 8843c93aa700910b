"""A long import never makes another station's write fail (SQLite's single writer).

The import computes everything slow (validation, the engine's inference for
each need) before its first write, then writes in one short transaction;
decisions and feedback written meanwhile wait their turn and succeed.
"""

from __future__ import annotations

import random
import threading
import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from service.orm import Feedback, NeedRow

from .conftest import Keys

_ASKS = ["独居老人需要每天送饭上门", "孩子放学后没人照看，想找四点半课堂", "轮椅坏了需要维修",
         "楼上漏水和邻居吵起来了，想请人调解", "想参加社区合唱队", "老伴中风需要康复训练",
         "失业了想找工作培训", "家里老人想装扶手和防滑垫"]


def _needs_csv(n: int) -> bytes:
    rng = random.Random(7)
    lines = ["need_id,community_id,text,urgency"]
    lines += [f"BULK{i:05d},{rng.choice(('C001', 'C002'))},{rng.choice(_ASKS)}（{i}号）,"
              f"{rng.randint(1, 4)}" for i in range(n)]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.slow
def test_writes_during_a_15k_need_import_all_succeed(client: TestClient, app: FastAPI,
                                                     keys: Keys) -> None:
    data = _needs_csv(15_000)
    with app.state.sessions() as s:
        before = s.scalar(select(func.count()).select_from(Feedback)) or 0
    result: dict[str, object] = {}

    def do_import() -> None:
        r = client.post("/api/v1/imports", headers=keys.h("admin"),
                        files={"files": ("needs.csv", data)})
        result["status"], result["body"] = r.status_code, r.json()

    importer = threading.Thread(target=do_import)
    importer.start()
    statuses: list[int] = []
    lock = threading.Lock()

    def write(i: int) -> None:
        r = client.post("/api/v1/needs/N0001/feedback", headers=keys.h("station"),
                        json={"actor_id": "V001", "outcome": "completed", "satisfaction": 4,
                              "comment": f"回访 {i}"})
        with lock:
            statuses.append(r.status_code)

    writers = []
    t0 = time.monotonic()
    i = 0
    while importer.is_alive() or i < 15:
        if i < 15 or importer.is_alive():
            w = threading.Thread(target=write, args=(i,))
            w.start()
            writers.append(w)
            i += 1
        time.sleep(0.4)
        if i >= 60:
            break
    importer.join(600)
    for w in writers:
        w.join(60)
    elapsed = time.monotonic() - t0
    assert result.get("status") == 200, result
    assert result["body"]["added"]["needs"] == 15_000  # type: ignore[index]
    assert len(statuses) >= 15 and set(statuses) == {201}, (statuses, elapsed)
    with app.state.sessions() as s:
        after = s.scalar(select(func.count()).select_from(Feedback)) or 0
        assert after - before == len(statuses)  # none lost
        assert s.scalar(select(func.count()).select_from(NeedRow)
                        .where(NeedRow.need_id.like("BULK%"))) == 15_000
