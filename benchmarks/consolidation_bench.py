"""Year-end consolidation and the research reader in `make bench` (called from
benchmarks/run.py, or alone: ``python benchmarks/consolidation_bench.py [--securities N]``).

1. consolidation: a closed sample year (YEAR) of every security the master lists in it, as
   the monthly daily-ticks files an ingest leaves (written straight to their keys, not
   ingested day by day), on a local lake; every chunk of the plan (``DEFAULT_CHUNK_SIZE``)
   folded in-process one after the other, as the CLI runs them, divided by plain pyarrow
   folding the same files (read each security's months, write its ``history.parquet``,
   delete the months) on a thread pool of ``wap.PUBLISH_THREADS``. Each round folds a fresh
   copy of one prepared lake (consolidation deletes its inputs). The gate's share and the
   consolidation's own figures (objects and bytes before and after) are reported.
   ``--securities N`` folds N of them (the master in the lake then lists those only) and
   projects to the full universe.
2. reader: ``Lake.bars`` of READER_SECURITIES securities listed all year, a year of adjusted
   closes as a wide pandas panel (and as a long Arrow table), on the consolidated layout a
   research reader meets for a closed year (each security's ``history.parquet`` and its
   corporate actions, the full master), from a local lake and from the local S3 server,
   divided by plain pyarrow reads of the same objects on a pool of ``READ_THREADS``. Target
   <= 1.5x; over it, a cProfile of one read says where the time goes.

Ratios, never timed assertions: the two sides alternate ROUNDS times and each keeps its best.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__":  # run alone: the library and benchmarks/ as run.py has them
    sys.path[:0] = [str(ROOT / "include"), str(ROOT), str(ROOT / "benchmarks")]

from common import fresh_bucket, gate_clock  # noqa: E402 - benchmarks/ is on sys.path

#: a closed year the sample source covers
YEAR = 2024
ROUNDS = 2
#: how many of the year's securities part 1 folds, spread over the ids (the report then
#: projects the full universe: the gate by chunk, the rest by security); None: every one the
#: master lists (6,255 in 2024; at 1,000 a round took 25 s here, projected ~2.7 min in full)
SECURITIES: int | None = None
READER_SECURITIES = 500
READER_TARGET = 1.5
#: one read slower than this is measured once (no further rounds)
READ_BUDGET_S = 60.0
#: an over-target read is profiled on this many of its securities (the profile's shares are
#: what it tells; a profiled read of all of them would cost more than the measured ones)
PROFILE_SECURITIES = 20
#: the functions a profile of an over-target read lists
PROFILE_LINES = 25

Objects = list[tuple[str, Any]]  # (lake key, pyarrow Table)


# --- the sample year -----------------------------------------------------------------------
@dataclass
class SampleYear:
    """A year of the sample market: the master, the securities it lists that year, their
    bars per month (each month's rows sorted by security) and their corporate actions."""

    year: int
    master: Any
    securities: list[int]
    #: how many securities the master lists in the year (a full run folds them all)
    listed: int
    months: list[tuple[dt.date, Any]]
    actions: Any

    @property
    def rows(self) -> int:
        return sum(table.num_rows for _, table in self.months)


def sample_year(
    year: int, wanted: Callable[[Any, list[int]], list[int]] | None = None
) -> SampleYear:
    """The sample's ``year`` for the securities ``wanted(master, listed)`` picks of those the
    master lists in it (all by default); actions up to the year's end, as the lake holds them
    when the year is folded."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from equity_lake import calendar, master_build
    from equity_lake.datasets.consolidation import securities
    from equity_lake.master import SecurityMaster
    from equity_lake.sources.registry import check_coverage, daily_source

    days = calendar.sessions_between(dt.date(year, 1, 1), dt.date(year, 12, 31))
    check_coverage("sample", days[0], days[-1])
    built = master_build.build("sample")
    listed = securities(SecurityMaster(built.master), year)
    sids = wanted(built.master, listed) if wanted else listed
    members = pa.table({"security_id": pa.array(sids, pa.int64())})
    source, months = daily_source("sample"), []
    for month in range(1, 13):
        inside = [d for d in days if d.month == month]
        bars = pa.concat_tables(source.daily_bars(d, members) for d in inside)
        months.append((dt.date(year, month, 1), bars.sort_by("security_id")))
    actions = built.actions.filter(
        pc.and_(
            _in(built.actions, sids),
            pc.less_equal(built.actions.column("ex_date"), pa.scalar(days[-1], pa.date32())),
        )
    )
    actions = actions.sort_by("security_id")
    return SampleYear(year, built.master, sids, len(listed), months, actions)


def spread(count: int | None) -> Callable[[Any, list[int]], list[int]] | None:
    """A pick of ``count`` securities spread over the listed ids (None: all of them)."""
    if count is None:
        return None
    return lambda _master, listed: listed[:: max(1, len(listed) // count)][:count]


def month_objects(data: SampleYear) -> Objects:
    """Each security's monthly daily-ticks file of the year, as an ingest leaves them."""
    from equity_lake.lake import keys
    from equity_lake.lake.partition import slices

    return [
        (keys.daily_ticks_month(sid, month), rows)
        for month, bars in data.months
        for sid, rows in slices(bars, "security_id")
    ]


def history_objects(data: SampleYear) -> Objects:
    """Each security's year as one ``history.parquet`` (sorted by session, as consolidation
    publishes it) and its corporate actions file."""
    import pyarrow as pa

    from equity_lake.lake import keys
    from equity_lake.lake.partition import slices

    bars = pa.concat_tables(t for _, t in data.months)
    bars = bars.sort_by([("security_id", "ascending"), ("timestamp", "ascending")])
    histories = [(keys.daily_ticks_history(s), t) for s, t in slices(bars, "security_id")]
    actions = [(keys.corporate_actions(s), t) for s, t in slices(data.actions, "security_id")]
    return histories + actions


def write_objects(store: Any, objects: Objects) -> None:
    """Write ``objects`` as the lake stores them (``LakeStore.write_table``: the same Parquet
    options), several at once: setup, never timed."""
    from equity_lake.engine import wap

    with ThreadPoolExecutor(max_workers=wap.PUBLISH_THREADS) as pool:
        list(pool.map(lambda o: store.write_table(*o), objects))


# --- lakes ---------------------------------------------------------------------------------
def _say(message: str) -> None:
    """Progress on stderr (the figures go to stdout)."""
    print(f"consolidation bench: {message}", file=sys.stderr, flush=True)


def local_store(folder: str) -> Any:
    """A LakeStore on ``folder`` (``LAKE_URI`` pointed at it, as a task would see it)."""
    from equity_lake.lake.store import LakeStore

    os.environ["LAKE_URI"] = Path(folder).as_uri()
    return LakeStore()


def lake_files(folder: str, prefix: str = "data/raw/ticks/daily") -> int:
    """How many Parquet objects a local lake holds below ``prefix``."""
    return sum(1 for _ in Path(folder, prefix).rglob("*.parquet"))


class Lakes:
    """Temporary lake folders, all removed on exit."""

    def __enter__(self) -> Lakes:
        self.folders: list[str] = []
        return self

    def new(self, name: str) -> str:
        self.folders.append(tempfile.mkdtemp(prefix=f"bench-consolidation-{name}-"))
        return self.folders[-1]

    def copy(self, template: str, name: str) -> str:
        folder = self.new(name)
        shutil.copytree(template, folder, dirs_exist_ok=True)
        return folder

    def drop(self, folder: str) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        self.folders.remove(folder)

    def __exit__(self, *exc: object) -> None:
        for folder in self.folders:
            shutil.rmtree(folder, ignore_errors=True)


# --- 1. consolidation ----------------------------------------------------------------------
def prepare_year_lake(lakes: Lakes, data: SampleYear) -> str:
    """A local lake with the master (of ``data``'s securities only) and their monthly files."""
    from equity_lake.lake import keys

    folder = lakes.new("template")
    store = local_store(folder)
    store.write_table(keys.SECURITY_MASTER, data.master.filter(_in(data.master, data.securities)))
    write_objects(store, month_objects(data))
    return folder


def consolidate_all(folder: str, year: int, run_id: str) -> dict[str, Any]:
    """Every chunk of the plan folded in-process, one after the other (as the CLI runs
    each mapped task); the seconds, the gate's, and the summed figures."""
    from equity_lake.datasets.consolidation import CONSOLIDATION, FIGURES, consolidate
    from equity_lake.engine.chunks import Chunk
    from equity_lake.engine.dataset import Run

    store = local_store(folder)
    plan = CONSOLIDATION.plan(store, Run(dt.date(year, 12, 31), run_id, {"year": year}))
    count = len(plan.partitions)
    with gate_clock() as gate:
        started = time.perf_counter()
        results = [
            consolidate(store, year, chunk=Chunk(i, count), run_id=run_id)
            for i in range(1, count + 1)
        ]
        seconds = time.perf_counter() - started
    figures = {name: sum(int(r.get(name) or 0) for r in results) for name in FIGURES}
    return {"seconds": seconds, "gate_s": gate.seconds, "chunks": count, **figures}


def pyarrow_fold(folder: str, sids: list[int], year: int) -> float:
    """Plain pyarrow doing consolidation's I/O: each security's months read, written as its
    ``history.parquet`` (the lake's Parquet options), the months deleted."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from equity_lake.engine import wap
    from equity_lake.lake import keys
    from equity_lake.lake.store import PARQUET_OPTIONS

    def fold(sid: int) -> None:
        months = sorted(Path(folder, keys.daily_ticks_year(sid, year)).glob("*/ticks.parquet"))
        if not months:
            return
        table = pa.concat_tables(pq.read_table(m) for m in months)
        pq.write_table(table, Path(folder, keys.daily_ticks_history(sid)), **PARQUET_OPTIONS)
        for month in months:
            month.unlink()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=wap.PUBLISH_THREADS) as pool:
        list(pool.map(fold, sids))
    return time.perf_counter() - started


def warm_consolidation(lakes: Lakes, data: SampleYear) -> None:
    """The gate's imports and GX context outside the timed region: a two-security fold."""
    pick = SampleYear(
        data.year,
        data.master,
        data.securities[:2],
        data.listed,
        [(m, t.filter(_in(t, data.securities[:2]))) for m, t in data.months],
        data.actions,
    )
    folder = prepare_year_lake(lakes, pick)
    consolidate_all(folder, data.year, "bench-consolidation-warm")
    lakes.drop(folder)


def _in(table: Any, sids: list[int]) -> Any:
    """The mask of ``table``'s rows of the securities ``sids``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.is_in(table.column("security_id"), value_set=pa.array(sids, pa.int64()))


def bench_consolidation(
    securities: int | None = SECURITIES, year: int = YEAR, rounds: int = ROUNDS
) -> dict[str, Any]:
    """Part 1: consolidate a sample year / plain pyarrow folding the same files."""
    from equity_lake.datasets.consolidation import CHUNKS, DEFAULT_CHUNK_SIZE

    started = time.perf_counter()
    data = sample_year(year, spread(securities))
    _say(f"1: {data.rows:,} bars of {len(data.securities):,} securities generated")
    with Lakes() as lakes:
        template = prepare_year_lake(lakes, data)
        before = lake_files(template)
        _say(f"1: {before:,} monthly files written ({time.perf_counter() - started:.0f} s)")
        warm_consolidation(lakes, data)
        engines, baselines = [], []
        for i in range(rounds):  # alternated, each side's best: a load spike skews neither
            folder = lakes.copy(template, "engine")
            engines.append(consolidate_all(folder, year, f"bench-consolidation-{i}"))
            after = lake_files(folder)
            lakes.drop(folder)
            folder = lakes.copy(template, "pyarrow")
            baselines.append(pyarrow_fold(folder, data.securities, year))
            lakes.drop(folder)
            _say(f"1: round {i + 1}: {engines[-1]['seconds']:.1f} s / {baselines[-1]:.1f} s")
    best = min(engines, key=lambda e: e["seconds"])
    return {
        "year": year,
        "securities": len(data.securities),
        "universe": data.listed,
        "full_chunks": CHUNKS.count(data.listed, DEFAULT_CHUNK_SIZE),
        "rows": data.rows,
        "baseline_s": min(baselines),
        "objects_before": before,
        "objects_after": after,
        **best,
    }


# --- 2. the reader -------------------------------------------------------------------------
def listed_all_year(count: int, year: int) -> Callable[[Any, list[int]], list[int]]:
    """A pick of ``count`` securities listed on the year's first and last session (a full
    panel), spread over the ids."""
    from equity_lake import calendar
    from equity_lake.master import SecurityMaster

    def pick(master: Any, listed: list[int]) -> list[int]:
        sessions = calendar.sessions_between(dt.date(year, 1, 1), dt.date(year, 12, 31))
        days = (sessions[0], sessions[-1])
        sm = SecurityMaster(master)
        first, last = (set(sm.active_on(d).column("security_id").to_pylist()) for d in days)
        full = sorted(first & last)
        return full[:: max(1, len(full) // count)][:count]

    return pick


@dataclass
class ReaderCase:
    """What one reader measurement reads: the securities, the year, the objects."""

    securities: list[int]
    year: int
    keys: list[str]

    def read(self, output: str = "pandas", wide: bool = True) -> Any:
        """The research read: a year of adjusted closes through ``Lake.bars``."""
        from equity_lake.lake.store import LakeStore
        from equity_lake.reader import Lake

        return Lake(LakeStore()).bars(
            self.securities,
            dt.date(self.year, 1, 1),
            dt.date(self.year, 12, 31),
            fields=["close"],
            adjusted=True,
            wide=wide,
            output=output,
        )

    def fetch(self) -> None:
        """The reader's reads alone: ``adjust.adjusted_bars`` of each security on
        ``read_all``, as ``bars`` runs them once it has resolved the securities on each
        session (what is left when that resolution costs nothing)."""
        from equity_lake import adjust
        from equity_lake.lake.store import LakeStore, read_all

        store, start, end = LakeStore(), dt.date(self.year, 1, 1), dt.date(self.year, 12, 31)
        read_all(lambda sid: adjust.adjusted_bars(store, sid, start, end), self.securities)

    def subset(self, count: int) -> ReaderCase:
        """The same read of the first ``count`` securities."""
        return ReaderCase(self.securities[:count], self.year, self.keys)

    def plain(self) -> None:
        """The same objects read with plain pyarrow, READ_THREADS at once."""
        import pyarrow.parquet as pq

        from equity_lake.lake.store import READ_THREADS, LakeStore

        store = LakeStore()
        with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
            list(pool.map(lambda k: pq.read_table(store.path(k), filesystem=store.fs), self.keys))


def measure_reader(case: ReaderCase, rounds: int) -> dict[str, Any]:
    """The reader (a wide pandas panel, then a long Arrow table) and the plain reads
    alternated, each one's best; a read over READ_BUDGET_S ends the rounds (a ratio that
    large needs no second look). Over the target, a cProfile of a smaller read."""
    case.subset(1).read()  # warm: imports, the calendar, the S3 client
    wide, long, plain, fetch, panel = [], [], [], [], None
    for _ in range(rounds):
        plain.append(_seconds(case.plain))
        fetch.append(_seconds(case.fetch))
        started = time.perf_counter()
        panel = case.read()
        wide.append(time.perf_counter() - started)
        if wide[-1] > READ_BUDGET_S:
            break
        long.append(_seconds(lambda: case.read("arrow", wide=False)))
    found = {
        "rounds": len(wide),
        "wide_s": min(wide),
        "long_s": min(long, default=None),
        "plain_s": min(plain),
        "fetch_s": min(fetch),
        "panel_shape": panel.shape,
        "panel_nulls": int(panel.isna().sum().sum()),
    }
    if found["wide_s"] / found["plain_s"] > READER_TARGET:
        small = case.subset(PROFILE_SECURITIES)
        found["profiled"] = len(small.securities)
        found["profile"] = profile(small.read)
    return found


def _seconds(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def profile(fn: Callable[[], Any], lines: int = PROFILE_LINES) -> str:
    """The functions taking the most time (cumulative) in one call of ``fn``."""
    profiler = cProfile.Profile()
    profiler.runcall(fn)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative")
    stats.print_stats(lines)
    return out.getvalue()


def reader_objects(data: SampleYear) -> Objects:
    """The reader lake: the full master, each security's consolidated year and actions."""
    from equity_lake.lake import keys

    return [(keys.SECURITY_MASTER, data.master), *history_objects(data)]


