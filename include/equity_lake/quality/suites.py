"""Expectation suites, one builder function per dataset.

Each dataset registers one function with `@register(...)`. The function takes the run's
parameters as keyword-only arguments and returns a fresh `ExpectationSuite`; the gate
derives the required parameter names from the signature, so adding a dataset (minute
ticks, fundamentals) means adding one decorated function here and nothing in the gate.

Suites are rebuilt per call rather than parameterised with GX's `$PARAMETER` syntax: that
costs about a millisecond and keeps the concrete values (trading date, row bounds) in the
stored validation result, which is what Data Docs renders.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import great_expectations as gx
import great_expectations.expectations as gxe
import pyarrow as pa
from great_expectations.expectations.row_conditions import PassThroughCondition

from equity_lake.lake import schemas
from equity_lake.quality import context as context_columns
from equity_lake.quality.frames import pandas_dtype_name

SuiteBuilder = Callable[..., gx.ExpectationSuite]

DAILY_TICKS = "daily-ticks"
DAILY_TICKS_SUITE = "daily_ticks"

#: The daily-ticks partition contract (column order and Arrow types) is the lake's own schema.
DAILY_TICKS_SCHEMA = schemas.DAILY_TICKS


@dataclass(frozen=True)
class DatasetSuite:
    """A registered dataset: its suite name, builder and the parameters the builder needs."""

    dataset: str
    suite_name: str
    build: SuiteBuilder
    required_params: tuple[str, ...]
    optional_params: tuple[str, ...]
    label_params: tuple[str, ...]

    def check_params(self, params: dict[str, object]) -> None:
        """Fail early, naming every missing or unknown parameter, before touching GX."""
        missing = [p for p in self.required_params if p not in params]
        known = set(self.required_params) | set(self.optional_params)
        unknown = sorted(p for p in params if p not in known)
        problems = []
        if missing:
            problems.append(f"missing parameter(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown parameter(s) {', '.join(unknown)}")
        if problems:
            raise ValueError(
                f"{self.dataset}: {'; '.join(problems)} "
                f"(expected {', '.join(self.required_params)})"
            )

    def default_label(self, params: dict[str, object]) -> str:
        """Readable batch label when the caller gives none, e.g. "daily-ticks 2024-12-23"."""
        values = [str(params[p]) for p in self.label_params if p in params]
        return " ".join([self.dataset, *values])


_REGISTRY: dict[str, DatasetSuite] = {}


def register(
    dataset: str, *, suite_name: str, label_params: Sequence[str] = ()
) -> Callable[[SuiteBuilder], SuiteBuilder]:
    """Register a suite builder for a dataset; its keyword-only args become the gate params."""

    def decorate(build: SuiteBuilder) -> SuiteBuilder:
        signature = inspect.signature(build)
        required = tuple(
            name
            for name, p in signature.parameters.items()
            if p.kind is p.KEYWORD_ONLY and p.default is p.empty
        )
        optional = tuple(
            name
            for name, p in signature.parameters.items()
            if p.kind is p.KEYWORD_ONLY and p.default is not p.empty
        )
        if dataset in _REGISTRY:
            raise ValueError(f"dataset {dataset!r} is already registered")
        _REGISTRY[dataset] = DatasetSuite(
            dataset=dataset,
            suite_name=suite_name,
            build=build,
            required_params=required,
            optional_params=optional,
            label_params=tuple(label_params),
        )
        return build

    return decorate


def get(dataset: str) -> DatasetSuite:
    """Look up a dataset's suite; an unknown name is a caller bug, so say which names exist."""
    try:
        return _REGISTRY[dataset]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise ValueError(f"unknown dataset {dataset!r} (known: {known})") from None


def datasets() -> list[str]:
    """Names of all datasets that have a suite."""
    return sorted(_REGISTRY)


# --- reusable expectation groups -------------------------------------------------------


def schema_expectations(schema: pa.Schema, nullable: Sequence[str] = ()) -> list[gxe.Expectation]:
    """Exact column order, per-column pandas dtype, and not-null except for ``nullable``."""
    expectations: list[gxe.Expectation] = [
        gxe.ExpectTableColumnsToMatchOrderedList(column_list=list(schema.names))
    ]
    for field in schema:
        expectations.append(
            gxe.ExpectColumnTypeToBe(column=field.name, type_=pandas_dtype_name(field.type))
        )
        if field.name not in nullable:
            expectations.append(gxe.ExpectColumnValuesToNotBeNull(column=field.name))
    return expectations


