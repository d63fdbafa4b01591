"""The daily-ticks dataset through the library and the CLI, on a local lake and on local S3."""

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from equity_lake import cli, master
from equity_lake.datasets import daily_ticks
from equity_lake.engine.chunks import Chunk
from equity_lake.engine.wap import QualityGateFailed
from equity_lake.lake import keys
from equity_lake.lake.schemas import DAILY_TICKS
from equity_lake.sources import registry

DAY = dt.date(2024, 12, 23)


def test_chunk_parsing_and_bounds():
    assert Chunk.parse("3/12", 1000) == Chunk(3, 12)
    for bad in ("0/3", "4/3", "x", "1/1001", "3"):
        with pytest.raises(ValueError, match="chunk"):
            Chunk.parse(bad, 1000)


def test_chunk_count_stays_under_the_map_limit_for_the_full_universe():
    assert daily_ticks.chunk_count(10_000, 500) == 20
    assert daily_ticks.chunk_count(10_000, 10) == 1000
    assert daily_ticks.chunk_count(0, 500) == 1
    with pytest.raises(ValueError, match="chunk_size"):
        daily_ticks.chunk_count(10_000, 5)


def test_plan_covers_the_active_universe_once(store, built):
    plans = daily_ticks.plan(store, DAY, 500)
    active = master.SecurityMaster(built.master).active_on(DAY)
    assert sum(p.size for p in plans) == active.num_rows
    assert len(plans) == daily_ticks.chunk_count(active.num_rows, 500)
    assert plans[0].first_symbol == active.column("symbol")[0].as_py()
    assert plans[0].label.startswith(f"1/{len(plans)}: {plans[0].first_symbol}..")
    assert plans[0].argv(DAY, "sample", "r1")[:6] == [
        "ingest",
        "daily-ticks",
        "--date",
        "2024-12-23",
        "--chunk",
        f"1/{len(plans)}",
    ]


def test_holidays_and_bad_symbols_get_clear_errors(store):
    with pytest.raises(ValueError, match="2024-12-25 is not an NYSE trading day"):
        daily_ticks.plan(store, dt.date(2024, 12, 25))
    with pytest.raises(ValueError, match="symbol '../x' is not a ticker"):
        daily_ticks.parse_symbols("AAPL,../x")
    with pytest.raises(ValueError, match="symbol 'ß' has characters that are not ASCII"):
        daily_ticks.parse_symbols("ß")
    with pytest.raises(ValueError, match="no security traded as ZZZZZ"):
        daily_ticks.plan(store, DAY, symbols=["ZZZZZ"])


def test_ingest_publishes_monthly_files_and_is_idempotent(store, built):
    members = master.SecurityMaster(built.master).active_on(DAY).slice(0, 40)
    symbols = members.column("symbol").to_pylist()
    first = daily_ticks.ingest(store, DAY, symbols=symbols, run_id="t1")
    assert first["rows"] == first["securities"] == 40 and first["files_written"] == 40
    assert (first["dataset"], first["partition"], first["chunk"]) == (
        "daily-ticks",
        "chunk-0001-of-0001",
        "1/1",
    )
    sid = members.column("security_id")[0].as_py()
    published = store.read_table(keys.daily_ticks_month(sid, DAY))
    assert published.schema.equals(DAILY_TICKS)
    assert published.column("timestamp").to_pylist() == [DAY]
    expected = registry.daily_source("sample").daily_bars(DAY, members.slice(0, 1))
    assert published.equals(expected.cast(DAILY_TICKS))
    before = {k: store.read_bytes(k) for k in store.list("data/raw")}
    again = daily_ticks.ingest(store, DAY, symbols=symbols, run_id="t2")
    assert again["files_written"] == 0 and again["files_unchanged"] == 40
    assert {k: store.read_bytes(k) for k in store.list("data/raw")} == before
    assert store.list("data/_staging") == []


