"""Building a session's one-minute bars from the ``sample`` source's daily bars.

The minute bars are built *from* the day's bar, so the two always agree: the regular session's
bars open at the daily open, close at the daily close, reach exactly its high and low and split
its volume exactly. Which minutes trade depends on the day's volume (thin names miss minutes),
volume follows a U over the session, and the closes follow a line from open to close plus a
Brownian bridge pinned at both ends and squashed into the daily range. Every draw is hashed from
(seed, security id, session, minute), as for the daily bars (``sample_hash``). Extended hours add
sparse pre- and post-market bars on top; the daily bar covers the regular session.

:meth:`equity_lake.sources.sample.SampleMarket.minute_bars` is the entry point; it hands the
day's daily bars to :func:`minute_bars_from_daily`.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pyarrow as pa

from equity_lake import calendar
from equity_lake.lake import schemas
from equity_lake.sources.sample_hash import _U64, _hashed_normal, _hashed_uniform, _round_price

MINUTE_BARS_SCHEMA = schemas.MINUTE_TICKS
_TRADE_SIZE = 150.0  # typical shares per trade: a session has about volume / this many trades
_MINUTE_NOISE = 1.0  # per-bar log noise, in units of the daily log range / sqrt(bars)
_MINUTE_WICK = 0.35  # minute wicks, in units of the per-bar noise
_EXT_ACTIVITY = 0.02  # extended-hours trade rate, as a share of the regular session's
_EXT_NOISE = 1.5  # extended-hours per-minute log noise, in units of daily sigma / sqrt(390)
_MINUTE_BLOCK = 512  # securities per vectorised block: bounds memory, never changes a result
#: minute keys are (security_id << 38) | (session index << 22) | (draw << 11) | minute
_KEY_SID, _KEY_K, _KEY_DRAW = 38, 22, 11
#: draws of a segment; the segments' draws start at 0 (regular), 8 (pre-), 16 (post-market)
_D_PRESENT, _D_PATH, _D_HIGH, _D_LOW, _D_VOLUME, _D_SIZE = range(6)
_REGULAR, _PRE, _POST = 0, 8, 16
_BAR_COLUMNS = ("open", "high", "low", "close", "volume", "trade_count", "vwap")


def _u_shape(m: int) -> np.ndarray:
    """Relative trading intensity of each minute of an ``m``-minute session (mean 1): a U,
    heavy in the first half hour and heavier still into the close."""
    j = np.arange(m, dtype=np.float64)
    shape = 1.0 + 2.0 * np.exp(-j / 20.0) + 2.5 * np.exp(-(m - 1 - j) / 15.0)
    return shape / shape.mean()


def _previous_close(close: np.ndarray, present: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Each minute's open: the close of the row's previous bar, ``first`` before its first bar."""
    n, m = close.shape
    last = np.maximum.accumulate(np.where(present, np.arange(m), -1), axis=1)
    prev = np.concatenate([np.full((n, 1), -1), last[:, :-1]], axis=1)
    before = np.take_along_axis(close, np.maximum(prev, 0), axis=1)
    return np.where(prev >= 0, before, first[:, None])