def ohlc_expectations(
    open_: str = "open", high: str = "high", low: str = "low", close: str = "close"
) -> list[gxe.Expectation]:
    """high >= max(open, close) and low <= min(open, close), as four named comparisons.

    Rows where either side is null are skipped: the not-null expectation reports those,
    and counting them here too would blame a price relation for a missing value.
    """
    pairs = [(high, open_), (high, close), (open_, low), (close, low)]
    return [
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=a, column_B=b, or_equal=True, ignore_row_if="either_value_is_missing"
        )
        for a, b in pairs
    ]


def positive_expectations(columns: Sequence[str]) -> list[gxe.Expectation]:
    """Strictly positive values (prices)."""
    return [
        gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, strict_min=True) for c in columns
    ]


def _as_date(name: str, value: object) -> dt.date:
    """Accept a date or an ISO string (CLI input); reject datetimes, whose day is ambiguous."""
    if isinstance(value, dt.datetime):
        raise TypeError(f"{name} must be a date, not a datetime: {value!r}")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    raise TypeError(f"{name} must be a datetime.date or ISO date string, got {value!r}")


def _as_share(name: str, value: object) -> float:
    """A positive finite fraction such as max_move (0.5 = 50%)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e6:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _as_count(name: str, value: object) -> int:
    """Row bounds must be non-negative ints (bool is an int in Python, but not a count)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return value


# --- datasets ----------------------------------------------------------------------------


