"""The ``sample`` source: a deterministic, seeded synthetic US stock market that needs no network.

It is the offline default of the lake (DESIGN §5): the demo, the DAG tests and a laptop run all
get thousands of securities with listings, delistings, ticker changes (including tickers reused
by a later company), forward and reverse splits and cash dividends, without any API key. It
covers every NYSE session from 2009-01-02 to 2027-12-31, the trading calendar's last session, so
a run for "the latest session" works on any day the calendar knows.

How it works, and why:

* Construction draws the *event history* (who lists and delists when, symbol periods, splits,
  dividends) from one seeded generator, quarter by quarter. Split and dividend decisions look at
  the simulated price, so reverse splits hit penny stocks and dividends track the share price.
* Prices are *closed form*: the adjusted (total-return) log price of a security on session ``k``
  is ``offset + drift * k + sigma * W(k) + beta * M(k)``. ``M`` is one precomputed market path;
  ``W`` is a Gaussian random walk evaluated with Levy's Brownian-bridge construction, whose
  node values come from a counter-based hash of (seed, security_id, level, node). So one day's
  bars cost O(securities x log days), never the history before it, and a security's bar does
  not depend on which other securities were asked for or in what order.
* Raw bars are the adjusted prices times the cumulative split and dividend factor in force on
  that day, so a 2-for-1 split halves the raw price on its ex-date and a dividend lowers it by
  about its amount, exactly as the lake stores real data (as traded).
* One-minute bars are built from the day's bar, so the two always agree (``sample_minutes``).
* The market was first drawn for 2009-01-02..2025-12-31 (``_FROZEN_END``) and tests and docs pin
  figures of those years. The later years extend it without disturbing them: the first years'
  draws are consumed exactly as before, and everything after ``_FROZEN_END`` (the market path,
  IPOs, delistings, splits, dividends, renames and the new issuers' CIKs) comes from separately
  seeded streams that are drawn afterwards. The securities listed on ``_FROZEN_END`` trade on.
* Five securities carry real companies (``REAL_COMPANIES``): Apple, Alphabet, Snowflake,
  JPMorgan Chase and Walmart, whose real SEC filings the repository carries
  (``standins/data/sec``), under their real ticker, name and CIK, so the demo joins synthetic
  prices to real fundamentals. Only labels change, after every draw (and one delisted
  security's CIK, swapped so that a CIK still names one security): prices, bars, events,
  security ids and counts are those of the market as drawn.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import pyarrow as pa

from equity_lake import calendar
from equity_lake.lake import schemas
from equity_lake.sources.sample_hash import _U64, _hashed_normal, _round_price, _salt
from equity_lake.sources.sample_minutes import MINUTE_BARS_SCHEMA, minute_bars_from_daily

DEFAULT_SEED = 20240101
START = dt.date(2009, 1, 2)
END = dt.date(2027, 12, 31)  # the trading calendar's last session (calendar.LAST_SESSION)
#: the end of the span first drawn: outputs up to this day never change when the span grows
_FROZEN_END = dt.date(2025, 12, 31)
#: security ids are FIRST_SECURITY_ID + position in listing order (stable, never reused)
FIRST_SECURITY_ID = 100_001
EXCHANGES = ("NYSE", "NASDAQ", "NYSE American", "NYSE Arca")

#: the market's tables are the lake's own schemas (the master without its bookkeeping columns)
_PERIOD_COLUMNS = ("security_id", "symbol", "company", "cik", "exchange", "start_date", "end_date")
SYMBOL_PERIODS_SCHEMA = pa.schema([schemas.SECURITY_MASTER.field(c) for c in _PERIOD_COLUMNS])
CORPORATE_ACTIONS_SCHEMA = schemas.CORPORATE_ACTIONS
DAILY_BARS_SCHEMA = schemas.DAILY_TICKS

# --- universe size and event rates -------------------------------------------------------------
INITIAL_SECURITIES = 5_700
#: listed securities drift from the first to the second value over 2009-2025, then hold
TARGET_ACTIVE = (5_700, 6_050)
#: IPOs per calendar year (a 2014 boom, the 2020-21 SPAC wave, the 2022-23 drought)
IPOS_PER_YEAR = {
    2009: 150, 2010: 280, 2011: 260, 2012: 260, 2013: 330, 2014: 380, 2015: 300, 2016: 210,
    2017: 280, 2018: 300, 2019: 280, 2020: 460, 2021: 560, 2022: 190, 2023: 160, 2024: 210,
    2025: 250, 2026: 270, 2027: 240,
}  # fmt: skip
RENAME_PER_QUARTER = 0.0038  # ~1.5 % of securities change ticker per year
RENAME_WITH_NEW_NAME = 0.6  # most ticker changes come with a rebrand
TICKER_REUSE = 0.15  # share of new tickers taken from the pool of freed ones
TICKER_COOLDOWN = 20  # sessions a freed ticker rests before another security may take it
FORWARD_SPLIT_PER_QUARTER = 0.045  # once a name trades above its own split threshold
REVERSE_SPLIT_PER_QUARTER = 0.10  # once a name trades below $1.50
DIVIDEND_PAYERS_INITIAL = 0.46
DIVIDEND_PAYERS_IPO = 0.20
SEASONED = 40  # sessions after listing before splits, dividends, renames or delisting apply

# --- price model --------------------------------------------------------------------------------
_LEVY_LEVELS = 13
_LEVY_N = 1 << _LEVY_LEVELS  # sessions the Brownian-bridge tree covers (> 4,779 needed)
_TRADING_DAYS = 252.0
_OPEN_SHARE = 0.25  # share of the close-to-close move that happens overnight
_OPEN_NOISE = 0.20  # open noise, in units of the security's daily sigma
_WICK = 0.45  # high/low wick size, in units of the security's daily sigma
_KEY_SHIFT = 16  # event keys are (position << 16) | session index

_STREAM_BRIDGE = 1
_STREAM_BAR = 2
_STREAM_MINUTE = 3
#: SeedSequence keys (after the seed) of the numpy streams: the span first drawn uses the first
#: two, the sessions after _FROZEN_END the last three, drawn only after the first ones
_SEQ_EVENTS = 0x5A4D  # market path then events of 2009-2025
_SEQ_CIK = 0xC1C  # CIKs of the securities listed by _FROZEN_END
_SEQ_LATER_MARKET = 0x1A7E1
_SEQ_LATER_EVENTS = 0x1A7E2
_SEQ_LATER_CIK = 0x1A7E3


@dataclass(frozen=True)
class RealCompany:
    """A real company a sample security stands for: its real ticker, name and 10-digit CIK."""

    security_id: int
    symbol: str
    company: str
    cik: str


#: The companies whose real SEC filings the repository carries (standins/data/sec/README.md),
#: each laid over one security of the default seed's market for its whole history: its symbol
#: period (and its listing row, if it has one) takes the real ticker and name, the security
#: the real CIK; its bars are the synthetic ones. Each security was chosen once, by this rule,
#: from the market as drawn: a single symbol period (never renamed, never delisted), on the
#: company's exchange, listed since 2009-01-02 (Snowflake, which listed 2020-09-16: an NYSE
#: listing of September 2020), no split from 2024-10-01 to 2025-01-03, no id a test pins, and
#: of those the one whose close on 2024-11-01 is nearest the company's real close that day, so
#: market cap and P/E look real. The market never drew these tickers; the one security that
#: drew one of the CIKs (103586, delisted 2013, drew Walmart's) takes the relabelled
#: security's drawn CIK in exchange, so a CIK still names one security. Other seeds: no overlay.
REAL_COMPANIES = (
    RealCompany(104606, "AAPL", "Apple Inc.", "0000320193"),  # was HOLM; 222.26 on 2024-11-01
    RealCompany(101173, "GOOGL", "Alphabet Inc.", "0001652044"),  # was EDYN; 171.26
    RealCompany(109059, "SNOW", "Snowflake Inc.", "0001640147"),  # was LWX, listed 2020-09-22
    RealCompany(100123, "JPM", "JPMorgan Chase & Co.", "0000019617"),  # was UNM; 221.12
    RealCompany(100716, "WMT", "Walmart Inc.", "0000104169"),  # was AB; 82.03
)


def _date32(ordinals: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """date32 array from proleptic ordinals (days since 1970-01-01 is what Arrow stores)."""
    days = np.asarray(ordinals, dtype=np.int64) - dt.date(1970, 1, 1).toordinal()
    return pa.array(days.astype(np.int32), type=pa.int32(), mask=mask).view(pa.date32())


# --- names and tickers --------------------------------------------------------------------------
_BRANDS = """Apex Summit Pinnacle Horizon Meridian Atlas Beacon Cardinal Cascade Cedar Crescent
Crown Delta Eagle Evergreen Falcon Frontier Granite Harbor Heritage Highland Keystone Liberty
Magnolia Maple Monarch Northstar Orion Pacific Patriot Phoenix Pioneer Prairie Quantum Redwood
Regal Ridgeline Riverbend Sapphire Sierra Sterling Titan Trident Unity Vanguard Vertex Vista
Zenith Aurora Bayside Canyon Coastal Copper Emerald Golden Ironwood Lakeshore Mesa Midland
Nova Olympic Sentinel Solstice Tidewater Trinity Alpine Arrow Atlantic Bluewater Clearwater
Compass Continental Everest Fairway Gateway Glacier Halcyon Juniper Kestrel Lumen Mariner
Meadow Nimbus Oakmont Paragon Polaris Quarry Radiant Sagebrush Seaboard Silverline Skyline
Stonebridge Summitview Tamarack Terra Timberline Trailhead Vireo Willow Windward Yellowstone
Acorn Amber Anchor Aspen Bison Blackstone Boulder Brightwater Cobalt Cypress Driftwood Ember
Fieldstone Firefly Foxglove Harvest Hawthorn Ivory Jasper Kingfisher Larkspur Lodestar
Mosaic Northgate Obsidian Onyx Osprey Palisade Pinecrest Prism Quicksilver Raven Sequoia
Shoreline Sparrow Stillwater Sunrise Thistle Topaz Tributary Verdant Wayfarer Westwind""".split()
_QUALIFIERS = """American National Global International Advanced Applied Consolidated General
Integrated Allied Standard Universal Digital Dynamic Strategic Precision Modern United First
Western Southern Northern Eastern Pacific Atlantic Midwest Continental Premier Superior""".split()
_INDUSTRIES = """Therapeutics Pharmaceuticals Biosciences Bancorp Financial Bancshares Energy
Resources Minerals Mining Technologies Software Systems Semiconductor Networks Communications
Media Entertainment Foods Brands Retail Apparel Industries Manufacturing Materials Chemicals
Logistics Transport Airlines Realty Properties Capital Holdings Insurance Health Medical Devices
Diagnostics Labs Utilities Power Water Solar Aerospace Defense Automotive Motors Steel Paper
Packaging Hospitality Restaurants Gaming Education Services Solutions Analytics Robotics
Genomics Wireless Electronics Instruments Homes Construction Marine Pipelines Petroleum
Agriculture Trust Biotherapeutics Oncology Payments Cloud Security Telecom Infrastructure""".split()
_SURNAMES = """Abbott Bennett Carter Dawson Ellis Fleming Garrison Hale Irving Jensen Kendall
Lawson Mercer Nolan Osborne Preston Quinn Russell Sawyer Thornton Underwood Vaughn Whitman
Yates Baxter Calloway Donovan Everett Fairbanks Goodwin Harlan Hastings Kingsley Langley
Marlowe Merritt Prescott Radcliffe Sheridan Stratton Thatcher Wexford Winslow Ashby Beckett
Caldwell Drummond Ellsworth Forsythe Gallagher Hollis Lockhart Mayfield Pemberton Rowland
Sinclair Talbot Wainwright Whitfield Ainsley Brandt Corbin Delaney Emerson Fenwick
Grayson""".split()
_SUFFIXES = ("Inc.", "Inc.", "Inc.", "Corp.", "Corp.", "Corporation", "Co.", "Ltd.", "plc",
             "Group Inc.", "Holdings Inc.")  # fmt: skip
#: ticker length distribution by exchange (NASDAQ issues mostly use four letters)
_TICKER_LENGTHS = {
    "NYSE": ((1, 2, 3, 4), (0.03, 0.28, 0.93, 1.0)),
    "NASDAQ": ((3, 4, 5), (0.10, 0.97, 1.0)),
    "NYSE American": ((2, 3, 4), (0.10, 0.90, 1.0)),
    "NYSE Arca": ((3, 4), (0.50, 1.0)),
}  # cumulative weights
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class _Names:
    """Plausible, unique company names and fresh tickers derived from them."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.names: set[str] = set()
        self.tickers: set[str] = set()  # every ticker ever handed out fresh or reused

    def company(self) -> str:
        rng = self.rng
        while True:
            form = rng.randrange(5)
            if form == 0:
                core = f"{rng.choice(_BRANDS)} {rng.choice(_INDUSTRIES)}"
            elif form == 1:
                core = f"{rng.choice(_BRANDS)} {rng.choice(_QUALIFIERS)} {rng.choice(_INDUSTRIES)}"
            elif form == 2:
                core = f"{rng.choice(_QUALIFIERS)} {rng.choice(_BRANDS)} {rng.choice(_INDUSTRIES)}"
            elif form == 3:
                core = f"{rng.choice(_SURNAMES)} {rng.choice(_INDUSTRIES)}"
            else:
                core = f"{rng.choice(_SURNAMES)} & {rng.choice(_SURNAMES)}"
            if core not in self.names:
                self.names.add(core)
                return f"{core} {rng.choice(_SUFFIXES)}"

    def fresh_ticker(self, company: str, exchange: str) -> str:
        """A never-used ticker, preferring letters of the company name like real issuers."""
        lengths, cum_weights = _TICKER_LENGTHS[exchange]
        length = self.rng.choices(lengths, cum_weights=cum_weights)[0]
        words = [w.upper() for w in company.split()[:-1] if w.isalpha()] or ["X"]
        a, b = words[0], words[1] if len(words) > 1 else words[0][1:] or "X"
        candidates = [a[:length], a[: length - 1] + b[:1], a[:1] + b[: length - 1]]
        if len(words) > 2:
            candidates.append((a[:1] + b[:1] + words[2][:1] + a[1:])[:length])
        candidates.append(a[:2] + b[: length - 2])
        for cand in candidates:
            if len(cand) == length and cand not in self.tickers:
                self.tickers.add(cand)
                return cand
        while True:
            tail = "".join(self.rng.choices(_LETTERS, k=length - 1))
            cand = a[:1] + tail
            if cand not in self.tickers:
                self.tickers.add(cand)
                return cand
            length = min(length + 1, 5) if self.rng.random() < 0.3 else length


