"""``equity-lake repair KEY``: a corrupt object rebuilt from its source, nothing else touched."""

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from equity_lake import calendar, cli, master, master_build
from equity_lake.datasets import daily_ticks
from equity_lake.lake import keys
from equity_lake.lake.store import LakeStore

DAYS = [dt.date(2024, 12, 23), dt.date(2024, 12, 24), dt.date(2024, 12, 26)]


@pytest.fixture(scope="module")
def built():
    return master_build.build("sample")


def test_a_corrupt_month_is_rebuilt_from_the_source_row_for_row(built, local_env, capsys):
    store = LakeStore()
    store.write_table(keys.SECURITY_MASTER, built.master)
    sm = master.SecurityMaster(built.master)
    symbols = sm.active_on(DAYS[0]).column("symbol").to_pylist()[:2]
    for day in DAYS:
        daily_ticks.ingest(store, day, symbols=symbols, run_id=f"r-{day}")
    key = keys.daily_ticks_month(sm.security_for_symbol(symbols[0], DAYS[0]), DAYS[0])
    neighbour = keys.daily_ticks_month(sm.security_for_symbol(symbols[1], DAYS[0]), DAYS[0])
    original, untouched = store.read_table(key), store.read_bytes(neighbour)
    store.write_bytes(key, b"PAR1 garbage")
    # the ingest names it and stops for good, pointing at the repair
    assert cli.main(["ingest", "daily-ticks", "--date", "2024-12-27", "--symbols", symbols[0]]) == 3
    assert f"equity-lake repair {key}" in capsys.readouterr().err
    assert cli.main(["repair", key, "--date", "2024-12-26"]) == 0
    # every session of the month through the date, from the source, the stored days as they were
    rebuilt = store.read_table(key)
    assert rebuilt.column("timestamp").to_pylist() == calendar.sessions_between(
        dt.date(2024, 12, 1), DAYS[-1]
    )
    days = pc.is_in(rebuilt.column("timestamp"), value_set=pa.array(DAYS, pa.date32()))
    assert rebuilt.filter(days).equals(original)
    assert store.read_bytes(neighbour) == untouched
    assert store.read_bytes(keys.corrupt_copy(key)) == b"PAR1 garbage"


def test_repair_refuses_a_key_it_cannot_rebuild_with_one_line(local_env, capsys):
    assert cli.main(["repair", "data/master/calendar_master.parquet"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "is not an object repair rebuilds" in err and len(err.splitlines()) == 1


def test_a_corrupt_minute_object_is_named_and_rebuilt(built, local_env, capsys):
    from equity_lake.datasets import minute_ticks

    store = LakeStore()
    store.write_table(keys.SECURITY_MASTER, built.master)
    sm = master.SecurityMaster(built.master)
    day = DAYS[1]
    symbols = sm.active_on(day).column("symbol").to_pylist()[:2]
    minute_ticks.ingest(store, day, symbols=symbols, run_id="m1")
    key = keys.minute_ticks_day(sm.security_for_symbol(symbols[0], day), day)
    neighbour = keys.minute_ticks_day(sm.security_for_symbol(symbols[1], day), day)
    original, untouched = store.read_table(key), store.read_bytes(neighbour)
    store.write_bytes(key, b"PAR1 garbage")
    # a re-run of the day meets the object, names it and stops for good, pointing at the repair
    argv = ["ingest", "minute-ticks", "--date", day.isoformat(), "--symbols", symbols[0]]
    assert cli.main(argv) == 3
    assert f"equity-lake repair {key}" in capsys.readouterr().err
    assert cli.main(["repair", key]) == 0
    assert store.read_table(key).equals(original)
    assert store.read_bytes(neighbour) == untouched
    assert store.read_bytes(keys.corrupt_copy(key)) == b"PAR1 garbage"
