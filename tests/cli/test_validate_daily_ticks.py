"""``equity-lake validate --dataset daily-ticks`` against a lake: the expected row count comes
from the security master's universe of the day (not from the file itself), and each bar is
checked against its previous bar in the lake, as the ingest's gate does."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from equity_lake import cli, master_build
from equity_lake.config import LakeConfig
from equity_lake.datasets import daily_ticks
from equity_lake.engine.chunks import Chunk
from equity_lake.lake import keys
from equity_lake.lake.store import LakeStore
from equity_lake.master import SecurityMaster
from equity_lake.sources import registry

DAY1, DAY2 = dt.date(2024, 12, 3), dt.date(2024, 12, 4)
SUBSET = 30


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    """A lake with the sample master and DAY1's bars of SUBSET securities; DAY2's files."""
    root = tmp_path_factory.mktemp("validate")
    uri = (root / "lake").as_uri()
    store = LakeStore(LakeConfig(uri))
    built = master_build.build("sample")
    store.write_table(keys.SECURITY_MASTER, built.master)
    universe = SecurityMaster(built.master).active_on(DAY2)
    subset = universe.slice(0, SUBSET)
    daily_ticks.ingest(store, DAY1, symbols=subset.column("symbol").to_pylist(), run_id="d1")
    day = registry.daily_source("sample").daily_bars(DAY2, universe).sort_by("security_id")
    files = {}

    def write(name: str, table: pa.Table) -> str:
        files[name] = str(root / f"{name}.parquet")
        pq.write_table(table, files[name])
        return files[name]

    write("day", day)
    write("day-missing-a-fifth", day.filter(pa.array(np.arange(day.num_rows) % 5 != 0)))
    chunk = daily_ticks.chunk_slice(universe, Chunk(2, 12))
    write("chunk-0002-of-0012", registry.daily_source("sample").daily_bars(DAY2, chunk))
    mine = registry.daily_source("sample").daily_bars(DAY2, subset)
    shifted = mine  # one security's prices in cents
    for name in ("open", "high", "low", "close"):
        values = mine.column(name).to_numpy() * np.where(np.arange(SUBSET) == 4, 100.0, 1.0)
        shifted = shifted.set_column(mine.schema.get_field_index(name), name, pa.array(values))
    write("subset-one-in-cents", shifted)
    return {"uri": uri, "files": files, "universe": universe.num_rows, "chunk": chunk.num_rows}


def validate(lake, monkeypatch, capsys, name: str, *options: str) -> tuple[int, str, str]:
    monkeypatch.setenv("LAKE_URI", lake["uri"])
    argv = ["validate", "--dataset", "daily-ticks", *options, lake["files"][name]]
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_day_missing_a_fifth_of_its_rows_fails_against_the_master(lake, monkeypatch, capsys):
    code, out, err = validate(lake, monkeypatch, capsys, "day-missing-a-fifth")
    assert code == cli.EXIT_GATE and out == ""
    assert len(err.strip().splitlines()) == 1 and "expect_table_row_count_to_be_between" in err
    assert f"expected {int(lake['universe'] * 0.9)}..{lake['universe']}" in err


def test_a_whole_day_passes_with_its_rows_expected_from_the_master(lake, monkeypatch, capsys):
    code, out, err = validate(lake, monkeypatch, capsys, "day")
    assert code == cli.EXIT_OK, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["expected_rows"] == result["rows"] == lake["universe"]
    assert result["warnings"] == []


def test_a_staged_chunk_is_expected_to_hold_its_slice_of_the_universe(lake, monkeypatch, capsys):
    code, out, err = validate(lake, monkeypatch, capsys, "chunk-0002-of-0012")
    assert code == cli.EXIT_OK, err
    assert json.loads(out.strip().splitlines()[-1])["expected_rows"] == lake["chunk"]


def test_expected_rows_still_overrides_the_master(lake, monkeypatch, capsys):
    rows = pq.read_metadata(lake["files"]["day-missing-a-fifth"]).num_rows
    code, out, err = validate(
        lake, monkeypatch, capsys, "day-missing-a-fifth", "--expected-rows", str(rows)
    )
    assert code == cli.EXIT_OK, err


def test_each_bar_is_checked_against_its_previous_bar_in_the_lake(lake, monkeypatch, capsys):
    options = ("--expected-rows", str(SUBSET))
    code, out, err = validate(lake, monkeypatch, capsys, "subset-one-in-cents", *options)
    assert code == cli.EXIT_GATE
    assert "expect_column_values_to_be_between(move >= 0.04 and move <= 25): 1 of 30 rows" in err
    assert len(err.strip().splitlines()) == 1