def bench_reader(
    server: Any, securities: int = READER_SECURITIES, year: int = YEAR, rounds: int = ROUNDS
) -> dict[str, Any]:
    """Part 2: ``Lake.bars`` / plain pyarrow reads, on a local lake and on local S3."""
    from equity_lake.datasets.consolidation import mark_consolidated
    from equity_lake.lake import keys

    data = sample_year(year, listed_all_year(securities, year))
    objects = reader_objects(data)
    case = ReaderCase(data.securities, year, [k for k, _ in objects[1:]])
    found: dict[str, Any] = {
        "securities": len(data.securities),
        "year": year,
        "rows": data.rows,
        "objects": len(case.keys),
        "with_actions": len(set(data.actions.column("security_id").to_pylist())),
        "year_actions": _actions_in(data.actions, year),
    }
    with Lakes() as lakes:
        store = local_store(lakes.new("reader"))
        write_objects(store, objects)
        mark_consolidated(store, keys.DAILY_TICKS_DATASET, year)
        found["local"] = measure_reader(case, rounds)
        _say(f"2: local lake read {found['local']['wide_s']:.2f} s")
    fresh_bucket(server)
    from equity_lake.lake.store import LakeStore

    store = LakeStore()
    write_objects(store, objects)
    mark_consolidated(store, keys.DAILY_TICKS_DATASET, year)
    found["s3"] = measure_reader(case, rounds)
    _say(f"2: local S3 read {found['s3']['wide_s']:.2f} s")
    return found


