"""Gates that know yesterday: real sample sessions in a local lake, then vendor glitches made
from them, each caught with its severity (critical rejects; a warning publishes and is listed).

One lake for the module: the sample master, the corporate actions of the securities used, and
two consecutive sessions (2024-12-03, 2024-12-04) of ~60 securities ingested through the
library. 2024-12-04 is the ex-date of a 1-for-10 reverse split (100241) and a 3-for-1 split
(101217), both in the batch: real splits must pass without a word.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from equity_lake import calendar, master_build
from equity_lake.config import LakeConfig
from equity_lake.datasets import daily_context, daily_ticks
from equity_lake.engine.wap import QualityGateFailed
from equity_lake.lake import commits, keys
from equity_lake.lake.schemas import DAILY_TICKS, conform
from equity_lake.lake.store import LakeStore
from equity_lake.master import SecurityMaster
from equity_lake.quality import GateResult, validate_table
from equity_lake.quality.context import DAILY_CONTEXT
from equity_lake.sources import registry

DAY1, DAY2, DAY3, DAY4 = (dt.date(2024, 12, d) for d in (3, 4, 5, 6))
SPLITS = (100241, 101217, 102999)  # ex-dates 2024-12-04 (x0.1, x3) and 2024-12-06 (x3)

MOVE_WARN = "expect_column_values_to_be_between(move >= 0.5 and move <= 1.5)"
MOVE = "expect_column_values_to_be_between(move >= 0.04 and move <= 25)"
MEDIAN_MOVE = "expect_column_median_to_be_between(move)"
STALE = "expect_column_values_to_be_in_set(stale in {False})"
DUPLICATE = "expect_column_values_to_be_in_set(duplicate_bar in {False})"
ZERO_VOLUME = "expect_column_values_to_be_in_set(zero_volume_move in {False})"
VOLUME = "expect_column_values_to_be_between(volume_ratio <= 100)"
MEDIAN_VOLUME = "expect_column_median_to_be_between(volume_ratio)"
# a batch of several days: the same checks, day by day, on the context's day columns
DAY_MOVE = "expect_column_values_to_be_between(day_median_move >= 0.5 and day_median_move <= 2)"
DAY_VOLUME = (
    "expect_column_values_to_be_between("
    "day_median_volume_ratio >= 0.05 and day_median_volume_ratio <= 20)"
)
DAY_STALE = "expect_column_values_to_be_between(day_stale_share <= 0.1)"
DAY_ROWS = "expect_table_row_count_to_be_between(where timestamp == '{}')"


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    """The sample lake: master, the actions of the securities used, DAY1 and DAY2 ingested."""
    store = LakeStore(LakeConfig((tmp_path_factory.mktemp("lake") / "lake").as_uri()))
    built = master_build.build("sample")
    store.write_table(keys.SECURITY_MASTER, built.master)
    active = SecurityMaster(built.master).active_on(DAY2)
    splits = pc.is_in(active.column("security_id"), pa.array(SPLITS)).to_numpy(zero_copy_only=False)
    members = active.filter(pa.array((np.arange(active.num_rows) < 60) | splits))
    symbols = members.column("symbol").to_pylist()
    for sid in members.column("security_id").to_pylist():
        rows = built.actions.filter(pc.equal(built.actions.column("security_id"), sid))
        if rows.num_rows:
            store.write_table(keys.corporate_actions(sid), rows)
    day1 = daily_ticks.ingest(store, DAY1, symbols=symbols, run_id="day1")
    day2 = daily_ticks.ingest(store, DAY2, symbols=symbols, run_id="day2")
    return store, members, symbols, (day1, day2)


def bars_of(lake, day: dt.date) -> pa.Table:
    store, members, _, _ = lake
    table = registry.daily_source("sample").daily_bars(day, members)
    return conform(table.sort_by("security_id"), DAILY_TICKS, "sample bars")


def gate(lake, bars: pa.Table, days: list[dt.date] | None = None) -> GateResult:
    """The ingest's gate on ``bars``: its context read from the lake, then the suite."""
    context = daily_context.build(lake[0], bars)
    params = {
        "trading_date": days or [DAY2],
        "expected_rows": bars.num_rows,
        "min_rows": bars.num_rows,
        **context.params,
    }
    return validate_table("daily-ticks", context.beside(bars), params)


def heads(lines) -> set[str]:
    return {line.split(":", 1)[0] for line in lines}


