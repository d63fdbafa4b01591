"""The one place that builds object keys (DESIGN §3), only from validated identifiers.

Every identifier that reaches a key is checked here first, so a symbol such as ``../x`` or an
11-digit CIK can never address an object outside its dataset.
"""

from __future__ import annotations

import datetime as dt
import re

#: a ticker as the lake stores it (``BRK.B``); the master's suite checks its symbols with it
SYMBOL_PATTERN = r"^[A-Z][A-Z0-9]{0,9}(?:[.\-/][A-Z0-9]{1,4})?$"
_SYMBOL = re.compile(SYMBOL_PATTERN)
_CIK = re.compile(r"^[0-9]{10}$")
_NAME = re.compile(r"^[a-z][a-z0-9_\-]{0,62}$")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+\-]{0,199}$")

MAX_SECURITY_ID = 2**53


class InvalidIdentifier(ValueError):
    """An identifier failed validation; the message names it and the rule it broke."""


def security_id(value: object) -> int:
    """A non-negative int64 security id (bools and strings with junk are refused)."""
    if isinstance(value, bool):
        raise InvalidIdentifier(f"security_id must be an integer, got {value!r}")
    if isinstance(value, str):
        if not value.isdigit():
            raise InvalidIdentifier(f"security_id must be a non-negative integer, got {value!r}")
        value = int(value)
    try:
        as_int = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise InvalidIdentifier(f"security_id must be an integer, got {value!r}") from None
    if as_int != value or not 0 <= as_int < MAX_SECURITY_ID:
        raise InvalidIdentifier(f"security_id must be an integer in [0, 2^53), got {value!r}")
    return as_int


def symbol(value: object) -> str:
    """An exchange ticker: upper-case letters and digits, one class suffix (``BRK.B``)."""
    if not isinstance(value, str) or not _SYMBOL.fullmatch(value):
        raise InvalidIdentifier(
            f"symbol {value!r} is not a ticker (A-Z, 0-9, optional .-/ class suffix, <= 15 chars)"
        )
    return value


def cik(value: object) -> str:
    """A 10-digit zero-padded SEC CIK; a shorter int or digit string is padded."""
    if isinstance(value, bool):
        raise InvalidIdentifier(f"CIK must be digits, got {value!r}")
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or not value.isdigit() or len(value) > 10:
        raise InvalidIdentifier(f"CIK {value!r} must be at most 10 digits")
    padded = value.zfill(10)
    if not _CIK.fullmatch(padded) or int(padded) == 0:
        raise InvalidIdentifier(f"CIK {value!r} must be a positive 10-digit number")
    return padded