@register(DAILY_TICKS, suite_name=DAILY_TICKS_SUITE, label_params=("trading_date",))
def daily_ticks(
    *,
    trading_date: dt.date | str | Sequence[dt.date | str],
    expected_rows: int,
    min_rows: int,
    context: bool = False,
    compared_rows: int = 0,
    max_move: float = context_columns.DEFAULT_MAX_MOVE,
    min_rows_by_day: Mapping[str, int] | None = None,
) -> gx.ExpectationSuite:
    """Suite for daily bars: one trading day of a chunk of the universe, or a published object.

    trading_date is the run's day (a published monthly file holds several: pass them all);
    expected_rows the number of bars expected (active securities x days); min_rows the
    tolerance below it (a few securities may legitimately not trade). More rows than expected
    means duplicates or securities outside the universe, so it is an upper bound.
    ``min_rows_by_day`` (ISO date -> rows; a batch of several days, e.g. a range backfill's
    month) is each day's own minimum: a session missing entirely, or most of its rows, is
    rejected as it would be on its own, not hidden by the other days (critical, one
    ``expect_table_row_count_to_be_between`` per day with a ``timestamp`` row condition,
    ~20 ms each). Not added where the table's bound already implies it: for a single day, and
    when ``min_rows == expected_rows`` (no row may be missing, so no day can be short but by
    bars of securities not expected that day making up for it).

    Gates that know yesterday: with ``context`` the validated frame holds the bars followed by
    the columns of ``quality/context.py`` (each bar's previous bar, the move from its close
    adjusted for splits and dividends, flags), built by ``datasets/daily_context.py``; rows
    without a previous bar have null context and are skipped. ``compared_rows`` is how many
    rows have a previous bar that traded at least 100 shares: the batch-level checks need 20 of
    them. ``max_move`` is the share a price may move in a session, up or down, unexplained
    before it is worth a warning. Without context the suite is the one above and nothing else.

    The batch-level checks (median move, median volume ratio, stale share) judge each trading
    date: one day's batch as a whole (``compared_rows``), a batch of several days through the
    day columns of the context (each row carries its day's median move, median volume ratio
    and stale share, null on a day with fewer than 20 compared rows), so one bad day of a
    month is rejected as it would be on its own.

    Severity, check by check. Critical is for what no market produces and a vendor glitch does
    (the batch is quarantined); a warning for what real markets do now and then (published,
    counted, shown in Data Docs):

    * move outside [1 - max_move, 1 + max_move]: warning. Real stocks do move 50% on news
      (a biotech's trial, a buyout), and a split missing from the corporate actions looks like
      one; a decimal shift would rather be caught by the next check.
    * move outside [1/25, 25]: critical. No session moves a price 25x; 100x is a unit error
      (one security's prices in cents, a decimal shift). Splits and dividends recorded in the
      corporate actions are already taken out of the move.
    * median move of the day outside [0.5, 2]: critical. A whole feed in cents, or a level
      jump, moves every row alike; real markets never move the median stock 2x.
    * stale (open, high, low, close, volume all equal to the previous bar's, volume > 0):
      warning for a row (one security's stale bar may be a vendor's carry-forward, rare but
      harmless alone); critical when more than 10% of a day's compared rows are stale (GX
      ``mostly``, or ``day_stale_share`` over several days): yesterday's feed delivered as
      today's.
    * the same (timestamp, open, high, low, close, volume), volume > 0, under two securities:
      critical. Two securities never trade identical bars with shares; one security's bar was
      copied under another's id.
    * volume 0 with a price change (close differs from the previous close, or high from low):
      warning. Quote-based closes on no-trade days are real (CRSP's bid/ask midpoints).
    * volume over 100x the previous bar's (which traded >= 100 shares): warning. Index
      inclusions, listings moving venue and news do that to one security.
    * median volume ratio of the day outside [1/20, 20]: critical. A units error (shares vs
      lots of 100, a feed x1000) does it to the whole batch; markets never do.
    * two symbols swapped (their bars exchanged) show as two moves in opposite directions:
      a warning while the two price levels are within 1.5x..25x of each other, critical beyond
      25x, unseen when their prices are within max_move of each other.
    """
    dates = trading_date if isinstance(trading_date, list | tuple) else [trading_date]
    days = [_as_date("trading_date", d) for d in dates]
    expected = _as_count("expected_rows", expected_rows)
    minimum = _as_count("min_rows", min_rows)
    if minimum > expected:
        raise ValueError(f"min_rows ({minimum}) exceeds expected_rows ({expected})")

    expectations = [
        *schema_expectations(DAILY_TICKS_SCHEMA),
        *ohlc_expectations(),
        *positive_expectations(["open", "high", "low", "close"]),
        gxe.ExpectColumnValuesToBeBetween(column="volume", min_value=0),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["security_id", "timestamp"]),
        gxe.ExpectColumnValuesToBeInSet(column="timestamp", value_set=days),
        gxe.ExpectTableRowCountToBeBetween(min_value=minimum, max_value=expected),
    ]
    several_days = len(set(days)) > 1
    for day, rows in _rows_by_day(min_rows_by_day, days, expected).items():
        # implied by the table's bound: a day's own (one day), any day's when that bound
        # allows no missing row at all (a complete source)
        implied = minimum == expected or (not several_days and rows <= minimum)
        if rows > 0 and not implied:
            expectations.append(
                gxe.ExpectTableRowCountToBeBetween(min_value=rows, row_condition=_on_day(day))
            )
    if not isinstance(context, bool):
        raise TypeError(f"context must be a bool, got {context!r}")
    if context:
        columns = [*DAILY_TICKS_SCHEMA.names, *context_columns.DAILY_CONTEXT.names]
        expectations[0] = gxe.ExpectTableColumnsToMatchOrderedList(column_list=columns)
        expectations += context_expectations(
            _as_count("compared_rows", compared_rows),
            _as_share("max_move", max_move),
            several_days=several_days,
        )
    return gx.ExpectationSuite(name=DAILY_TICKS_SUITE, expectations=expectations)


def _on_day(day: dt.date) -> PassThroughCondition:
    """The rows of one trading date, as a pandas query (which compares the frame's date32
    column with an ISO string). A pass-through condition rather than ``Column(...) == day``:
    the failure line (``gate.describe_failure``) names the day only for a query string; and
    rather than a bare string, which GX 1.9+ deprecates with a warning per expectation."""
    return PassThroughCondition(pass_through_filter=f"timestamp == '{day.isoformat()}'")


