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
