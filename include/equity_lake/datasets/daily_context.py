"""Yesterday for the daily-ticks gate: each bar's previous bar, from the batch or the lake.

The gate (``suites.daily_ticks`` with ``context=True``) checks each bar against the same
security's previous bar: the move from its close, adjusted for the splits and dividends in
between, a repeated bar, a volume jump. This module computes those columns
(``quality/context.py``) with pyarrow and numpy, outside Great Expectations, and the runner
validates them beside the bars (``Unit.context``); they are never published.

A bar's previous bar is the same security's previous row in the batch (a range backfill gates
several days at once), or for the security's first day in the batch, its last row in the bars
of the same run that precede the batch (``build(before=...)``: a range's previous month, its
publish not committed yet), else its last committed bar in the lake before that day
(``lake/commits.py``: what readers see): the last row before it in the monthly object of the
previous session's month, or in the security's ``history.parquet`` when that month has no
object (a consolidated year). That is one GET per security on a daily run (two for a new
listing or a consolidated month), 16 at a time as the publish step does.
Corporate actions are read only for the few securities whose raw move is beyond the warning
bounds: a move inside them cannot become a rejection. (So a split recorded in the actions but
missing from the prices, a move inside the bounds, goes unseen: reading every security's
actions would double the reads.)

Besides each row's own columns, every row carries its trading date's aggregates (the day's
median move and volume ratio, its stale share): the suite judges a batch of several days
day by day with them, so one bad day in a month is not diluted by the others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from equity_lake import calendar
from equity_lake.adjust import read_actions
from equity_lake.engine.dataset import with_context
from equity_lake.lake import commits, keys
from equity_lake.lake.schemas import DAILY_TICKS, conform
from equity_lake.lake.store import LakeStore, read_all
from equity_lake.quality.context import (
    DAILY_CONTEXT,
    DEFAULT_MAX_MOVE,
    MIN_COMPARED_ROWS,
    MIN_PREV_VOLUME,
)

_BAR_COLUMNS = ["timestamp", "open", "high", "low", "close", "volume"]
_EPOCH = dt.date(1970, 1, 1)

#: a previous bar: (day number since 1970, open, high, low, close, volume)
Bar = tuple[int, float, float, float, float, float]
#: a corporate action: (ex-date day number, "split" | "dividend", ratio, amount)
Action = tuple[int, str, float | None, float | None]


@dataclass(frozen=True)
class Context:
    """The context columns of a batch (``DAILY_CONTEXT``, row for row) and the suite's params."""

    table: pa.Table
    #: rows whose previous bar is known and traded >= MIN_PREV_VOLUME shares
    compared: int
    max_move: float
    #: objects read from the lake to build it (bars and corporate actions)
    reads: int = 0
    #: the bar objects read, as (bytes or None, version): the publish merges into the same
    #: monthly objects on every session but a month's first, and starts from these
    prior: dict[str, tuple[bytes | None, str]] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, object]:
        """What ``suites.daily_ticks`` takes besides the day and row bounds."""
        return {"context": True, "compared_rows": self.compared, "max_move": self.max_move}

    def beside(self, bars: pa.Table) -> pa.Table:
        """``bars`` (conformed, in the order the context was built for) followed by it."""
        return with_context(bars, self.table)


def build(
    store: LakeStore,
    bars: pa.Table,
    *,
    before: pa.Table | None = None,
    max_move: float = DEFAULT_MAX_MOVE,
) -> Context:
    """The context of ``bars`` (any order, one or several days), reading the lake.

    ``before``: bars that precede the batch in the same run and may not be visible in the
    lake yet (a range backfill's previous month, published but committed only at the end of
    its partition). A security's previous bar before its first day in ``bars`` is its last
    row in ``before`` earlier than that day; only securities without one are looked up in
    the lake."""
    table = conform(bars, DAILY_TICKS, "daily-ticks bars")
    first_days = _first_days(_ints(table, "security_id"), _ints(table, "timestamp"))
    given = _last_bars(before, first_days) if before is not None else {}
    lookup = [(sid, day) for sid, day in first_days.items() if sid not in given]
    hidden = commits.masks(store, keys.DAILY_TICKS_DATASET) if lookup else {}
    kept: dict[str, tuple[bytes | None, str]] = {}
    found = read_all(lambda item: _last_bar_before(store, *item, hidden, kept), lookup)
    previous = {sid: bar for (sid, _), (bar, _) in zip(lookup, found, strict=True)}
    previous.update(given)
    context = compute(table, previous, lambda sids: _read_actions(store, sids), max_move=max_move)
    reads = sum(n for _, n in found) + context.reads
    return Context(context.table, context.compared, max_move, reads, kept)


