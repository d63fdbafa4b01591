"""Commit records: a publish killed at any point shows readers the previous committed state
or the new one, never part of a day; concurrent ingests lose no row; a retry leaves a clean
lake; checksums let a verifier re-read what was committed."""

import datetime as dt
import os
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.compute  # noqa: F401
import pytest

from equity_lake import master_build
from equity_lake.adjust import read_daily_bars
from equity_lake.datasets import daily_ticks
from equity_lake.lake import commits, keys
from equity_lake.lake.store import LakeStore
from equity_lake.master import SecurityMaster

BEFORE, DAY = dt.date(2024, 12, 20), dt.date(2024, 12, 23)
SECURITIES = 12


@pytest.fixture(scope="module")
def built():
    return master_build.build("sample")


def _lake(built):
    store = LakeStore()
    store.write_table(keys.SECURITY_MASTER, built.master)
    members = SecurityMaster(built.master).active_on(DAY).slice(0, SECURITIES)
    return store, members


def _days_seen(store, members):
    """Each security's trading days in December, through the library's reader."""
    hidden = commits.masks(store, "daily-ticks")
    return {
        sid: read_daily_bars(store, sid, [DAY.replace(day=1)], hidden)
        .column("timestamp")
        .to_pylist()
        for sid in members.column("security_id").to_pylist()
    }


def _crashed_intent(store, members, run_id, partition):
    """The intent a run left over every member's object of DAY before it died; its objects."""
    objects = [keys.daily_ticks_month(s, DAY) for s in members.column("security_id").to_pylist()]
    commits.begin(
        store,
        dataset="daily-ticks",
        day=DAY,
        partition=partition,
        unit=partition,
        run_id=run_id,
        column="timestamp",
        table=pa.table({"timestamp": pa.array([DAY], pa.date32())}),
        objects=objects,
    )
    return objects


_KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from equity_lake.lake import commits
    from equity_lake.lake.store import LakeStore

    point, after = sys.argv[1], int(sys.argv[2])
    die = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
    if point == "publish":  # killed before the (after+1)-th object is merged
        merged, write_if = [0], LakeStore.write_if
        def counting(self, *a, **k):
            merged[0] += 1
            if merged[0] > after:
                die()
            return write_if(self, *a, **k)
        LakeStore.write_if = counting
    elif point == "commit":  # every object merged, no commit record yet
        commits.commit = die
    elif point == "intents":  # commit record written, intents not yet removed
        delete = LakeStore.delete
        LakeStore.delete = lambda self, key: die() if "_pending" in key else delete(self, key)
    from equity_lake import cli
    sys.exit(cli.main(sys.argv[3:]))
    """
)


@pytest.mark.parametrize(
    ("point", "after"),
    [("publish", 0), ("publish", SECURITIES // 2), ("commit", 0), ("intents", 0)],
    ids=["before-any-object", "half-the-objects", "before-the-commit", "before-intent-removal"],
)
def test_a_publish_killed_anywhere_shows_the_old_day_or_the_new_one(built, local_env, point, after):
    store, members = _lake(built)
    symbols = members.column("symbol").to_pylist()
    daily_ticks.ingest(store, BEFORE, symbols=symbols, run_id="before")
    argv = ["ingest", "daily-ticks", "--date", DAY.isoformat(), "--symbols", ",".join(symbols)]
    argv += ["--run-id", "crashing"]
    killed = subprocess.run(
        [sys.executable, "-c", _KILLER, point, str(after), *argv],
        env=os.environ.copy(),
        capture_output=True,
        timeout=300,
    )
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    seen = _days_seen(store, members)
    states = {tuple(days) for days in seen.values()}
    if point == "intents":  # the commit record was written: the day is committed
        assert states == {(BEFORE, DAY)}
    else:
        assert states == {(BEFORE,)}, "a reader saw part of the crashed day"
    raw_days = {
        tuple(store.read_table(keys.daily_ticks_month(sid, DAY)).column("timestamp").to_pylist())
        for sid in seen
    }
    if point == "publish" and after:  # the objects really hold part of the day
        assert raw_days == {(BEFORE,), (BEFORE, DAY)}
    # the retry (same run) completes the publish and leaves a clean lake
    daily_ticks.ingest(store, DAY, symbols=symbols, run_id="crashing")
    assert {tuple(days) for days in _days_seen(store, members).values()} == {(BEFORE, DAY)}
    assert commits.pending(store, "daily-ticks") == []
    assert store.list("data/_staging") == []
    assert [k for k in store.list("data") if k.endswith(".tmp")] == []
    (record,) = commits.committed(store, "daily-ticks", DAY, "crashing")
    assert record["securities"] == SECURITIES and record["complete"] is True
    assert commits.verify(store, record, "timestamp") == []


def test_a_crashed_publish_hides_its_rows_on_s3_too_until_the_retry(built, s3_env):
    store, members = _lake(built)
    symbols = members.column("symbol").to_pylist()
    daily_ticks.ingest(store, BEFORE, symbols=symbols, run_id="before")
    argv = ["ingest", "daily-ticks", "--date", DAY.isoformat(), "--symbols", ",".join(symbols)]
    killed = subprocess.run(
        [sys.executable, "-c", _KILLER, "publish", "5", *argv, "--run-id", "crashing"],
        env=os.environ.copy(),
        capture_output=True,
        timeout=300,
    )
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    assert {tuple(d) for d in _days_seen(store, members).values()} == {(BEFORE,)}
    (intent,) = commits.pending(store, "daily-ticks")
    assert (intent.run_id, intent.first, intent.last) == ("crashing", "2024-12-23", "2024-12-23")
    daily_ticks.ingest(store, DAY, symbols=symbols, run_id="crashing")
    assert {tuple(d) for d in _days_seen(store, members).values()} == {(BEFORE, DAY)}
    assert commits.pending(store, "daily-ticks") == []


def test_a_later_run_of_the_day_releases_what_a_crashed_run_hid(built, local_env):
    from equity_lake import datasets
    from equity_lake.engine import runner
    from equity_lake.engine.dataset import Run

    store, members = _lake(built)
    symbols = members.column("symbol").to_pylist()
    # a crashed run left an intent over every object of the day, under a partition name the
    # new run also uses: the new run's commit of that partition removes only its own intents
    _crashed_intent(store, members, "crashed", "chunk-0001-of-0002")
    daily_ticks.ingest(store, DAY, chunk=daily_ticks.Chunk(1, 2), symbols=symbols, run_id="new")
    daily_ticks.ingest(store, DAY, chunk=daily_ticks.Chunk(2, 2), symbols=symbols, run_id="new")
    # the crashed intent still stands (the new run's commits removed only their own), but
    # the rows it covers are now exactly what the new run committed: readers see them
    assert [i.run_id for i in commits.pending(store, "daily-ticks")] == ["crashed"]
    assert {tuple(d) for d in _days_seen(store, members).values()} == {(DAY,)}
    planned = ["chunk-0001-of-0002", "chunk-0002-of-0002"]
    summary = runner.record(datasets.get("daily-ticks"), store, Run(DAY, "new"), planned=planned)
    assert summary["failed_partitions"] == [] and summary["superseded"] == 1
    assert commits.pending(store, "daily-ticks") == []  # the crashed run's intent is gone
    assert {tuple(d) for d in _days_seen(store, members).values()} == {(DAY,)}


@pytest.mark.parametrize("backend", ["local_env", "s3_env"])
def test_concurrent_ingests_of_one_month_lose_no_row(built, backend, request):
    """Ingests of different days and of the same day at once (catchup, a backfill beside a
    manual run) into the same monthly files: every row of every run is there, and committed."""
    request.getfixturevalue(backend)
    store, members = _lake(built)
    symbols = members.column("symbol").to_pylist()
    days = [dt.date(2024, 12, d) for d in (2, 3, 4, 5, 6)] + [dt.date(2024, 12, 4)]
    for round_ in range(2):
        barrier = threading.Barrier(len(days))

        def ingest(job, round_=round_, barrier=barrier):
            index, day = job
            barrier.wait()
            return daily_ticks.ingest(store, day, symbols=symbols, run_id=f"r{round_}-{index}")

        with ThreadPoolExecutor(max_workers=len(days)) as pool:
            results = list(pool.map(ingest, enumerate(days)))
        assert all(r["securities"] == SECURITIES for r in results)
        wanted = sorted(set(days))
        hidden = commits.masks(store, "daily-ticks")
        for sid in members.column("security_id").to_pylist():
            bars = read_daily_bars(store, sid, [wanted[0]], hidden)
            assert bars.column("timestamp").to_pylist() == wanted
        for day in set(days):
            held = commits.holdings(commits.committed(store, "daily-ticks", day))
            assert len(held) == SECURITIES and sum(held.values()) == SECURITIES


def test_a_checksum_is_the_rows_not_their_slicing(local_env, built):
    store, members = _lake(built)
    daily_ticks.ingest(store, DAY, symbols=members.column("symbol").to_pylist(), run_id="c")
    (record,) = commits.committed(store, "daily-ticks", DAY, "c")
    assert commits.verify(store, record, "timestamp") == []
    key = next(iter(record["objects"]))
    table = store.read_table(key)
    assert commits.rows_checksum(table) == commits.rows_checksum(
        pa.concat_tables([table.slice(0, 0), table])
    )
    changed = table.set_column(6, "close", pa.array([1.0] * table.num_rows))
    store.write_table(key, changed)
    assert commits.verify(store, record, "timestamp") == [
        f"{key}: 1 rows differ from the 1 committed"
    ]


def test_a_crashed_republish_hides_only_what_it_changed(built, local_env):
    """Run A committed the day; run B, re-publishing it with other prices, died after 5 of 12
    objects. Readers see A's rows where B never wrote and hide the day where B did: never a
    mix of the two runs' rows presented as committed."""
    from equity_lake.engine import wap

    store, members = _lake(built)
    symbols = members.column("symbol").to_pylist()
    daily_ticks.ingest(store, DAY, symbols=symbols, run_id="a")
    objects = _crashed_intent(store, members, "b", "chunk-0001-of-0001")
    for key in objects[:5]:  # B's corrected prices reached five objects, then B died
        rows = store.read_table(key)
        rows = rows.set_column(6, "close", pa.compute.multiply(rows.column("close"), 1.01))
        wap.publish_merge(store, key, rows, ["timestamp"])
    seen = _days_seen(store, members)
    sids = members.column("security_id").to_pylist()
    assert [seen[s] for s in sids] == [[]] * 5 + [[DAY]] * 7
