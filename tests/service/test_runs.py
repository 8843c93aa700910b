"""Match runs against the database: background, lock, atomic write, decisions kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from service.orm import Assignment, MatchRun, RunLock
from service.runs import RunBusy, acquire, execute_run

from .conftest import Keys


def _wait(client: TestClient, keys: Keys, run_id: str, timeout: float = 120) -> dict[str, Any]:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        r = client.get(f"/api/v1/runs/{run_id}", headers=keys.h("station")).json()
        if r["status"] != "running":
            return r  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


def _suggested(app: FastAPI, run_id: str) -> list[tuple[str, str, str]]:
    with app.state.sessions() as s:
        return [tuple(r) for r in s.execute(  # type: ignore[misc]
            select(Assignment.need_id, Assignment.role, Assignment.actor_id)
            .where(Assignment.run_id == run_id))]


def test_run_in_background_then_summary_and_unassigned(client: TestClient, app: FastAPI,
                                                       keys: Keys) -> None:
    r = client.post("/api/v1/runs", headers=keys.h("station"))
    assert r.status_code == 202, r.text
    run = _wait(client, keys, r.json()["run_id"])
    assert run["status"] == "succeeded" and run["is_current"] and run["progress"] == 1.0
    s = run["summary"]
    assert s["slots"]["organization"]["filled"] > 0 and s["needs_fully_served"] > 0
    assert set(s["timings"]) == {"load", "fit", "candidates", "solve", "write"}
    assert s["actor_load"]["volunteer"]["gini"] >= 0 and s["diff"] is None
    rows = _suggested(app, run["run_id"])
    assert rows
    un = client.get(f"/api/v1/runs/{run['run_id']}/unassigned", headers=keys.h("station")).json()
    mine = {n["need_id"] for n in client.get("/api/v1/needs?limit=500",
                                             headers=keys.h("station")).json()["items"]}
    assert all(u["need_id"] in mine and u["reason"] for u in un)
    # the second run keeps the plan stable and retires the first run's suggestions
    r2 = _wait(client, keys, client.post("/api/v1/runs", headers=keys.h("admin")).json()["run_id"])
    assert r2["summary"]["diff"]["changed"] == 0
    cur = client.get("/api/v1/runs/current", headers=keys.h("admin")).json()
    assert cur["run_id"] == r2["run_id"]
    with app.state.sessions() as ses:
        assert ses.scalar(select(func.count()).where(Assignment.run_id == run["run_id"],
                                                     Assignment.status == "suggested")) == 0


def test_only_one_run_at_a_time(client: TestClient, app: FastAPI, keys: Keys) -> None:
    run_id = acquire(app.state.sessions, "test", stale_after=300)
    r = client.post("/api/v1/runs", headers=keys.h("admin"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "run_in_progress"
    with pytest.raises(RunBusy):
        acquire(app.state.sessions, "test", stale_after=300)
    # a holder that stopped beating is taken over, its run marked interrupted
    again = acquire(app.state.sessions, "test", stale_after=0)
    with app.state.sessions() as s:
        assert s.get(MatchRun, run_id).status == "interrupted"  # type: ignore[union-attr]
        assert s.get(RunLock, "match").run_id == again  # type: ignore[union-attr]


def test_failure_while_writing_leaves_no_partial_run(client: TestClient, app: FastAPI,
                                                     keys: Keys,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    first = _wait(client, keys, client.post("/api/v1/runs", headers=keys.h("admin")).json()[
        "run_id"])
    before = sorted(_suggested(app, first["run_id"]))
    import service.runs as runs

    real_write = runs._write

    def broken(s: Any, *a: Any, **k: Any) -> int:
        real_write(s, *a, **k)
        s.flush()  # rows are in the transaction …
        raise OSError("disk full")  # … when the write fails

    monkeypatch.setattr(runs, "_write", broken)
    run_id = acquire(app.state.sessions, "test", stale_after=300)
    with pytest.raises(OSError):
        execute_run(app.state.sessions, run_id)
    assert _suggested(app, run_id) == []
    assert sorted(_suggested(app, first["run_id"])) == before
    with app.state.sessions() as s:
        assert s.get(MatchRun, run_id).status == "failed"  # type: ignore[union-attr]
        assert s.get(MatchRun, first["run_id"]).is_current  # type: ignore[union-attr]
        assert s.get(RunLock, "match") is None
        assert s.scalar(select(func.count()).where(Assignment.status == "suggested",
                                                   Assignment.run_id == first["run_id"])) == len(before)


def test_a_plan_failing_the_checker_is_the_same_error_as_the_cli_and_writes_nothing(
        client: TestClient, app: FastAPI, keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    from matcher.pipeline import PlanInvalidError

    monkeypatch.setattr("matcher.pipeline.validate_assignment", lambda *a, **k: ["N0001 broken"])
    run_id = acquire(app.state.sessions, "test", stale_after=300)
    with pytest.raises(PlanInvalidError, match="nothing written"):
        execute_run(app.state.sessions, run_id)
    assert _suggested(app, run_id) == []
    with app.state.sessions() as s:
        run = s.get(MatchRun, run_id)
        assert run is not None and run.status == "failed" and "未通过校验" in (run.error or "")
        assert s.get(RunLock, "match") is None


def test_decisions_taken_during_a_run_are_not_lost(client: TestClient, app: FastAPI,
                                                   keys: Keys) -> None:
    h = keys.h("station")
    sug = client.get("/api/v1/needs/N0001/suggestions?k=5", headers=h).json()["suggestions"]
    org = sug["organization"][-1]["actor_id"]  # not the top one: the plan would pick another
    rej = sug["volunteer"][0]["actor_id"]
    run_id = acquire(app.state.sessions, "test", stale_after=300)
    results: dict[str, Any] = {}

    def decide_meanwhile() -> None:
        results["accept"] = client.post("/api/v1/needs/N0001/decisions", headers=h, json={
            "action": "accept", "role": "organization", "actor_id": org})
        results["reject"] = client.post("/api/v1/needs/N0001/decisions", headers=h, json={
            "action": "reject", "role": "volunteer", "actor_id": rej, "reason": "家属不同意"})

    execute_run(app.state.sessions, run_id, after_solve=decide_meanwhile)
    assert results["accept"].status_code == 200 and results["reject"].status_code == 200
    detail = client.get("/api/v1/needs/N0001", headers=h).json()
    by = {(a["role"], a["actor_id"]): a["status"] for a in detail["assignments"]}
    assert by[("organization", org)] == "accepted"
    assert by[("volunteer", rej)] == "rejected"
    new = [(role, a) for n, role, a in _suggested(app, run_id) if n == "N0001"]
    assert not any(role == "organization" for role, _ in new)
    assert ("volunteer", rej) not in new


def test_accepted_pairs_are_pinned_and_rejected_forbidden(client: TestClient, app: FastAPI,
                                                          keys: Keys) -> None:
    h = keys.h("station")
    first = _wait(client, keys, client.post("/api/v1/runs", headers=h).json()["run_id"])
    n1 = [(role, a) for n, role, a in _suggested(app, first["run_id"]) if n == "N0001"]
    role, actor = next(x for x in n1 if x[0] == "social_worker")
    vrole, vol = next(x for x in n1 if x[0] == "volunteer")
    assert client.post("/api/v1/needs/N0001/decisions", headers=h, json={
        "action": "accept", "role": role, "actor_id": actor}).status_code == 200
    assert client.post("/api/v1/needs/N0001/decisions", headers=h, json={
        "action": "reject", "role": vrole, "actor_id": vol, "reason": "时间不合适"}).status_code == 200
    second = _wait(client, keys, client.post("/api/v1/runs", headers=h).json()["run_id"])
    assert second["status"] == "succeeded"
    n1b = [(r, a) for n, r, a in _suggested(app, second["run_id"]) if n == "N0001"]
    assert (vrole, vol) not in n1b
    assert not any(r == role for r, _ in n1b)  # the slot is held by the accepted actor


def _kill_9_once_running(app: FastAPI, cmd: list[str], env: dict[str, str]) -> str:
    """Start ``wushe rematch``, SIGKILL it as soon as its run shows; return that run's id."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    killed = None
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 60 and killed is None:
            with app.state.sessions() as s:
                killed = s.scalar(select(MatchRun.run_id).where(MatchRun.status == "running"))
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert killed is not None, "the re-match never started"
    return killed