def _last_bars(before: pa.Table, first_days: dict[int, dt.date]) -> dict[int, Bar | None]:
    """Each security of ``first_days`` with a row in ``before`` earlier than its first day:
    its last such row as a previous bar (None if a value is null, as ``_last_bar_before``)."""
    table = conform(before, DAILY_TICKS, "daily-ticks bars before the batch")
    sid, day = _ints(table, "security_id"), _ints(table, "timestamp")
    never = np.iinfo(np.int64).min
    limit = {s: (d - _EPOCH).days for s, d in first_days.items()}
    first = np.array([limit.get(s, never) for s in sid.tolist()], dtype=np.int64)
    rows = np.flatnonzero((day > never) & (day < first))
    rows = rows[np.lexsort((day[rows], sid[rows]))]  # by security, each one's latest row last
    last = rows[np.append(sid[rows][1:] != sid[rows][:-1], True)] if len(rows) else rows
    values = np.stack([_floats(table, name) for name in _BAR_COLUMNS[1:]])
    out: dict[int, Bar | None] = {}
    for i in last.tolist():
        o, h, lo, c, v = values[:, i].tolist()
        usable = not np.isnan(values[:, i]).any()
        out[int(sid[i])] = (int(day[i]), o, h, lo, c, v) if usable else None
    return out


def last_bar_before(
    store: LakeStore, security_id: int, day: dt.date, hidden: commits.Masks | None = None
) -> Bar | None:
    """The security's last committed bar in the lake before ``day``: from the monthly object
    of the previous session's month, else (no such object) from its history; None if it has
    none. Rows of a publish that has not committed are not there for readers, nor here
    (``hidden`` is ``commits.masks``, when the caller looks up many securities)."""
    if hidden is None:
        hidden = commits.masks(store, keys.DAILY_TICKS_DATASET)
    return _last_bar_before(store, security_id, day, hidden, {})[0]


def _read(store: LakeStore, key: str, kept: dict[str, tuple[bytes | None, str]]) -> pa.Table | None:
    """The bar columns of ``key`` (None: no such object); keeps what it read in ``kept``."""
    data, version = store.read_versioned(key)
    kept[key] = (data, version)
    return None if data is None else store.stored_table(key, data, _BAR_COLUMNS)


def _last_bar_before(
    store: LakeStore,
    security_id: int,
    day: dt.date,
    hidden: commits.Masks,
    kept: dict[str, tuple[bytes | None, str]],
) -> tuple[Bar | None, int]:
    """``last_bar_before`` and how many objects it read (each kept in ``kept``)."""
    try:
        before = calendar.previous_session(day)
    except ValueError:  # outside the calendar: nothing can precede it in the lake
        return None, 0
    reads, key = 1, keys.daily_ticks_month(security_id, before)
    table = _read(store, key, kept)
    if table is None:
        reads, key = 2, keys.daily_ticks_history(security_id)
        table = _read(store, key, kept)
    if table is None:
        return None, reads
    table = commits.hide_uncommitted(table, key, hidden)
    stamps = table.column("timestamp").to_numpy()  # datetime64[D], NaT for a null
    earlier = np.flatnonzero(stamps < np.datetime64(day, "D"))
    if len(earlier) == 0:
        return None, reads
    last = int(earlier[np.argmax(stamps[earlier])])
    values = [table.column(c)[last].as_py() for c in _BAR_COLUMNS[1:]]
    if any(x is None for x in values):
        return None, reads
    stamp = int(stamps[last].astype(np.int64))  # days since 1970
    return (stamp, *(float(x) for x in values)), reads  # type: ignore[return-value]


@dataclass(frozen=True)
class _Computed:
    table: pa.Table
    compared: int
    reads: int


