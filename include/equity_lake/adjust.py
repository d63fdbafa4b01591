"""Split- and dividend-adjusted daily bars, computed on read from raw bars and corporate actions.

The lake stores bars as traded and never re-bases history; this module answers "what did the
adjusted series look like as of date D". Adjustment is backward and multiplicative (CRSP /
Quandl style): every bar before an event's ex-date is multiplied by the event's factor, bars on
or after it are untouched, so the latest price stays the traded price.

* split with ratio r (new shares per old share; 0.1 for a 1-for-10 reverse split): prices x 1/r,
  volume x r.
* cash dividend d: prices x (1 - d / base). ``dividend_base="prev_close"`` (the default, CRSP)
  uses the raw close of the last bar before the ex-date; ``"ex_close"`` uses the ex-date's close
  plus the dividend (what Quandl's WIKI prices used). The two agree when the price drops by
  exactly the dividend. If a split shares the ex-date, the previous close is first put in
  post-split terms.
* as of D: only events with ex_date <= D are applied; symbol changes and other events leave
  prices alone.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from equity_lake import calendar
from equity_lake.lake import commits, keys
from equity_lake.lake.merge import merge_rows
from equity_lake.lake.schemas import CORPORATE_ACTIONS, DAILY_TICKS, conform
from equity_lake.lake.store import LakeStore, read_all

DIVIDEND_BASES = ("prev_close", "ex_close")
PRICE_COLUMNS = ("open", "high", "low", "close")


class AdjustmentError(ValueError):
    """The corporate actions cannot be applied to the bars; the message names the event."""


def _days(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return pc.cast(column, pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)


def _day_number(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days


def adjust(
    bars: pa.Table,
    actions: pa.Table,
    as_of: dt.date | None = None,
    *,
    dividend_base: str = "prev_close",
    by_security: bool = False,
) -> pa.Table:
    """``bars`` (timestamp date32, open/high/low/close, volume, any other columns) adjusted by
    ``actions`` (ex_date, action, ratio, amount), sorted by timestamp.

    ``by_security``: the bars and actions hold many securities (``security_id``): each
    security's bars are adjusted by its own actions, and the result is sorted by security,
    then timestamp (a research panel adjusts hundreds of securities in one pass).

    Adds ``price_factor`` and ``volume_factor``: what the raw values were multiplied by.
    Adjusted volume is rounded to whole shares.
    """
    if dividend_base not in DIVIDEND_BASES:
        raise ValueError(
            f"dividend_base {dividend_base!r} is not one of {', '.join(DIVIDEND_BASES)}"
        )
    grouped = by_security
    order = [("security_id", "ascending")] if grouped else []
    bars = bars.sort_by([*order, ("timestamp", "ascending")])
    days = _days(bars.column("timestamp"))
    owners = _ids(bars) if grouped else np.zeros(len(days), np.int64)
    stamps = owners * _DAYS_PER_SECURITY + days  # one sorted key over every security's days
    if len(stamps) > 1 and not np.all(np.diff(stamps) > 0):
        raise AdjustmentError("bars have two rows for one date")
    close = bars.column("close").to_numpy(zero_copy_only=False).astype(np.float64)
    n = len(days)
    price = np.ones(n)
    volume = np.ones(n)

    events = actions.select(
        ["ex_date", "action", "ratio", "amount", *(["security_id"] if grouped else [])]
    )
    if as_of is not None:
        events = events.filter(pc.less_equal(events.column("ex_date"), pa.scalar(as_of)))
    ex_dates = events.column("ex_date").to_pylist()
    kinds = events.column("action").to_pylist()
    ratios = events.column("ratio").to_pylist()
    amounts = events.column("amount").to_pylist()
    whose = _ids(events).tolist() if grouped else [0] * len(ex_dates)
    # each event's span of bars: its security's first bar up to the first on or after ex
    first = np.searchsorted(stamps, np.asarray(whose, np.int64) * _DAYS_PER_SECURITY, "left")
    at = np.searchsorted(
        stamps,
        np.asarray(whose, np.int64) * _DAYS_PER_SECURITY + _days(events.column("ex_date")),
        "left",
    )

    split_on: dict[tuple[int, dt.date], float] = {}
    for k, (ex, kind, ratio) in enumerate(zip(ex_dates, kinds, ratios, strict=True)):
        if kind != "split":
            continue
        if ratio is None or not ratio > 0 or not np.isfinite(ratio):
            raise AdjustmentError(f"split on {ex} has ratio {ratio!r}; it must be positive")
        split_on[(whose[k], ex)] = split_on.get((whose[k], ex), 1.0) * ratio
        price[first[k] : at[k]] /= ratio
        volume[first[k] : at[k]] *= ratio

    for k, (ex, kind, amount) in enumerate(zip(ex_dates, kinds, amounts, strict=True)):
        if kind != "dividend":
            continue
        if amount is None or amount < 0 or not np.isfinite(amount):
            raise AdjustmentError(f"dividend on {ex} has amount {amount!r}")
        idx = int(at[k])
        if idx == first[k] or amount == 0:
            continue  # no bar before the ex-date: nothing to adjust
        ex_stamp = whose[k] * _DAYS_PER_SECURITY + _day_number(ex)
        if dividend_base == "ex_close" and idx < n and stamps[idx] == ex_stamp:
            base = close[idx] + amount
        else:
            base = close[idx - 1] / split_on.get((whose[k], ex), 1.0)
        factor = 1.0 - amount / base
        if not factor > 0:
            raise AdjustmentError(
                f"dividend {amount} on {ex} is not below the close before it ({base})"
            )
        price[first[k] : idx] *= factor

    columns = {name: bars.column(name) for name in bars.column_names}
    for name in PRICE_COLUMNS:
        raw = bars.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
        columns[name] = pa.array(raw * price, pa.float64())
    raw_volume = bars.column("volume").to_numpy(zero_copy_only=False).astype(np.float64)
    columns["volume"] = pa.array(np.rint(raw_volume * volume).astype(np.int64), pa.int64())
    columns["price_factor"] = pa.array(price, pa.float64())
    columns["volume_factor"] = pa.array(volume, pa.float64())
    return pa.table(columns)


#: room for every day number of one security in the combined (security, day) key
_DAYS_PER_SECURITY = 1 << 20


def _ids(table: pa.Table) -> np.ndarray:
    return (
        pc.fill_null(table.column("security_id"), -1)
        .to_numpy(zero_copy_only=False)
        .astype(np.int64)
    )


# --- reading the lake --------------------------------------------------------------------------
def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first day of every month from ``start``'s to ``end``'s."""
    out, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        out.append(dt.date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def read_daily_bars(
    store: LakeStore,
    security_id: int,
    months: list[dt.date],
    hidden: commits.Masks | None = None,
) -> pa.Table | None:
    """A security's committed raw bars of ``months`` (first days), from monthly and history
    files: rows of a publish that has not committed (in progress, or crashed) are left out.
    ``hidden`` is ``commits.masks`` when the caller reads many securities at once."""
    sid = keys.security_id(security_id)
    wanted = _stored_months(store, sid, sorted(set(months)))
    hidden = commits.masks(store, keys.DAILY_TICKS_DATASET) if hidden is None else hidden

    def read(key: str) -> pa.Table | None:
        return commits.read_committed(store, key, hidden)

    parts = read_all(read, wanted)
    monthly = [conform(p, DAILY_TICKS, "daily ticks") for p in parts if p is not None]
    history = read(keys.daily_ticks_history(sid))
    table = pa.concat_tables(monthly) if monthly else None
    if history is not None:
        history = conform(history, DAILY_TICKS, "daily ticks history")
        table = history if table is None else merge_rows(history, table, ["timestamp"])
    return table


def _stored_months(store: LakeStore, sid: int, months: list[dt.date]) -> list[str]:
    """The monthly objects of ``months`` that may exist: where a year has more than a few
    months wanted, one listing of its folder says which (a closed year folded into history
    has none: one request instead of twelve that find nothing)."""
    by_year: dict[int, list[dt.date]] = {}
    for month in months:
        by_year.setdefault(month.year, []).append(month)
    out = []
    for year, wanted in by_year.items():
        keys_ = [keys.daily_ticks_month(sid, m) for m in wanted]
        if len(wanted) > 2:
            there = set(store.list(keys.daily_ticks_year(sid, year)))
            keys_ = [k for k in keys_ if k in there]
        out += keys_
    return out


def read_actions(store: LakeStore, security_id: int) -> pa.Table:
    """A security's corporate actions (an empty table when it has none)."""
    table = store.read_table(keys.corporate_actions(keys.security_id(security_id)))
    if table is None:
        return CORPORATE_ACTIONS.empty_table()
    return conform(table, CORPORATE_ACTIONS, "corporate actions")


def adjusted_bars(
    store: LakeStore,
    security_id: int,
    start: dt.date,
    end: dt.date,
    as_of: dt.date | None = None,
    *,
    dividend_base: str = "prev_close",
    hidden: commits.Masks | None = None,
) -> pa.Table:
    """Adjusted daily bars of one security in ``[start, end]`` as known on ``as_of``.

    ``as_of=None`` applies every stored action. ``end`` may not pass ``as_of``: bars after it
    were not known then. Dividends after ``end`` still need the close before their ex-date,
    so those bars are read too. ``hidden``: ``commits.masks``, when the caller reads many
    securities.
    """
    bars, actions = adjustment_inputs(store, security_id, start, end, as_of, hidden=hidden)
    return adjusted_between(bars, actions, start, end, as_of, dividend_base=dividend_base)


def adjustment_inputs(
    store: LakeStore,
    security_id: int,
    start: dt.date,
    end: dt.date,
    as_of: dt.date | None = None,
    *,
    hidden: commits.Masks | None = None,
) -> tuple[pa.Table | None, pa.Table]:
    """What ``adjusted_bars`` reads: the raw bars it needs and the actions known on ``as_of``
    (a reader of many securities reads these on a thread pool, then adjusts each in turn:
    the reads wait on I/O, the adjustment holds the interpreter)."""
    sid = keys.security_id(security_id)
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if as_of is not None and end > as_of:
        raise ValueError(f"end {end} is after as_of {as_of}: those bars were not known then")
    actions = read_actions(store, sid)
    if as_of is not None:
        actions = actions.filter(pc.less_equal(actions.column("ex_date"), pa.scalar(as_of)))
    later = actions.filter(
        pc.and_(
            pc.equal(actions.column("action"), "dividend"),
            pc.greater(actions.column("ex_date"), pa.scalar(end)),
        )
    )
    months = months_between(start, end)
    for ex in later.column("ex_date").to_pylist():
        months.append(ex.replace(day=1))
        try:
            months.append(calendar.previous_session(ex).replace(day=1))
        except ValueError:  # outside the calendar: the month before is the best guess
            months.append((ex.replace(day=1) - dt.timedelta(days=1)).replace(day=1))
    return read_daily_bars(store, sid, months, hidden), actions


def adjusted_between(
    bars: pa.Table | None,
    actions: pa.Table,
    start: dt.date,
    end: dt.date,
    as_of: dt.date | None = None,
    *,
    dividend_base: str = "prev_close",
    by_security: bool = False,
) -> pa.Table:
    """``bars`` adjusted by ``actions`` (``adjustment_inputs``), those of ``[start, end]``;
    ``by_security``: of many securities at once (see ``adjust``)."""
    if bars is None or bars.num_rows == 0:
        bars = DAILY_TICKS.empty_table()
    adjusted = adjust(bars, actions, as_of, dividend_base=dividend_base, by_security=by_security)
    stamps = adjusted.column("timestamp")
    keep = pc.and_(
        pc.greater_equal(stamps, pa.scalar(start, pa.date32())),
        pc.less_equal(stamps, pa.scalar(end, pa.date32())),
    )
    return adjusted.filter(keep)