def _rows_by_day(value: object, days: Sequence[dt.date], expected: int) -> dict[dt.date, int]:
    """``min_rows_by_day`` checked: ISO date strings (the params are stored as JSON) of the
    batch's trading dates, each to a count no greater than ``expected_rows``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"min_rows_by_day must map ISO dates to row counts, got {value!r}")
    out: dict[dt.date, int] = {}
    for key, rows in value.items():
        if not isinstance(key, str):
            raise TypeError(f"min_rows_by_day keys must be ISO date strings, got {key!r}")
        day = _as_date("min_rows_by_day", key)
        if day not in days:
            raise ValueError(f"min_rows_by_day: {key} is not a trading_date of the batch")
        out[day] = _as_count(f"min_rows_by_day[{key}]", rows)
        if out[day] > expected:
            raise ValueError(
                f"min_rows_by_day[{key}] ({out[day]}) exceeds expected_rows ({expected})"
            )
    return dict(sorted(out.items()))


def context_expectations(
    compared_rows: int, max_move: float, *, several_days: bool = False
) -> list[gxe.Expectation]:
    """The daily-ticks checks against each bar's previous bar (see ``daily_ticks``): the
    batch-level ones on the batch's own columns for one day, on its day columns for several."""
    c = context_columns
    expectations = [
        warning(
            gxe.ExpectColumnValuesToBeBetween(
                column="move", min_value=max(0.0, 1 - max_move), max_value=1 + max_move
            )
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="move", min_value=1 / c.MAX_SESSION_MOVE, max_value=c.MAX_SESSION_MOVE
        ),
        warning(gxe.ExpectColumnValuesToBeInSet(column="stale", value_set=[False])),
        gxe.ExpectColumnValuesToBeInSet(column="duplicate_bar", value_set=[False]),
        warning(gxe.ExpectColumnValuesToBeInSet(column="zero_volume_move", value_set=[False])),
        warning(
            gxe.ExpectColumnValuesToBeBetween(column="volume_ratio", max_value=c.MAX_VOLUME_RATIO)
        ),
    ]
    if several_days:  # each day's aggregates, on each of its rows (null: too few compared)
        low, high = c.MEDIAN_MOVE
        expectations.append(
            gxe.ExpectColumnValuesToBeBetween(
                column="day_median_move", min_value=low, max_value=high
            )
        )
        low, high = c.MEDIAN_VOLUME_RATIO
        expectations.append(
            gxe.ExpectColumnValuesToBeBetween(
                column="day_median_volume_ratio", min_value=low, max_value=high
            )
        )
        expectations.append(
            gxe.ExpectColumnValuesToBeBetween(column="day_stale_share", max_value=c.MAX_STALE_SHARE)
        )
    elif compared_rows >= c.MIN_COMPARED_ROWS:
        low, high = c.MEDIAN_MOVE
        expectations.append(
            gxe.ExpectColumnMedianToBeBetween(column="move", min_value=low, max_value=high)
        )
        low, high = c.MEDIAN_VOLUME_RATIO
        expectations.append(
            gxe.ExpectColumnMedianToBeBetween(column="volume_ratio", min_value=low, max_value=high)
        )
        expectations.append(
            gxe.ExpectColumnValuesToBeInSet(
                column="stale", value_set=[False], mostly=1 - c.MAX_STALE_SHARE
            )
        )
    return expectations


FUNDAMENTALS = "fundamentals"
FUNDAMENTALS_SUITE = "fundamentals"
#: XBRL accession numbers: filer id, year, sequence
ACCESSION_PATTERN = r"^\d{10}-\d{2}-\d{6}$"


#: longest period of a fact that is still a fiscal year (52/53-week years, transition periods)
LONGEST_PERIOD_DAYS = 380
WARNING = "warning"
_WARNING_NOTE = "warning: unusual but real; kept, counted and shown, never a rejection"


def warning(expectation: gxe.Expectation) -> gxe.Expectation:
    """Mark an expectation as a warning: the gate counts and shows it, and still publishes."""
    expectation.severity = WARNING
    expectation.notes = _WARNING_NOTE
    return expectation