def _actions_in(actions: Any, year: int) -> dict[str, int]:
    """Splits and dividends with an ex-date in ``year``, by kind."""
    counts: dict[str, int] = {}
    for row in actions.select(["ex_date", "action"]).to_pylist():
        if row["ex_date"].year == year and row["action"] in ("split", "dividend"):
            counts[row["action"]] = counts.get(row["action"], 0) + 1
    return counts


# --- the report ----------------------------------------------------------------------------
def report(c: dict[str, Any], r: dict[str, Any] | None = None) -> None:
    """The lines `make bench` prints for both parts."""
    ratio = c["seconds"] / c["baseline_s"]
    print(
        f"consolidate {c['year']} ({c['securities']:,} securities, {c['rows']:,} bars, "
        f"{c['chunks']} chunks) on a local lake: {c['seconds']:.1f} s; plain pyarrow fold of "
        f"the same files: {c['baseline_s']:.1f} s; ratio {ratio:.2f}x; gate share "
        f"{c['gate_s'] / c['seconds']:.1%} ({c['gate_s']:.1f} s)"
    )
    print(
        f"consolidation figures: folded {c['folded']:,}, rows in {c['rows_in']:,} -> out "
        f"{c['rows_out']:,}; objects {c['objects_before']:,} -> {c['objects_after']:,} "
        f"({c['objects_deleted']:,} deleted); bytes {c['bytes_before'] / 2**20:.1f} MiB -> "
        f"{c['bytes_after'] / 2**20:.1f} MiB"
    )
    if c["securities"] != c["universe"]:
        scale = c["universe"] / c["securities"]
        gate = c["gate_s"] * c["full_chunks"] / c["chunks"]  # the gate runs once a chunk
        rest = (c["seconds"] - c["gate_s"]) * scale  # the folding, per security
        baseline = c["baseline_s"] * scale
        print(
            f"consolidation projected to the full {c['year']} universe ({c['universe']:,} "
            f"securities, {c['full_chunks']} chunks; the gate by chunk, the rest by security): "
            f"{(gate + rest) / 60:.1f} min, of which gate {gate / 60:.1f} min; pyarrow fold "
            f"{baseline:.0f} s; ratio {(gate + rest) / baseline:.2f}x"
        )
    if r is not None:
        report_reader(r)