def compute(
    bars: pa.Table,
    previous: dict[int, Bar | None],
    actions_of: Callable[[list[int]], dict[int, list[Action]]],
    *,
    max_move: float = DEFAULT_MAX_MOVE,
) -> _Computed:
    """The context columns of ``bars`` (conformed), given each security's previous bar before
    its first day in the batch (``previous``) and a reader of corporate actions by security."""
    n = bars.num_rows
    sid, day = _ints(bars, "security_id"), _ints(bars, "timestamp")
    o, h, lo, c, v = (_floats(bars, name) for name in ("open", "high", "low", "close", "volume"))
    usable = (sid >= 0) & (day > np.iinfo(np.int64).min) & np.isfinite(o + h + lo + c + v)
    usable &= (o > 0) & (h > 0) & (lo > 0) & (c > 0) & (v >= 0)

    # the previous bar of each row, in (security_id, timestamp) order
    order = np.lexsort((day, sid))
    s_sid, s_day = sid[order], day[order]
    new_run = np.ones(n, dtype=bool)
    new_run[1:] = (s_sid[1:] != s_sid[:-1]) | (s_day[1:] != s_day[:-1])
    run_start = np.maximum.accumulate(np.where(new_run, np.arange(n), 0)) if n else new_run
    j = run_start - 1  # the row before this (security, day)'s first row
    in_batch = (j >= 0) & (s_sid[np.maximum(j, 0)] == s_sid) if n else new_run
    prev = np.full((6, n), np.nan)  # day, open, high, low, close, volume
    source = order[np.maximum(j, 0)]
    batch_rows = np.stack([day.astype(np.float64), o, h, lo, c, v])
    prev[:, in_batch] = batch_rows[:, source[in_batch]]
    prev_usable = np.zeros(n, dtype=bool)
    prev_usable[in_batch] = usable[source[in_batch]]
    for i in np.flatnonzero(~in_batch):
        bar = previous.get(int(s_sid[i]))
        if bar is not None and bar[0] < s_day[i]:
            prev[:, i] = bar
            prev_usable[i] = all(x > 0 for x in bar[1:5]) and bar[5] >= 0
    # back to the batch's own row order
    unsorted = np.empty(n, dtype=np.int64)
    unsorted[order] = np.arange(n)
    prev, prev_usable = prev[:, unsorted], prev_usable[unsorted]
    p_day, p_o, p_h, p_l, p_c, p_v = prev
    has_prev = ~np.isnan(p_day)
    compared = has_prev & prev_usable & usable

    # take the splits and dividends between the two bars out of the moves beyond the bounds
    with np.errstate(divide="ignore", invalid="ignore"):
        raw_move = c / p_c
    low, high = max(0.0, 1 - max_move), 1 + max_move
    beyond = compared & ~((raw_move >= low) & (raw_move <= high))
    p_c_adj, p_v_adj = p_c.copy(), p_v.copy()
    reads = 0
    if beyond.any():
        wanted = sorted({int(s) for s in sid[beyond]})
        actions = actions_of(wanted)
        reads = len(wanted)
        for i in np.flatnonzero(beyond):
            events = actions.get(int(sid[i])) or []
            p_c_adj[i], p_v_adj[i] = _adjusted(p_c[i], p_v[i], int(p_day[i]), int(day[i]), events)

    with np.errstate(divide="ignore", invalid="ignore"):
        move = np.where(compared, c / p_c_adj, np.nan)
        ratio = np.where(compared & (p_v_adj >= MIN_PREV_VOLUME), v / p_v_adj, np.nan)
    same = (o == p_o) & (h == p_h) & (lo == p_l) & (c == p_c) & (v == p_v)
    stale = same & (v > 0)
    changed = ~np.isclose(c, p_c_adj, rtol=1e-9, atol=0.0) | (h != lo)
    zero_volume_move = (v == 0) & changed
    columns = [
        pa.array(np.where(has_prev, p_day, 0).astype(np.int32), pa.int32(), mask=~has_prev).cast(
            pa.date32()
        ),
        pa.array(p_c_adj, pa.float64(), mask=~has_prev),
        pa.array(move, pa.float64(), mask=~compared),
        pa.array(ratio, pa.float64(), mask=np.isnan(ratio)),
        pa.array(stale, pa.bool_(), mask=~compared),
        pa.array(_duplicate_bars(sid, day, o, h, lo, c, v, usable), pa.bool_()),
        pa.array(zero_volume_move, pa.bool_(), mask=~compared),
        *_by_day(day, move, ratio, stale, compared),
    ]
    table = pa.Table.from_arrays(columns, schema=DAILY_CONTEXT)
    return _Computed(table, int(np.count_nonzero(~np.isnan(ratio))), reads)