class _MinuteBlock:
    """A block of securities' daily bars on one session, and the minute bars built from them.

    Every draw is hashed from (seed, security id, session index, draw, minute) and every step
    works row by row, so a security's minutes never depend on the rest of the block. Each
    segment (regular, pre-, post-market) is a securities x minutes matrix per column plus a
    ``present`` mask: a minute without a trade has no bar.
    """

    def __init__(self, salt, k: int, m: int, sid, daily: dict, sigma: np.ndarray) -> None:
        self.salt = salt
        self.base = (sid.astype(np.uint64) << _U64(_KEY_SID)) | _U64(k << _KEY_K)
        self.o, self.h, self.lo, self.c = (daily[x] for x in ("open", "high", "low", "close"))
        self.v = daily["volume"]
        self.sigma = sigma
        self.m = m  # minutes of the regular session
        self.rate = self.v / (_TRADE_SIZE * m)  # expected trades per regular minute

    def _keys(self, draw: int, m: int) -> np.ndarray:
        minutes = np.arange(m, dtype=np.uint64) | _U64(draw << _KEY_DRAW)
        return self.base[:, None] | minutes[None, :]

    def _trading(self, draw: int, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which minutes have a trade (probability 1 - exp(-rate)) and how close each came."""
        with np.errstate(divide="ignore"):
            ratio = _hashed_uniform(self._keys(draw, rate.shape[1]), self.salt) / -np.expm1(-rate)
        return ratio < 1.0, ratio

    def _normal(self, draw: int, present: np.ndarray) -> np.ndarray:
        """Hashed standard normals at the bars, zero elsewhere (only the bars are hashed)."""
        rows, minutes = np.nonzero(present)
        keys = self.base[rows] | minutes.astype(np.uint64) | _U64(draw << _KEY_DRAW)
        z = np.zeros(present.shape)
        z[rows, minutes] = _hashed_normal(keys, self.salt)
        return z

    def _columns(self, draw, present, open_, close, step, volume) -> dict:
        """A segment's columns: wicks around open and close, trade counts and a VWAP."""
        wick = _MINUTE_WICK * step
        z_high, z_low = self._normal(draw + _D_HIGH, present), self._normal(draw + _D_LOW, present)
        high = _round_price(np.maximum(open_, close) * np.exp(wick * np.abs(z_high)))
        low = _round_price(np.minimum(open_, close) * np.exp(-wick * np.abs(z_low)))
        size = _TRADE_SIZE * np.exp(0.4 * self._normal(draw + _D_SIZE, present))
        trades = np.clip(np.round(volume / size), 1, volume).astype(np.int64)
        prices = {"open": open_, "high": high, "low": low, "close": close}
        return {"present": present, **prices, "volume": volume, "trade_count": trades}

    def regular(self) -> dict:
        """The regular session's bars, built to aggregate exactly to the daily bar."""
        shape = _u_shape(self.m)
        present, ratio = self._trading(_REGULAR + _D_PRESENT, self.rate[:, None] * shape)
        # at least one bar (the day's open and close need one), never more bars than shares
        count = present.sum(axis=1)
        bars = np.maximum(np.minimum(count, self.v), 1)
        fix = np.flatnonzero(bars != count)
        if len(fix):
            rank = np.argsort(np.argsort(ratio[fix], axis=1, kind="stable"), axis=1)
            present[fix] = rank < bars[fix, None]
        close, step = self._regular_closes(present, bars)
        open_ = _previous_close(close, present, self.o)
        weight = shape * np.exp(0.5 * self._normal(_REGULAR + _D_VOLUME, present)) * present
        volume = self._split_volume(weight, present, bars)
        out = self._columns(_REGULAR, present, open_, close, step[:, None], volume)
        # inside the daily range, which the highest and lowest bars reach exactly
        rows = np.arange(len(bars))
        high = np.minimum(out["high"], self.h[:, None])
        low = np.maximum(out["low"], self.lo[:, None])
        high[rows, np.argmax(np.where(present, high, -np.inf), axis=1)] = self.h
        low[rows, np.argmin(np.where(present, low, np.inf), axis=1)] = self.lo
        out["high"], out["low"] = high, low
        return out

    def _regular_closes(self, present, bars) -> tuple[np.ndarray, np.ndarray]:
        """Closes: a line from the daily open to the daily close over the bars, plus a Brownian
        bridge pinned at both ends and squashed into the daily range; and the per-bar noise."""
        lo_, lh, ll, lc = (np.log(x)[:, None] for x in (self.o, self.h, self.lo, self.c))
        walk = np.cumsum(self._normal(_REGULAR + _D_PATH, present), axis=1)
        rank = np.cumsum(present, axis=1)
        frac = rank / bars[:, None]
        bridge = walk - frac * walk[:, -1:]
        line = lo_ + (lc - lo_) * frac
        step = _MINUTE_NOISE * (lh - ll)[:, 0] / np.sqrt(bars)
        dev = step[:, None] * bridge
        room = np.maximum(np.where(dev > 0, lh - line, line - ll), 1e-12)
        close = _round_price(np.exp(line + room * np.tanh(dev / room)))
        close = np.clip(close, self.lo[:, None], self.h[:, None])
        return np.where(present & (rank == bars[:, None]), self.c[:, None], close), step

    def _split_volume(self, weight, present, bars) -> np.ndarray:
        """Split each daily volume over its bars by weight: one share per bar, the rest by
        cumulative rounding, so the bars sum to the daily volume exactly (a day without
        volume keeps its one bar at 0 shares)."""
        extra = np.maximum(self.v - bars, 0)
        cum = np.cumsum(weight, axis=1)
        cum = np.round(extra[:, None] * (cum / cum[:, -1:]))
        split = np.diff(cum, axis=1, prepend=0.0).astype(np.int64)
        return np.where(present & (self.v > 0)[:, None], 1 + split, 0)

    def extended(self, draw: int, m: int, backwards: bool) -> dict:
        """Sparse pre-market (``backwards``: a walk that ends at the daily open) or post-market
        (a walk from the daily close) bars of small volume: extra to the daily bar."""
        j = np.arange(m, dtype=np.float64)
        shape = np.exp(-(m - 1 - j) / 90.0) if backwards else np.exp(-j / 45.0)
        rate = self.rate[:, None] * _EXT_ACTIVITY * (0.1 + shape)
        present, _ = self._trading(draw + _D_PRESENT, rate)
        step = (_EXT_NOISE / math.sqrt(390.0)) * self.sigma[:, None]
        z = self._normal(draw + _D_PATH, present)
        if backwards:
            after = np.cumsum(z[:, ::-1], axis=1)[:, ::-1] - z  # the moves still to come
            close = _round_price(self.o[:, None] * np.exp(step * after))
            first = _round_price(self.o * np.exp(step[:, 0] * z.sum(axis=1)))
        else:
            close = _round_price(self.c[:, None] * np.exp(step * np.cumsum(z, axis=1)))
            first = self.c
        open_ = _previous_close(close, present, first)
        lots = np.exp(0.8 * self._normal(draw + _D_VOLUME, present) - 0.32)
        volume = np.maximum(np.round(0.5 * _TRADE_SIZE * np.maximum(rate, 1.0) * lots), 1.0)
        volume = np.where(present, volume, 0).astype(np.int64)
        return self._columns(draw, present, open_, close, step, volume)


def _minute_stamps(day: dt.date, session: str) -> tuple[np.ndarray, int, int]:
    """UTC microseconds of the start of each minute of ``session``, and how many of them come
    before and after the regular session (both 0 for the regular session)."""
    start, end = calendar.session_bounds(day, session)
    opens, closes = calendar.session_bounds(day, "regular")
    first = int(start.timestamp()) * 1_000_000
    stamps = first + 60_000_000 * np.arange(calendar.session_minutes(day, session), dtype=np.int64)
    pre = int((opens - start).total_seconds()) // 60
    post = int((end - closes).total_seconds()) // 60
    return stamps, pre, post


def _minute_batch(segments: list[dict], stamps, sid, symbol: pa.Array) -> pa.RecordBatch:
    """The bars of a block's segments (side by side in time order) as one record batch, in
    (security, minute) order; ``sid`` and ``symbol`` belong to the block's rows."""
    columns = segments[0]
    if len(segments) > 1:
        columns = {c: np.hstack([s[c] for s in segments]) for c in segments[0]}
    present = columns["present"]
    rows, minutes = np.nonzero(present)
    bar = {c: columns[c][present] for c in _BAR_COLUMNS[:-1]}
    vwap = np.round((bar["high"] + bar["low"] + bar["close"]) / 3.0, 4)
    bar["vwap"] = np.clip(vwap, bar["low"], bar["high"])
    return pa.RecordBatch.from_arrays(
        [
            pa.array(sid[rows]),
            symbol.take(pa.array(rows)),
            pa.array(stamps[minutes], schemas.UTC_INSTANT),
            *(pa.array(bar[c]) for c in _BAR_COLUMNS),
        ],
        schema=MINUTE_BARS_SCHEMA,
    )


def minute_bars_from_daily(
    daily: pa.Table,
    day: dt.date,
    k: int,
    sigma: np.ndarray,
    salt: np.uint64,
    session: str = "regular",
) -> pa.Table:
    """One-minute bars (MINUTE_TICKS) of ``session`` on ``day`` built from ``daily``, that day's
    daily bars (DAILY_TICKS, at least one row, sorted by security_id); sorted like ``daily``
    and by timestamp.

    ``k`` is the day's session index and ``salt`` the seed's minute stream, which together key
    every draw; ``sigma`` is each row's total daily log sigma, the scale of the extended-hours
    walks. Securities are built in blocks of ``_MINUTE_BLOCK``; a security's bars never depend
    on the others.
    """
    stamps, pre, post = _minute_stamps(day, session)
    prices = {c: daily.column(c).to_numpy() for c in ("open", "high", "low", "close", "volume")}
    sid = daily.column("security_id").to_numpy()
    symbol = daily.column("symbol").combine_chunks()
    m = calendar.session_minutes(day)
    batches = []
    for lo in range(0, len(sid), _MINUTE_BLOCK):
        part = slice(lo, lo + _MINUTE_BLOCK)
        block_prices = {c: v[part] for c, v in prices.items()}
        block = _MinuteBlock(salt, k, m, sid[part], block_prices, sigma[part])
        segments = [block.regular()]
        if session == "extended":
            pre_market = block.extended(_PRE, pre, backwards=True)
            segments = [pre_market, segments[0], block.extended(_POST, post, backwards=False)]
        batches.append(_minute_batch(segments, stamps, sid[part], symbol[part]))
    return pa.Table.from_batches(batches, MINUTE_BARS_SCHEMA)
