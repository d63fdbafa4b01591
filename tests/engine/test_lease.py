"""The run lease: runs of a dataset that must not overlap take turns, on both backends."""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from equity_lake.engine import lease

NOW = dt.datetime(2024, 12, 23, 9, tzinfo=dt.UTC)


@pytest.fixture(params=["local", "s3"])
def store(request):
    request.getfixturevalue("local_env" if request.param == "local" else "s3_env")
    from equity_lake.lake.store import LakeStore

    return LakeStore()


def test_one_run_at_a_time_and_the_next_after_release(store):
    lease.acquire(store, "fundamentals", "run-1", now=NOW)
    lease.acquire(store, "fundamentals", "run-1", now=NOW)  # its own turn: renewed
    with pytest.raises(lease.RunInProgress, match="run run-1 has held the lake since"):
        lease.acquire(store, "fundamentals", "run-2", now=NOW)
    assert lease.release(store, "fundamentals", "run-2") is False  # not its lease
    assert lease.holder(store, "fundamentals")["run_id"] == "run-1"
    assert lease.release(store, "fundamentals", "run-1") is True
    assert lease.acquire(store, "fundamentals", "run-2", now=NOW)["run_id"] == "run-2"


def test_a_dead_runs_lease_lapses(store):
    lease.acquire(store, "fundamentals", "died", now=NOW, ttl=dt.timedelta(hours=6))
    with pytest.raises(lease.RunInProgress):
        lease.acquire(store, "fundamentals", "next", now=NOW + dt.timedelta(hours=5))
    taken = lease.acquire(store, "fundamentals", "next", now=NOW + dt.timedelta(hours=7))
    assert taken["run_id"] == "next"
    assert lease.release(store, "fundamentals", "died") is False  # it cannot free the new one
    assert lease.holder(store, "fundamentals")["run_id"] == "next"
    assert lease.release(store, "fundamentals", "next") is True
    assert lease.holder(store, "fundamentals") is None
    assert lease.release(store, "fundamentals", "next") is False  # released once


def test_a_release_never_removes_a_lease_taken_in_between(store):
    """Released is a checked write: a release that read the old lease cannot clobber the
    lease another run took after it."""
    from equity_lake.lake import keys

    lease.acquire(store, "fundamentals", "old", now=NOW)
    _, version = store.read_versioned(keys.run_lease("fundamentals"))
    lease.release(store, "fundamentals", "old")
    lease.acquire(store, "fundamentals", "new", now=NOW)
    assert store.write_if(keys.run_lease("fundamentals"), b"{}", version) is False
    assert lease.holder(store, "fundamentals")["run_id"] == "new"


def test_of_runs_starting_at_once_exactly_one_gets_the_turn(store):
    runs = [f"run-{i}" for i in range(8)]
    barrier = threading.Barrier(len(runs))

    def start(run_id):
        barrier.wait()
        try:
            lease.acquire(store, "fundamentals", run_id, now=NOW)
            return run_id
        except lease.RunInProgress:
            return None

    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        winners = [r for r in pool.map(start, runs) if r]
    assert len(winners) == 1 and lease.holder(store, "fundamentals")["run_id"] == winners[0]


def test_a_cli_run_waits_for_no_one_and_says_who_holds_the_lake(local_env, capsys, monkeypatch):
    from equity_lake import cli
    from equity_lake.lake.store import LakeStore

    monkeypatch.setenv("SEC_USER_AGENT", "equity-lake tests tests@example.com")
    for name in ("SEC_DATA_URL", "SEC_WWW_URL"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # never reached: it waits for no one
    lease.acquire(LakeStore(), "fundamentals", "scheduled__2024-12-23")
    code = cli.main(["ingest", "fundamentals", "--date", "2024-12-20", "--ciks", "320193"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1
    assert "run scheduled__2024-12-23 has held the lake" in err[0]