@register(FUNDAMENTALS, suite_name=FUNDAMENTALS_SUITE, label_params=("as_of",))
def fundamentals(*, as_of: dt.date | str, ciks: Sequence[str]) -> gx.ExpectationSuite:
    """Suite for one company's EDGAR facts (one row per fact per filing).

    as_of is the run's day: no fact may have been filed after it; ciks are the companies the
    partition was fetched for (one, as the gate's unit is a company). A canonical concept's
    facts must be in its kind of unit (a currency, a currency per share, shares); other facts
    in any well-formed XBRL unit.

    Rule of thumb for the next expectation: what makes a fact *impossible* (a bad CIK or
    accession, a value that is not finite, a duplicate fact, a canonical concept in the wrong
    kind of unit, a filing after the run's day, a period that ends before it starts) is
    critical and rejects the company. What is *unusual but real* in EDGAR is a `warning()`:
    kept, counted and shown in the validation result and Data Docs, never a rejection. Real
    filers do report facts whose period ends after the filing date (subsequent events, a
    quarter still running when the 10-K was filed), negative revenue (reversals, banks' net
    revenue) and periods longer than a fiscal year (cumulative since inception).
    """
    from equity_lake.fundamentals import concepts, units

    day = _as_date("as_of", as_of)
    expected = _ciks(ciks)
    schema = schemas.FUNDAMENTALS
    key = ["cik", "concept", "taxonomy", "tag", "unit", "start", "end", "accn"]
    expectations = [
        *schema_expectations(schema, nullable=("concept", "start", "fy", "fp", "frame")),
        gxe.ExpectColumnValuesToMatchRegex(column="cik", regex=r"^\d{10}$"),
        gxe.ExpectColumnValuesToBeInSet(column="cik", value_set=expected),
        gxe.ExpectColumnValuesToMatchRegex(column="accn", regex=ACCESSION_PATTERN),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="end", column_B="start", or_equal=True, ignore_row_if="either_value_is_missing"
        ),
        gxe.ExpectColumnValuesToBeBetween(column="filed", max_value=day),
        gxe.ExpectColumnValuesToMatchRegex(column="unit", regex=f"^{units.WELL_FORMED}$"),
        # finite: NaN counts as null, +-inf falls outside any bound
        gxe.ExpectColumnValuesToBeBetween(column="value", min_value=-1e300, max_value=1e300),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=key, ignore_row_if="never"),
    ]
    for kind in ("monetary", "per_share", "shares"):
        names = sorted(c.name for c in concepts.CONCEPTS if c.unit_kind == kind)
        expectations.append(
            gxe.ExpectColumnValuesToMatchRegex(
                column="unit",
                regex=f"^{units.KIND_PATTERNS[kind]}$",
                row_condition=f"concept in {names!r}",
                condition_parser="pandas",
            )
        )
    longest_seconds = LONGEST_PERIOD_DAYS * 86_400  # date differences are durations in seconds
    expectations += [
        warning(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="filed", column_B="end", or_equal=True
            )
        ),
        warning(
            gxe.ExpectColumnValuesToBeBetween(
                column="value",
                min_value=0,
                row_condition="concept == 'revenue'",
                condition_parser="pandas",
            )
        ),
        warning(
            gxe.ExpectColumnValuesToBeNull(
                column="start",
                row_condition=f"end - start > {longest_seconds}",
                condition_parser="pandas",
            )
        ),
    ]
    return gx.ExpectationSuite(name=FUNDAMENTALS_SUITE, expectations=expectations)


SECURITY_MASTER = "security-master"
SECURITY_MASTER_SUITE = "security_master"


@register(SECURITY_MASTER, suite_name=SECURITY_MASTER_SUITE, label_params=("source",))
def security_master(*, source: str) -> gx.ExpectationSuite:
    """Suite for the whole security master as one build of ``source`` publishes it.

    Critical: what breaks the lake's identity or a point-in-time look-up (the schema, a
    security id that cannot name an object, two periods of one security starting on one day,
    a period that ends before it starts, a ticker or CIK not in the lake's form, rows of
    another source, an empty master replacing the stored one). Warnings: a period without a
    company name or exchange, which real sources do leave blank now and then. That no two
    securities hold one ticker at once is checked by the build itself (``master_build.check``).
    """
    from equity_lake.lake import keys

    schema = schemas.SECURITY_MASTER
    expectations = [
        *schema_expectations(
            schema, nullable=("company", "cik", "exchange", "end_date", "permno", "is_etf")
        ),
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        gxe.ExpectColumnValuesToBeBetween(
            column="security_id", min_value=0, max_value=keys.MAX_SECURITY_ID - 1
        ),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["security_id", "start_date"]),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["symbol", "start_date"]),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="end_date",
            column_B="start_date",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
        gxe.ExpectColumnValuesToMatchRegex(column="symbol", regex=keys.SYMBOL_PATTERN),
        gxe.ExpectColumnValuesToMatchRegex(column="cik", regex=r"^\d{10}$"),
        gxe.ExpectColumnValuesToBeInSet(column="source", value_set=[source]),
        warning(gxe.ExpectColumnValuesToNotBeNull(column="company")),
        warning(gxe.ExpectColumnValuesToNotBeNull(column="exchange")),
    ]
    return gx.ExpectationSuite(name=SECURITY_MASTER_SUITE, expectations=expectations)


CORPORATE_ACTIONS = "corporate-actions"
CORPORATE_ACTIONS_SUITE = "corporate_actions"
#: every kind of event the lake stores
ACTION_KINDS = ("listing", "symbol_change", "split", "dividend", "delisting")
#: split ratios beyond these (1-for-1000, 1000-for-1) are real but rare enough to show
SPLIT_RATIO_BOUNDS = (0.001, 1000.0)