# --- the model ----------------------------------------------------------------------------------
@dataclass
class _Model:
    """Everything construction decides; daily bars are a pure function of it and the seed."""

    session_ords: np.ndarray  # int64 ordinals; index k is the session index (0 = before START)
    market: np.ndarray  # float64 market log-level per session index
    offset: np.ndarray  # per security (position): log-price offset
    drift: np.ndarray  # per-session log drift
    sigma: np.ndarray  # idiosyncratic daily sigma
    beta: np.ndarray
    base_volume: np.ndarray  # shares per day before splits
    first_k: np.ndarray  # first session index listed
    last_k: np.ndarray  # last session index listed (BIG when still trading at END)
    ev_key: np.ndarray  # price events sorted by (position, k): (pos << 16) | k
    ev_log_raw: np.ndarray  # cumulative log(raw / adjusted) after the event
    ev_log_shares: np.ndarray  # cumulative log(shares per original share) after the event
    per_key: np.ndarray  # symbol periods sorted by (position, start): (pos << 16) | start_k
    per_symbol: np.ndarray  # object array of tickers, aligned with per_key
    periods: dict  # columns of the symbol-period table
    actions: dict  # columns of the corporate-actions table


_NOT_DELISTED = 1 << 30


_MARKET_VAR = 0.0105**2  # long-run variance of the market's daily return


