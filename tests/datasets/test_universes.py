"""The universes dataset: dated membership rebuilt from the lake, replaced whole, gated."""

import datetime as dt

import pyarrow as pa
import pytest

from equity_lake import cli, master, universes
from equity_lake.datasets import daily_ticks
from equity_lake.datasets import universes as dataset
from equity_lake.engine.dataset import Run
from equity_lake.lake import keys

D = dt.date
FIRST, LAST = D(2024, 11, 1), D(2025, 1, 3)
COUNT = 40


@pytest.fixture
def lake(store, built):
    """The sample master and the daily bars of 40 securities, 2024-11-01..2025-01-03."""
    symbols = (
        master.SecurityMaster(built.master).active_on(D(2024, 11, 29)).column("symbol").to_pylist()
    )
    daily_ticks.ingest(
        store, FIRST, source="sample", symbols=symbols[:COUNT], run_id="b1", end=LAST
    )
    return store


def stored(store, name="top3000"):
    return store.read_table(keys.universe(name)).cast(universes.UNIVERSE_SCHEMA)


def test_plan_has_one_partition_per_universe_with_the_range(store):
    found = dataset.UNIVERSES.plan(store, Run(LAST, "r1", {"start": "2024-12-02", "end": None}))
    assert [p.name for p in found.partitions] == list(universes.NAMES)
    assert found.partitions[1].argv[:3] == ("derive", "universe", "top3000")
    assert found.partitions[1].argv[-2:] == ("--start", "2024-12-02")
    with pytest.raises(ValueError, match="start 2025-01-03 is after end 2024-12-02"):
        dataset.UNIVERSES.plan(store, Run(LAST, "r1", {"start": LAST, "end": D(2024, 12, 2)}))


def test_all_common_keeps_delisted_members_in_its_history(store, built):
    result = dataset.derive(store, "all_common", LAST, run_id="u1")
    assert result["universes"] == 1 and result["files_written"] == 1
    table = stored(store, "all_common")
    gone = table.filter(pa.compute.less(table.column("end"), pa.scalar(D(2020, 1, 1))))
    assert gone.num_rows > 100  # securities delisted before 2020 are still there
    row = gone.to_pylist()[0]

    def ids(day):
        return universes.members(table, day).column("security_id").to_pylist()

    assert row["security_id"] in ids(row["end"])
    assert row["security_id"] not in ids(dt.date(row["end"].year + 1, 1, 2))


def test_the_first_run_ranks_every_month_whose_lookback_the_lake_holds(lake):
    dataset.derive(lake, "top3000", LAST, run_id="u1")
    table = stored(lake)
    # November 1's lookback (October) is not in the lake: the universe starts in December
    assert min(table.column("start").to_pylist()) == D(2024, 12, 2)
    assert universes.members(table, D(2024, 11, 29)).num_rows == 0
    held = set(lake_ids(lake))
    assert set(universes.members(table, D(2025, 1, 2)).column("security_id").to_pylist()) == held


def lake_ids(store):
    return {int(k.split("/")[4]) for k in store.list("data/raw/ticks/daily/")}


def test_a_range_run_equals_a_full_rebuild_and_drops_periods_that_no_longer_hold(lake):
    dataset.derive(lake, "top3000", LAST, run_id="u1")
    full = stored(lake)
    # a period the bars do not support (a security with no bar) is stored by hand
    ghost = next(
        sid
        for sid in universes.all_common(master.SecurityMaster.load(lake).table)
        .column("security_id")
        .to_pylist()
        if sid not in lake_ids(lake)
    )
    extra = pa.table(
        {"security_id": [ghost], "symbol": ["GHOST"], "start": [D(2024, 12, 2)], "end": [None]},
        schema=universes.UNIVERSE_SCHEMA,
    )
    lake.write_table(keys.universe("top3000"), pa.concat_tables([full, extra]))
    result = dataset.derive(
        lake, "top3000", LAST, start=D(2024, 11, 1), end=D(2024, 12, 31), run_id="u2"
    )
    assert result["files_written"] == 1
    assert stored(lake).equals(full)  # replaced whole: the ghost's period is gone
    again = dataset.derive(lake, "top3000", LAST, start=D(2024, 12, 27), end=LAST, run_id="u3")
    assert again["files_unchanged"] == 1 and stored(lake).equals(full)


def test_cli_shows_members_and_names_an_unknown_universe(lake, capsys):
    assert cli.main(["derive", "universe", "top3000", "--date", "2025-01-04"]) == 0
    capsys.readouterr()
    assert cli.main(["show", "universe", "top3000", "--date", "2025-01-02"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "security_id,symbol" and len(lines) == 1 + len(lake_ids(lake))
    assert cli.main(["derive", "universe", "top10"]) == 2
    assert "unknown universe 'top10'" in capsys.readouterr().err


def test_the_first_run_ranks_every_month_even_when_given_a_range(lake):
    dataset.derive(lake, "top3000", LAST, start=LAST, end=LAST, run_id="u1")
    assert min(stored(lake).column("start").to_pylist()) == D(2024, 12, 2)