def test_real_sample_days_with_their_splits_pass_without_warnings(lake):
    _, members, _, (day1, day2) = lake
    assert day1["rows"] == day2["rows"] == members.num_rows
    assert day1["warnings"] == day2["warnings"] == {}
    result = gate(lake, bars_of(lake, DAY2))
    assert result.success and result.warnings == ()
    params = result.result["meta"]["equity_lake"]["params"]
    assert params["context"] is True and params["compared_rows"] == members.num_rows


def test_published_rows_never_carry_the_context(lake):
    store, members, _, _ = lake
    sid = members.column("security_id")[0].as_py()
    month = store.read_table(keys.daily_ticks_month(sid, DAY2))
    assert month.schema.names == DAILY_TICKS.names
    assert month.column("timestamp").to_pylist() == [DAY1, DAY2]
    assert store.list("data/_staging") == []


def test_context_columns_of_a_day(lake):
    bars = bars_of(lake, DAY2)
    context = daily_context.build(lake[0], bars)
    assert context.table.schema == DAILY_CONTEXT and context.table.num_rows == bars.num_rows
    assert set(context.table.column("prev_date").to_pylist()) == {DAY1}
    day1 = bars_of(lake, DAY1)
    ids = bars.column("security_id").to_pylist()
    split = ids.index(100241)  # 1-for-10: yesterday's close x10 in today's terms
    assert context.table.column("prev_close_adj")[split].as_py() == pytest.approx(
        day1.column("close")[split].as_py() / 0.1
    )
    plain = next(i for i, s in enumerate(ids) if s not in SPLITS)  # no action read for it:
    prev_close = context.table.column("prev_close_adj")[plain].as_py()  # the close as traded
    assert prev_close == day1.column("close")[plain].as_py()
    # one GET per security for its previous bar, plus the actions of the two split securities
    assert context.reads == bars.num_rows + 2


def _scale(table: pa.Table, rows, factor: float, columns=("open", "high", "low", "close")):
    for name in columns:
        values = table.column(name).to_numpy().astype(np.float64)
        values[rows] *= factor
        field = table.schema.field(name)
        cast = np.round(values).astype(np.int64) if name == "volume" else values
        table = table.set_column(table.schema.get_field_index(name), field, pa.array(cast))
    return table


def _copy_bar(table: pa.Table, source: int, target: int) -> pa.Table:
    for name in ("open", "high", "low", "close", "volume"):
        values = table.column(name).to_numpy().copy()
        values[target] = values[source]
        table = table.set_column(table.schema.get_field_index(name), name, pa.array(values))
    return table


def _exchange(table: pa.Table, a: int, b: int) -> pa.Table:
    for name in ("open", "high", "low", "close", "volume"):
        values = table.column(name).to_numpy().copy()
        values[[a, b]] = values[[b, a]]
        table = table.set_column(table.schema.get_field_index(name), name, pa.array(values))
    return table


def _pair(table: pa.Table, low: float, high: float) -> tuple[int, int]:
    """Two rows whose closes differ by a factor in (low, high)."""
    close = table.column("close").to_numpy()
    for a in range(len(close)):
        for b in range(len(close)):
            if low < close[b] / close[a] < high:
                return a, b
    raise AssertionError(f"no two closes {low}..{high}x apart")


def _zero_volume(table: pa.Table, row: int) -> pa.Table:
    values = table.column("volume").to_numpy().copy()
    values[row] = 0
    return table.set_column(table.schema.get_field_index("volume"), "volume", pa.array(values))


def _yesterday_as_today(lake) -> pa.Table:
    stale = bars_of(lake, DAY1)
    index = stale.schema.get_field_index("timestamp")
    return stale.set_column(index, "timestamp", pa.array([DAY2] * stale.num_rows, pa.date32()))


GLITCHES: dict[str, tuple[Callable, set[str], set[str]]] = {
    # name: (mutation of DAY2's bars, critical failures, warnings)
    "one security's prices x100": (lambda t, _: _scale(t, [5], 100.0), {MOVE}, {MOVE_WARN}),
    "a whole feed in cents": (
        lambda t, _: _scale(t, slice(None), 100.0),
        {MOVE, MEDIAN_MOVE},
        {MOVE_WARN},
    ),
    "yesterday's bars as today's": (lambda _, lake: _yesterday_as_today(lake), {STALE}, {STALE}),
    "a bar copied under another id": (
        lambda t, _: _copy_bar(t, *_pair(t, 2, 20)),
        {DUPLICATE},
        {MOVE_WARN},
    ),
    "two symbols swapped, 2-20x apart": (
        lambda t, _: _exchange(t, *_pair(t, 2, 20)),
        set(),
        {MOVE_WARN},
    ),
    "two symbols swapped, >25x apart": (
        lambda t, _: _exchange(t, *_pair(t, 30, 1e9)),
        {MOVE},
        {MOVE_WARN},
    ),
    "zero volume on a day the price moved": (lambda t, _: _zero_volume(t, 9), set(), {ZERO_VOLUME}),
    "one security's volume x1000": (
        lambda t, _: _scale(t, [11], 1000.0, ("volume",)),
        set(),
        {VOLUME},
    ),
    "a whole feed's volume x1000": (
        lambda t, _: _scale(t, slice(None), 1000.0, ("volume",)),
        {MEDIAN_VOLUME},
        {VOLUME},
    ),
}


