"""Load benchmark: the suggestions endpoint under concurrent clients on loopback.

Usage: python bench/bench_service.py --needs N --actors M [--connections 16]
       [--seconds 30] [--port 8765] [--out FILE.json]

Generates a synthetic dataset (seeded), imports it into a fresh embedded
SQLite database with ``wushe import``, creates an admin key, starts
``wushe serve`` in its own process, warms it up (each worker fits its model at
start-up; the bench waits until the server's processes have gone idle), then
drives ``GET /api/v1/needs/{id}/suggestions?k=5`` for random open needs with
``wrk`` (Debian package ``wrk``; C, so the load generator takes little of the
two cores) and reports throughput and latency percentiles.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from matcher.generate import generate_dataset

_LUA = """
local ids = {}
for line in io.lines("%s") do ids[#ids + 1] = line end
math.randomseed(%d)
request = function()
  local id = ids[math.random(#ids)]
  return wrk.format("GET", "/api/v1/needs/" .. id .. "/suggestions?k=5",
                    {["X-API-Key"] = "%s"})
end
"""


def _get(url: str, key: str, timeout: float = 900) -> tuple[int, float]:
    req = urllib.request.Request(url, headers={"X-API-Key": key})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=timeout) as r:
        r.read()
        return r.status, time.perf_counter() - t0


def _ms(v: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    if not m:
        return float("nan")
    x, unit = float(m.group(1)), m.group(2)
    return x / 1000 if unit == "us" else x * 1000 if unit == "s" else x


def _vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _tree_pids(pid: int) -> list[int]:
    """The server and its worker processes."""
    out = [pid]
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        out += _tree_pids(int(child))
    return out


def _tree_rss_mb(pid: int) -> float:
    """Peak RSS of the server and its worker processes, summed."""
    return sum(_vm_hwm_mb(p) for p in _tree_pids(pid))


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds used so far by the server and its workers."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in _tree_pids(pid):
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def _wait_idle(pid: int, *, window: float = 3.0, busy: float = 0.05, limit: float = 1200) -> None:
    """Wait until every worker has finished fitting (the server tree stays idle)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        before = _tree_cpu_s(pid)
        time.sleep(window)
        if _tree_cpu_s(pid) - before < busy * window:
            return
    raise SystemExit("server never went idle")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--needs", type=int, default=1000)
    ap.add_argument("--actors", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--workers", type=int, default=2, help="wushe serve --workers")
    ap.add_argument("--work", default="bench/out/service")
    ap.add_argument("--reuse-db", action="store_true", help="keep an imported database")
    ap.add_argument("--out")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    work = Path(args.work) / f"{args.needs}x{args.actors}"
    data = work / "data"
    t0 = time.perf_counter()
    if not (data / "needs.csv").exists():
        generate_dataset(data, needs=args.needs, actors=args.actors, seed=args.seed)
    t_gen = time.perf_counter() - t0
    db = work / "wushe.sqlite3"
    url = f"sqlite:///{db.resolve()}"
    env = {**os.environ, "WUSHE_DATABASE_URL": url, "WUSHE_SEED_DATA": ""}
    t_import = float("nan")
    if not (args.reuse_db and db.exists()):
        for p in work.glob("wushe.sqlite3*"):
            p.unlink()
        t0 = time.perf_counter()
        subprocess.run(["wushe", "--log-level", "WARNING", "import", "--data", str(data)],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        t_import = time.perf_counter() - t0
    key = subprocess.run(["wushe", "--log-level", "WARNING", "keys", "create", "--role", "admin"],
                         env=env, check=True, capture_output=True, text=True).stdout.strip()
    with (data / "needs.csv").open(encoding="utf-8") as fh:
        ids = [r["need_id"] for r in csv.DictReader(fh) if r.get("status", "open") in ("", "open")]
    ids_file = work / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    lua = work / "suggest.lua"
    lua.write_text(_LUA % (ids_file.resolve(), args.seed, key))
    server = subprocess.Popen(["wushe", "--log-level", "WARNING", "serve", "--port",
                               str(args.port), "--workers", str(args.workers)], env=env, stdout=subprocess.DEVNULL,
                              stderr=(work / "serve.log").open("w"))
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(600):
            try:
                _get(f"{base}/api/v1/health", key, timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        rng = random.Random(args.seed)
        _, t_first = _get(f"{base}/api/v1/needs/{rng.choice(ids)}/suggestions?k=5", key)
        for _ in range(20 * args.workers):  # every worker has fitted its engine
            _get(f"{base}/api/v1/needs/{rng.choice(ids)}/suggestions?k=5", key)
        for _ in range(50):
            _get(f"{base}/api/v1/needs/{rng.choice(ids)}/suggestions?k=5", key)
        _wait_idle(server.pid)
        out = subprocess.run(["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d",
                              f"{args.seconds}s", "--latency", "-s", str(lua), base],
                             check=True, capture_output=True, text=True).stdout
        rss = _tree_rss_mb(server.pid)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    result = {
        "needs": args.needs, "actors": args.actors, "connections": args.connections,
        "seconds": args.seconds, "generate_s": round(t_gen, 1), "import_s": round(t_import, 1),
        "first_request_s": round(t_first, 1), "requests_per_s": rps,
        "latency_ms": {f"p{k}": _ms(v) for k, v in lat.items()},
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1) if errors else "",
        "server_peak_rss_mb": round(rss, 1), "workers": args.workers,
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    print(out)
    print(json.dumps(result, ensure_ascii=False, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