def test_next_day_merges_into_the_same_month_without_dropping_rows(store, built):
    sm = master.SecurityMaster(built.master)
    sym = sm.active_on(DAY).column("symbol")[0].as_py()
    daily_ticks.ingest(store, DAY, symbols=[sym], run_id="a")
    daily_ticks.ingest(store, dt.date(2024, 12, 24), symbols=[sym], run_id="b")
    sid = sm.security_for_symbol(sym, DAY)
    table = store.read_table(keys.daily_ticks_month(sid, DAY))
    assert table.column("timestamp").to_pylist() == [DAY, dt.date(2024, 12, 24)]


class CorruptSource:
    """A source whose first bar has high below close: a real fault, not a mock of our code."""

    name = "corrupt"
    complete = True

    def daily_bars(self, day, universe):
        bars = registry.SampleDailySource().daily_bars(day, universe)
        high = bars.column("high").to_pylist()
        high[0] = bars.column("close")[0].as_py() * 0.5
        return bars.set_column(bars.schema.get_field_index("high"), "high", pa.array(high))


def test_a_corrupt_bar_quarantines_the_partition_and_publishes_nothing(store, built, monkeypatch):
    monkeypatch.setitem(registry.DAILY_SOURCES, "corrupt", CorruptSource)
    symbols = master.SecurityMaster(built.master).active_on(DAY).column("symbol").to_pylist()[:30]
    with pytest.raises(QualityGateFailed, match="high") as failure:
        daily_ticks.ingest(store, DAY, source="corrupt", symbols=symbols, run_id="bad-run")
    assert "quarantine" in str(failure.value)
    assert store.list("data/raw/ticks/daily") == []
    quarantined = store.list("data/quarantine/bad-run")
    assert any(k.endswith(".parquet") for k in quarantined)
    report = store.read_json(next(k for k in quarantined if k.endswith(".validation.json")))
    assert report["failures"] and report["sample_rows"]
    assert store.list("data/_staging") == []