@pytest.mark.parametrize("name", list(GLITCHES))
def test_each_glitch_is_caught_with_its_severity(lake, name):
    mutate, critical, warnings = GLITCHES[name]
    result = gate(lake, mutate(bars_of(lake, DAY2), lake))
    assert heads(result.failures) == critical, result.failures
    assert heads(result.warnings) == warnings, result.warnings
    assert result.success is not critical


def test_without_corporate_actions_a_split_is_a_warning_not_a_rejection(lake):
    store = lake[0]
    bars = bars_of(lake, DAY2)
    sids = bars.column("security_id").to_pylist()
    hidden = commits.masks(store, keys.DAILY_TICKS_DATASET)
    previous = {s: daily_context.last_bar_before(store, s, DAY2, hidden) for s in sids}
    computed = daily_context.compute(bars, previous, lambda wanted: {})  # a lake without actions
    context = daily_context.Context(computed.table, computed.compared, max_move=0.5)
    params = {"trading_date": DAY2, "expected_rows": len(sids), "min_rows": 0, **context.params}
    result = validate_table("daily-ticks", context.beside(bars), params)
    assert result.success and result.warnings == (f"{MOVE_WARN}: 2 of {len(sids)} rows",)
    # validated once: only a rejection is re-run to find its offending rows (its sample rows)
    (warned,) = [r for r in result.result["results"] if not r["success"]]
    assert warned["expectation_config"]["severity"] == "warning"
    assert warned["result"]["unexpected_count"] == 2
    assert "partial_unexpected_index_list" not in warned["result"]


def test_a_batch_of_several_days_finds_each_previous_bar_in_the_batch_or_the_lake(lake):
    days = [DAY2, DAY3, DAY4]  # DAY4 is 102999's 3-for-1 ex-date, inside the batch
    bars = pa.concat_tables([bars_of(lake, d) for d in days]).sort_by("security_id")
    context = daily_context.build(lake[0], bars)
    stamps = bars.column("timestamp").to_pylist()
    previous = context.table.column("prev_date").to_pylist()
    expected = {DAY2: DAY1, DAY3: DAY2, DAY4: DAY3}
    assert all(previous[i] == expected[d] for i, d in enumerate(stamps))
    n = bars.num_rows // 3
    assert context.reads == n + 3  # DAY2's previous bars from the lake; three splits' actions
    result = gate(lake, bars, days)
    assert result.success and result.warnings == (), result.warnings
    # a feed that repeats DAY3 as DAY4 inside the batch is stale
    day3 = bars_of(lake, DAY3)
    repeat = day3.set_column(2, "timestamp", pa.array([DAY4] * n, pa.date32()))
    stale = pa.concat_tables([bars_of(lake, DAY2), day3, repeat])
    result = gate(lake, stale, days)
    assert heads(result.failures) == {DAY_STALE} and not result.success


# a range backfill's month: 12 sessions (one stale day of 12 is 8% of the batch: under the 10%
# a single day's batch is rejected at, were the batch judged as a whole)
MONTH = calendar.sessions_between(DAY2, dt.date(2024, 12, 19))


def month_gate(lake, bars: pa.Table, share: float = 1.0) -> GateResult:
    """The range backfill's gate on a month of ``bars``: each session's minimum rows is
    ``share`` of the securities, as ``daily_ticks.fetch`` passes them."""
    context = daily_context.build(lake[0], bars)
    per_day = lake[1].num_rows
    params = {
        "trading_date": MONTH,
        "expected_rows": per_day * len(MONTH),
        "min_rows": int(per_day * len(MONTH) * share),
        "min_rows_by_day": {d.isoformat(): int(per_day * share) for d in MONTH},
        **context.params,
    }
    return validate_table("daily-ticks", context.beside(bars), params)


