"""Year-end consolidation on the sample lake: a year with listings, delistings, renames and
splits folded into history.parquet; every row readable exactly once whatever crashes; late
corrections land in history."""

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from equity_lake import adjust, cli
from equity_lake.datasets import consolidation, daily_ticks
from equity_lake.lake import keys
from equity_lake.lake.schemas import DAILY_TICKS
from equity_lake.lake.store import LakeStore
from equity_lake.master import SecurityMaster

YEAR = 2023
FIRST, LAST = dt.date(2023, 1, 3), dt.date(2023, 12, 29)
MONTHS = [dt.date(YEAR, m, 1) for m in range(1, 13)]


def pick(built):
    """Securities with a listing, a delisting, a rename and a split in the year, and a few
    that traded all year: every ticker each held in the year."""
    table = built.master
    start, end = table.column("start_date"), table.column("end_date")
    inside = lambda col: pc.and_(  # noqa: E731
        pc.greater(col, pa.scalar(FIRST, pa.date32())),
        pc.less(col, pa.scalar(LAST, pa.date32())),
    )
    listed = table.filter(inside(start)).column("security_id").to_pylist()
    delisted = table.filter(pc.fill_null(inside(end), False)).column("security_id").to_pylist()
    counts = pc.value_counts(table.column("security_id"))
    several = {v["values"] for v in counts.to_pylist() if v["counts"] > 1}
    renamed = [s for s in delisted if s in several and s in listed]
    actions = built.actions
    in_year = pc.equal(pc.year(actions.column("ex_date")), YEAR)
    is_split = pc.equal(actions.column("action"), "split")
    split = set(actions.filter(pc.and_(in_year, is_split)).column("security_id").to_pylist())
    assert listed and delisted and renamed and split, "the sample year has each kind of event"
    always = SecurityMaster(table).active_on(FIRST).column("security_id").to_pylist()
    chosen = set(listed[:3]) | set(delisted[:3]) | set(renamed[:2]) | set(sorted(split)[:2])
    chosen |= set(always[:4])
    periods = table.filter(pc.is_in(table.column("security_id"), pa.array(sorted(chosen))))
    held = [
        r["symbol"]
        for r in periods.to_pylist()
        if r["start_date"] <= LAST and (r["end_date"] is None or r["end_date"] >= FIRST)
    ]
    return sorted(chosen), sorted(set(held))


@pytest.fixture(scope="module")
def year_lake(tmp_path_factory, built):
    """A local lake holding the year's bars of the chosen securities (ingested once)."""
    root = tmp_path_factory.mktemp("consolidation")
    mp = pytest.MonkeyPatch()
    mp.setenv("LAKE_URI", (root / "lake").as_uri())
    mp.delenv("LAKE_S3_ENDPOINT", raising=False)
    store = LakeStore()
    store.write_table(keys.SECURITY_MASTER, built.master)
    sids, symbols = pick(built)
    daily_ticks.ingest(store, FIRST, source="sample", symbols=symbols, run_id="y1", end=LAST)
    yield root / "lake", sids
    mp.undo()


@pytest.fixture
def lake(year_lake, tmp_path, monkeypatch):
    """A fresh copy of the year's lake for each test."""
    import shutil

    source, sids = year_lake
    shutil.copytree(source, tmp_path / "lake")
    monkeypatch.setenv("LAKE_URI", (tmp_path / "lake").as_uri())
    monkeypatch.delenv("LAKE_S3_ENDPOINT", raising=False)
    return LakeStore(), sids


def rows(store, sids):
    """Every committed bar of the year, as readers see it (history and months merged)."""
    found = []
    for sid in sids:
        table = adjust.read_daily_bars(store, sid, MONTHS)
        if table is not None:
            found += table.filter(pc.equal(pc.year(table.column("timestamp")), YEAR)).to_pylist()
    return sorted(found, key=lambda r: (r["security_id"], r["timestamp"]))


def months_of(store, sids):
    return [k for sid in sids for k in store.list(keys.daily_ticks_year(sid, YEAR))]


def test_folding_keeps_every_row_and_deletes_the_months(lake):
    store, sids = lake
    before, months = rows(store, sids), months_of(store, sids)
    held = sorted({int(k.split("/")[4]) for k in months})
    assert len(before) > 1000 and len(held) >= 8
    result = consolidation.consolidate(store, YEAR, run_id="c1")
    assert rows(store, sids) == before
    assert months_of(store, sids) == []
    assert all(store.exists(keys.daily_ticks_history(sid)) for sid in held)
    assert result["folded"] == len(held) and result["objects_deleted"] == len(months)
    assert result["rows_in"] == result["rows_out"] == len(before)
    assert result["bytes_after"] < result["bytes_before"]
    again = consolidation.consolidate(store, YEAR, run_id="c2")
    assert again["files_written"] == again["objects_deleted"] == 0