@register(CORPORATE_ACTIONS, suite_name=CORPORATE_ACTIONS_SUITE)
def corporate_actions() -> gx.ExpectationSuite:
    """Suite for a batch of corporate actions (a master build's, an ingest's) before it is
    merged into each security's actions file.

    Critical: what the adjusted series cannot use or the merge would garble (the schema, an
    unknown kind of event, a split without a positive finite ratio, a dividend without a
    non-negative finite amount, two events of one kind on one day for one security).
    Warnings: a split ratio beyond 1-for-1000 or 1000-for-1, a dividend of zero and a symbol
    change that does not say the new symbol: unusual, kept and shown.
    """
    from equity_lake.lake import keys

    def where(action: str) -> dict[str, str]:
        return {"row_condition": f"action == {action!r}", "condition_parser": "pandas"}

    low, high = SPLIT_RATIO_BOUNDS
    expectations = [
        *schema_expectations(
            schemas.CORPORATE_ACTIONS, nullable=("ratio", "amount", "old_symbol", "new_symbol")
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="security_id", min_value=0, max_value=keys.MAX_SECURITY_ID - 1
        ),
        gxe.ExpectColumnValuesToBeInSet(column="action", value_set=list(ACTION_KINDS)),
        gxe.ExpectColumnValuesToNotBeNull(column="ratio", **where("split")),
        # finite: NaN counts as null, +inf falls outside the bound
        gxe.ExpectColumnValuesToBeBetween(
            column="ratio", min_value=0, strict_min=True, max_value=1e300, **where("split")
        ),
        gxe.ExpectColumnValuesToNotBeNull(column="amount", **where("dividend")),
        gxe.ExpectColumnValuesToBeBetween(
            column="amount", min_value=0, max_value=1e300, **where("dividend")
        ),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["security_id", "ex_date", "action"]),
        warning(
            gxe.ExpectColumnValuesToBeBetween(
                column="ratio", min_value=low, max_value=high, **where("split")
            )
        ),
        warning(
            gxe.ExpectColumnValuesToBeBetween(
                column="amount", min_value=0, strict_min=True, **where("dividend")
            )
        ),
        warning(gxe.ExpectColumnValuesToNotBeNull(column="new_symbol", **where("symbol_change"))),
    ]
    return gx.ExpectationSuite(name=CORPORATE_ACTIONS_SUITE, expectations=expectations)


MINUTE_TICKS = "minute-ticks"
MINUTE_TICKS_SUITE = "minute_ticks"
#: how a minute batch's disagreement with the day's daily bar counts (``daily_agreement``)
AGREEMENT_SEVERITIES = ("error", "warning")


