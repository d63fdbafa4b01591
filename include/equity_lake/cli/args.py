"""What every command parses the same way, and the errors that pick the exit code.

Dates, run ids, chunk specs, symbols, CIKs and counts typed on a command line are read here
and nowhere else, so a bad value gets the same one-line error (exit 2) whichever command it
was given to.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from equity_lake.engine.wap import new_run_id
from equity_lake.lake import keys


class UsageError(ValueError):
    """Bad input on the command line: exit 2, one line naming what was wrong."""


class ValidationFailed(Exception):
    """``validate`` found a file failing its suite: exit 3, like a gate failure."""


def date(text: str, option: str = "--date") -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise UsageError(f"{option} {text!r} is not an ISO date (YYYY-MM-DD)") from None


def date_range(start: str, end: str) -> tuple[dt.date, dt.date]:
    first, last = date(start, "--start"), date(end, "--end")
    if first > last:
        raise UsageError(f"--start {first} is after --end {last}")
    return first, last


def open_range(start: str | None, end: str | None) -> tuple[dt.date | None, dt.date | None]:
    """``--start``/``--end`` where either may be left out (an open bound)."""
    if start and end:
        return date_range(start, end)
    return (date(start, "--start") if start else None, date(end, "--end") if end else None)


def run_id(text: str | None) -> str:
    """The run id that names staging and quarantine keys (generated for a command by hand)."""
    if text is None:
        return new_run_id("cli")
    try:
        keys.run_id(text)
    except keys.InvalidIdentifier as exc:
        raise UsageError(f"--run-id: {exc}") from None
    return text


def count(low: int, high: int, option: str) -> Callable[[str], int]:
    """An argparse type: an int between ``low`` and ``high`` (so 0 is never silently 25)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} {text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{option} {value} must be between {low} and {high}")
        return value

    return parse


def chunk(text: str | None, max_chunks: int) -> Any:
    """``--chunk I/N`` -> the engine's ``Chunk``; None when not given."""
    from equity_lake.engine.chunks import Chunk

    if text is None:
        return None
    try:
        return Chunk.parse(text, max_chunks)
    except ValueError as exc:
        raise UsageError(f"--chunk: {exc}") from None


def symbols(text: str | None) -> list[str] | None:
    """``--symbols AAPL,BRK-B``: None when not given; an empty list is an error, never
    "the whole universe"."""
    from equity_lake import symbols as symbology

    if text is None:
        return None
    parts = [p for p in text.split(",") if p.strip()]
    if not parts:
        raise UsageError("--symbols is empty: leave it out to mean the whole universe")
    try:
        return [symbology.user_symbol(p) for p in parts]
    except symbology.SymbolError as exc:
        raise UsageError(f"--symbols: {exc}") from None


def ciks(text: str | None) -> list[str] | None:
    """``--ciks 320193,1652044`` -> sorted 10-digit CIKs; None when not given."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise UsageError("--ciks is empty: leave it out to mean every company")
    try:
        return sorted({keys.cik(p) for p in parts})
    except keys.InvalidIdentifier as exc:
        raise UsageError(f"--ciks: {exc}") from None


def partition(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return keys.name(text, "partition")
    except keys.InvalidIdentifier as exc:
        raise UsageError(f"--partition: {exc}") from None


def table_to_validate(text: str, schema: Any) -> Any:
    """The Parquet file ``text`` as a table, conformed to ``schema`` where it can be (the
    suite names schema problems itself)."""
    import pyarrow.parquet as pq

    from equity_lake.lake.schemas import SchemaError, conform

    table = pq.read_table(parquet_file(text))
    try:
        return conform(table, schema, text)
    except SchemaError:
        return table


def parquet_file(text: str) -> Path:
    """A file to validate: it must exist and be a Parquet file (not a folder)."""
    path = Path(text)
    if not path.exists():
        raise UsageError(f"{text}: no such file")
    if not path.is_file():
        raise UsageError(f"{text} is not a Parquet file (it is a directory)")
    with path.open("rb") as f:
        head = f.read(4)
    if head != b"PAR1":
        raise UsageError(f"{text} is not a Parquet file")
    return path


#: dataset name -> the validator of ``equity-lake validate --dataset NAME FILE``
VALIDATORS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {}