def _market_returns(rng: np.random.Generator, n: int, var: float) -> tuple[np.ndarray, float]:
    """``n`` daily market returns with GARCH-style volatility clustering (calm years, crashes).

    Starts from variance ``var`` and also returns the variance of the day after, so a later
    stretch continues the path's volatility regime.
    """
    z = rng.standard_t(5, size=n) / math.sqrt(5 / 3)
    alpha, persist = 0.08, 0.90
    rets = np.empty(n)
    for i in range(n):
        r = math.sqrt(var) * z[i]
        rets[i] = r
        var = _MARKET_VAR * (1 - alpha - persist) + alpha * r * r + persist * var
    rets += 0.06 / _TRADING_DAYS
    return rets, var


def _market_path(
    rng: np.random.Generator, n: int, later: np.random.Generator, m: int
) -> np.ndarray:
    """The market log-level path: ``n`` sessions drawn from ``rng``, then ``m`` from ``later``."""
    rets, var = _market_returns(rng, n, _MARKET_VAR)
    rets[0] = 0.0
    path = np.cumsum(rets)
    more, _ = _market_returns(later, m, var)
    return np.concatenate([path, path[-1] + np.cumsum(more)])


class _Builder:
    """Draws the event history quarter by quarter; one instance per SampleMarket."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = np.random.default_rng(np.random.SeedSequence([seed, _SEQ_EVENTS]))
        self.bridge_salt = _salt(seed, _STREAM_BRIDGE)
        sessions = calendar.sessions_between(calendar.previous_session(START), END)
        self.session_ords = np.array([d.toordinal() for d in sessions], dtype=np.int64)
        if len(sessions) >= _LEVY_N:
            raise ValueError("the Brownian-bridge tree is too small for the session range")
        n_frozen = int(np.searchsorted(self.session_ords, _FROZEN_END.toordinal(), side="right"))
        later_market = np.random.default_rng(np.random.SeedSequence([seed, _SEQ_LATER_MARKET]))
        self.market = _market_path(self.rng, n_frozen, later_market, len(sessions) - n_frozen)
        self.n_frozen = 0  # securities listed by _FROZEN_END (set by build; 0 = all of them)
        cap = INITIAL_SECURITIES + 2 * sum(IPOS_PER_YEAR.values())
        self.n = 0
        f8, i8 = np.float64, np.int64
        self.offset = np.zeros(cap, f8)
        self.drift = np.zeros(cap, f8)
        self.sigma = np.zeros(cap, f8)
        self.beta = np.zeros(cap, f8)
        self.base_volume = np.zeros(cap, f8)
        self.first_k = np.zeros(cap, i8)
        self.seasoned_k = np.zeros(cap, i8)
        self.last_k = np.full(cap, _NOT_DELISTED, i8)
        self.exchange = np.zeros(cap, i8)
        self.payer = np.zeros(cap, bool)
        self.div_yield = np.zeros(cap, f8)
        self.div_day = np.zeros(cap, i8)
        self.div_amount = np.zeros(cap, f8)
        self.split_threshold = np.zeros(cap, f8)
        self.log_raw = np.zeros(cap, f8)  # running cumulative factors during the simulation
        self.log_shares = np.zeros(cap, f8)
        self.events: list[tuple[np.ndarray, ...]] = []  # (pos, k, kind, value, log_raw, log_sh)
        self.renames: list[tuple[np.ndarray, np.ndarray]] = []

    # -- prices --
    def log_adjusted(self, pos: np.ndarray, k: np.ndarray) -> np.ndarray:
        return _log_adjusted(
            self.offset, self.drift, self.sigma, self.beta, self.market, self.bridge_salt, pos, k
        )

    def raw_price(self, pos: np.ndarray, k: np.ndarray) -> np.ndarray:
        return np.exp(self.log_adjusted(pos, k) + self.log_raw[pos])

    # -- listings --
    def add_securities(self, first_k: np.ndarray, ipo: bool) -> None:
        rng, m = self.rng, len(first_k)
        pos = np.arange(self.n, self.n + m)
        self.n += m
        if ipo:
            price = np.exp(rng.normal(math.log(14.0), 0.45, m))
            sigma = np.exp(rng.normal(math.log(0.021), 0.35, m))
            payer = rng.random(m) < DIVIDEND_PAYERS_IPO
        else:
            price = np.exp(rng.normal(math.log(24.0), 1.0, m))
            sigma = np.exp(rng.normal(math.log(0.016), 0.35, m))
            payer = rng.random(m) < DIVIDEND_PAYERS_INITIAL
        self.first_k[pos] = first_k
        self.seasoned_k[pos] = first_k + SEASONED if ipo else -SEASONED
        self.sigma[pos] = np.clip(sigma, 0.006, 0.06)
        self.drift[pos] = rng.normal(0.0, 0.08, m) / _TRADING_DAYS
        self.beta[pos] = np.clip(rng.normal(1.0, 0.3, m), 0.1, 2.2)
        dollar_volume = np.exp(rng.normal(math.log(6e6), 1.5, m))
        self.base_volume[pos] = dollar_volume / np.clip(price, 1.0, None)
        self.exchange[pos] = rng.choice(4, size=m, p=[0.36, 0.52, 0.07, 0.05])
        self.payer[pos] = payer & (price > 3.0)
        self.div_yield[pos] = np.clip(np.exp(rng.normal(math.log(0.025), 0.5, m)), 0.004, 0.09)
        self.div_day[pos] = rng.integers(2, 25, m)
        self.split_threshold[pos] = np.exp(rng.normal(math.log(220.0), 0.45, m))
        self.offset[pos] = 0.0
        self.offset[pos] = np.log(price) - self.log_adjusted(pos, first_k)

    # -- one quarter --
    def quarter(self, qi: int, year: int, qa: int, qb: int) -> None:
        """One calendar quarter: IPOs, then delistings, dividends, splits and ticker changes.

        Decisions use the raw price on the eve of the quarter (one price evaluation per live
        security and quarter keeps construction fast); dividend factors use the exact close
        before each ex-date so the raw price drops by the amount paid.
        """
        rng = self.rng
        n_ipo = rng.poisson(IPOS_PER_YEAR[year] / 4)
        if n_ipo:
            self.add_securities(np.sort(rng.integers(max(qa, 2), qb + 1, n_ipo)), ipo=True)
        live = np.flatnonzero(self.last_k[: self.n] == _NOT_DELISTED)
        eve = self.raw_price(live, np.full(len(live), qa - 1))
        self._delistings(qi, qa, qb, live, eve)
        seasoned = (self.seasoned_k[live] < qa) & (self.last_k[live] > qa)
        live, eve = live[seasoned], eve[seasoned]
        self._dividends(qi, qa, qb, live, eve)
        self._splits(qa, qb, live, eve)
        self._renames(qa, qb, live)

    def _delistings(self, qi: int, qa: int, qb: int, live: np.ndarray, eve: np.ndarray) -> None:
        """Delist as many as keep the listed count on its target, penny and wild names first."""
        rng = self.rng
        target = TARGET_ACTIVE[0] + min(qi / 67, 1.0) * (TARGET_ACTIVE[1] - TARGET_ACTIVE[0])
        seasoned = self.seasoned_k[live] < qa
        cand, raw = live[seasoned], eve[seasoned]
        n_del = int(np.clip(round(len(live) - target + rng.normal(0, 12)), 0, len(cand)))
        if not n_del:
            return
        weight = 1.0 + 8.0 * (raw < 1.0) + 3.0 * (raw < 3.0) + 1.5 * (self.sigma[cand] > 0.03)
        chosen = rng.choice(cand, size=n_del, replace=False, p=weight / weight.sum())
        self.last_k[chosen] = rng.integers(qa, qb + 1, n_del)

    def _dividends(self, qi: int, qa: int, qb: int, live: np.ndarray, eve: np.ndarray) -> None:
        """Quarterly cash dividends: sticky amounts, raised yearly, reset if the price moved."""
        rng = self.rng
        payer = self.payer[live]
        pos, eve = live[payer], eve[payer]
        k = np.minimum(qa + self.div_day[pos], qb)
        keep = k < self.last_k[pos]
        pos, k, eve = pos[keep], k[keep], eve[keep]
        target = self.div_yield[pos] / 4 * eve
        current = self.div_amount[pos]
        raise_now = (qi % 4) == (pos % 4)
        grown = np.round(current * (1 + rng.uniform(0.0, 0.10, len(pos))), 2)
        amount = np.where(raise_now, grown, current)
        off = (current <= 0) | (np.abs(amount / np.maximum(target, 1e-9) - 1) > 0.4)
        amount = np.maximum(np.where(off, np.round(target, 2), amount), 0.01)
        pays = eve >= 2.0  # penny stocks suspend their dividend
        amount = np.where(pays, amount, 0.0)
        self.div_amount[pos] = amount
        pos, k, amount = pos[pays], k[pays], amount[pays]
        prev = self.raw_price(pos, k - 1)
        self.log_raw[pos] += np.log1p(-np.minimum(amount / prev, 0.5))
        self._record(pos, k, 1, amount)

    def _splits(self, qa: int, qb: int, live: np.ndarray, eve: np.ndarray) -> None:
        """Forward splits for names above their threshold, reverse splits for sub-$1.50 names."""
        rng = self.rng
        if qb - qa < 32:
            return
        u = rng.random(len(live))
        thr = self.split_threshold[live]
        forward = (eve > thr) & (u < FORWARD_SPLIT_PER_QUARTER)
        reverse = (eve < 1.5) & (u < REVERSE_SPLIT_PER_QUARTER)
        v = rng.random(len(live))
        ratio = np.where(eve > 2.4 * thr, 3.0, np.where(v < 0.8, 2.0, 1.5))
        ratio = np.where(reverse, np.where((eve < 0.4) | (v < 0.5), 0.1, 0.2), ratio)
        k = rng.integers(qa + 30, qb, len(live))  # after this quarter's dividend (day < 25)
        act = (forward | reverse) & (k < self.last_k[live])
        pos, k, ratio = live[act], k[act], ratio[act]
        self.log_raw[pos] -= np.log(ratio)
        self.log_shares[pos] += np.log(ratio)
        self._record(pos, k, 0, ratio)

    def _renames(self, qa: int, qb: int, seasoned: np.ndarray) -> None:
        rng = self.rng
        pos = seasoned[rng.random(len(seasoned)) < RENAME_PER_QUARTER]
        k = rng.integers(qa, qb + 1, len(pos))
        keep = k < self.last_k[pos]
        self.renames.append((pos[keep], k[keep]))

    def _record(self, pos: np.ndarray, k: np.ndarray, kind: int, value: np.ndarray) -> None:
        kinds = np.full(len(pos), kind, np.int8)
        self.events.append((pos, k, kinds, value, self.log_raw[pos], self.log_shares[pos]))

    # -- the whole history --
    def build(self) -> _Model:
        self.add_securities(np.ones(INITIAL_SECURITIES, np.int64), ipo=False)
        ords = self.session_ords
        qi = 0
        for year in range(START.year, END.year + 1):
            if year == _FROZEN_END.year + 1:
                # the years after the span first drawn get their own stream, so the draws of
                # 2009-2025 are consumed exactly as before and none of their outputs change
                self.n_frozen = self.n
                seq = np.random.SeedSequence([self.seed, _SEQ_LATER_EVENTS])
                self.rng = np.random.default_rng(seq)
            for q in range(4):
                lo = dt.date(year, 3 * q + 1, 1).toordinal()
                hi = (
                    dt.date(year + 1, 1, 1) if q == 3 else dt.date(year, 3 * q + 4, 1)
                ).toordinal()
                qa = max(int(np.searchsorted(ords, lo)), 1)
                qb = int(np.searchsorted(ords, hi)) - 1
                self.quarter(qi, year, qa, qb)
                qi += 1
        return self._finish()

    def _finish(self) -> _Model:
        n = self.n
        last_k = self.last_k[:n].copy()
        ev = [np.concatenate(cols) for cols in zip(*self.events, strict=True)]
        ev_pos, ev_k, ev_kind, ev_value, ev_log_raw, ev_log_sh = ev
        ev_key = (ev_pos.astype(np.int64) << _KEY_SHIFT) | ev_k
        order = np.argsort(ev_key, kind="stable")
        periods, per_key, per_symbol, symbol_actions = self._symbols(last_k)
        if self.seed == DEFAULT_SEED:  # the securities were chosen from this seed's market
            _relabel(periods, symbol_actions, REAL_COMPANIES)
        actions = self._actions(ev_pos, ev_k, ev_kind, ev_value, symbol_actions)
        return _Model(
            session_ords=self.session_ords,
            market=self.market,
            offset=self.offset[:n].copy(),
            drift=self.drift[:n].copy(),
            sigma=self.sigma[:n].copy(),
            beta=self.beta[:n].copy(),
            base_volume=self.base_volume[:n].copy(),
            first_k=self.first_k[:n].copy(),
            last_k=last_k,
            ev_key=ev_key[order],
            ev_log_raw=ev_log_raw[order],
            ev_log_shares=ev_log_sh[order],
            per_key=per_key,
            per_symbol=per_symbol,
            periods=periods,
            actions=actions,
        )

    def _symbols(self, last_k: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray, dict]:
        """Hand out tickers in date order so no two live securities share one on any day."""
        n = self.n
        # Python's Mersenne Twister: as reproducible as numpy's and far faster per scalar draw
        names = _Names(random.Random(self.seed * 1_000_003 + 0x7E4))
        rng = names.rng
        ren_pos = np.concatenate([p for p, _ in self.renames])
        ren_k = np.concatenate([k for _, k in self.renames])
        # (k, order, kind, pos): listings before renames before delistings on the same session
        todo = [(int(self.first_k[p]), 0, 0, p) for p in range(n)]
        todo += [(int(k), 1, 1, int(p)) for p, k in zip(ren_pos, ren_k, strict=True)]
        todo += [(int(last_k[p]), 2, 2, p) for p in range(n) if last_k[p] != _NOT_DELISTED]
        todo.sort()
        exchange = [EXCHANGES[e] for e in self.exchange[:n]]
        company = [""] * n
        symbol = [""] * n
        start = [0] * n
        resting: deque[tuple[int, str, int]] = deque()  # (free from k, ticker, last holder)
        ready: list[tuple[str, int]] = []
        per_pos: list[int] = []
        per_sym: list[str] = []
        per_co: list[str] = []
        per_start: list[int] = []
        per_end: list[int] = []
        act_pos: list[int] = []
        act_k: list[int] = []
        act_kind: list[str] = []
        act_old: list[str | None] = []
        act_new: list[str | None] = []

        def assign(p: int, k: int) -> str:
            while resting and resting[0][0] + TICKER_COOLDOWN <= k:
                _, t, holder = resting.popleft()
                ready.append((t, holder))
            if ready and rng.random() < TICKER_REUSE:
                for _ in range(3):
                    i = rng.randrange(len(ready))
                    t, holder = ready[i]
                    if holder != p:
                        ready[i] = ready[-1]
                        ready.pop()
                        return t
            return names.fresh_ticker(company[p], exchange[p])

        def close(p: int, end_k: int) -> None:
            per_pos.append(p)
            per_sym.append(symbol[p])
            per_co.append(company[p])
            per_start.append(start[p])
            per_end.append(end_k)

        for k, _, kind, p in todo:
            if kind == 0:
                company[p] = names.company()
                symbol[p], start[p] = assign(p, k), k
                if k > 1:
                    act_pos.append(p), act_k.append(k), act_kind.append("listing")
                    act_old.append(None), act_new.append(symbol[p])
            elif kind == 1:
                close(p, k - 1)
                resting.append((k, symbol[p], p))
                if rng.random() < RENAME_WITH_NEW_NAME:
                    company[p] = names.company()
                old = symbol[p]
                symbol[p], start[p] = assign(p, k), k
                act_pos.append(p), act_k.append(k), act_kind.append("symbol_change")
                act_old.append(old), act_new.append(symbol[p])
            else:
                close(p, k)
                resting.append((k + 1, symbol[p], p))
                act_pos.append(p), act_k.append(k), act_kind.append("delisting")
                act_old.append(symbol[p]), act_new.append(None)
        for p in range(n):
            if last_k[p] == _NOT_DELISTED:
                close(p, _NOT_DELISTED)

        pp = np.array(per_pos, np.int64)
        ps = np.array(per_start, np.int64)
        order = np.lexsort((ps, pp))
        ords = self.session_ords
        pe = np.array(per_end, np.int64)[order]
        still = pe == _NOT_DELISTED
        cik_rng = np.random.default_rng(np.random.SeedSequence([self.seed, _SEQ_CIK]))
        later_cik = np.random.default_rng(np.random.SeedSequence([self.seed, _SEQ_LATER_CIK]))
        n0, n1 = INITIAL_SECURITIES, self.n_frozen or n
        ciks = np.concatenate(
            [
                cik_rng.choice(np.arange(2_000, 1_450_000), n0, replace=False),
                np.sort(cik_rng.choice(np.arange(1_450_000, 2_100_000), n1 - n0, replace=False)),
                # later issuers: increasing CIKs above every earlier one, as EDGAR assigns them
                2_100_000 + np.cumsum(later_cik.integers(60, 211, n - n1)),
            ]
        )
        pp, ps = pp[order], ps[order]
        periods = {
            "security_id": pp + FIRST_SECURITY_ID,
            "symbol": np.array(per_sym, object)[order],
            "company": np.array(per_co, object)[order],
            "cik": np.array([f"{c:010d}" for c in ciks], object)[pp],
            "exchange": np.array(exchange, object)[pp],
            "start_ord": ords[ps],
            "end_ord": np.where(still, 0, ords[np.minimum(pe, len(ords) - 1)]),
            "end_null": still,
        }
        per_key = (pp << _KEY_SHIFT) | ps
        symbol_actions = {
            "pos": np.array(act_pos, np.int64),
            "k": np.array(act_k, np.int64),
            "action": np.array(act_kind, object),
            "old": np.array(act_old, object),
            "new": np.array(act_new, object),
        }
        return periods, per_key, periods["symbol"], symbol_actions

    def _actions(self, ev_pos, ev_k, ev_kind, ev_value, sym: dict) -> dict:
        m, s = len(ev_pos), len(sym["pos"])
        pos = np.concatenate([ev_pos, sym["pos"]])
        k = np.concatenate([ev_k, sym["k"]])
        action = np.concatenate([np.where(ev_kind == 0, "split", "dividend").astype(object),
                                 sym["action"]])  # fmt: skip
        is_split = np.concatenate([ev_kind == 0, np.zeros(s, bool)])
        is_div = np.concatenate([ev_kind == 1, np.zeros(s, bool)])
        value = np.concatenate([ev_value, np.zeros(s)])
        rank = {"listing": 0, "symbol_change": 1, "split": 2, "dividend": 3, "delisting": 4}
        ranks = np.array([rank[a] for a in action], np.int64)
        order = np.lexsort((ranks, k, pos))
        none = np.full(m, None, object)
        return {
            "security_id": pos[order] + FIRST_SECURITY_ID,
            "ex_ord": self.session_ords[k[order]],
            "action": action[order],
            "ratio": np.where(is_split, value, np.nan)[order],
            "ratio_null": ~is_split[order],
            "amount": np.where(is_div, value, np.nan)[order],
            "amount_null": ~is_div[order],
            "old_symbol": np.concatenate([none, sym["old"]])[order],
            "new_symbol": np.concatenate([none, sym["new"]])[order],
        }


def _relabel(periods: dict, symbol_actions: dict, companies: Sequence[RealCompany]) -> None:
    """Lay ``companies`` over their securities, in place (``periods["symbol"]`` is also the
    model's ``per_symbol``, so the bars follow). See ``REAL_COMPANIES``."""
    sid, cik = periods["security_id"], periods["cik"]
    for real in companies:
        rows = sid == real.security_id
        if rows.sum() != 1:
            raise ValueError(f"security {real.security_id} must have exactly one symbol period")
        if real.symbol in set(periods["symbol"][~rows]):
            raise ValueError(f"ticker {real.symbol} is already held by another security")
        drawn = cik[rows][0]
        cik[(cik == real.cik) & ~rows] = drawn  # the one holding the real CIK swaps
        cik[rows] = real.cik
        periods["symbol"][rows] = real.symbol
        periods["company"][rows] = real.company
        acts = symbol_actions["pos"] == real.security_id - FIRST_SECURITY_ID
        for column in ("old", "new"):
            values = symbol_actions[column]
            named = np.array([v is not None for v in values], bool)
            values[acts & named] = real.symbol


def _brownian(salt: np.uint64, sid: np.ndarray, k: np.ndarray) -> np.ndarray:
    """W(k) of a standard random walk per security, via Levy's Brownian-bridge construction.

    Each dyadic node's value is hashed from (salt, security id, level, node), so W at any
    session is exact, costs 13 vectorised steps, and needs no earlier sessions.
    """
    base = sid.astype(np.uint64) << _U64(24)
    lo = np.zeros(len(k), np.int64)
    w_lo = np.zeros(len(k))
    w_hi = math.sqrt(_LEVY_N) * _hashed_normal(base, salt)
    span = _LEVY_N
    for level in range(1, _LEVY_LEVELS + 1):
        half = span // 2
        node = (lo // span).astype(np.uint64) | _U64(level << 16)
        mid = 0.5 * (w_lo + w_hi) + math.sqrt(half / 2) * _hashed_normal(base | node, salt)
        right = k >= lo + half
        lo = np.where(right, lo + half, lo)
        w_lo = np.where(right, mid, w_lo)
        w_hi = np.where(right, w_hi, mid)
        span = half
    return w_lo


def _log_adjusted(offset, drift, sigma, beta, market, salt, pos, k) -> np.ndarray:
    """Adjusted (split- and dividend-free) log close of securities ``pos`` on sessions ``k``."""
    k = np.asarray(k, np.int64)
    w = _brownian(salt, pos + FIRST_SECURITY_ID, k)
    return offset[pos] + drift[pos] * k + sigma[pos] * w + beta[pos] * market[k]


@lru_cache(maxsize=4)
def sample_market(seed: int = DEFAULT_SEED) -> SampleMarket:
    """A shared instance per seed, so tasks in one process pay construction once."""
    return SampleMarket(seed)


class SampleMarket:
    """A deterministic synthetic US equity market, 2009-01-02..2027-12-31, for offline runs."""

    start: dt.date = START
    end: dt.date = END

    def __init__(self, seed: int = DEFAULT_SEED) -> None:
        self.seed = int(seed)
        self._m = _Builder(self.seed).build()
        self._bridge_salt = _salt(self.seed, _STREAM_BRIDGE)
        self._bar_salt = _salt(self.seed, _STREAM_BAR)
        self._minute_salt = _salt(self.seed, _STREAM_MINUTE)
        self._all_pos = np.arange(len(self._m.offset), dtype=np.int64)

    # -- event tables --
    @cached_property
    def _symbol_periods(self) -> pa.Table:
        p = self._m.periods
        end = _date32(np.where(p["end_null"], START.toordinal(), p["end_ord"]), p["end_null"])
        return pa.Table.from_arrays(
            [
                pa.array(p["security_id"], pa.int64()),
                pa.array(p["symbol"], pa.string()),
                pa.array(p["company"], pa.string()),
                pa.array(p["cik"], pa.string()),
                pa.array(p["exchange"], pa.string()),
                _date32(p["start_ord"]),
                end,
            ],
            schema=SYMBOL_PERIODS_SCHEMA,
        )

    def symbol_periods(self) -> pa.Table:
        """One row per security x symbol period (the security master's raw material)."""
        return self._symbol_periods

    @cached_property
    def _corporate_actions(self) -> pa.Table:
        a = self._m.actions
        return pa.Table.from_arrays(
            [
                pa.array(a["security_id"], pa.int64()),
                _date32(a["ex_ord"]),
                pa.array(a["action"], pa.string()),
                pa.array(a["ratio"], pa.float64(), mask=a["ratio_null"]),
                pa.array(a["amount"], pa.float64(), mask=a["amount_null"]),
                pa.array(a["old_symbol"], pa.string()),
                pa.array(a["new_symbol"], pa.string()),
            ],
            schema=CORPORATE_ACTIONS_SCHEMA,
        )

    def corporate_actions(self) -> pa.Table:
        """Splits, dividends, symbol changes, IPO listings and delistings, one row per event.

        Securities already trading on ``start`` have no listing row (they listed before 2009).
        """
        return self._corporate_actions

    # -- days --
    def _session_index(self, day: dt.date) -> int | None:
        """Index k of session ``day``; None outside the market's range; ValueError if no session."""
        if isinstance(day, dt.datetime):
            day = day.date()
        if not calendar.is_session(day):
            raise ValueError(f"{day.isoformat()} is not an NYSE trading session")
        if not START <= day <= END:
            return None
        return int(np.searchsorted(self._m.session_ords, day.toordinal()))

    def _active_positions(self, k: int) -> np.ndarray:
        m = self._m
        return self._all_pos[(m.first_k <= k) & (m.last_k >= k)]

    def active_security_ids(self, day: dt.date) -> np.ndarray:
        """Sorted int64 ids of securities with a bar on ``day`` (empty on non-sessions)."""
        if isinstance(day, dt.datetime):
            day = day.date()
        if not START <= day <= END or not calendar.is_session(day):
            return np.zeros(0, np.int64)
        k = self._session_index(day)
        return self._active_positions(k) + FIRST_SECURITY_ID

    def daily_bars(self, day: dt.date, security_ids: Sequence[int] | None = None) -> pa.Table:
        """Raw bars of ``day`` for the requested securities that trade that day, by security_id.

        ``day`` must be an NYSE session (ValueError otherwise); ids that are unknown or not
        listed on ``day`` are skipped, so a caller may pass a stale universe safely.
        """
        k = self._session_index(day)
        if k is None:
            return DAILY_BARS_SCHEMA.empty_table()
        return self._bars(self._requested_positions(k, security_ids), k)

    def _requested_positions(self, k: int, security_ids: Sequence[int] | None) -> np.ndarray:
        """Sorted positions of the requested securities listed on session ``k`` (all if None)."""
        if security_ids is None:
            return self._active_positions(k)
        m = self._m
        pos = np.unique(np.asarray(security_ids, dtype=np.int64)) - FIRST_SECURITY_ID
        pos = pos[(pos >= 0) & (pos < len(m.offset))]
        return pos[(m.first_k[pos] <= k) & (m.last_k[pos] >= k)]

    def minute_bars(
        self, day: dt.date, security_ids: Sequence[int] | None = None, session: str = "regular"
    ) -> pa.Table:
        """One-minute bars of ``day`` (MINUTE_TICKS), sorted by security_id and timestamp.

        ``timestamp`` is the minute's start; a minute without a trade has no bar. The regular
        session's bars aggregate exactly to :meth:`daily_bars` (first open, last close, highest
        high, lowest low, total volume). ``session="extended"`` adds sparse pre- and post-market
        bars (from 04:00 New York to four hours after the close) and leaves the regular rows as
        they are: the daily bar covers the regular session only. Ids are handled as by
        :meth:`daily_bars`; a security without volume on ``day`` gets one bar at the opening
        minute with the daily prices, volume 0 and trade_count 0.
        """
        if session not in calendar.SESSION_KINDS:
            raise ValueError(
                f"session {session!r} is not one of {', '.join(calendar.SESSION_KINDS)}"
            )
        if isinstance(day, dt.datetime):
            day = day.date()
        k = self._session_index(day)
        pos = np.zeros(0, np.int64) if k is None else self._requested_positions(k, security_ids)
        if len(pos) == 0:
            return MINUTE_BARS_SCHEMA.empty_table()
        # the total daily sigma (own and market) scales the extended-hours walks
        sigma = np.hypot(self._m.sigma[pos], self._m.beta[pos] * math.sqrt(_MARKET_VAR))
        return minute_bars_from_daily(self._bars(pos, k), day, k, sigma, self._minute_salt, session)

    def _bars(self, pos: np.ndarray, k: int) -> pa.Table:
        m, n = self._m, len(pos)
        both_pos = np.concatenate([pos, pos])
        both_k = np.concatenate([np.full(n, k - 1), np.full(n, k)])
        log_adj = _log_adjusted(
            m.offset, m.drift, m.sigma, m.beta, m.market, self._bridge_salt, both_pos, both_k
        )
        prev, close = log_adj[:n], log_adj[n:]
        log_raw, log_shares = self._factors(pos, k)
        sid = (pos + FIRST_SECURITY_ID).astype(np.uint64)
        keys = (sid << _U64(24)) | _U64(k << 3)
        z = _hashed_normal(np.concatenate([keys | _U64(j) for j in range(4)]), self._bar_salt)
        z = z.reshape(4, n)
        sigma = m.sigma[pos]
        ret = close - prev
        log_open = prev + _OPEN_SHARE * ret + _OPEN_NOISE * sigma * z[0]
        log_high = np.maximum(log_open, close) + _WICK * sigma * np.abs(z[1])
        log_low = np.minimum(log_open, close) - _WICK * sigma * np.abs(z[2])
        total_sigma = np.hypot(sigma, m.beta[pos] * 0.0105)
        activity = np.exp(0.4 * z[3] - 0.08) * (1.0 + 0.5 * np.abs(ret) / total_sigma)
        activity *= np.where((m.first_k[pos] == k) & (k > 1), 4.0, 1.0)  # IPO-day frenzy
        volume = np.round(m.base_volume[pos] * np.exp(log_shares) * activity)
        day = m.session_ords[k]
        return pa.Table.from_arrays(
            [
                pa.array(pos + FIRST_SECURITY_ID, pa.int64()),
                pa.array(self._symbols(pos, k), pa.string()),
                _date32(np.full(n, day)),
                pa.array(_round_price(np.exp(log_open + log_raw))),
                pa.array(_round_price(np.exp(log_high + log_raw))),
                pa.array(_round_price(np.exp(log_low + log_raw))),
                pa.array(_round_price(np.exp(close + log_raw))),
                pa.array(np.clip(volume, 0, 1e12).astype(np.int64)),
            ],
            schema=DAILY_BARS_SCHEMA,
        )

    def _factors(self, pos: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative log raw/adjusted and log share factors in force on session ``k``."""
        m = self._m
        want = (pos << _KEY_SHIFT) | k
        i = np.searchsorted(m.ev_key, want, side="right") - 1
        ok = (i >= 0) & ((m.ev_key[np.maximum(i, 0)] >> _KEY_SHIFT) == pos)
        i = np.maximum(i, 0)
        return np.where(ok, m.ev_log_raw[i], 0.0), np.where(ok, m.ev_log_shares[i], 0.0)

    def _symbols(self, pos: np.ndarray, k: int) -> np.ndarray:
        """The ticker each security holds on session ``k``."""
        m = self._m
        i = np.searchsorted(m.per_key, (pos << _KEY_SHIFT) | k, side="right") - 1
        return m.per_symbol[i]