def _by_day(
    day: np.ndarray, move: np.ndarray, ratio: np.ndarray, stale: np.ndarray, compared: np.ndarray
) -> list[pa.Array]:
    """The day columns of ``DAILY_CONTEXT``: each row gets its trading date's compared rows
    (with a volume ratio), median move, median volume ratio and stale share, the last three
    only on a day with at least MIN_COMPARED_ROWS compared rows."""
    n = len(day)
    counts = np.zeros(n, dtype=np.int64)
    aggregates = np.full((3, n), np.nan)  # median move, median volume ratio, stale share
    dated = day > np.iinfo(np.int64).min
    days, group = np.unique(day, return_inverse=True)
    group = group.reshape(-1)
    for k in np.flatnonzero(days > np.iinfo(np.int64).min):  # a month: ~21 days, n rows each
        rows = group == k
        ratios = ratio[rows & ~np.isnan(ratio)]
        counts[rows] = len(ratios)
        if len(ratios) >= MIN_COMPARED_ROWS:
            judged = rows & compared
            aggregates[:, rows] = np.array(
                [[np.median(move[judged])], [np.median(ratios)], [np.mean(stale[judged])]]
            )
    return [
        pa.array(counts, pa.int64(), mask=~dated),
        *(pa.array(a, pa.float64(), mask=np.isnan(a)) for a in aggregates),
    ]


def _adjusted(
    close: float, volume: float, prev_day: int, day: int, events: list[Action]
) -> tuple[float, float]:
    """The previous close and volume in the terms of ``day``: each split with an ex-date in
    (prev_day, day] divides the close by its ratio (new shares per old, as ``adjust.py``) and
    multiplies the volume by it; each dividend is taken off the close (after a split of its
    own ex-date, as ``adjust.py`` does). An action that would leave no positive close is
    ignored: the raw close is the safer yardstick then."""
    price, shares = close, volume
    between = sorted(
        (e for e in events if prev_day < e[0] <= day), key=lambda e: (e[0], e[1] != "split")
    )
    for _, kind, ratio, amount in between:
        if kind == "split" and ratio is not None and ratio > 0 and np.isfinite(ratio):
            price, shares = price / ratio, shares * ratio
        elif kind == "dividend" and amount is not None and amount >= 0 and np.isfinite(amount):
            price -= amount
    if not price > 0:
        return close, volume
    return price, shares


def _duplicate_bars(sid, day, o, h, lo, c, v, usable) -> np.ndarray:  # noqa: ANN001
    """True where another security has the same (timestamp, OHLCV) in the batch, volume > 0."""
    flags = np.zeros(len(sid), dtype=bool)
    rows = np.flatnonzero(usable & (v > 0))
    if len(rows) < 2:
        return flags
    bar = np.rec.fromarrays([day[rows], o[rows], h[rows], lo[rows], c[rows], v[rows]])
    _, group = np.unique(bar, return_inverse=True)
    group = group.reshape(-1)
    pairs = np.unique(np.stack([group, sid[rows]]), axis=1)  # distinct (bar, security)
    securities = np.bincount(pairs[0], minlength=group.max() + 1)
    flags[rows] = securities[group] > 1
    return flags


def _first_days(sid: np.ndarray, day: np.ndarray) -> dict[int, dt.date]:
    """Each security's first day in the batch: where the lake's previous bar is needed."""
    valid = (sid >= 0) & (day > np.iinfo(np.int64).min)
    firsts: dict[int, int] = {}
    for s, d in zip(sid[valid].tolist(), day[valid].tolist(), strict=True):
        if s not in firsts or d < firsts[s]:
            firsts[s] = d
    return {s: _EPOCH + dt.timedelta(days=d) for s, d in firsts.items()}


def _read_actions(store: LakeStore, sids: list[int]) -> dict[int, list[Action]]:
    """Each security's corporate actions as (ex-date day number, action, ratio, amount)."""
    out: dict[int, list[Action]] = {}
    for sid, table in zip(sids, read_all(lambda s: read_actions(store, s), sids), strict=True):
        ex = pc.cast(table.column("ex_date"), pa.int32()).to_pylist()
        columns = [table.column(c).to_pylist() for c in ("action", "ratio", "amount")]
        out[sid] = list(zip(ex, *columns, strict=True))
    return out


def _ints(table: pa.Table, name: str) -> np.ndarray:
    """An int64 column (dates as day numbers) with nulls as the smallest int64 / -1 ids."""
    column = table.column(name)
    if pa.types.is_date32(column.type):
        column = pc.cast(column, pa.int32()).cast(pa.int64())
        fill = np.iinfo(np.int64).min
    else:
        fill = -1
    return pc.fill_null(column, fill).to_numpy().astype(np.int64)


def _floats(table: pa.Table, name: str) -> np.ndarray:
    return pc.cast(table.column(name), pa.float64()).to_numpy(zero_copy_only=False)
