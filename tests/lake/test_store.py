from pathlib import Path

import pyarrow as pa
import pytest

from equity_lake.config import ConfigError, LakeConfig
from equity_lake.lake.store import LakeStore

TABLE = pa.table({"a": pa.array([1, 2, 3], pa.int64()), "b": ["x", "y", "z"]})


@pytest.fixture(params=["local", "s3"])
def store(request) -> LakeStore:
    request.getfixturevalue("local_env" if request.param == "local" else "s3_env")
    return LakeStore()


def test_round_trip_list_move_delete(store):
    assert store.read_table("data/t/one.parquet") is None
    store.write_table("data/t/one.parquet", TABLE)
    assert store.read_table("data/t/one.parquet").equals(TABLE)
    assert store.exists("data/t/one.parquet")
    store.move("data/t/one.parquet", "data/u/two.parquet")
    assert not store.exists("data/t/one.parquet")
    assert store.list("data") == ["data/u/two.parquet"]
    store.write_json("data/u/meta.json", {"k": 1})
    assert store.read_json("data/u/meta.json") == {"k": 1}
    store.delete("data/u/two.parquet")
    store.delete("data/u/two.parquet")  # deleting twice is fine
    assert store.list("data/u") == ["data/u/meta.json"]


def test_folders_and_sizes_without_reading_objects(store):
    store.write_bytes("data/a/2024-12-23/x.json", b"{}")
    store.write_bytes("data/a/2024-12-24/y/z.json", b"12345")
    store.write_bytes("data/a/top.json", b"[]")
    assert store.folders("data/a") == ["2024-12-23", "2024-12-24"]
    assert store.folders("data/none") == []
    assert store.size("data/a/2024-12-24/y/z.json") == 5
    assert store.size("data/a/missing.json") is None


def test_replace_leaves_no_temporary_objects(store):
    for i in range(3):
        store.write_table("data/t/x.parquet", TABLE.slice(0, i + 1))
    assert store.list("data") == ["data/t/x.parquet"]
    assert store.read_table("data/t/x.parquet").num_rows == 3


def test_keys_that_escape_the_lake_are_refused(store):
    with pytest.raises(ValueError):
        store.path("../outside")
    with pytest.raises(ValueError):
        store.path("/etc/passwd")


def test_default_lake_is_the_repo_folder():
    config = LakeConfig.from_env({})
    assert config.uri.endswith("/lake") and config.scheme == "file"


@pytest.mark.parametrize(
    "env, match",
    [
        ({"LAKE_URI": "gs://bucket"}, "LAKE_URI"),
        ({"LAKE_URI": "s3://"}, "bucket"),
        ({"LAKE_URI": "s3://b", "LAKE_S3_ENDPOINT": "127.0.0.1:9000"}, "LAKE_S3_ENDPOINT"),
    ],
)
def test_bad_configuration_names_the_setting(env, match):
    with pytest.raises(ConfigError, match=match):
        LakeConfig.from_env(env)


def test_secrets_stay_out_of_repr():
    config = LakeConfig.from_env(
        {"LAKE_URI": "s3://b", "AWS_ACCESS_KEY_ID": "AKIDSECRET", "AWS_SECRET_ACCESS_KEY": "shh"}
    )
    assert "AKIDSECRET" not in repr(config) and "shh" not in repr(config)


def test_only_a_missing_object_is_missing_whatever_its_key_says(local_env):
    """An unreadable object whose key holds "404" fails loudly; it is not "no such object"
    (which would let a merge rewrite the month with only the new rows)."""
    store = LakeStore()
    key = "data/raw/ticks/daily/103404/2024/12/ticks.parquet"
    assert store.read_bytes(key) is None  # truly missing
    Path(store.path(key)).mkdir(parents=True)  # there, but not readable as an object
    with pytest.raises(OSError) as failure:
        store.read_bytes(key)
    assert not isinstance(failure.value, FileNotFoundError)
    from equity_lake.engine import wap

    with pytest.raises(OSError):
        wap.publish_merge(store, key, pa.table({"timestamp": [1]}), ["timestamp"])