def year(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1900 <= value <= 2200:
        raise InvalidIdentifier(f"year must be an integer in 1900..2200, got {value!r}")
    return value


def name(value: object, what: str = "name") -> str:
    """A lower-case slug for universes and datasets."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidIdentifier(f"{what} {value!r} must be a lower-case slug ([a-z0-9_-])")
    return value


def run_id(value: object) -> str:
    """An Airflow run id or similar token used in staging and quarantine keys."""
    if not isinstance(value, str) or not _RUN_ID.fullmatch(value) or ".." in value:
        raise InvalidIdentifier(f"run id {value!r} has characters not allowed in a key")
    return value.replace(":", "-").replace("+", "-")


def _date(value: object) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise InvalidIdentifier(f"expected a date, got {value!r}")
    return value


# --- master -----------------------------------------------------------------------------------
SECURITY_MASTER = "data/master/security_master.parquet"
CALENDAR_MASTER = "data/master/calendar_master.parquet"


#: the daily-ticks dataset's name: its commits, results and run summaries are kept under it
DAILY_TICKS_DATASET = "daily-ticks"


def daily_ticks_month(sid: object, day: dt.date) -> str:
    """The open-year monthly file holding ``day``'s bar of security ``sid``."""
    d = _date(day)
    return f"data/raw/ticks/daily/{security_id(sid)}/{year(d.year):04d}/{d.month:02d}/ticks.parquet"


def daily_ticks_of(sid: object) -> str:
    """The folder of every daily-ticks object of security ``sid`` (its months and history)."""
    return f"data/raw/ticks/daily/{security_id(sid)}/"


#: which years of which tick datasets have been folded (``datasets/consolidation.py``): a
#: late correction of such a year merges into the folded object, never a new monthly file
CONSOLIDATED = "data/raw/ticks/_state/consolidated.json"


def daily_ticks_year(sid: object, year_value: int) -> str:
    """The folder of security ``sid``'s monthly files of one year."""
    return f"data/raw/ticks/daily/{security_id(sid)}/{year(year_value):04d}/"


def consolidation_batch(day: dt.date, unit: object) -> str:
    """The staging/quarantine name of a consolidation's folded unit; never published."""
    d = _date(day)
    return f"data/raw/ticks/_batches/{d.isoformat()}/{name(unit, 'unit')}.parquet"


def daily_ticks_history(sid: object) -> str:
    """The closed-years file of security ``sid``."""
    return f"data/raw/ticks/daily/{security_id(sid)}/history.parquet"


#: the minute-ticks dataset's name (commits, results, run summaries)
MINUTE_TICKS_DATASET = "minute-ticks"


def minute_ticks_year(sid: object, year_value: int) -> str:
    """The folder of security ``sid``'s minute objects of one year (days and folded months)."""
    return f"data/raw/ticks/minute/{security_id(sid)}/{year(year_value):04d}/"


def minute_ticks_month(sid: object, day: dt.date) -> str:
    """A closed year's folded month of security ``sid``'s minute bars (every session of the
    month holding ``day``), written by year-end consolidation in place of its day objects."""
    d = _date(day)
    return f"{minute_ticks_year(sid, d.year)}{d.month:02d}/ticks.parquet"


def minute_ticks_day(sid: object, day: dt.date) -> str:
    """One security's minute bars of one session."""
    d = _date(day)
    return (
        f"data/raw/ticks/minute/{security_id(sid)}/{year(d.year):04d}/{d.month:02d}/"
        f"{d.day:02d}/ticks.parquet"
    )


def corporate_actions(sid: object) -> str:
    return f"data/raw/corporate_actions/{security_id(sid)}/actions.parquet"


def corporate_actions_batch(day: dt.date, partition: object) -> str:
    """The staging/quarantine name of one batch of corporate actions (a master build's, an
    ingest's); never published: the rows are merged into each security's actions file."""
    d = _date(day)
    return (
        f"data/raw/corporate_actions/_batches/{d.isoformat()}/{name(partition, 'partition')}"
        ".parquet"
    )


#: the folder holding every company's facts (one folder per CIK)
FUNDAMENTALS_PREFIX = "data/raw/fundamental/"


def fundamentals(cik_value: object) -> str:
    return f"{FUNDAMENTALS_PREFIX}{cik(cik_value)}/fundamental.parquet"


#: where the fundamentals DAG remembers how far its incremental runs got (not a CIK folder)
FUNDAMENTALS_STATE = "data/raw/fundamental/_state/watermark.json"


def fundamentals_batch(day: dt.date, partition: object) -> str:
    """The staging/quarantine name of one chunk of companies' facts; never published."""
    d = _date(day)
    return f"data/raw/fundamental/_batches/{d.isoformat()}/{name(partition, 'partition')}.parquet"


def ttm(cik_value: object) -> str:
    return f"data/derived/features/fundamental/{cik(cik_value)}/ttm.parquet"


def derived_metrics(cik_value: object) -> str:
    return f"data/derived/features/fundamental/{cik(cik_value)}/metrics.parquet"


def derived_metrics_batch(day: dt.date, unit: object) -> str:
    """The staging/quarantine name of one company's derived rows (a TTM or metrics unit)."""
    d = _date(day)
    return (
        f"data/derived/features/fundamental/_batches/{d.isoformat()}/{name(unit, 'unit')}.parquet"
    )


def universe(universe_name: object) -> str:
    return f"data/universe/{name(universe_name, 'universe')}.parquet"


def universe_batch(day: dt.date, unit: object) -> str:
    """The staging/quarantine name of one universe's rebuilt periods; never published."""
    return f"data/universe/_batches/{_date(day).isoformat()}/{name(unit, 'unit')}.parquet"


# --- write-audit-publish and quality ----------------------------------------------------------
def staging(run: object, final_key: str) -> str:
    """Where a run stages an object before its audit."""
    return f"data/_staging/{run_id(run)}/{_relative(final_key)}"


#: failed partitions (by run) and copies of corrupt objects (``corrupt/``)
QUARANTINE_PREFIX = "data/quarantine"


def corrupt_copy(final_key: str) -> str:
    """Where an unreadable lake object is copied before anything replaces it."""
    return f"{QUARANTINE_PREFIX}/corrupt/{_relative(final_key)}"


def quarantine(run: object, final_key: str) -> str:
    """Where a failed partition is kept, beside its validation result."""
    return f"{QUARANTINE_PREFIX}/{run_id(run)}/{_relative(final_key)}"


def quality_result(dataset: object, day: dt.date, partition: object) -> str:
    """The JSON validation result of one partition of one day."""
    d = _date(day)
    part = name(partition, "partition")
    return f"data/quality/results/{name(dataset, 'dataset')}/{d.isoformat()}/{part}.json"


def quality_results_prefix(dataset: object) -> str:
    return f"data/quality/results/{name(dataset, 'dataset')}"


def run_summary(dataset: object, day: dt.date) -> str:
    """A DAG run's counts for a trading day (what the final task records)."""
    return f"data/quality/runs/{name(dataset, 'dataset')}/{_date(day).isoformat()}.json"


#: commit records: a partition's rows count only once its record is here (``lake/commits.py``)
COMMITS_PREFIX = "data/_commits"


def commits_day(dataset: object, day: dt.date) -> str:
    """The folder of the commit records of one day of a dataset."""
    return f"{COMMITS_PREFIX}/{name(dataset, 'dataset')}/{_date(day).isoformat()}"


def commit_record(dataset: object, day: dt.date, run: object, partition: object) -> str:
    """The commit record of one partition of one run: its objects, rows and checksums."""
    return f"{commits_day(dataset, day)}/{run_id(run)}/{name(partition, 'partition')}.json"


def pending_prefix(dataset: object) -> str:
    """Where publishes in progress (or crashed) declare the objects they are writing."""
    return f"{COMMITS_PREFIX}/{name(dataset, 'dataset')}/_pending"


def commit_intent(
    dataset: object, day: dt.date, run: object, partition: object, unit: object
) -> str:
    """The intent of one run's publish of one unit: the objects it is about to write, and
    which rows (one per run: a run's commit never removes another run's intents)."""
    folder = f"{pending_prefix(dataset)}/{_date(day).isoformat()}/{run_id(run)}"
    return f"{folder}/{name(partition, 'partition')}/{name(unit, 'unit')}.json"


def run_lease(dataset: object) -> str:
    """The lease a run of a dataset whose runs must not overlap holds (``engine/lease.py``)."""
    return f"data/quality/runs/{name(dataset, 'dataset')}/lease.json"


DATA_DOCS_PREFIX = "data/quality/docs"
#: the lake-health page (``equity_lake.health``), one self-contained HTML file beside the docs
HEALTH_PAGE = "data/quality/health/index.html"


def _relative(final_key: str) -> str:
    if not final_key.startswith("data/") or ".." in final_key.split("/"):
        raise InvalidIdentifier(f"{final_key!r} is not a lake key")
    return final_key[len("data/") :]


def daily_ticks_batch(day: dt.date, partition: object) -> str:
    """The name under which one chunk's day of bars is staged and, if it fails, quarantined.

    It is never published: the rows are merged into the securities' monthly files.
    """
    d = _date(day)
    return f"data/raw/ticks/daily/_batches/{d.isoformat()}/{name(partition, 'partition')}.parquet"


def minute_ticks_batch(day: dt.date, partition: object) -> str:
    """The staging/quarantine name of one chunk's session of minute bars (never published:
    its rows go to one object per security)."""
    d = _date(day)
    return f"data/raw/ticks/minute/_batches/{d.isoformat()}/{name(partition, 'partition')}.parquet"