def report_reader(r: dict[str, Any]) -> None:
    acts = ", ".join(f"{kind} {n:,}" for kind, n in sorted(r["year_actions"].items()))
    print(
        f"reader: {r['securities']} securities x {r['year']} adjusted closes ({r['rows']:,} "
        f"bars) from the consolidated layout (history.parquet + actions.parquet, "
        f"{r['objects']:,} objects; {r['with_actions']} securities with actions; in "
        f"{r['year']}: {acts or 'none'}); target Lake.bars / plain pyarrow reads <= "
        f"{READER_TARGET}x"
    )
    for where in ("local", "s3"):
        m = r[where]
        name = "local lake" if where == "local" else "local S3"
        long = "not measured" if m["long_s"] is None else f"{m['long_s']:.2f} s"
        print(
            f"reader {name}: wide pandas panel {m['panel_shape'][0]}x{m['panel_shape'][1]} "
            f"({m['panel_nulls']} missing) {m['wide_s']:.2f} s, long arrow {long}; plain "
            f"pyarrow reads {m['plain_s']:.3f} s; ratio {m['wide_s'] / m['plain_s']:.1f}x "
            f"(target <= {READER_TARGET}x; best of {m['rounds']} round(s))"
        )
        print(
            f"reader {name}: its reads and adjustment alone (adjust.adjusted_bars on the "
            f"reader's pool, without resolving securities per session) {m['fetch_s']:.3f} s; "
            f"ratio {m['fetch_s'] / m['plain_s']:.2f}x"
        )
        if "profile" in m:
            print(
                f"reader {name}: over target; cProfile of a wide read of "
                f"{m['profiled']} of the securities:\n{m['profile']}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--securities",
        type=int,
        default=SECURITIES,
        help="part 1's securities: N folds a spread subset, projected; default (0): all",
    )
    parser.add_argument("--reader-securities", type=int, default=READER_SECURITIES)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--skip", choices=("consolidation", "reader"), help="leave a part out")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    reader = None
    if args.skip != "reader":
        from tests.servers import MotoS3

        server = MotoS3().start()
        try:
            reader = bench_reader(server, args.reader_securities, rounds=args.rounds)
        finally:
            server.stop()
    if args.skip != "consolidation":
        report(bench_consolidation(args.securities or None, rounds=args.rounds), reader)
    elif reader is not None:
        report_reader(reader)
    print(f"consolidation bench: {time.perf_counter() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