def test_killed_rematch_leaves_the_previous_run_intact(client: TestClient, app: FastAPI,
                                                       keys: Keys, db_url: str) -> None:
    first = _wait(client, keys, client.post("/api/v1/runs", headers=keys.h("admin")).json()[
        "run_id"])
    before = sorted(_suggested(app, first["run_id"]))
    killed_run = _kill_9_once_running(app, [sys.executable, "-m", "matcher.cli", "rematch",
                                            "--database", db_url],
                                      {**os.environ, "PYTHONUNBUFFERED": "1"})
    assert _suggested(app, killed_run) == []
    assert sorted(_suggested(app, first["run_id"])) == before
    cur = client.get("/api/v1/runs/current", headers=keys.h("admin")).json()
    assert cur["run_id"] == first["run_id"]
    # the dead holder's lock blocks a new run until it goes stale, then is taken over
    assert client.post("/api/v1/runs", headers=keys.h("admin")).status_code == 409
    acquire(app.state.sessions, "test", stale_after=0)
    with app.state.sessions() as s:
        assert s.get(MatchRun, killed_run).status == "interrupted"  # type: ignore[union-attr]


def test_default_lock_goes_stale_after_thirty_seconds_without_a_beat() -> None:
    from service.config import Settings

    assert Settings().lock_stale_seconds == 30.0