@register(MINUTE_TICKS, suite_name=MINUTE_TICKS_SUITE, label_params=("trading_date", "session"))
def minute_ticks(
    *,
    trading_date: dt.date | str,
    session: str,
    session_minutes: int,
    expected_securities: int,
    min_securities: int,
    daily_agreement: str = "error",
) -> gx.ExpectationSuite:
    """Suite for one session of one chunk's minute bars, validated with the
    ``quality/context.py`` MINUTE_CONTEXT columns beside them.

    ``session_minutes`` is the session's length by the calendar (390 on a full regular day,
    210 on a 13:00 early close; the extended hours are longer), so a bar outside the session
    and a security with more bars than the session has minutes are rejected, on half days too.
    ``expected_securities`` is the chunk's universe, ``min_securities`` how many must have at
    least one bar (all of them for a complete source; a thin name may not trade for a whole
    session on a real feed).

    Critical: the schema, OHLC order, positive prices, volume >= 0, one bar per security and
    minute, every bar inside the session, at most the session's minutes per security. The
    agreement of a security's regular-session minutes with its daily bar in the lake (first
    open, last close, max high, min low, summed volume) is ``daily_agreement``: an error where
    both come from one consistent source (the sample market), a warning for a partial-venue
    feed such as Alpaca's IEX, whose minutes cover one venue while the daily bar may not.
    A VWAP outside the bar's low..high is a warning: venues' bars may exclude trades (odd
    lots, some conditions) from high and low that the VWAP includes.
    """
    day = _as_date("trading_date", trading_date)
    from equity_lake import calendar

    if session not in calendar.SESSION_KINDS:
        raise ValueError(f"session must be one of {', '.join(calendar.SESSION_KINDS)}")
    minutes = _as_count("session_minutes", session_minutes)
    expected = _as_count("expected_securities", expected_securities)
    minimum = _as_count("min_securities", min_securities)
    if minimum > expected:
        raise ValueError(f"min_securities ({minimum}) exceeds expected_securities ({expected})")
    if daily_agreement not in AGREEMENT_SEVERITIES:
        raise ValueError(f"daily_agreement must be one of {', '.join(AGREEMENT_SEVERITIES)}")
    schema = schemas.MINUTE_TICKS
    columns = [*schema.names, *context_columns.MINUTE_CONTEXT.names]
    agreement = gxe.ExpectColumnValuesToBeNull(column="daily_mismatch")
    expectations = [
        *schema_expectations(schema, nullable=("trade_count", "vwap")),
        *ohlc_expectations(),
        *positive_expectations(["open", "high", "low", "close"]),
        gxe.ExpectColumnValuesToBeBetween(column="volume", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="trade_count", min_value=0),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["security_id", "timestamp"]),
        gxe.ExpectColumnValuesToBeBetween(
            column="session_minute", min_value=0, max_value=max(0, minutes - 1)
        ),
        gxe.ExpectColumnValuesToBeBetween(column="security_minutes", max_value=minutes),
        gxe.ExpectColumnUniqueValueCountToBeBetween(
            column="security_id", min_value=minimum, max_value=expected
        ),
        agreement if daily_agreement == "error" else warning(agreement),
        warning(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="high",
                column_B="vwap",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            )
        ),
        warning(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="vwap",
                column_B="low",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            )
        ),
    ]
    expectations[0] = gxe.ExpectTableColumnsToMatchOrderedList(column_list=columns)
    expectations[0].meta = {"trading_date": day.isoformat(), "session": session}
    return gx.ExpectationSuite(name=MINUTE_TICKS_SUITE, expectations=expectations)


TTM = "derived-ttm"
TTM_SUITE = "derived_ttm"
DERIVED_METRICS = "derived-metrics"
DERIVED_METRICS_SUITE = "derived_metrics"


def _ciks(ciks: Sequence[str]) -> list[str]:
    """The companies a unit (or units gated together) may hold, as 10-digit CIKs."""
    from equity_lake.lake import keys

    found = sorted({keys.cik(c) for c in ([ciks] if isinstance(ciks, str) else ciks)})
    if not found:
        raise ValueError("ciks must name at least one company")
    return found


def _finite(column: str) -> gxe.Expectation:
    """NaN counts as null (the not-null expectation), +-inf falls outside any bound."""
    return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=-1e300, max_value=1e300)


@register(TTM, suite_name=TTM_SUITE, label_params=("ciks",))
def derived_ttm(*, ciks: Sequence[str]) -> gx.ExpectationSuite:
    """Suite for companies' TTM rows (``fundamentals/ttm.py``): the schema, finite values,
    one row per (cik, concept, unit, as_of_date), known concepts, and every row knowable when
    it says (``as_of_date`` on or after its period's end: nothing is known before it ends)."""
    from equity_lake.fundamentals import concepts, ttm

    schema = ttm.TTM_SCHEMA
    return gx.ExpectationSuite(
        name=TTM_SUITE,
        expectations=[
            *schema_expectations(schema, nullable=("start", "accn", "form")),
            gxe.ExpectColumnValuesToBeInSet(column="cik", value_set=_ciks(ciks)),
            gxe.ExpectColumnValuesToBeInSet(
                column="concept", value_set=sorted(c.name for c in concepts.CONCEPTS)
            ),
            _finite("value"),
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=["cik", "concept", "unit", "as_of_date"]
            ),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="as_of_date", column_B="end", or_equal=True
            ),
            gxe.ExpectColumnValuesToBeInSet(column="quarters", value_set=[0, 4]),
        ],
    )


@register(DERIVED_METRICS, suite_name=DERIVED_METRICS_SUITE, label_params=("ciks",))
def derived_metrics(*, ciks: Sequence[str]) -> gx.ExpectationSuite:
    """Suite for companies' metrics (``fundamentals/metrics.py``): the schema, finite values
    (a zero denominator gives no row, never inf), known metric names, one row per (cik,
    metric, unit, as_of_date), every input known by the row's date and no period ending
    after it."""
    from equity_lake.fundamentals import metrics

    names = sorted([*metrics.FORMULAS, *metrics.MARKET_METRICS])
    return gx.ExpectationSuite(
        name=DERIVED_METRICS_SUITE,
        expectations=[
            *schema_expectations(metrics.METRICS_SCHEMA),
            gxe.ExpectColumnValuesToBeInSet(column="cik", value_set=_ciks(ciks)),
            gxe.ExpectColumnValuesToBeInSet(column="metric", value_set=names),
            _finite("value"),
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=["cik", "metric", "unit", "as_of_date"]
            ),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="as_of_date", column_B="period_end", or_equal=True
            ),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="as_of_date", column_B="inputs_known", or_equal=True
            ),
        ],
    )


