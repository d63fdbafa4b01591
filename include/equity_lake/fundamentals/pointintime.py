"""What was known on a date: a concept's value per period, from a company's stored facts.

A fact is known on ``D`` when its filing's ``filed`` date is on or before ``D``. A period is
identified by its ``start`` and ``end`` (``end`` alone for an instant) — never by ``fy``/``fp``
(the fiscal year and period of the *filing* that reported it, so a comparative column carries
the later filing's labels) nor by ``frame`` (which EDGAR keeps on only the last-filed fact).

For each period and unit, the value is the one of the latest filing known on ``D`` that
reported it under any of the concept's same-line tags (see ``concepts``): a restatement or an
amendment therefore wins from its filing date on, even when it moved to another same-line tag,
while the original value stays the answer for any earlier date. Only where no same-line value
is known for the period does a fallback tag (a related but different line) answer, and the
row says so (``fallback``). Values in different units (USD, EUR) are separate rows, never
mixed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from equity_lake.fundamentals import concepts

#: the columns of a point-in-time answer, one row per (start, end, unit)
RESULT_SCHEMA = pa.schema(
    [
        ("concept", pa.string()),
        ("start", pa.date32()),
        ("end", pa.date32()),
        ("value", pa.float64()),
        ("unit", pa.string()),
        ("taxonomy", pa.string()),
        ("tag", pa.string()),
        ("form", pa.string()),
        ("accn", pa.string()),
        ("filed", pa.date32()),
        ("fy", pa.int64()),
        ("fp", pa.string()),
        ("fallback", pa.bool_()),
    ]
)

_FACT_COLUMNS = [f.name for f in RESULT_SCHEMA if f.name != "concept"]
_STORED_COLUMNS = [c for c in _FACT_COLUMNS if c != "fallback"]


@dataclass(frozen=True)
class Fact:
    """One value of a concept for one period, with the filing it was taken from."""

    concept: str
    start: dt.date | None
    end: dt.date
    value: float
    unit: str
    taxonomy: str
    tag: str
    form: str
    accn: str
    filed: dt.date
    fy: int | None
    fp: str | None
    #: taken from a fallback tag: a related line, not the concept's own
    fallback: bool = False


def known_on(table: pa.Table, as_of: dt.date) -> pa.Table:
    """The facts filed on or before ``as_of``."""
    return table.filter(pc.less_equal(table.column("filed"), pa.scalar(as_of, pa.date32())))


def candidate_rows(
    table: pa.Table, concept: str, as_of: dt.date, unit: str | None = None
) -> list[dict]:
    """The concept's candidate facts known on ``as_of``, each with its tag's ``line`` (0 for
    same-line tags, 1.. for fallbacks), ``order`` (tie-break within a filing) and
    ``fallback``."""
    spec = concepts.get(concept)
    ranks = concepts.ranks(concept)
    tags = pa.array(sorted({tag for _, tag in ranks}))
    mask = pc.and_(
        pc.is_in(table.column("tag"), value_set=tags),
        pc.less_equal(table.column("filed"), pa.scalar(as_of, pa.date32())),
    )
    if unit is not None:
        mask = pc.and_(mask, pc.equal(table.column("unit"), unit))
    rows = table.filter(mask).select(_STORED_COLUMNS).to_pylist()
    out = []
    for row in rows:
        rank = ranks.get((row["taxonomy"], row["tag"]))
        if rank is None:
            continue
        if spec.is_duration != (row["start"] is not None):
            continue  # a duration tag reported as an instant (or vice versa): not this concept
        row["line"], row["order"] = rank
        row["fallback"] = rank[0] > 0
        out.append(row)
    return out


def _newer(row: dict, held: dict) -> bool:
    """Later filing first, then later accession; within one filing, the listed tag order."""
    return (row["filed"], row["accn"], -row["order"]) > (
        held["filed"],
        held["accn"],
        -held["order"],
    )


def latest_by_line(rows: list[dict]) -> dict[tuple, dict]:
    """Per (line, start, end, unit): the fact of the latest filing, whatever its tag."""
    best: dict[tuple, dict] = {}
    for row in rows:
        key = (row["line"], row["start"], row["end"], row["unit"])
        held = best.get(key)
        if held is None or _newer(row, held):
            best[key] = row
    return best


def select_line(by_line: dict[tuple, dict]) -> list[dict]:
    """Per (start, end, unit): the same-line value if one is known, else the first fallback's;
    ordered by period."""
    chosen: dict[tuple, dict] = {}
    for (line, start, end, unit), row in by_line.items():
        key = (start, end, unit)
        if key not in chosen or line < chosen[key]["line"]:
            chosen[key] = row
    return sorted(chosen.values(), key=lambda r: (r["end"], r["start"] or dt.date.min, r["unit"]))


def latest_as_of(
    table: pa.Table, concept: str, as_of: dt.date, *, unit: str | None = None
) -> pa.Table:
    """The latest value of ``concept`` for every period, as known on ``as_of``.

    One row per (start, end, unit), ordered by period end; ``unit`` keeps one unit only.
    """
    rows = select_line(latest_by_line(candidate_rows(table, concept, as_of, unit)))
    return _result(concept, rows)


def value_as_of(
    table: pa.Table,
    concept: str,
    *,
    end: dt.date,
    as_of: dt.date,
    start: dt.date | None = None,
    unit: str | None = None,
) -> Fact | None:
    """The value of ``concept`` for the period (``start``, ``end``) as known on ``as_of``.

    None when nothing was known yet. A period reported in several units (a filer reporting
    in EUR and USD) needs ``unit``: values in different units are never silently mixed.
    """
    rows = [
        r
        for r in select_line(latest_by_line(candidate_rows(table, concept, as_of, unit)))
        if r["end"] == end and r["start"] == start
    ]
    if not rows:
        return None
    if len(rows) > 1:
        units = ", ".join(sorted(r["unit"] for r in rows))
        raise ValueError(
            f"{concept} for {start or ''}..{end} is reported in several units ({units}); "
            "pass unit= to choose one"
        )
    return _fact(concept, rows[0])


def _fact(concept: str, row: dict) -> Fact:
    return Fact(concept=concept, **{c: row[c] for c in _FACT_COLUMNS})


def _result(concept: str, rows: list[dict]) -> pa.Table:
    columns = {c: [r[c] for r in rows] for c in _FACT_COLUMNS}
    columns["concept"] = [concept] * len(rows)
    return pa.Table.from_pydict(
        {f.name: columns[f.name] for f in RESULT_SCHEMA}, schema=RESULT_SCHEMA
    )