@pytest.fixture(scope="module")
def month(lake) -> list[pa.Table]:
    return [bars_of(lake, d) for d in MONTH]


def _as_of(table: pa.Table, day: dt.date) -> pa.Table:
    return table.set_column(2, "timestamp", pa.array([day] * table.num_rows, pa.date32()))


def test_a_clean_month_passes_day_by_day_without_warnings(lake, month):
    bars = pa.concat_tables(month)
    result = month_gate(lake, bars, share=0.9)
    assert result.success and result.warnings == (), result.failures
    context = daily_context.build(lake[0], bars).table
    per_day = lake[1].num_rows
    assert set(context.column("day_compared").to_pylist()) == {per_day}
    assert context.column("day_median_move").null_count == 0
    assert set(context.column("day_stale_share").to_pylist()) == {0.0}


def _stale_day(month):
    # the fourth session re-sent as the fifth
    return pa.concat_tables([*month[:4], _as_of(month[3], MONTH[4]), *month[5:]])


def _in_cents(month):  # one session's prices x100
    return pa.concat_tables([*month[:4], _scale(month[4], slice(None), 100.0), *month[5:]])


def _volume_x1000(month):  # one session's volumes x1000: no row is critical alone
    lots = _scale(month[4], slice(None), 1000.0, ("volume",))
    return pa.concat_tables([*month[:4], lots, *month[5:]])


MONTH_GLITCHES = {
    # name: (month's bars, critical failures, warnings)
    "one day stale": (_stale_day, {DAY_STALE}, {STALE}),
    "one day in cents": (_in_cents, {MOVE, DAY_MOVE}, {MOVE_WARN}),
    "one day's volume x1000": (_volume_x1000, {DAY_VOLUME}, {VOLUME}),
}


@pytest.mark.parametrize("name", list(MONTH_GLITCHES))
def test_one_bad_day_rejects_a_month(lake, month, name):
    make, critical, warnings = MONTH_GLITCHES[name]
    bars = make(month)
    result = month_gate(lake, bars)
    assert heads(result.failures) == critical, result.failures
    assert heads(result.warnings) == warnings, result.warnings
    assert not result.success
    if name == "one day stale":  # the whole batch's share would have passed
        stale = daily_context.build(lake[0], bars).table.column("stale")
        assert 0 < pc.mean(pc.cast(stale, pa.float64())).as_py() < 0.10


def test_a_session_missing_from_a_month_is_rejected_within_the_row_tolerance(lake, month):
    missing = MONTH[6]
    bars = pa.concat_tables(month[:6] + month[7:])  # 11 of 12 sessions: 92% of the rows
    result = month_gate(lake, bars, share=0.9)
    per_day = lake[1].num_rows
    assert result.failures == [
        f"{DAY_ROWS.format(missing)}: observed 0 rows, expected at least {int(per_day * 0.9)}"
    ]
    assert result.warnings == ()


def test_bars_before_the_batch_give_its_first_session_a_previous_bar(lake):
    """A range's December unit: November's unit was published in the same run but is not
    committed (not in the lake here at all); its bars are passed as ``before``."""
    store = lake[0]
    november, december = dt.date(2024, 11, 29), dt.date(2024, 12, 2)
    bars = bars_of(lake, december)
    alone = daily_context.build(store, bars)  # the lake holds nothing before December 3rd
    assert alone.table.column("prev_date").null_count == bars.num_rows
    before = bars_of(lake, november)
    days = pa.concat_tables([bars_of(lake, dt.date(2024, 11, 27)), before]).sort_by("security_id")
    context = daily_context.build(store, bars, before=days)  # November's last two sessions
    assert set(context.table.column("prev_date").to_pylist()) == {november}
    assert context.compared == bars.num_rows and context.reads == 0
    assert context.table.column("move").to_pylist() == pytest.approx(
        pc.divide(bars.column("close"), before.column("close")).to_pylist()
    )
    # a security missing from ``before`` is looked up in the lake, as without it
    first = before.column("security_id")[0].as_py()
    partial = daily_context.build(store, bars, before=before.slice(1))
    assert partial.table.column("prev_date").to_pylist()[0] is None
    assert partial.table.column("prev_date").null_count == 1 and partial.reads == 2
    assert bars.column("security_id")[0].as_py() == first
    params = {
        "trading_date": december,
        "expected_rows": bars.num_rows,
        "min_rows": bars.num_rows,
        **context.params,
    }
    result = validate_table("daily-ticks", context.beside(bars), params)
    assert result.success and result.warnings == ()


