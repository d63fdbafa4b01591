"""How commands print tables: CSV a spreadsheet and a reader of the terminal both take."""

from __future__ import annotations

import csv
import io


def csv_text(columns: list[str], rows: list[dict]) -> str:
    """``rows`` as CSV with a header of ``columns`` (None empty, whole floats without .0)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row[c]) for c in columns])
    return out.getvalue().rstrip("\n")


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e18 else repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
