"""Write-audit-publish: unchanged objects are not rewritten."""

import datetime as dt

import pyarrow as pa

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