def test_a_live_run_keeps_beating_past_the_stale_period(client: TestClient, app: FastAPI) -> None:
    """A run busy for longer than the stale period is not taken over while it beats."""
    import threading

    factory = app.state.sessions
    run_id = acquire(factory, "test", stale_after=0.6)
    release = threading.Event()
    done: dict[str, Any] = {}

    def slow_write() -> None:  # the run stays in its write stage until released
        release.wait(10)

    t = threading.Thread(target=lambda: done.update(execute_run(
        factory, run_id, after_solve=slow_write, beat_every=0.1)))
    t.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with factory() as s:
                if s.get(MatchRun, run_id).stage == "write":  # type: ignore[union-attr]
                    break
            time.sleep(0.05)
        time.sleep(1.5)  # well past 0.6 s: only the heartbeat keeps the lock fresh
        with pytest.raises(RunBusy):
            acquire(factory, "intruder", stale_after=0.6)
    finally:
        release.set()
        t.join(60)
    assert done.get("run_id") == run_id
    with factory() as s:
        assert s.get(MatchRun, run_id).status == "succeeded"  # type: ignore[union-attr]
        assert s.get(RunLock, "match") is None


def test_cron_retry_after_kill_9_takes_over_the_dead_lock(client: TestClient, app: FastAPI,
                                                          db_url: str) -> None:
    """``wushe rematch`` killed with SIGKILL; the retry a little later runs and succeeds."""
    # long enough that a second CLI start (imports alone take seconds on a loaded CI
    # machine) still meets the fresh lock
    stale = 20.0
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "WUSHE_LOCK_STALE_SECONDS": str(stale)}
    cmd = [sys.executable, "-m", "matcher.cli", "rematch", "--database", db_url]
    killed = _kill_9_once_running(app, cmd, env)
    killed_at = time.monotonic()
    busy = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert time.monotonic() - killed_at < stale - 1, "the busy check came too late to mean much"
    assert busy.returncode == 75, busy.stderr  # at once: the lock is still fresh
    time.sleep(max(stale + 0.5 - (time.monotonic() - killed_at), 0))
    retry = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert retry.returncode == 0, retry.stderr
    with app.state.sessions() as s:
        assert s.get(MatchRun, killed).status == "interrupted"  # type: ignore[union-attr]
        assert s.scalar(select(MatchRun.run_id).where(MatchRun.is_current.is_(True))) != killed
        assert s.get(RunLock, "match") is None
