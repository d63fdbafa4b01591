"""Fundamentals figures for `make bench` (called from benchmarks/run.py).

1. normalise: turning a companyfacts body into the long table (parse included), divided by
   ``json.loads`` of the same bytes, over the real documents the demo carries. Target <= 3x.
2. bulk memory: peak resident memory of ``equity-lake ingest fundamentals --bulk`` (stream,
   normalise, gate and merge into a local lake) over a synthetic companyfacts.zip of 1,000
   companies made of the carried real documents under made-up CIKs. Target < 1 GiB.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "standins" / "data" / "sec" / "companyfacts"
#: big, medium and small real documents (Apple, Alphabet, Snowflake)
NORMALISE_DOCS = ("CIK0000320193", "CIK0001652044", "CIK0001640147")
#: the synthetic archive: mostly Walmart's trimmed document (1,648 facts), JPMorgan's (3,780)
#: every 10th company, and Apple's or Alphabet's (20,000+: the big entries) every 100th
SMALL_DOC, MEDIUM_DOC = "CIK0000104169", "CIK0000019617"
LARGE_DOCS = ("CIK0000320193", "CIK0001652044")
GIB = 1024**3


def _doc(name: str) -> bytes:
    return gzip.decompress((DEMO / f"{name}.json.gz").read_bytes())


def _best(fn, repeat: int = 7) -> float:  # noqa: ANN001 - a zero-argument callable
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def normalise_ratio() -> dict[str, float]:
    """Seconds of json.loads and of normalize per document, and the overall ratio."""
    from equity_lake.fundamentals.normalize import normalize

    loads = normal = 0.0
    facts = 0
    for name in NORMALISE_DOCS:
        raw = _doc(name)
        loads += _best(lambda raw=raw: json.loads(raw))
        normal += _best(lambda raw=raw: normalize(raw))
        facts += normalize(raw).num_rows
    return {"facts": facts, "loads_s": loads, "normalize_s": normal, "ratio": normal / loads}


def synthetic_archive(path: Path, companies: int = 1000) -> int:
    """Write a companyfacts.zip of ``companies`` entries; returns the number of facts."""
    from equity_lake.fundamentals.normalize import normalize

    docs = {name: _doc(name) for name in (SMALL_DOC, MEDIUM_DOC, *LARGE_DOCS)}
    counts = {name: normalize(raw).num_rows for name, raw in docs.items()}
    total = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for i in range(companies):
            if i % 100 == 50:
                name = LARGE_DOCS[(i // 100) % len(LARGE_DOCS)]
            elif i % 10 == 5:
                name = MEDIUM_DOC
            else:
                name = SMALL_DOC
            cik = 9_000_000_000 + i
            body = re.sub(rb'"cik":\s*\d+', f'"cik": {cik}'.encode(), docs[name], count=1)
            zf.writestr(f"CIK{cik:010d}.json", body)
            total += counts[name]
    return total


_BACKFILL = """
import json, resource, sys, time
from equity_lake import cli
t = time.perf_counter()
result = cli.run(["ingest", "fundamentals", "--bulk", "--archive", sys.argv[1],
                  "--date", "2026-12-31", "--run-id", "bench-bulk"])
try:  # this process image's own high-water mark: ru_maxrss also counts the parent's at fork
    with open("/proc/self/status") as status:
        peak = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:")) * 1024
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": time.perf_counter() - t, "companies": result["companies"],
                  "facts": result["facts"], "peak_rss": peak}))
"""


def bulk_memory(companies: int = 1000) -> dict[str, float]:
    """Peak RSS of a bulk backfill of a synthetic archive, in a fresh process and lake."""
    with tempfile.TemporaryDirectory(prefix="bench-bulk-") as tmp:
        archive = Path(tmp) / "companyfacts.zip"
        facts = synthetic_archive(archive, companies)
        env = {**os.environ, "LAKE_URI": (Path(tmp) / "lake").as_uri()}
        env.pop("LAKE_S3_ENDPOINT", None)
        out = subprocess.run(
            [sys.executable, "-c", _BACKFILL, str(archive)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["archive_mb"] = archive.stat().st_size / 1e6
        result["archive_facts"] = facts
        return result
