"""The minute-ticks dataset through the library and the CLI, on a local lake."""

import datetime as dt
import json

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from equity_lake import calendar, cli, master, reader, runs
from equity_lake.datasets import daily_ticks, minute_ticks
from equity_lake.engine.chunks import Chunk
from equity_lake.engine.dataset import Run
from equity_lake.engine.wap import QualityGateFailed
from equity_lake.lake import keys
from equity_lake.lake.schemas import MINUTE_TICKS
from equity_lake.sources import registry

FULL_DAY = dt.date(2024, 12, 23)
HALF_DAY = dt.date(2024, 12, 24)
COUNT = 30


def symbols_of(built, day, n=COUNT):
    return master.SecurityMaster(built.master).active_on(day).column("symbol").to_pylist()[:n]


def expected_bars(store, day, symbols, session="regular"):
    members = daily_ticks.universe(master.SecurityMaster.load(store), day, symbols)
    return registry.minute_source("sample").minute_bars(day, members, session)


def published(store, day, ids):
    return pa.concat_tables(
        store.read_table(keys.minute_ticks_day(sid, day)).cast(MINUTE_TICKS) for sid in ids
    )


def test_plan_chunks_the_days_universe_with_the_session_in_each_command(store, built):
    run = Run(HALF_DAY, "r1", {"chunk_size": 500, "session": "extended"})
    found = minute_ticks.MINUTES.plan(store, run)
    active = master.SecurityMaster(built.master).active_on(HALF_DAY)
    assert sum(p.expected for p in found.partitions) == active.num_rows
    first = found.partitions[0]
    assert first.argv[:4] == ("ingest", "minute-ticks", "--date", "2024-12-24")
    assert first.argv[first.argv.index("--session") + 1] == "extended"
    assert first.label.endswith(" extended") and found.notes == {"session": "extended"}


def test_the_session_comes_from_the_param_else_the_setting_and_is_checked():
    assert minute_ticks.session_of(None, {}) == "regular"
    assert minute_ticks.session_of(None, {"EQUITY_LAKE_MINUTE_SESSION": "extended"}) == "extended"
    assert minute_ticks.session_of("regular", {"EQUITY_LAKE_MINUTE_SESSION": "extended"}) == (
        "regular"
    )
    with pytest.raises(ValueError, match="EQUITY_LAKE_MINUTE_SESSION='overnight' is not one of"):
        minute_ticks.session_of(None, {"EQUITY_LAKE_MINUTE_SESSION": "overnight"})


def test_a_half_day_publishes_the_sources_bars_one_object_per_security(store, built):
    symbols = symbols_of(built, HALF_DAY)
    daily_ticks.ingest(store, HALF_DAY, symbols=symbols, run_id="d1")  # the agreement check
    result = minute_ticks.ingest(store, HALF_DAY, symbols=symbols, run_id="m1")
    expected = expected_bars(store, HALF_DAY, symbols)
    ids = sorted(set(expected.column("security_id").to_pylist()))
    assert result["securities"] == len(ids) == COUNT and result["rows"] == expected.num_rows
    assert published(store, HALF_DAY, ids).equals(expected.cast(MINUTE_TICKS))
    start, end = calendar.session_bounds(HALF_DAY)
    stamps = expected.column("timestamp")
    assert pc.min(stamps).as_py() >= start and pc.max(stamps).as_py() < end
    counts = expected.group_by("security_id").aggregate([("timestamp", "count")])
    assert pc.max(counts.column("timestamp_count")).as_py() <= 210
    assert result["warnings"] == {}  # every security's minutes agree with its daily bar
    again = minute_ticks.ingest(store, HALF_DAY, symbols=symbols, run_id="m2")
    assert again["files_written"] == 0 and again["files_unchanged"] == len(ids)
    held = runs.summarize(store, "minute-ticks", HALF_DAY, HALF_DAY).splitlines()[2].split()
    assert held[:3] == ["2024-12-24", str(expected.num_rows), "2"]  # what the lake holds


def test_extended_hours_add_bars_outside_the_regular_session(store, built):
    symbols = symbols_of(built, FULL_DAY, 10)
    result = minute_ticks.ingest(store, FULL_DAY, symbols=symbols, session="extended", run_id="x1")
    ids = sorted(expected_bars(store, FULL_DAY, symbols).column("security_id").to_pylist())
    bars = published(store, FULL_DAY, sorted(set(ids)))
    regular = minute_ticks.session_rows(bars, FULL_DAY)
    assert bars.num_rows > regular.num_rows == expected_bars(store, FULL_DAY, symbols).num_rows
    assert result["session"] == "extended"


