"""Minute ticks in `make bench`: a full sample session through the engine into a local S3 server.

- engine / baseline: every chunk of the session run as its mapped task runs it (the CLI
  in-process), with the day's daily bars already in the lake (the gate reads them), divided by
  plain pyarrow writes of the same rows to the same keys at the publish's concurrency. Target
  <= 1.5x. Also the ratio to one Parquet file of the same rows: the price of the layout's
  object per security and day.
- gate share: time in the quality gate over the engine's time. Target < 25%.
- memory: peak RSS of one mapped task (one chunk of the default size, in a fresh process).
  Target < 1 GiB.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from common import fresh_bucket, gate_clock  # benchmarks/ is on sys.path

ROOT = Path(__file__).resolve().parents[1]
DAY = dt.date(2024, 12, 23)
ROUNDS = 2

#: run in a fresh process: one chunk as a LocalExecutor task runs it, then its peak RSS. The
#: high-water mark of its own memory (VmHWM): ``ru_maxrss`` keeps the forking parent's across
#: exec on Linux, so under a big benchmark process it would report the parent's size
_ONE_TASK = """
import json, sys
from equity_lake import cli
result = cli.run(sys.argv[1:])
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
print(json.dumps({"rows": result["rows"], "peak_rss": peak}))
"""


def bench_minutes(server: Any) -> dict[str, float]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from equity_lake import master, master_build
    from equity_lake.cli import run as cli_run
    from equity_lake.datasets import minute_ticks
    from equity_lake.engine import wap
    from equity_lake.engine.dataset import Run, with_context
    from equity_lake.lake import keys
    from equity_lake.lake.partition import slices
    from equity_lake.lake.store import PARQUET_OPTIONS, LakeStore
    from equity_lake.sources.registry import daily_source, minute_source

    built = master_build.build("sample")
    active = master.SecurityMaster(built.master).active_on(DAY)
    daily = daily_source("sample").daily_bars(DAY, active).sort_by("security_id")
    t = time.perf_counter()
    minutes = minute_source("sample").minute_bars(DAY, active, "regular")
    generate_s = time.perf_counter() - t
    groups = list(slices(minutes.sort_by([("security_id", "ascending")]), "security_id"))

    def lake_with_daily_bars() -> LakeStore:
        fresh_bucket(server)
        store = LakeStore()
        store.write_table(keys.SECURITY_MASTER, built.master)

        def write(group: tuple[int, pa.Table]) -> None:
            store.write_table(keys.daily_ticks_month(group[0], DAY), group[1])

        with ThreadPoolExecutor(max_workers=wap.PUBLISH_THREADS) as pool:
            list(pool.map(write, slices(daily, "security_id")))
        return store

    def engine() -> tuple[float, int, float, list[str]]:
        store = lake_with_daily_bars()
        found = minute_ticks.MINUTES.plan(store, Run(DAY, "bench", {"session": "regular"}))
        with gate_clock() as gate:
            started = time.perf_counter()
            rows = sum(cli_run(p.argv)["rows"] for p in found.partitions)
            seconds = time.perf_counter() - started
        return seconds, rows, gate.seconds, list(found.partitions[0].argv)

    def baseline() -> float:
        fresh_bucket(server)
        store = LakeStore()

        def write(group: tuple[int, pa.Table]) -> None:
            path = store.path(keys.minute_ticks_day(group[0], DAY))
            pq.write_table(group[1], path, filesystem=store.fs, **PARQUET_OPTIONS)

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=wap.PUBLISH_THREADS) as pool:
            list(pool.map(write, groups))
        return time.perf_counter() - started

    def one_file() -> float:
        fresh_bucket(server)
        store = LakeStore()
        started = time.perf_counter()
        pq.write_table(
            minutes,
            store.path("data/bench/minutes.parquet"),
            filesystem=store.fs,
            **PARQUET_OPTIONS,
        )
        return time.perf_counter() - started

    wap.validate_table(  # warm the gate (imports, the GX context) outside the timed region
        "minute-ticks",
        with_context(
            minutes.slice(0, 1000),
            minute_ticks.context(None, minutes.slice(0, 1000), DAY, "regular"),
        ),
        {
            "trading_date": DAY,
            "session": "regular",
            "session_minutes": 390,
            "expected_securities": 10_000,
            "min_securities": 0,
        },
    )
    engines, baselines, singles = [], [], []
    for _ in range(ROUNDS):  # alternated, each side's best: a load spike skews neither
        engines.append(engine())
        baselines.append(baseline())
        singles.append(one_file())
    engine_s, rows, gate_s, argv = min(engines)
    lake_with_daily_bars()  # a fresh lake: the task writes its chunk's objects anew
    memory = _one_task_memory(argv)
    return {
        "rows": rows,
        "securities": len(groups),
        "generate_s": generate_s,
        "engine_s": engine_s,
        "baseline_s": min(baselines),
        "one_file_s": min(singles),
        "gate_s": gate_s,
        "peak_rss": memory["peak_rss"],
        "task_rows": memory["rows"],
    }


def _one_task_memory(argv: list[str]) -> dict[str, int]:
    """Peak RSS of the first chunk's command in a fresh process, on a lake with the master and
    the day's daily bars and none of its minute objects (a first run)."""
    run_id = argv.index("--run-id") + 1
    argv = [*argv[:run_id], "bench-memory", *argv[run_id + 1 :]]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-c", _ONE_TASK, *argv], capture_output=True, text=True, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"one minute task failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(m: dict[str, float]) -> None:
    ratio = m["engine_s"] / m["baseline_s"]
    print(
        f"minute ticks, one full session ({m['rows']:,} bars of {m['securities']:,} securities) "
        f"into local S3: engine {m['engine_s']:.1f} s; plain pyarrow writes of the same objects "
        f"{m['baseline_s']:.1f} s; one Parquet file of the same rows {m['one_file_s']:.2f} s; "
        f"sample generation {m['generate_s']:.1f} s (not timed in either)"
    )
    print(
        f"minute engine / pyarrow writes: {ratio:.2f}x (target <= 1.5x); pyarrow writes / one "
        f"file: {m['baseline_s'] / m['one_file_s']:.0f}x (the price of an object per "
        "security and day)"
    )
    print(
        f"minute gate share: {m['gate_s'] / m['engine_s']:.1%} ({m['gate_s']:.1f} s; target < "
        f"25%); one mapped task ({m['task_rows']:,} bars): peak memory "
        f"{m['peak_rss'] / 2**20:.0f} MiB (target < 1024 MiB)"
    )