def test_cli_ingest_and_validate_round_trip(store, built, tmp_path, capsys):
    sym = master.SecurityMaster(built.master).active_on(DAY).column("symbol").to_pylist()[:3]
    assert (
        cli.main(
            [
                "ingest",
                "daily-ticks",
                "--date",
                "2024-12-23",
                "--symbols",
                ",".join(sym),
                "--run-id",
                "cli1",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["rows"] == 3
    sid = master.SecurityMaster(built.master).security_for_symbol(sym[0], DAY)
    good = tmp_path / "good.parquet"
    pq.write_table(store.read_table(keys.daily_ticks_month(sid, DAY)), good)
    assert cli.main(["validate", "--dataset", "daily-ticks", str(good)]) == 0
    bad = tmp_path / "bad.parquet"
    table = pq.read_table(good)
    pq.write_table(table.set_column(6, "close", pa.array([-1.0])), bad)
    capsys.readouterr()
    assert cli.main(["validate", "--dataset", "daily-ticks", str(bad)]) == cli.EXIT_GATE
    err = capsys.readouterr().err
    assert "close" in err and "expect_" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["ingest", "daily-ticks", "--date", "2024-12-25"], "not an NYSE trading day"),
        (["ingest", "daily-ticks", "--date", "2024-13-01"], "not an ISO date"),
        (["ingest", "daily-ticks", "--date", "2024-12-23", "--symbols", "../x"], "symbol"),
        (["ingest", "daily-ticks", "--date", "2024-12-23", "--symbols", ""], "--symbols is empty"),
        (["ingest", "daily-ticks", "--date", "2024-12-23", "--symbols", " , "], "--symbols is"),
        (["ingest", "daily-ticks", "--date", "2024-12-23", "--symbols", "ß"], "not ASCII"),
        (["ingest", "daily-ticks", "--date", "2024-12-23", "--chunk", "9/3"], "chunk"),
        (["ingest", "daily-ticks", "--date", "2024-12-23", "--source", "nope"], "invalid choice"),
        (["ingest", "daily-ticks", "--date", "2024-12-23", "--run-id", "a/../b"], "--run-id"),
        (["plan", "daily-ticks", "--date", "2024-12-23", "--chunk-size", "0"], "between 10"),
        (["validate", "--dataset", "nope", "x.parquet"], "unknown dataset"),
        (["summary", "--start", "2024-12-31", "--end", "2024-12-23"], "is after --end"),
        (["no-such-group"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(store, capsys, argv, message):
    assert cli.main(argv) == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_validate_refuses_what_is_not_a_parquet_file(store, tmp_path, capsys):
    assert cli.main(["validate", "--dataset", "daily-ticks", str(tmp_path)]) == cli.EXIT_USAGE
    assert "is not a Parquet file (it is a directory)" in capsys.readouterr().err
    text = tmp_path / "x.parquet"
    text.write_text("date,close\n")
    assert cli.main(["validate", "--dataset", "daily-ticks", str(text)]) == cli.EXIT_USAGE
    assert "is not a Parquet file" in capsys.readouterr().err


def test_a_symbol_is_found_in_any_spelling_a_user_types(built):
    sm = master.SecurityMaster(built.master)
    first = sm.active_on(DAY).column("symbol")[0].as_py()
    symbols = [("BRK.B" if s == first else s) for s in built.master.column("symbol").to_pylist()]
    edited = built.master.set_column(
        built.master.schema.get_field_index("symbol"), "symbol", pa.array(symbols, pa.string())
    )
    for typed in ("BRK-B", "brk.b", "BRK/B"):
        found = daily_ticks.universe(master.SecurityMaster(edited), DAY, [typed])
        assert found.column("symbol").to_pylist() == ["BRK.B"], typed
    with pytest.raises(ValueError, match="no security traded as BRK-A"):
        daily_ticks.universe(master.SecurityMaster(edited), DAY, ["BRK-A"])


def test_validate_accepts_a_published_monthly_file_of_several_days(store, built, tmp_path, capsys):
    sym = master.SecurityMaster(built.master).active_on(DAY).column("symbol").to_pylist()[:2]
    for day in (DAY, dt.date(2024, 12, 24), dt.date(2024, 12, 26)):
        daily_ticks.ingest(store, day, symbols=sym, run_id=f"m-{day}")
    sid = master.SecurityMaster(built.master).security_for_symbol(sym[0], DAY)
    month = store.read_table(keys.daily_ticks_month(sid, DAY))
    assert month.num_rows == 3
    path = tmp_path / "ticks.parquet"
    pq.write_table(month, path)
    assert cli.main(["validate", "--dataset", "daily-ticks", str(path)]) == cli.EXIT_OK
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["days"] == ["2024-12-23", "2024-12-24", "2024-12-26"] and out["rows"] == 3
    # the same day twice for one security is still caught
    twice = pa.concat_tables([month, month.slice(0, 1)])
    pq.write_table(twice, path)
    assert cli.main(["validate", "--dataset", "daily-ticks", str(path)]) == cli.EXIT_GATE
    assert "expect_compound_columns_to_be_unique" in capsys.readouterr().err


def test_a_corrupt_monthly_file_is_named_and_final_and_rebuilt_once_deleted(store, built, capsys):
    sm = master.SecurityMaster(built.master)
    sym = sm.active_on(DAY).column("symbol")[0].as_py()
    key = keys.daily_ticks_month(sm.security_for_symbol(sym, DAY), DAY)
    store.write_bytes(key, b"PAR1 cut short")
    argv = ["ingest", "daily-ticks", "--date", DAY.isoformat(), "--symbols", sym]
    assert cli.main(argv) == cli.EXIT_GATE
    err = capsys.readouterr().err
    assert key in err and "not a readable Parquet object" in err and len(err.splitlines()) == 1
    assert store.read_bytes(keys.corrupt_copy(key)) == b"PAR1 cut short"
    store.delete(key)  # the documented repair: the next run rebuilds the object
    assert cli.main(argv) == cli.EXIT_OK
    assert store.read_table(key).column("symbol").to_pylist() == [sym]