def _tampered(monkeypatch, change):
    """The sample source, with ``change`` applied to what it delivers (a faulty vendor)."""
    real = registry.SampleMinuteSource.minute_bars

    def faulty(self, day, universe, session):
        return change(real(self, day, universe, session))

    monkeypatch.setattr(registry.SampleMinuteSource, "minute_bars", faulty)


def _replace_row(table, i, **values):
    rows = table.to_pylist()
    rows[i] = {**rows[i], **values}
    return pa.Table.from_pylist(rows, schema=table.schema)


@pytest.mark.parametrize(
    ("change", "failed"),
    [
        (  # a bar at 18:00 UTC on a half day: the session closed at 13:00 New York
            lambda t: _replace_row(t, 0, timestamp=dt.datetime(2024, 12, 24, 18, 0, tzinfo=dt.UTC)),
            "session_minute",
        ),
        (  # the first minute delivered twice
            lambda t: pa.concat_tables([t.slice(0, 1), t]),
            "compound_columns_to_be_unique",
        ),
        (  # a high below the open
            lambda t: _replace_row(t, 5, high=t.column("open")[5].as_py() - 0.5),
            "column_pair_values_a_to_be_greater_than_b",
        ),
        (  # one security's volume doubled: the minutes no longer sum to its daily bar
            lambda t: t.set_column(
                t.schema.get_field_index("volume"),
                "volume",
                pc.multiply(t.column("volume"), 2),
            ),
            "daily_mismatch",
        ),
    ],
    ids=["outside-session", "duplicate-minute", "high-below-open", "daily-disagrees"],
)
def test_a_faulty_delivery_is_quarantined_and_nothing_published(
    store, built, monkeypatch, change, failed
):
    symbols = symbols_of(built, HALF_DAY, 12)
    daily_ticks.ingest(store, HALF_DAY, symbols=symbols, run_id="d1")
    _tampered(monkeypatch, change)
    with pytest.raises(QualityGateFailed, match=failed):
        minute_ticks.ingest(store, HALF_DAY, symbols=symbols, run_id="bad")
    assert store.list("data/raw/ticks/minute") == []
    quarantined = [k for k in store.list("data/quarantine") if k.endswith(".validation.json")]
    assert len(quarantined) == 1 and "minute" in quarantined[0]
    assert failed in json.dumps(store.read_json(quarantined[0])["failures"])


def test_the_reader_and_show_return_one_securitys_minutes(store, built, capsys):
    symbols = symbols_of(built, HALF_DAY, 3)
    minute_ticks.ingest(store, HALF_DAY, symbols=symbols, run_id="m1")
    minute_ticks.ingest(store, FULL_DAY, symbols=symbols, run_id="m2")
    one = reader.minute_bars(store, symbols[0], HALF_DAY)
    both = reader.minute_bars(store, symbols[0], FULL_DAY, HALF_DAY)
    assert set(one.column("symbol").to_pylist()) == {symbols[0]}
    assert both.num_rows > one.num_rows and both.slice(both.num_rows - one.num_rows).equals(one)
    assert cli.main(["show", "minute-ticks", "--symbol", symbols[0], "--date", "2024-12-24"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].endswith(",new_york") and len(lines) == one.num_rows + 1
    assert lines[1].endswith("2024-12-24 09:30") or "2024-12-24 09:" in lines[1]
    assert cli.main(["show", "minute-ticks", "--symbol", "ZZZZZ", "--date", "2024-12-24"]) == 2
    assert "no security traded as ZZZZZ" in capsys.readouterr().err


def test_validate_checks_a_published_object_against_the_daily_bar(store, built, tmp_path):
    symbols = symbols_of(built, HALF_DAY, 2)
    daily_ticks.ingest(store, HALF_DAY, symbols=symbols, run_id="d1")
    result = minute_ticks.ingest(store, HALF_DAY, symbols=symbols, run_id="m1")
    assert result["securities"] == 2
    sid = expected_bars(store, HALF_DAY, symbols).column("security_id")[0].as_py()
    path = store.path(keys.minute_ticks_day(sid, HALF_DAY))
    ok = cli.run(["validate", "--dataset", "minute-ticks", "--date", "2024-12-24", path])
    assert ok["success"] and ok["securities"] == 1
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    bad = tmp_path / "short.parquet"
    pq.write_table(table.slice(1), bad)  # the first minute lost: the open no longer agrees
    assert (
        cli.main(["validate", "--dataset", "minute-ticks", "--date", "2024-12-24", str(bad)]) == 3
    )


def test_chunks_of_the_full_half_day_universe_match_the_daily_chunks(store):
    plans = daily_ticks.plan(store, HALF_DAY, 500)
    found = minute_ticks.MINUTES.plan(store, Run(HALF_DAY, "r", {}))
    assert [p.expected for p in found.partitions] == [p.size for p in plans]
    assert Chunk(1, len(plans)).label == found.partitions[0].name