def test_delisted_and_listed_securities_are_folded(lake, built):
    store, sids = lake
    table = built.master
    ended = [
        r["security_id"]
        for r in table.to_pylist()
        if r["security_id"] in sids and r["end_date"] and FIRST < r["end_date"] < LAST
    ]
    assert ended, "the sample year has delistings"
    consolidation.consolidate(store, YEAR, run_id="c1")
    for sid in ended:
        history = store.read_table(keys.daily_ticks_history(sid))
        assert history is not None and history.num_rows > 0


class Crash(BaseException):
    """A process killed mid-run (BaseException: nothing catches it)."""


@pytest.mark.parametrize("after", [0, 5])  # between publish and delete; between securities
def test_a_crash_loses_and_duplicates_nothing_and_a_rerun_finishes(lake, monkeypatch, after):
    store, sids = lake
    before = rows(store, sids)
    real, calls = LakeStore.delete, []

    def dying(self, key):
        if "/ticks/daily/" in key and key.endswith("/ticks.parquet"):
            calls.append(key)
            if len(calls) > after:
                raise Crash(key)
        return real(self, key)

    monkeypatch.setattr(LakeStore, "delete", dying)
    with pytest.raises(Crash):
        consolidation.consolidate(store, YEAR, run_id="c1")
    monkeypatch.setattr(LakeStore, "delete", real)
    assert rows(store, sids) == before  # histories published, months partly there: once each
    assert months_of(store, sids)
    consolidation.consolidate(store, YEAR, run_id="c2")
    assert rows(store, sids) == before and months_of(store, sids) == []


def test_a_late_correction_of_a_folded_year_lands_in_history(lake):
    store, sids = lake
    consolidation.consolidate(store, YEAR, run_id="c1")
    day = dt.date(2023, 6, 30)
    sid = next(s for s in sids if store.exists(keys.daily_ticks_history(s)))
    history = store.read_table(keys.daily_ticks_history(sid))
    store.write_table(  # that day's row is lost from the history: a re-ingest restores it
        keys.daily_ticks_history(sid),
        history.filter(pc.not_equal(history.column("timestamp"), pa.scalar(day, pa.date32()))),
    )
    symbol = SecurityMaster.load(store).symbol_history(sid).column("symbol").to_pylist()[-1]
    daily_ticks.ingest(store, day, source="sample", symbols=[symbol], run_id="late")
    assert not store.exists(keys.daily_ticks_month(sid, day))
    assert store.read_table(keys.daily_ticks_history(sid)).num_rows == history.num_rows


def test_bad_input_is_refused_with_one_line(lake, capsys):
    assert cli.main(["consolidate", "--year", str(dt.date.today().year)]) == 2
    assert "is not closed yet" in capsys.readouterr().err
    assert cli.main(["consolidate", "--year", "2023", "--dataset", "fundamentals"]) == 2
    assert "cannot be consolidated" in capsys.readouterr().err


def test_the_gate_refuses_rows_not_from_the_inputs_or_a_wrong_count(lake):
    from equity_lake.quality.gate import validate_table

    store, sids = lake
    sid = int(months_of(store, sids)[0].split("/")[4])
    folded = consolidation._inputs(store, consolidation.FOLDS["daily-ticks"], sid, YEAR)
    assert pc.all(folded.from_inputs).as_py() and folded.expected == folded.merged.num_rows
    params = {"year": YEAR, "expected_rows": folded.expected}
    gated = folded.merged.append_column("from_inputs", folded.from_inputs)
    assert validate_table("daily-ticks-history", gated, params).success
    # a close altered in the merge, a row lost, a session after the year: each refused
    close = gated.column("close").to_pylist()
    close[3] *= 100
    altered = gated.set_column(gated.schema.get_field_index("close"), "close", [close])
    altered_flags = consolidation._equal_to(
        altered.drop_columns(["from_inputs"]), None, folded.merged, DAILY_TICKS
    )
    assert not pc.all(altered_flags).as_py()
    bad = gated.set_column(
        gated.schema.get_field_index("from_inputs"), "from_inputs", [altered_flags]
    )
    assert not validate_table("daily-ticks-history", bad, params).success
    assert not validate_table("daily-ticks-history", gated.slice(1), params).success
    late = validate_table("daily-ticks-history", gated, {**params, "year": YEAR - 1})
    assert not late.success