class GlitchSource:
    """The sample market's bars with a vendor glitch applied (``glitch(table)``)."""

    name = "glitch"
    complete = True
    services: tuple[str, ...] = ()
    glitch: Callable[[pa.Table], pa.Table] = staticmethod(lambda t: t)

    def daily_bars(self, day, universe):
        bars = registry.SampleDailySource().daily_bars(day, universe).sort_by("security_id")
        return self.glitch(bars)


def test_a_feed_in_cents_is_quarantined_through_the_ingest_with_its_context(lake, monkeypatch):
    store, members, symbols, _ = lake
    monkeypatch.setattr(GlitchSource, "glitch", staticmethod(lambda t: _scale(t, slice(None), 100)))
    monkeypatch.setitem(registry.DAILY_SOURCES, "glitch", GlitchSource)
    before = {k: store.read_bytes(k) for k in store.list("data/raw/ticks/daily")}
    with pytest.raises(QualityGateFailed, match="move") as failure:
        daily_ticks.ingest(store, DAY2, source="glitch", symbols=symbols, run_id="cents")
    assert "expect_column_median_to_be_between(move)" in str(failure.value)
    assert {k: store.read_bytes(k) for k in store.list("data/raw/ticks/daily")} == before
    kept = store.list("data/quarantine/cents")
    batch = next(k for k in kept if k.endswith(".parquet"))
    quarantined = pq.read_table(store.path(batch))
    assert quarantined.schema.names == DAILY_TICKS.names + DAILY_CONTEXT.names
    report = store.read_json(batch + ".validation.json")
    assert report["sample_rows"][0]["move"] == pytest.approx(100, rel=0.5)


def test_a_warning_publishes_through_the_ingest_and_is_listed(lake, monkeypatch):
    store, members, symbols, _ = lake
    monkeypatch.setattr(GlitchSource, "glitch", staticmethod(lambda t: _zero_volume(t, 3)))
    monkeypatch.setitem(registry.DAILY_SOURCES, "glitch", GlitchSource)
    result = daily_ticks.ingest(store, DAY3, source="glitch", symbols=symbols, run_id="zero")
    (lines,) = result["warnings"].values()
    assert heads(lines) == {ZERO_VOLUME}
    sid = members.column("security_id").to_pylist()
    month = store.read_table(keys.daily_ticks_month(sorted(sid)[3], DAY3))
    assert month.schema.names == DAILY_TICKS.names and month.column("volume")[-1].as_py() == 0


def test_splits_and_dividends_between_two_bars_follow_the_adjust_convention():
    day = (DAY2 - dt.date(1970, 1, 1)).days
    events = [
        (day, "dividend", None, 0.5),
        (day, "split", 2.0, None),
        (day + 9, "split", 5.0, None),
    ]
    # split first on a shared ex-date (adjust.py: the previous close in post-split terms), then
    # the dividend; an event after the bar is not applied
    assert daily_context._adjusted(21.0, 1000.0, day - 1, day, events) == (10.0, 2000.0)
    # a dividend above the price is no yardstick: the raw close stands
    assert daily_context._adjusted(1.0, 1000.0, day - 1, day, [(day, "dividend", None, 2.0)]) == (
        1.0,
        1000.0,
    )


def test_a_publish_that_never_committed_is_no_previous_bar(tmp_path):
    store = LakeStore(LakeConfig((tmp_path / "lake").as_uri()))
    key = keys.daily_ticks_month(100001, DAY2)
    bars = pa.table(
        {
            "security_id": [100001, 100001],
            "symbol": ["AAA", "AAA"],
            "timestamp": pa.array([DAY1, DAY2], pa.date32()),
            **{name: [10.0, 11.0] for name in ("open", "high", "low", "close")},
            "volume": [1000, 1200],
        },
        schema=DAILY_TICKS,
    )
    store.write_table(key, bars)
    assert (
        daily_context.last_bar_before(store, 100001, DAY3)[0] == (DAY2 - dt.date(1970, 1, 1)).days
    )
    commits.begin(  # DAY2's publish wrote its row and crashed before committing
        store,
        dataset=keys.DAILY_TICKS_DATASET,
        day=DAY2,
        partition="chunk-0001-of-0001",
        unit="chunk-0001-of-0001",
        run_id="crashed",
        column="timestamp",
        table=bars.slice(1),
        objects=[key],
    )
    assert (
        daily_context.last_bar_before(store, 100001, DAY3)[0] == (DAY1 - dt.date(1970, 1, 1)).days
    )
