"""Write-audit-publish: unchanged objects are not rewritten."""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pytest

from equity_lake.engine import wap


def bars(days, close):
    return pa.table(
        {
            "timestamp": pa.array(days, pa.date32()),
            "close": pa.array([close] * len(days), pa.float64()),
        }
    )


D1, D2, D3 = dt.date(2024, 12, 23), dt.date(2024, 12, 24), dt.date(2024, 12, 26)


def test_publish_merge_skips_unchanged_objects(local_env):
    from equity_lake.lake.store import LakeStore

    store = LakeStore()
    key = "data/raw/ticks/daily/1/2024/12/ticks.parquet"
    assert wap.publish_merge(store, key, bars([D1], 1.0), ["timestamp"]) is True
    assert wap.publish_merge(store, key, bars([D1], 1.0), ["timestamp"]) is False
    assert wap.publish_merge(store, key, bars([D2], 1.0), ["timestamp"]) is True
    assert store.read_table(key).num_rows == 2


def test_publish_replace_writes_a_rebuilt_object_only_when_it_changed(local_env):
    from equity_lake.lake.store import LakeStore

    store = LakeStore()
    key = "data/master/calendar_master.parquet"
    assert wap.publish_replace(store, key, bars([D1, D2], 1.0)) is True
    before = store.read_bytes(key)
    assert wap.publish_replace(store, key, bars([D1, D2], 1.0)) is False
    assert store.read_bytes(key) == before
    assert wap.publish_replace(store, key, bars([D1], 1.0)) is True  # replaced, not merged
    assert store.read_table(key).num_rows == 1


def test_publish_merge_each_merges_every_securitys_rows_into_its_own_object(local_env):
    from equity_lake.lake.store import LakeStore

    store = LakeStore()

    def key_of(sid: int) -> str:
        return f"data/raw/ticks/daily/{sid}/2024/12/ticks.parquet"

    table = bars([D1, D2, D3], 1.0).append_column("security_id", pa.array([7, 3, 7], pa.int64()))
    assert wap.publish_merge_each(store, table, key_of, ["timestamp"]) == 2
    assert store.read_table(key_of(7))["timestamp"].to_pylist() == [D1, D3]
    assert store.read_table(key_of(3))["timestamp"].to_pylist() == [D2]
    assert wap.publish_merge_each(store, table, key_of, ["timestamp"]) == 0
    assert wap.publish_merge_each(store, table.slice(0, 0), key_of, ["timestamp"]) == 0


def test_a_new_run_id_is_a_valid_key_part():
    from equity_lake.lake import keys

    run = wap.new_run_id("master-sample")
    assert run.startswith("master-sample-") and keys.run_id(run) == run
    assert wap.new_run_id("x") != wap.new_run_id("x")


@pytest.fixture(params=["local", "s3"])
def any_store(request):
    request.getfixturevalue("local_env" if request.param == "local" else "s3_env")
    from equity_lake.lake.store import LakeStore

    return LakeStore()


def test_a_stale_version_is_refused_on_both_backends(any_store):
    from equity_lake.lake.store import ABSENT

    key = "data/raw/ticks/daily/7/2024/12/ticks.parquet"
    assert any_store.write_if(key, b"first", ABSENT) is True
    assert any_store.write_if(key, b"again", ABSENT) is False  # it exists now
    data, version = any_store.read_versioned(key)
    assert data == b"first"
    assert any_store.write_if(key, b"second", version) is True
    assert any_store.write_if(key, b"third", version) is False  # replaced since it was read
    assert any_store.read_bytes(key) == b"second"


def test_concurrent_merges_of_different_days_lose_no_row(any_store):
    """Runs of several days merging into one month at once (catchup, backfills): every
    day of every run is there afterwards, round after round."""
    days = [dt.date(2024, 12, d) for d in (2, 3, 4, 5, 6, 9, 10, 11)]
    for round_ in range(3):
        key = f"data/raw/ticks/daily/{round_}/2024/12/ticks.parquet"
        barrier = threading.Barrier(len(days))

        def publish(day, key=key, barrier=barrier):
            barrier.wait()
            return wap.publish_merge(any_store, key, bars([day], 1.0), ["timestamp"])

        with ThreadPoolExecutor(max_workers=len(days)) as pool:
            written = list(pool.map(publish, days))
        assert all(written)
        assert any_store.read_table(key).column("timestamp").to_pylist() == days


def test_a_corrupt_object_is_named_kept_aside_and_final(local_env):
    from equity_lake.cli import EXIT_GATE, exit_code
    from equity_lake.lake import keys
    from equity_lake.lake.store import CorruptObject, LakeStore

    store = LakeStore()
    key = "data/raw/ticks/daily/5/2024/12/ticks.parquet"
    store.write_bytes(key, b"PAR1 truncated garbage")
    with pytest.raises(CorruptObject) as failure:
        wap.publish_merge(store, key, bars([D1], 1.0), ["timestamp"])
    assert key in str(failure.value) and "not a readable Parquet object" in str(failure.value)
    assert exit_code(failure.value) == EXIT_GATE  # never retried
    assert store.read_bytes(keys.corrupt_copy(key)) == b"PAR1 truncated garbage"
    assert store.read_bytes(key) == b"PAR1 truncated garbage"  # nothing was replaced
