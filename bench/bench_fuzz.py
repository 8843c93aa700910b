"""API fuzzing: a long schemathesis run against the service's own OpenAPI document.

Usage: python bench/bench_fuzz.py [--examples 200] [--modes positive,negative]
       [--scenarios 200] [--steps 20] [--seed N] [--out FILE.json]

Starts the service in-process (ASGI, no network) on a fresh embedded SQLite
database seeded with ``data/sample`` and a station key of 翠苑街道, then

1. **per operation**: ``--examples`` generated requests per operation and
   generation mode (positive: valid by the schema; negative: invalid by it),
   each sent and checked with all of schemathesis' default checks;
2. **stateful**: ``--scenarios`` sequences of up to ``--steps`` calls that follow
   the document's OpenAPI links (create a need → read it → its suggestions →
   a decision …), every response checked.

Generation is steered as in ``tests/service/test_schema_fuzz.py`` (valid new
needs and actors name the station's communities; see ``fuzz_schema``).
Failures do not stop the run: it prints, and writes with ``--out``, the number
of requests, of 5xx responses and of schema violations (every failed check
other than the server-error one), by check and operation with one example
request each. The target: 0 5xx, 0 violations. ``POST /runs`` is left out as
in the tests (it starts background work). Without ``--seed`` every run draws
new examples. Exit status 1 when anything was found.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import hypothesis
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.generation.stateful import run_state_machine_as_test

from service.app import create_app
from service.auth import create_key
from service.config import Settings

_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(_ROOT))  # the steering is shared with the CI fuzz test
from tests.service.fuzzing import as_station, fuzz_schema  # noqa: E402

_SKIP = ("POST", "/api/v1/runs")


@dataclass
class Tally:
    """What a run sent and what the checks found."""

    requests: int = 0
    server_errors: int = 0
    violations: int = 0
    by_check: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    by_operation: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    not_generated: list[str] = field(default_factory=list)

    def record(self, case: schemathesis.Case, response: Any, error: BaseException | None) -> None:
        self.requests += 1
        self.by_status[response.status_code] += 1
        self.by_operation[f"{case.operation.label} → {response.status_code}"] += 1
        if response.status_code >= 500:
            self.server_errors += 1
            self._example(f"5xx [{case.operation.label}]", case, response)
        else:
            self._example(f"{response.status_code} [{case.operation.label}]", case, response)
        failures: list[Failure] = []
        if isinstance(error, FailureGroup):
            failures = list(error.exceptions)
        elif isinstance(error, Failure):
            failures = [error]
        for f in failures:
            if type(f).__name__ == "ServerError":
                continue  # counted above
            key = f"{type(f).__name__}: {f.title} [{case.operation.label}]"
            self.violations += 1
            self.by_check[key] += 1
            self._example(key, case, response)

    def _example(self, key: str, case: schemathesis.Case, response: Any) -> None:
        if key not in self.examples:
            body = "<bytes>" if isinstance(case.body, bytes) else case.body
            sent = json.dumps(body, ensure_ascii=False, default=str)[:300]
            self.examples[key] = (f"{case.method} {case.formatted_path} query={case.query} "
                                  f"body={sent} → {response.status_code} {response.text[:300]}")

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "5xx": self.server_errors,
                "schema_violations": self.violations, "by_check": dict(self.by_check),
                "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
                "by_operation": dict(sorted(self.by_operation.items())),
                "examples": self.examples, "not_generated": self.not_generated}


def _hypothesis(**kw: Any) -> settings:
    return settings(deadline=None, database=None, suppress_health_check=list(HealthCheck),
                    derandomize=False, verbosity=hypothesis.Verbosity.quiet, **kw)


def _sender(tally: Tally, headers: dict[str, str], excluded: list[Any]) -> Any:
    def send(case: schemathesis.Case) -> None:
        response = case.call(headers=headers)
        error: BaseException | None = None
        try:
            case.validate_response(response, headers=headers, excluded_checks=excluded)
        except (Failure, FailureGroup) as e:
            error = e
        tally.record(case, response, error)

    return send


def per_operation(app: FastAPI, key: str, examples: int, modes: list[GenerationMode],
                  seed: int | None) -> Tally:
    schema = fuzz_schema(app)
    tally = Tally()
    headers = {"X-API-Key": key}
    for result in schema.get_all_operations():
        op = result.ok()
        if (op.method.upper(), op.path) == _SKIP:
            continue
        # an upload's file names and CSV contents are not in the schema: a schema-valid
        # upload may still be refused with row errors (as in the tests)
        excluded = ([schemathesis.checks.positive_data_acceptance]
                    if op.path == "/api/v1/imports" else [])
        for mode in modes:
            test = hypothesis.given(case=op.as_strategy(generation_mode=mode))(
                _sender(tally, headers, excluded))
            test = _hypothesis(max_examples=examples)(test)
            if seed is not None:
                test = hypothesis.seed(seed)(test)
            try:
                test()
            except hypothesis.errors.Unsatisfiable:  # nothing in it can be made invalid
                tally.not_generated.append(f"{mode.value} {op.label}")
    return tally


def stateful(app: FastAPI, key: str, scenarios: int, steps: int, seed: int | None) -> Tally:
    schema = fuzz_schema(app).exclude(method=_SKIP[0], path=_SKIP[1])
    tally = Tally()
    headers = {"X-API-Key": key}

    class Station(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": headers}

        def before_call(self, case: schemathesis.Case) -> None:
            as_station(case)  # also for bodies a link filled in

        def validate_response(self, response: Any, case: schemathesis.Case,
                              additional_checks: Any = None, **kwargs: Any) -> None:
            error: BaseException | None = None
            try:
                super().validate_response(response, case, additional_checks, **kwargs)
            except (Failure, FailureGroup) as e:
                error = e
            tally.record(case, response, error)

    options = _hypothesis(max_examples=scenarios, stateful_step_count=steps,
                          phases=[Phase.generate])
    machine = Station if seed is None else hypothesis.seed(seed)(Station)
    run_state_machine_as_test(machine, settings=options)
    return tally


def _machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            **{p: version(p) for p in ("schemathesis", "hypothesis", "fastapi", "pydantic")}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--examples", type=int, default=200, help="per operation and mode")
    ap.add_argument("--modes", default="positive,negative")
    ap.add_argument("--scenarios", type=int, default=200, help="stateful call sequences")
    ap.add_argument("--steps", type=int, default=20, help="most calls per sequence")
    ap.add_argument("--seed", type=int, default=None, help="replay one run (default: random)")
    ap.add_argument("--out", type=Path, default=None, help="write the counts as JSON")
    args = ap.parse_args(argv)
    modes = [GenerationMode(m.strip()) for m in args.modes.split(",") if m.strip()]

    report: dict[str, Any] = {"machine": _machine(),
                              "args": {k: str(v) for k, v in vars(args).items()}}
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(database_url=f"sqlite:///{tmp}/wushe.sqlite3",
                                  seed_data=str(_ROOT / "data" / "sample"), warm_up=False))
        with TestClient(app):  # the lifespan: migrate, seed
            with app.state.sessions() as s, s.begin():
                key = create_key(s, "station", "翠苑街道")
            t0 = time.perf_counter()
            ops = per_operation(app, key, args.examples, modes, args.seed)
            t1 = time.perf_counter()
            machine = stateful(app, key, args.scenarios, args.steps, args.seed)
            t2 = time.perf_counter()
    report["per_operation"] = {**ops.as_dict(), "seconds": round(t1 - t0, 1)}
    report["stateful"] = {**machine.as_dict(), "seconds": round(t2 - t1, 1)}
    found = 0
    for part in ("per_operation", "stateful"):
        r = report[part]
        found += r["5xx"] + r["schema_violations"]
        print(f"{part}: {r['requests']} requests, {r['5xx']} 5xx, "
              f"{r['schema_violations']} schema violations ({r['seconds']} s); "
              f"statuses {r['by_status']}")
        for k, example in r["examples"].items():
            if k in r["by_check"] or k.startswith("5xx"):
                print(f"  {r['by_check'].get(k, '')} {k}\n      e.g. {example}")
    if args.out:
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1), "utf-8")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