UNIVERSES = "universes"
UNIVERSES_SUITE = "universes"


@register(UNIVERSES, suite_name=UNIVERSES_SUITE, label_params=("universe",))
def universe_periods(*, universe: str) -> gx.ExpectationSuite:
    """Suite for one universe's membership periods (``universes.py``): the schema, one period
    per (security_id, start), a ticker on every period, and no period ending before it
    starts (an open period, ``end`` null, is a current member)."""
    from equity_lake import universes

    return gx.ExpectationSuite(
        name=UNIVERSES_SUITE,
        expectations=[
            *schema_expectations(universes.UNIVERSE_SCHEMA, nullable=("end",)),
            gxe.ExpectColumnValuesToBeBetween(column="security_id", min_value=1),
            gxe.ExpectColumnValueLengthsToBeBetween(column="symbol", min_value=1, max_value=16),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["security_id", "start"]),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="end",
                column_B="start",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            ),
        ],
    )


DAILY_TICKS_HISTORY = "daily-ticks-history"
DAILY_TICKS_HISTORY_SUITE = "daily_ticks_history"


@register(DAILY_TICKS_HISTORY, suite_name=DAILY_TICKS_HISTORY_SUITE, label_params=("year",))
def daily_ticks_history(*, year: int, expected_rows: int) -> gx.ExpectationSuite:
    """Suite for a chunk of securities' histories as a consolidation of ``year`` folds them
    (``datasets/consolidation.py``): the schema, exactly the union of the inputs (every row
    equal to an input's row of its session: the ``from_inputs`` context column, and as many
    rows as distinct sessions in the inputs, ``expected_rows``), one row per security and
    session, and every date a session of that year or earlier."""
    from equity_lake import calendar

    sessions = calendar.sessions_between(calendar.FIRST_SESSION, dt.date(year, 12, 31))
    return _folded_suite(
        DAILY_TICKS_HISTORY_SUITE, DAILY_TICKS_SCHEMA, expected_rows, "timestamp", sessions
    )


MINUTE_TICKS_HISTORY = "minute-ticks-history"
MINUTE_TICKS_HISTORY_SUITE = "minute_ticks_history"


@register(MINUTE_TICKS_HISTORY, suite_name=MINUTE_TICKS_HISTORY_SUITE, label_params=("year",))
def minute_ticks_history(*, year: int, expected_rows: int) -> gx.ExpectationSuite:
    """Suite for a security's year of minute bars as a consolidation folds them into months:
    exactly the union of the inputs (``from_inputs``, ``expected_rows``), one row per
    security and minute, and every bar's session (its New York date, the ``session`` context
    column) a session of ``year``."""
    from equity_lake import calendar

    sessions = calendar.sessions_between(dt.date(year, 1, 1), dt.date(year, 12, 31))
    return _folded_suite(
        MINUTE_TICKS_HISTORY_SUITE, schemas.MINUTE_TICKS, expected_rows, "session", sessions
    )


def _folded_suite(
    name: str, schema: pa.Schema, expected_rows: int, day_column: str, sessions: list
) -> gx.ExpectationSuite:
    """What every fold of a consolidation must hold: the schema (then the context columns
    ``from_inputs`` and, when the rows are not days, ``session``), exactly the union of its
    inputs, unique per security and timestamp, each bar on one of ``sessions``."""
    context = ["from_inputs"] + (["session"] if day_column == "session" else [])
    return gx.ExpectationSuite(
        name=name,
        expectations=[
            gxe.ExpectTableColumnsToMatchOrderedList(column_list=[*schema.names, *context]),
            *schema_expectations(schema)[1:],
            gxe.ExpectTableRowCountToEqual(value=expected_rows),
            gxe.ExpectColumnValuesToBeInSet(column="from_inputs", value_set=[True]),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["security_id", "timestamp"]),
            gxe.ExpectColumnValuesToBeInSet(column=day_column, value_set=sessions),
        ],
    )
